package plan_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/apply"
	"github.com/applinkctl/applinkctl/internal/client"
	"github.com/applinkctl/applinkctl/internal/emulator"
	"github.com/applinkctl/applinkctl/internal/live"
	"github.com/applinkctl/applinkctl/internal/liveread"
	"github.com/applinkctl/applinkctl/internal/manifest"
	"github.com/applinkctl/applinkctl/internal/plan"
	"github.com/applinkctl/applinkctl/internal/state"
	"github.com/applinkctl/applinkctl/internal/testkit"
	"github.com/applinkctl/applinkctl/internal/view"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/plan and testdata/drift")

// A golden case is a directory of testdata/plan or testdata/drift holding
// applink.yaml, the manifest planned (a case may hold other files it uses),
// and the expected outputs: plan.txt, plan.json, plan.md (testdata/plan), or
// drift.txt, drift.json (testdata/drift); error.txt when planning fails.
// Beside the directory, CASE.txtar is a testscript run in it that sets the
// world and state up and ends by planning:
//
//	apps NAME N          seed an app with N AppLink add-ons
//	apply FILE [FLAGS]   plan FILE and apply it (the world and state before)
//	status ADDR STATUS [ERROR_ID]   set a live status out of band
//	delete ADDR          delete a live resource out of band
//	forget ADDR          drop ADDR from state
//	intent ADDR OP       record an unfinished intent in state
//	plan [FLAGS]         plan applink.yaml and compare with the golden files
//	                     (--prune, --allow-empty, --target X, --replace X)
//	drift [--ignore GLOB]...   report drift and compare with the golden files
//
// Every app of applink.yaml is seeded with one add-on unless the script
// says otherwise. Ids, times and live/state digests are masked.
func TestGoldenPlans(t *testing.T)  { runGolden(t, "../../testdata/plan") }
func TestGoldenDrifts(t *testing.T) { runGolden(t, "../../testdata/drift") }

// harnessKey finds a script's harness among its testscript values.
type harnessKey struct{}

func runGolden(t *testing.T, root string) {
	root, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	cases, err := filepath.Glob(filepath.Join(root, "*", "applink.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		// The cases are part of the repository: none found is a broken
		// checkout or a wrong path, never a reason to pass.
		t.Fatalf("no cases under %s (each case is a directory with an applink.yaml)", root)
	}
	for _, f := range cases {
		if _, err := os.Stat(filepath.Dir(f) + ".txtar"); err != nil {
			t.Errorf("case %s has no script: %v", filepath.Dir(f), err)
		}
	}
	testscript.Run(t, testscript.Params{
		Dir: root,
		Setup: func(env *testscript.Env) error {
			tb := env.T().(testing.TB)
			dir := filepath.Join(root, path.Base(tb.Name()))
			if _, err := os.Stat(filepath.Join(dir, "applink.yaml")); err != nil {
				return fmt.Errorf("script %s has no case directory: %w", path.Base(tb.Name()), err)
			}
			h := newHarness(tb, dir)
			env.Cd = dir
			env.Values[harnessKey{}] = h
			env.Defer(func() {
				if !h.checked {
					tb.Errorf("%s.txtar never ends with plan or drift", dir)
				}
			})
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"apps": golden(2, 2, func(h *harness, args []string) {
				n, err := strconv.Atoi(args[1])
				if err != nil {
					h.t.Fatalf("apps %s: %v", args[1], err)
				}
				h.seed(args[0], n)
			}),
			"apply": golden(1, -1, func(h *harness, args []string) { h.apply(args[0], parseFlags(h.t, args[1:])) }),
			"status": golden(2, 3, func(h *harness, args []string) {
				body := fmt.Sprintf(`{"status":%q}`, args[1])
				if len(args) > 2 {
					body = fmt.Sprintf(`{"status":%q,"error":{"id":%q,"message":"set out of band"}}`, args[1], args[2])
				}
				h.admin(http.MethodPost, addr.Address(args[0]), "/status", body)
			}),
			"delete": golden(1, 1, func(h *harness, args []string) { h.admin(http.MethodDelete, addr.Address(args[0]), "", "") }),
			"forget": golden(1, 1, func(h *harness, args []string) {
				h.editState(func(s *state.State) { delete(s.Resources, addr.Address(args[0])) })
			}),
			"intent": golden(2, 2, func(h *harness, args []string) {
				h.editState(func(s *state.State) {
					a := addr.Address(args[0])
					s.Resources[a] = &state.Resource{Kind: a.Kind(), Origin: state.Created, Phase: state.Intent, Operation: args[1]}
				})
			}),
			"plan": golden(0, -1, func(h *harness, args []string) { h.checkPlan(parseFlags(h.t, args)) }),
			"drift": golden(0, -1, func(h *harness, args []string) {
				var ignore []string
				for i := 0; i < len(args); i += 2 {
					if args[i] != "--ignore" || i+1 == len(args) {
						h.t.Fatalf("drift: want --ignore GLOB..., got %q", args[i:])
					}
					ignore = append(ignore, args[i+1])
				}
				h.checkDrift(ignore)
			}),
		},
	})
}

// golden makes a script command of fn, which takes between min and max
// arguments (max < 0: any number) and cannot be negated.
func golden(min, max int, fn func(h *harness, args []string)) func(ts *testscript.TestScript, neg bool, args []string) {
	return func(ts *testscript.TestScript, neg bool, args []string) {
		if neg {
			ts.Fatalf("unsupported: ! with a golden command")
		}
		if len(args) < min || max >= 0 && len(args) > max {
			ts.Fatalf("want %d to %d arguments, got %q", min, max, args)
		}
		h := ts.Value(harnessKey{}).(*harness)
		if h.checked {
			ts.Fatalf("nothing may follow plan or drift")
		}
		fn(h, args)
	}
}

type harness struct {
	t       testing.TB
	dir     string
	srv     *emulator.Server
	p       *client.Platform
	backend state.Backend
	seeded  map[string]bool
	addons  map[string]string // app → first add-on id, for admin routes
	checked bool              // plan or drift ran: the script is over
}

func newHarness(t testing.TB, dir string) *harness {
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

func parseFlags(t testing.TB, args []string) plan.Options {
	var o plan.Options
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "--prune":
			o.Prune = true
		case "--allow-empty":
			o.AllowEmpty = true
		case "--target", "--replace":
			if i+1 == len(args) {
				t.Fatalf("%s needs an address pattern", args[i])
			}
			if args[i] == "--target" {
				o.Targets = append(o.Targets, args[i+1])
			} else {
				o.Replace = append(o.Replace, args[i+1])
			}
			i++
		default:
			t.Fatalf("unknown flag %q", args[i])
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
	w, links, err := liveread.Read(ctx, h.p, m, 4)
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
	if _, err := apply.Apply(ctx, p, links, st, nopObserver{}, apply.Options{
		WaitForBrowser: true, Timeout: 20 * time.Second,
		Poll: client.WaitOptions{Initial: time.Millisecond, Max: 20 * time.Millisecond},
	}); err != nil {
		h.t.Fatalf("apply %s: %v", file, err)
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
	w, _, err := liveread.Read(ctx, h.p, m, 4)
	if err != nil {
		return nil, nil, nil, err
	}
	s, err := h.backend.Load(ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	return m, w, s, nil
}

func (h *harness) checkPlan(flags plan.Options) {
	h.checked = true
	m, w, s, err := h.final()
	var p *plan.Plan
	if err == nil {
		p, err = plan.Diff(m, w, s, flags)
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
	q, err := plan.Diff(m, w, s, flags)
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

func (h *harness) checkDrift(ignore []string) {
	h.checked = true
	m, w, s, err := h.final()
	var fs []plan.Finding
	if err == nil {
		fs, err = plan.Drift(m, w, s, ignore)
	}
	if err != nil {
		h.golden("error.txt", []byte(mask(h.dir, err.Error())+"\n"))
		return
	}
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
func seededAddon(t testing.TB, sa *emulator.SeededApp) string {
	t.Helper()
	if len(sa.Addons) == 0 {
		t.Fatal("seeded app has no add-on")
	}
	return sa.Addons[0].ID
}
