package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/client"
	"github.com/applinkctl/applinkctl/internal/emulator"
	"github.com/applinkctl/applinkctl/internal/liveread"
	"github.com/applinkctl/applinkctl/internal/manifest"
	"github.com/applinkctl/applinkctl/internal/plan"
	"github.com/applinkctl/applinkctl/internal/planfile"
	"github.com/applinkctl/applinkctl/internal/secret"
	"github.com/applinkctl/applinkctl/internal/state"
	"github.com/applinkctl/applinkctl/internal/testkit"
)

// These tests run `applinkctl apply` in process (run with captured
// streams) against an emulator the test owns, found through
// HEROKU_API_URL/HEROKU_API_KEY as on a developer's machine, except the
// quickstart test, which uses --sandbox as the README does.

const applyManifest = `version: 1
apps:
  acme-api:
    connections:
      prod_org:
        type: salesforce
        jwt:
          client_id: cid
          username: api.user@acme.example
          private_key_file: keys/server.key
        publications:
          AcmeOrders:
            spec: api/openapi.yaml
      events_dc:
        type: datacloud
        login_url: LOGIN_URL
        PROTECT
        data_action_targets:
          Order_Events:
            target_endpoint: /handleDataCloudDataChangeEvent
`

type applyEnv struct {
	t   *testing.T
	srv *emulator.Server
	dir string
}

func newApplyEnv(t *testing.T, eo emulator.Options) *applyEnv {
	t.Helper()
	if eo.ApproveOAuthAfter == 0 {
		eo.ApproveOAuthAfter = 20 * time.Millisecond
	}
	srv := testkit.Emulator(t, eo)
	testkit.SeedApp(t, srv, "acme-api", 1)
	t.Setenv("HEROKU_API_URL", srv.URL)
	t.Setenv("HEROKU_API_KEY", srv.APIKey)
	t.Setenv("APPLINKCTL_STATE", "")
	e := &applyEnv{t: t, srv: srv, dir: t.TempDir()}
	e.write("keys/server.key", testkit.RSAKeyPEM(t, 2048, 0))
	e.write("api/openapi.yaml", testkit.OrdersSpec)
	e.manifest("https://login.salesforce.com", false)
	return e
}

func (e *applyEnv) write(rel, body string) {
	e.t.Helper()
	testkit.WriteFile(e.t, e.dir, rel, body)
}

func (e *applyEnv) manifest(dcLogin string, protect bool) {
	body := strings.ReplaceAll(applyManifest, "LOGIN_URL", dcLogin)
	p := ""
	if protect {
		p = "protect: true"
	}
	e.write("applink.yaml", strings.ReplaceAll(body, "PROTECT", p))
}

// run runs applinkctl with args (stdin empty: no terminal) and returns
// stdout, stderr and the exit code.
func (e *applyEnv) run(ctx context.Context, args ...string) (string, string, int) {
	e.t.Helper()
	_ = ctx
	return runOut(e.t, args...)
}

func (e *applyEnv) apply(args ...string) (string, string, int) {
	e.t.Helper()
	return e.run(context.Background(), append([]string{"apply", "--wait-for-browser", "-f", filepath.Join(e.dir, "applink.yaml")}, args...)...)
}

func (e *applyEnv) writes() int {
	n := 0
	for k, v := range e.srv.Emulator.Requests() {
		if !strings.HasPrefix(k, "GET ") {
			n += v
		}
	}
	return n
}

// conns are the world's connections by name, less those deleted but still
// listed as disconnected (the emulator's linger variant): as a plan sees
// them.
func (e *applyEnv) conns() map[string]emulator.ConnectionSnapshot {
	out := map[string]emulator.ConnectionSnapshot{}
	for _, a := range e.srv.Emulator.World().Apps {
		for _, ad := range a.Addons {
			for _, c := range ad.Connections {
				if c.Status == "disconnected" {
					continue
				}
				if _, dup := out[c.Name]; dup {
					e.t.Errorf("duplicate connection %s", c.Name)
				}
				out[c.Name] = c
			}
		}
	}
	return out
}

func (e *applyEnv) backend() state.Backend {
	e.t.Helper()
	b, err := state.Open(context.Background(), "", state.OpenOptions{ManifestDir: e.dir})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = b.Close() })
	return b
}

// savePlan makes a plan in process, as `plan --out` does, and writes it.
// It runs in the manifest's directory, as a saved plan names its manifests
// relative to the working directory.
func (e *applyEnv) savePlan(opts plan.Options) string {
	e.t.Helper()
	e.t.Chdir(e.dir)
	ctx := context.Background()
	files := []string{filepath.Join(e.dir, "applink.yaml")}
	m := testkit.LoadManifest(e.t, manifest.Options{}, files...)
	p := testkit.Platform(e.t, e.srv)
	w, _, err := liveread.Read(ctx, p, m, 4)
	if err != nil {
		e.t.Fatal(err)
	}
	s, err := e.backend().Load(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	pl, err := plan.Diff(m, w, s, opts)
	if err != nil {
		e.t.Fatal(err)
	}
	pl.ManifestFiles = files
	pl.Origin = plan.Origin{State: e.backend().Describe()}
	path := filepath.Join(e.t.TempDir(), "plan.json")
	if err := planfile.Write(path, pl); err != nil {
		e.t.Fatal(err)
	}
	return path
}

func wantCode(t *testing.T, code, want int, stdout, stderr string) {
	t.Helper()
	if code != want {
		t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, want, stdout, stderr)
	}
}

func TestApplyThenSecondApplyHasNoChanges(t *testing.T) {
	e := newApplyEnv(t, emulator.Options{})
	out, errs, code := e.apply("--auto-approve")
	wantCode(t, code, 0, out, errs)
	if !strings.Contains(out, "acme-api/connection/prod_org") || !strings.Contains(errs, "Apply complete: 4 created") {
		t.Errorf("stdout:\n%s\nstderr:\n%s", out, errs)
	}
	c := e.conns()
	if c["prod_org"].Status != "connected" || len(c["events_dc"].Targets) != 1 || len(c["prod_org"].Publications) != 1 {
		t.Errorf("world = %+v", c)
	}
	before := e.writes()
	out, errs, code = e.apply("--auto-approve")
	wantCode(t, code, 0, out, errs)
	if !strings.Contains(out, "No changes.") || e.writes() != before {
		t.Errorf("second apply: stdout %q, %d writes", out, e.writes()-before)
	}
	// History records both runs that did something (the no-op did not).
	h, err := e.backend().History(context.Background(), 10)
	if err != nil || len(h) != 1 || h[0].Outcome != "success" || h[0].Summary["created"] != 4 {
		t.Errorf("history = %+v, %v", h, err)
	}
}

func TestApplyWithoutTerminalRefusesUnlessAutoApproved(t *testing.T) {
	e := newApplyEnv(t, emulator.Options{})
	out, errs, code := e.apply()
	wantCode(t, code, 1, out, errs)
	if !strings.Contains(errs, "--auto-approve") || e.writes() != 0 {
		t.Errorf("stderr = %q, writes = %d", errs, e.writes())
	}
}

func TestApplyDryRunSendsNoWrite(t *testing.T) {
	e := newApplyEnv(t, emulator.Options{})
	out, errs, code := e.apply("--dry-run")
	wantCode(t, code, 0, out, errs)
	if e.writes() != 0 {
		t.Errorf("dry run sent %d writes: %v", e.writes(), e.srv.Emulator.Requests())
	}
	if !strings.Contains(errs, "Dry run complete") || !strings.Contains(errs, "(dry run)") {
		t.Errorf("stderr:\n%s", errs)
	}
	if _, err := os.Stat(filepath.Join(e.dir, ".applinkctl", "state.json")); err == nil {
		s, _ := e.backend().Load(context.Background())
		if len(s.Resources) != 0 {
			t.Errorf("dry run wrote state: %v", s.Resources)
		}
	}
}

func TestApplyJSONStreamsOneEventPerLine(t *testing.T) {
	e := newApplyEnv(t, emulator.Options{})
	out, errs, code := e.apply("--auto-approve", "--format", "json")
	wantCode(t, code, 0, out, errs)
	sc := bufio.NewScanner(strings.NewReader(out))
	var n int
	var last map[string]any
	for sc.Scan() {
		last = nil
		if err := json.Unmarshal(sc.Bytes(), &last); err != nil {
			t.Fatalf("line %d is not JSON: %q", n+1, sc.Text())
		}
		if last["format_version"] == nil {
			t.Errorf("line %d has no format_version", n+1)
		}
		n++
	}
	if n < 5 || last["type"] != "summary" {
		t.Errorf("%d lines, last %v", n, last)
	}
}

func TestApplyTimeoutExitsThreeAndNextRunResumes(t *testing.T) {
	// The target takes an hour of the emulator's clock, moved on once the
	// first apply has given up on it; --timeout is generous for the rest.
	var clock testkit.Clock
	e := newApplyEnv(t, emulator.Options{Now: clock.Now, AsyncDelay: map[string]time.Duration{"target": time.Hour}})
	out, errs, code := e.apply("--auto-approve", "--timeout", "2s")
	wantCode(t, code, exitPending, out, errs)
	if !strings.Contains(errs, "Still pending") || !strings.Contains(errs, "Order_Events") {
		t.Errorf("stderr:\n%s", errs)
	}
	clock.Advance(time.Hour)
	out, errs, code = e.apply("--auto-approve")
	wantCode(t, code, 0, out, errs)
	if n := e.srv.Emulator.Requests()["POST /addons/{addon_id}/connections/datacloud/{connection}/data_action_targets"]; n != 1 {
		t.Errorf("target POSTs = %d, want 1", n)
	}
	out, errs, code = e.apply("--auto-approve")
	wantCode(t, code, 0, out, errs)
	if !strings.Contains(out, "No changes.") {
		t.Errorf("not converged:\n%s", out)
	}
}

func TestApplyReplaceWithCascadesAndProtect(t *testing.T) {
	e := newApplyEnv(t, emulator.Options{})
	out, errs, code := e.apply("--auto-approve")
	wantCode(t, code, 0, out, errs)
	oldID := e.conns()["events_dc"].ID

	// Protected, a change that needs a replace is refused before any write.
	e.manifest("https://test.salesforce.com", true)
	before := e.writes()
	out, errs, code = e.apply("--auto-approve")
	wantCode(t, code, 1, out, errs)
	if !strings.Contains(errs, "protect") || e.writes() != before {
		t.Errorf("protected replace: stderr %q, %d writes", errs, e.writes()-before)
	}

	e.manifest("https://test.salesforce.com", false)
	out, errs, code = e.apply("--auto-approve")
	wantCode(t, code, 0, out, errs)
	if !strings.Contains(errs, "2 replaced") {
		t.Errorf("stderr:\n%s", errs)
	}
	c := e.conns()["events_dc"]
	if c.ID == oldID || c.LoginURL != "https://test.salesforce.com" || len(c.Targets) != 1 {
		t.Errorf("events_dc = %+v", c)
	}
}

func TestApplyPruneOnlyWithTheFlag(t *testing.T) {
	e := newApplyEnv(t, emulator.Options{})
	out, errs, code := e.apply("--auto-approve")
	wantCode(t, code, 0, out, errs)
	e.write("applink.yaml", applyManifest[:strings.Index(applyManifest, "      events_dc:")])
	// (prod_org stays; events_dc and its target go)
	out, errs, code = e.apply("--auto-approve")
	wantCode(t, code, 0, out, errs)
	if _, ok := e.conns()["events_dc"]; !ok {
		t.Fatal("deleted without --prune")
	}
	out, errs, code = e.apply("--auto-approve", "--prune")
	wantCode(t, code, 0, out, errs)
	if _, ok := e.conns()["events_dc"]; ok {
		t.Errorf("not pruned:\n%s\n%s", out, errs)
	}
	if !strings.Contains(errs, "2 deleted") {
		t.Errorf("stderr:\n%s", errs)
	}
}

func TestApplyHeldLockFailsNamingTheHolderOrWaits(t *testing.T) {
	e := newApplyEnv(t, emulator.Options{})
	b := e.backend()
	holder := state.NewLockInfo("apply")
	holder.Who = "alice"
	release, err := b.Lock(context.Background(), holder, 0)
	if err != nil {
		t.Fatal(err)
	}
	out, errs, code := e.apply("--auto-approve")
	wantCode(t, code, 1, out, errs)
	if !strings.Contains(errs, "alice") || !strings.Contains(errs, holder.ID) || e.writes() != 0 {
		t.Errorf("stderr = %q, writes %d", errs, e.writes())
	}
	// With --lock-timeout it waits for the holder to finish.
	go func() {
		time.Sleep(300 * time.Millisecond)
		_ = release()
	}()
	out, errs, code = e.apply("--auto-approve", "--lock-timeout", "10s")
	wantCode(t, code, 0, out, errs)
}

func TestApplySavedPlanRefusedWhenStale(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(e *applyEnv)
		want   string
	}{
		{"state", func(e *applyEnv) {
			b := e.backend()
			s, _ := b.Load(context.Background())
			s.Resources[addr.Authorization("acme-api", "old")] = &state.Resource{Kind: addr.KindAuthorization, Origin: state.Created, Phase: state.Applied}
			if err := b.Save(context.Background(), s); err != nil {
				e.t.Fatal(err)
			}
		}, "stale plan: state changed"},
		{"live", func(e *applyEnv) {
			p := testkit.Platform(e.t, e.srv)
			l, err := p.Resolve(context.Background(), "acme-api", "")
			if err != nil {
				e.t.Fatal(err)
			}
			if _, err := l.CreateJWTConnection(context.Background(), client.JWTRequest{Name: "other_org", ClientID: "x", Username: "u@x", PrivateKey: secret.New(testkit.RSAKeyPEM(e.t, 2048, 1))}); err != nil {
				e.t.Fatal(err)
			}
		}, "stale plan: live state changed"},
		{"key", func(e *applyEnv) { e.write("keys/server.key", testkit.RSAKeyPEM(e.t, 2048, 1)) }, "stale plan: key of acme-api/connection/prod_org changed"},
		{"spec", func(e *applyEnv) {
			e.write("api/openapi.yaml", strings.Replace(testkit.OrdersSpec, "listOrders", "listAll", 1))
		},
			"stale plan: spec of acme-api/connection/prod_org/publication/AcmeOrders changed"},
		{"manifest", func(e *applyEnv) {
			e.manifest("https://login.salesforce.com", false)
			b, _ := os.ReadFile(filepath.Join(e.dir, "applink.yaml"))
			e.write("applink.yaml", strings.Replace(string(b), "        data_action_targets:\n", "        data_action_targets:\n          More_Events:\n            target_endpoint: /more\n", 1))
		}, "stale plan: manifest changed"},
		{"reviewed value", func(e *applyEnv) { e.manifest("https://test.salesforce.com", false) },
			"stale plan: manifest entry acme-api/connection/events_dc changed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newApplyEnv(t, emulator.Options{})
			path := e.savePlan(plan.Options{})
			tc.change(e)
			out, errs, code := e.run(context.Background(), "apply", "--wait-for-browser", path)
			wantCode(t, code, 1, out, errs)
			if !strings.Contains(errs, tc.want) || e.writes() != 0 && tc.name != "live" {
				t.Errorf("stderr = %q, want %q", errs, tc.want)
			}
		})
	}
}

func TestApplySavedPlanExecutesIt(t *testing.T) {
	e := newApplyEnv(t, emulator.Options{})
	path := e.savePlan(plan.Options{})
	out, errs, code := e.run(context.Background(), "apply", "--wait-for-browser", path)
	wantCode(t, code, 0, out, errs)
	if !strings.Contains(errs, "4 created") {
		t.Errorf("stderr:\n%s", errs)
	}
	out, errs, code = e.run(context.Background(), "apply", "--wait-for-browser", "-f", e.dir, "--prune")
	wantCode(t, code, 0, out, errs)
	if !strings.Contains(out, "No changes.") {
		t.Errorf("stdout:\n%s", out)
	}
}

func TestApplyInterruptedSavesStateReleasesLockExits130(t *testing.T) {
	// The target never settles by itself: only the interrupt ends the run
	// (--timeout bounds a run that ignores it).
	e := newApplyEnv(t, emulator.Options{AsyncDelay: map[string]time.Duration{"target": time.Hour}})
	// The signal is sent only while run is running (its signal.NotifyContext
	// turns it into a cancel); the test's own Notify keeps a late one from
	// ending the test binary.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt)
	defer signal.Stop(sigs)
	var mu sync.Mutex
	running := true
	go func() {
		key := "POST /addons/{addon_id}/connections/datacloud/{connection}/data_action_targets"
		deadline := time.Now().Add(time.Minute)
		for e.srv.Emulator.Requests()[key] == 0 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(50 * time.Millisecond)
		mu.Lock()
		defer mu.Unlock()
		if running {
			if self, err := os.FindProcess(os.Getpid()); err == nil {
				_ = self.Signal(os.Interrupt)
			}
		}
	}()
	out, errs, code := e.apply("--auto-approve", "--timeout", "2m")
	mu.Lock()
	running = false
	mu.Unlock()
	wantCode(t, code, exitInterrupted, out, errs)
	if !strings.Contains(errs, "Apply interrupted") {
		t.Errorf("stderr:\n%s", errs)
	}
	// The lock is released and the waiting target is recorded with its id.
	b := e.backend()
	release, err := b.Lock(context.Background(), state.NewLockInfo("test"), 0)
	if err != nil {
		t.Fatalf("lock not released: %v", err)
	}
	_ = release()
	s, _ := b.Load(context.Background())
	r := s.Resources[addr.Target("acme-api", "events_dc", "Order_Events")]
	if r == nil || r.Phase != state.Pending || r.RemoteID == "" {
		t.Errorf("target record = %+v", r)
	}
}

func TestApplyQuickstartInTheSandbox(t *testing.T) {
	if testing.Short() {
		t.Skip("the sandbox's delays make this take seconds")
	}
	dir := t.TempDir()
	for _, f := range []string{"applink.yaml", "api/openapi.yaml"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "examples", "quickstart", f))
		if err != nil {
			t.Fatal(err)
		}
		testkit.WriteFile(t, dir, f, string(b))
	}
	testkit.WriteFile(t, dir, "keys/server.key", testkit.RSAKeyPEM(t, 2048, 0))
	t.Setenv("APPLINKCTL_STATE", "")
	sandbox := filepath.Join(dir, "sandbox")
	var out, errb bytes.Buffer
	code := run([]string{"applinkctl", "apply", "-f", dir, "--sandbox=" + sandbox, "--auto-approve"}, streams{In: strings.NewReader(""), Out: &out, Err: &errb})
	wantCode(t, code, 0, out.String(), errb.String())
	if !strings.Contains(errb.String(), "Apply complete") {
		t.Errorf("stderr:\n%s", errb.String())
	}
	out.Reset()
	errb.Reset()
	code = run([]string{"applinkctl", "apply", "-f", dir, "--sandbox=" + sandbox, "--auto-approve"}, streams{In: strings.NewReader(""), Out: &out, Err: &errb})
	wantCode(t, code, 0, out.String(), errb.String())
	if !strings.Contains(out.String(), "No changes.") {
		t.Errorf("second run:\n%s\n%s", out.String(), errb.String())
	}
}

func TestApplyConfirmationAcceptsOnlyYes(t *testing.T) {
	for in, ok := range map[string]bool{"yes\n": true, "yes": true, "  yes \n": true, "y\n": false, "YES\n": false, "": false, "no\n": false} {
		var out bytes.Buffer
		err := ask(strings.NewReader(in), &out)
		if (err == nil) != ok {
			t.Errorf("answer %q: err = %v", in, err)
		}
		if !strings.Contains(out.String(), "Only 'yes' is accepted") {
			t.Errorf("question = %q", out.String())
		}
	}
}
