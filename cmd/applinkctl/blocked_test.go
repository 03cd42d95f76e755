package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/applinkctl/applinkctl/internal/plan"
	"github.com/applinkctl/applinkctl/internal/testkit"
)

// A plan apply would refuse exits 1 in every mode, is not saved, and names
// the command that unblocks it; the GitHub step outputs say no plan file.
func TestBlockedPlanExitsOneAndIsNotSaved(t *testing.T) {
	w := newPlanWorld(t)
	w.applyAll(t)
	testkit.WriteFile(t, w.dir, "applink.yaml", strings.Replace(planTestManifest, "target_endpoint: /hook", "target_endpoint: /v2/hook", 1))
	out := filepath.Join(w.dir, "plan.json")
	// A saved plan names its manifests relative to the working directory.
	t.Chdir(w.dir)
	manifest := "applink.yaml"
	unblock := "applinkctl plan -f " + manifest + " --replace plan-app/connection/events_dc"
	for _, args := range [][]string{
		{"plan", "-f", manifest},
		{"plan", "-f", manifest, "--detailed-exitcode"},
		{"plan", "-f", manifest, "--out", out, "--detailed-exitcode", "--format", "json"},
		{"plan", "-f", manifest, "--out", out, "--format", "markdown"},
	} {
		code, stdout, stderr := w.cli(t, args...)
		if code != exitError {
			t.Errorf("%v: exit %d, want 1\n%s\n%s", args, code, stdout, stderr)
		}
		if !strings.Contains(stderr, "error: plan: the plan has 1 blocked change, which apply refuses:\n  plan-app/connection/events_dc/target/Order_Events: ") ||
			!strings.HasSuffix(stderr, "to unblock it, run: "+unblock+"\n") {
			t.Errorf("%v: stderr:\n%s", args, stderr)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Fatalf("%v: the blocked plan was saved (%v)", args, err)
		}
		if strings.Contains(strings.Join(args, " "), "--out") && !strings.Contains(stderr, "Not saved to "+out+": apply refuses a plan with blocked changes.") {
			t.Errorf("%v: stderr does not say the plan was not saved:\n%s", args, stderr)
		}
	}

	// Under GitHub Actions the Markdown still reaches the step summary, and
	// plan_file is empty: later steps must not look for a plan to apply.
	gh := t.TempDir()
	t.Setenv("GITHUB_ACTIONS", "true")
	t.Setenv("GITHUB_STEP_SUMMARY", filepath.Join(gh, "summary.md"))
	t.Setenv("GITHUB_OUTPUT", filepath.Join(gh, "output"))
	if code, _, stderr := w.cli(t, "plan", "-f", manifest, "--out", out); code != exitError {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	summary, _ := os.ReadFile(filepath.Join(gh, "summary.md"))
	outputs, _ := os.ReadFile(filepath.Join(gh, "output"))
	if !strings.Contains(string(summary), "To unblock it, run `"+unblock+"`") {
		t.Errorf("step summary:\n%s", summary)
	}
	if !strings.Contains(string(outputs), "plan_file<<") || strings.Contains(string(outputs), "plan.json") {
		t.Errorf("step outputs:\n%s", outputs)
	}

	// The command it names makes a plan that saves and applies.
	t.Setenv("GITHUB_ACTIONS", "")
	code, stdout, stderr := w.cli(t, "plan", "-f", manifest, "--replace", "plan-app/connection/events_dc", "--out", out, "--detailed-exitcode")
	if code != exitChanges || strings.Contains(stdout, "blocked") {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if _, err := os.Stat(out); err != nil {
		t.Fatal(err)
	}
}

// Hints repeat the global flags that say where the world and state are,
// never a password, and not what an environment variable already says.
func TestInvocationRepeatsWhereButNoSecret(t *testing.T) {
	invocation := func(args ...string) string {
		t.Helper()
		var got string
		app := &cli.App{Flags: globalFlags(), Action: func(c *cli.Context) error {
			got = newFactory(c, streams{}).Invocation("plan", []string{"my dir/applink.yaml"}).Command("plan", plan.Options{Prune: true})
			return nil
		}}
		if err := app.Run(append([]string{"applinkctl"}, args...)); err != nil {
			t.Fatal(err)
		}
		return got
	}
	t.Setenv("APPLINKCTL_STATE", "")
	t.Setenv("APPLINKCTL_WORKSPACE", "")
	t.Setenv("HEROKU_APPLINK_ADDON", "")
	if got, want := invocation("--sandbox"), "applinkctl plan -f 'my dir/applink.yaml' --sandbox --prune"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	got := invocation("--sandbox=sb", "--state", "postgres://ops:hunter2@db.example/x", "--workspace", "prod", "--addon-service", "applink-staging")
	want := "applinkctl plan -f 'my dir/applink.yaml' --sandbox=sb --state=postgres://ops:xxxxx@db.example/x --workspace=prod --addon-service=applink-staging --prune"
	if got != want || strings.Contains(got, "hunter2") {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	t.Setenv("APPLINKCTL_WORKSPACE", "prod")
	t.Setenv("APPLINKCTL_STATE", "postgres://ops:hunter2@db.example/x")
	if got, want := invocation(), "applinkctl plan -f 'my dir/applink.yaml' --prune"; got != want {
		t.Errorf("from the environment: got %s, want %s", got, want)
	}
}
