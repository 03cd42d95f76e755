package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/apply"
	"github.com/applinkctl/applinkctl/internal/client"
	"github.com/applinkctl/applinkctl/internal/emulator"
	"github.com/applinkctl/applinkctl/internal/liveread"
	"github.com/applinkctl/applinkctl/internal/manifest"
	"github.com/applinkctl/applinkctl/internal/plan"
	"github.com/applinkctl/applinkctl/internal/state"
	"github.com/applinkctl/applinkctl/internal/testkit"
)

// These tests run `applinkctl plan` and `applinkctl drift` in process
// against an emulator the test owns, found through HEROKU_API_URL and
// HEROKU_API_KEY as on a developer's machine.

const planTestManifest = `version: 1
apps:
  plan-app:
    connections:
      prod_org:
        type: salesforce
        publications:
          Orders:
            spec: api/openapi.yaml
      events_dc:
        type: datacloud
        data_action_targets:
          Order_Events:
            target_endpoint: /hook
`

// planWorld is a manifest directory and an emulator with its app seeded.
type planWorld struct {
	dir string
	srv *emulator.Server
}

func newPlanWorld(t *testing.T) *planWorld {
	t.Helper()
	dir := t.TempDir()
	testkit.WriteFiles(t, dir, map[string]string{"applink.yaml": planTestManifest, "api/openapi.yaml": testkit.OrdersSpec})
	srv := testkit.Emulator(t, emulator.Options{ApproveOAuthAfter: time.Millisecond})
	testkit.SeedApp(t, srv, "plan-app", 1)
	t.Setenv("HEROKU_API_URL", srv.URL)
	t.Setenv("HEROKU_API_KEY", srv.APIKey)
	t.Setenv("GITHUB_ACTIONS", "")
	t.Setenv("APPLINKCTL_STATE", "")
	return &planWorld{dir: dir, srv: srv}
}

// cli runs applinkctl with args and returns the exit code and streams.
func (w *planWorld) cli(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return runCLI(t, args...)
}

func (w *planWorld) manifest() string { return filepath.Join(w.dir, "applink.yaml") }

// applyAll creates everything the manifest declares through the apply
// engine, recording state in the default place beside the manifest.
func (w *planWorld) applyAll(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	m := testkit.LoadManifest(t, manifest.Options{}, w.manifest())
	p := testkit.Platform(t, w.srv)
	world, links, err := liveread.Read(ctx, p, m, 4)
	if err != nil {
		t.Fatal(err)
	}
	b, err := state.Open(ctx, "", state.OpenOptions{ManifestFiles: []string{w.manifest()}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	st, err := state.NewStore(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := plan.Diff(m, world, st.Snapshot(), plan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := apply.Apply(ctx, pl, links, st, planTestObserver{}, apply.Options{WaitForBrowser: true, Timeout: 20 * time.Second,
		Poll: client.WaitOptions{Initial: time.Millisecond, Max: 20 * time.Millisecond}}); err != nil {
		t.Fatal(err)
	}
}

type planTestObserver struct{}

func (planTestObserver) Event(apply.Event)  {}
func (planTestObserver) Done(apply.Summary) {}

func TestPlanShowsCreationInEveryFormat(t *testing.T) {
	w := newPlanWorld(t)
	code, out, errOut := w.cli(t, "plan", "-f", w.manifest())
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.HasPrefix(out, "Plan: 4 to create, 0 to replace") || !strings.Contains(out, "+ plan-app/connection/events_dc/target/Order_Events") {
		t.Fatalf("text plan:\n%s", out)
	}

	code, out, _ = w.cli(t, "plan", "-f", w.manifest(), "--format", "json")
	var js map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &js) != nil || js["format_version"] == nil || js["has_changes"] != true {
		t.Fatalf("json plan (exit %d):\n%s", code, out)
	}

	code, out, _ = w.cli(t, "plan", "-f", w.manifest(), "--format", "markdown")
	if code != 0 || !strings.Contains(out, "<details>") || !strings.Contains(out, "| create | 4 |") {
		t.Fatalf("markdown plan (exit %d):\n%s", code, out)
	}

	code, _, _ = w.cli(t, "plan", "-f", w.manifest(), "--detailed-exitcode")
	if code != exitChanges {
		t.Fatalf("--detailed-exitcode with changes: exit %d, want 2", code)
	}
}

func TestPlanAfterApplyHasNoChangesAndDriftFindsOutOfBandChanges(t *testing.T) {
	w := newPlanWorld(t)
	w.applyAll(t)
	code, out, errOut := w.cli(t, "plan", "-f", w.dir, "--detailed-exitcode")
	if code != 0 || !strings.Contains(out, "No changes.") {
		t.Fatalf("plan after apply: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = w.cli(t, "drift", "-f", w.manifest())
	if code != 0 || !strings.Contains(out, "No drift.") {
		t.Fatalf("drift in sync: exit %d\n%s", code, out)
	}
	stateFile := filepath.Join(w.dir, ".applinkctl", "state.json")
	before, err := os.ReadFile(stateFile)
	if err != nil {
		t.Fatal(err)
	}

	// Break things out of band through the emulator's admin routes.
	adminID := planTestAddonID(t, w)
	for _, r := range []struct{ method, path, body string }{
		{http.MethodDelete, "/_emulator/addons/" + adminID + "/connections/prod_org/publications/Orders", ""},
		{http.MethodPost, "/_emulator/addons/" + adminID + "/connections/events_dc/status", `{"status":"failed","error":{"id":"org_connection_failed","message":"x"}}`},
	} {
		req, _ := http.NewRequest(r.method, w.srv.URL+r.path, strings.NewReader(r.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			t.Fatalf("%s %s: %s", r.method, r.path, resp.Status)
		}
	}
	code, out, _ = w.cli(t, "drift", "-f", w.manifest())
	if code != exitChanges {
		t.Fatalf("drift exit %d, want 2\n%s", code, out)
	}
	for _, want := range []string{"plan-app/connection/prod_org/publication/Orders", "plan-app/connection/events_dc: status is failed (org_connection_failed)"} {
		if !strings.Contains(out, want) {
			t.Fatalf("drift lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = w.cli(t, "drift", "-f", w.manifest(), "--ignore", "plan-app/connection/*", "--format", "json")
	if code != 0 {
		t.Fatalf("drift with everything ignored: exit %d\n%s", code, out)
	}
	after, _ := os.ReadFile(stateFile)
	if !bytes.Equal(before, after) {
		t.Fatal("drift wrote state")
	}
	if _, err := os.Stat(stateFile + ".lock"); !os.IsNotExist(err) {
		t.Fatalf("drift left a lock: %v", err)
	}

	code, out, _ = w.cli(t, "plan", "-f", w.manifest(), "--detailed-exitcode")
	if code != exitChanges || !strings.Contains(out, "-/+ plan-app/connection/events_dc") || !strings.Contains(out, "~ plan-app/connection/prod_org/publication/Orders") {
		t.Fatalf("plan after breakage: exit %d\n%s", code, out)
	}
}

func planTestAddonID(t *testing.T, w *planWorld) string {
	t.Helper()
	resp, err := http.Get(w.srv.URL + "/_emulator/world")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var world struct {
		Apps []struct {
			Name   string `json:"name"`
			Addons []struct {
				ID string `json:"id"`
			} `json:"addons"`
		} `json:"apps"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&world); err != nil {
		t.Fatal(err)
	}
	for _, a := range world.Apps {
		if a.Name == "plan-app" && len(a.Addons) > 0 {
			return a.Addons[0].ID
		}
	}
	t.Fatalf("no add-on in %+v", world)
	return ""
}

func TestPlanOutWritesAPlanFileWithoutSecrets(t *testing.T) {
	w := newPlanWorld(t)
	t.Chdir(w.dir) // a saved plan names manifests inside the working directory
	out := filepath.Join(t.TempDir(), "plan.json")
	code, _, errOut := w.cli(t, "plan", "-f", w.manifest(), "--out", out)
	if code != 0 || !strings.Contains(errOut, "applinkctl apply "+out) {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte(w.srv.APIKey)) || !bytes.Contains(b, []byte("plan-app/connection/prod_org")) {
		t.Fatalf("plan file:\n%s", b)
	}
}

func TestPlanGitHubStepSummary(t *testing.T) {
	w := newPlanWorld(t)
	summary := filepath.Join(t.TempDir(), "summary.md")
	t.Setenv("GITHUB_ACTIONS", "true")
	t.Setenv("GITHUB_STEP_SUMMARY", summary)
	if code, _, errOut := w.cli(t, "plan", "-f", w.manifest()); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	b, err := os.ReadFile(summary)
	if err != nil || !bytes.Contains(b, []byte("<details>")) {
		t.Fatalf("step summary %q, %v", b, err)
	}
}

func TestPlanErrors(t *testing.T) {
	w := newPlanWorld(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"plan", "-f", w.manifest(), "--format", "yaml"}, `--format "yaml"`},
		{[]string{"plan", "-f", w.manifest(), "--target", "plan-app/connection/nope"}, "--target plan-app/connection/nope: matches no resource"},
		{[]string{"plan", "-f", w.manifest(), "--replace", "plan-app/authorization/nope"}, "--replace plan-app/authorization/nope: matches no resource the manifest declares"},
		{[]string{"plan", "-f", filepath.Join(w.dir, "missing.yaml")}, "missing.yaml"},
		{[]string{"drift", "-f", w.manifest(), "--ignore", "[bad"}, "--ignore [bad"},
		{[]string{"drift", "-f", w.manifest(), "--format", "xml"}, `--format "xml"`},
	} {
		code, _, errOut := w.cli(t, tc.args...)
		if code != exitError || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 1 and %q", tc.args, code, errOut, tc.want)
		}
	}
	// An app the account does not have: the error names it.
	bad := testkit.WriteFile(t, w.dir, "bad.yaml", "version: 1\napps:\n  nowhere-app:\n    connections:\n      c_one:\n        type: datacloud\n")
	code, _, errOut := w.cli(t, "plan", "-f", bad)
	if code != exitError || !strings.Contains(errOut, "nowhere-app") {
		t.Fatalf("unknown app: exit %d, %q", code, errOut)
	}
}

func TestPlanInvalidManifestPrintsProblems(t *testing.T) {
	w := newPlanWorld(t)
	bad := testkit.WriteFile(t, w.dir, "invalid.yaml", "version: 1\napps:\n  plan-app:\n    connections:\n      prod_org:\n        type: salesforce\n        logn_url: x\n")
	code, _, errOut := w.cli(t, "plan", "-f", bad)
	if code != exitError || !strings.Contains(errOut, "invalid.yaml:7:") || !strings.Contains(errOut, "logn_url") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
}
