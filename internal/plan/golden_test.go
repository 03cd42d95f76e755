package plan_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/apply"
	"github.com/applinkctl/applinkctl/internal/client"
	"github.com/applinkctl/applinkctl/internal/emulator"
	"github.com/applinkctl/applinkctl/internal/live"
	"github.com/applinkctl/applinkctl/internal/manifest"
	"github.com/applinkctl/applinkctl/internal/plan"
	"github.com/applinkctl/applinkctl/internal/state"
	"github.com/applinkctl/applinkctl/internal/testkit"
	"github.com/applinkctl/applinkctl/internal/view"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/plan and testdata/drift")

// A golden case is a directory of testdata/plan or testdata/drift holding:
//
//	applink.yaml   the manifest planned (a case may hold other files it uses)
//	setup          optional script run first, one command a line:
//	                 apps NAME N          seed an app with N AppLink add-ons
//	                 apply FILE [FLAGS]   plan FILE and apply it (the world and state before)
//	                 status ADDR STATUS [ERROR_ID]   set a live status out of band
//	                 delete ADDR          delete a live resource out of band
//	                 forget ADDR          drop ADDR from state
//	                 intent ADDR OP       record an unfinished intent in state
//	                 plan FLAGS           the flags of the final plan (--prune,
//	                                      --allow-empty, --target X, --replace X)
//	                 ignore GLOB          drift --ignore
//
// and the expected outputs: plan.txt, plan.json, plan.md (testdata/plan), or
// drift.txt, drift.json (testdata/drift); error.txt when planning fails.
// Every app of applink.yaml is seeded with one add-on unless setup says
// otherwise. Ids, times and live/state digests are masked.
func TestGoldenPlans(t *testing.T)  { runGolden(t, "../../testdata/plan", false) }
func TestGoldenDrifts(t *testing.T) { runGolden(t, "../../testdata/drift", true) }

func runGolden(t *testing.T, root string, drift bool) {
	dirs, err := filepath.Glob(filepath.Join(root, "*", "applink.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) == 0 {
		// The cases are part of the repository: none found is a broken
		// checkout or a wrong path, never a reason to pass.
		t.Fatalf("no cases under %s (each case is a directory with an applink.yaml)", root)
	}
	for _, f := range dirs {
		dir := filepath.Dir(f)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, dir)
			h.runSetup()
			if drift {
				h.checkDrift()
			} else {
				h.checkPlan()
			}
		})
	}
}

type harness struct {
	t       *testing.T
	dir     string
	srv     *emulator.Server
	p       *client.Platform
	backend state.Backend
	flags   plan.Options
	ignore  []string
	seeded  map[string]bool
	addons  map[string]string // app → first add-on id, for admin routes
}

func newHarness(t *testing.T, dir string) *harness {
	t.Helper()
	// The golden files record what the default answers give; what the
	// variants change (reasons naming an unknown child, an esr_name) is
	// checked by the tests written for it, not by a golden file per variant.
	srv := testkit.Emulator(t, emulator.Options{ApproveOAuthAfter: time.Millisecond, Variants: testkit.NoVariants})
	p := testkit.Platform(t, srv)
	b, err := state.Open(context.Background(), "file://"+filepath.Join(t.TempDir(), "state.json"), state.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return &harness{t: t, dir: dir, srv: srv, p: p, backend: b, seeded: map[string]bool{}, addons: map[string]string{}}
}

func (h *harness) load(name string) *manifest.Manifest {
	h.t.Helper()
	return testkit.LoadManifest(h.t, manifest.Options{LookupEnv: testkit.Env(nil)}, filepath.Join(h.dir, name))
}

func (h *harness) seed(app string, n int) {
	h.t.Helper()
	if h.seeded[app] {
		return
	}
	sa := testkit.SeedApp(h.t, h.srv, app, n)
	h.seeded[app] = true
	h.addons[app] = seededAddon(h.t, sa)
}

func (h *harness) seedAll(m *manifest.Manifest) {
	for _, a := range m.Apps {
		h.seed(a.Name, 1)
	}
}

func (h *harness) runSetup() {
	h.t.Helper()
	f, err := os.Open(filepath.Join(h.dir, "setup"))
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	if err != nil {
		h.t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		args := strings.Fields(line)
		switch args[0] {
		case "apps":
			var n int
			fmt.Sscan(args[2], &n)
			h.seed(args[1], n)
		case "apply":
			opts := parseFlags(h.t, args[2:])
			h.apply(args[1], opts)
		case "status":
			body := fmt.Sprintf(`{"status":%q}`, args[2])
			if len(args) > 3 {
				body = fmt.Sprintf(`{"status":%q,"error":{"id":%q,"message":"set out of band"}}`, args[2], args[3])
			}
			h.admin(http.MethodPost, addr.Address(args[1]), "/status", body)
		case "delete":
			h.admin(http.MethodDelete, addr.Address(args[1]), "", "")
		case "forget", "intent":
			h.editState(func(s *state.State) {
				a := addr.Address(args[1])
				if args[0] == "forget" {
					delete(s.Resources, a)
					return
				}
				s.Resources[a] = &state.Resource{Kind: a.Kind(), Origin: state.Created, Phase: state.Intent, Operation: args[2]}
			})
		case "plan":
			h.flags = parseFlags(h.t, args[1:])
		case "ignore":
			h.ignore = append(h.ignore, args[1:]...)
		default:
			h.t.Fatalf("setup: unknown command %q", args[0])
		}
	}
	if err := sc.Err(); err != nil {
		h.t.Fatal(err)
	}
}

func parseFlags(t *testing.T, args []string) plan.Options {
	var o plan.Options
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "--prune":
			o.Prune = true
		case "--allow-empty":
			o.AllowEmpty = true
		case "--target":
			i++
			o.Targets = append(o.Targets, args[i])
		case "--replace":
			i++
			o.Replace = append(o.Replace, args[i])
		default:
			t.Fatalf("setup: unknown flag %q", args[i])
		}
	}
	return o
}

// apply brings the emulator and state to what applying file gives, through
// the real apply engine.
func (h *harness) apply(file string, opts plan.Options) {
	h.t.Helper()
	ctx := context.Background()
	m := h.load(file)
	h.seedAll(m)
	w, err := live.Read(ctx, h.p, m, 4)
	if err != nil {
		h.t.Fatalf("apply %s: read: %v", file, err)
	}
	st, err := state.NewStore(ctx, h.backend)
	if err != nil {
		h.t.Fatal(err)
	}
	p, err := plan.Diff(m, w, st.Snapshot(), opts)
	if err != nil {
		h.t.Fatalf("apply %s: plan: %v", file, err)
	}
	sum, err := apply.Apply(ctx, p, w, st, nopObserver{}, apply.Options{
		WaitForBrowser: true, Timeout: 20 * time.Second,
		Poll: client.WaitOptions{Initial: time.Millisecond, Max: 20 * time.Millisecond},
	})
	if err != nil {
		h.t.Fatalf("apply %s: %v", file, err)
	}
	// As the CLI does: the record dates the drift findings (their since).
	if err := h.backend.AppendHistory(ctx, state.HistoryRecord{Ended: time.Now().UTC(), Outcome: "success", Settled: sum.Settled}); err != nil {
		h.t.Fatal(err)
	}
}

type nopObserver struct{}

func (nopObserver) Event(apply.Event)  {}
func (nopObserver) Done(apply.Summary) {}

func (h *harness) editState(fn func(*state.State)) {
	h.t.Helper()
	ctx := context.Background()
	s, err := h.backend.Load(ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	fn(s)
	if err := h.backend.Save(ctx, s); err != nil {
		h.t.Fatal(err)
	}
}

// admin calls an emulator admin route for the resource at a.
func (h *harness) admin(method string, a addr.Address, suffix, body string) {
	h.t.Helper()
	p, err := addr.Parse(string(a))
	if err != nil {
		h.t.Fatal(err)
	}
	path := "/_emulator/addons/" + h.addons[p.App]
	switch p.Kind {
	case addr.KindConnection:
		path += "/connections/" + url.PathEscape(p.Name)
	case addr.KindAuthorization:
		path += "/authorizations/" + url.PathEscape(p.Name)
	case addr.KindTarget:
		path += "/connections/" + url.PathEscape(p.Connection) + "/targets/" + url.PathEscape(p.Name)
	case addr.KindPublication:
		path += "/connections/" + url.PathEscape(p.Connection) + "/publications/" + url.PathEscape(p.Name)
	}
	req, _ := http.NewRequest(method, h.srv.URL+path+suffix, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		h.t.Fatalf("admin %s %s: %s", method, path+suffix, resp.Status)
	}
}

// final reads the world for applink.yaml.
func (h *harness) final() (*manifest.Manifest, *live.World, *state.State, error) {
	h.t.Helper()
	ctx := context.Background()
	m := h.load("applink.yaml")
	h.seedAll(m)
	w, err := live.Read(ctx, h.p, m, 4)
	if err != nil {
		return nil, nil, nil, err
	}
	s, err := h.backend.Load(ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	return m, w, s, nil
}

func (h *harness) checkPlan() {
	m, w, s, err := h.final()
	var p *plan.Plan
	if err == nil {
		p, err = plan.Diff(m, w, s, h.flags)
	}
	if err != nil {
		h.golden("error.txt", []byte(mask(h.dir, err.Error())+"\n"))
		return
	}
	// Digests of what the emulator made up (ids) cannot be golden.
	p.Fingerprints.Live, p.Fingerprints.State = "sha256:<live>", "sha256:<state>"
	for i, f := range p.ManifestFiles {
		p.ManifestFiles[i] = filepath.Base(f)
	}
	for _, format := range []string{"text", "json", "markdown"} {
		var buf bytes.Buffer
		if err := view.RenderPlan(&buf, p, format, goldenView); err != nil {
			h.t.Fatalf("render %s: %v", format, err)
		}
		name := map[string]string{"text": "plan.txt", "json": "plan.json", "markdown": "plan.md"}[format]
		h.golden(name, []byte(mask(h.dir, buf.String())))
	}
	// The same inputs give a byte-identical plan.
	q, err := plan.Diff(m, w, s, h.flags)
	if err != nil {
		h.t.Fatal(err)
	}
	q.Fingerprints.Live, q.Fingerprints.State = p.Fingerprints.Live, p.Fingerprints.State
	q.ManifestFiles = p.ManifestFiles
	var a, b bytes.Buffer
	_ = view.RenderPlan(&a, p, "json", view.Options{})
	_ = view.RenderPlan(&b, q, "json", view.Options{})
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		h.t.Fatal("two plans of the same inputs differ")
	}
}

func (h *harness) checkDrift() {
	m, w, s, err := h.final()
	var fs []plan.Finding
	if err == nil {
		fs, err = plan.Drift(m, w, s, h.ignore)
	}
	if err != nil {
		h.golden("error.txt", []byte(mask(h.dir, err.Error())+"\n"))
		return
	}
	recs, err := h.backend.History(context.Background(), 0)
	if err != nil {
		h.t.Fatal(err)
	}
	plan.AddSince(fs, recs)
	for _, format := range []string{"text", "json"} {
		var buf bytes.Buffer
		if err := view.RenderDrift(&buf, fs, format, goldenView); err != nil {
			h.t.Fatalf("render %s: %v", format, err)
		}
		h.golden("drift."+map[string]string{"text": "txt", "json": "json"}[format], []byte(mask(h.dir, buf.String())))
	}
}

// goldenView renders as for a person who ran `applinkctl plan -f
// applink.yaml` in the case's directory, so hints show that command.
var goldenView = view.Options{Invocation: view.Invocation{Files: []string{"applink.yaml"}}}

var (
	uuidRE  = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	orgIDRE = regexp.MustCompile(`\b0[0-9A-Za-z]{14}(?:[0-9A-Za-z]{3})?\b`) // Salesforce ids: org, ESR
	timeRE  = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z`)
)

// mask replaces what differs from run to run: ids, times, the case's
// absolute directory and that of the cases (a spec shared by several).
func mask(dir, s string) string {
	if abs, err := filepath.Abs(dir); err == nil {
		s = strings.ReplaceAll(s, abs, "$CASE")
		s = strings.ReplaceAll(s, filepath.Dir(abs), "$CASES")
	}
	s = uuidRE.ReplaceAllString(s, "<uuid>")
	s = orgIDRE.ReplaceAllString(s, "<sfid>")
	return timeRE.ReplaceAllString(s, "<time>")
}

func (h *harness) golden(name string, got []byte) {
	h.t.Helper()
	testkit.Golden(h.t, filepath.Join(h.dir, name), got, *update, "go test ./internal/plan -update")
}

// seededAddon is the id of the first add-on of a seeded app.
func seededAddon(t *testing.T, sa *emulator.SeededApp) string {
	t.Helper()
	if len(sa.Addons) == 0 {
		t.Fatal("seeded app has no add-on")
	}
	return sa.Addons[0].ID
}
