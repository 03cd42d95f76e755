package planfile_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/applinkctl/applinkctl/internal/plan"
	"github.com/applinkctl/applinkctl/internal/planfile"
	"github.com/applinkctl/applinkctl/internal/testkit"
	"github.com/applinkctl/applinkctl/internal/view"
)

// A plan records what it was made against (the sandbox and its directory,
// or the real API; the state), so apply can refuse a saved one elsewhere.
func TestPlanFileKeepsItsOrigin(t *testing.T) {
	for _, o := range []plan.Origin{
		{Sandbox: "/work/.applinkctl/sandbox", State: "file:///work/.applinkctl/sandbox/state.json"},
		{State: "postgres://db.example:5432/ci?schema=applinkctl&workspace=infra-3fa2b1c0"},
		{}, // a plan not made by the CLI says nothing
	} {
		p := testkit.FullPlan()
		p.Origin = o
		path := filepath.Join(t.TempDir(), "plan.json")
		if err := planfile.Write(path, p); err != nil {
			t.Fatal(err)
		}
		raw, _ := os.ReadFile(path)
		if !strings.Contains(string(raw), `"made_against": `) {
			t.Errorf("plan file has no made_against:\n%s", raw)
		}
		got, err := planfile.Read(path)
		if err != nil {
			t.Fatal(err)
		}
		if got.Origin != o {
			t.Errorf("origin = %+v, want %+v", got.Origin, o)
		}
	}
	p := testkit.FullPlan()
	p.Origin = plan.Origin{Sandbox: "/sb", State: "file:///sb/state.json"}
	out := string(render(t, p, "json", view.Options{}))
	if !strings.Contains(out, `"made_against": {
    "sandbox": true,
    "sandbox_dir": "/sb",
    "state": "file:///sb/state.json"
  }`) {
		t.Errorf("plan --format json does not say what it was made against:\n%s", out)
	}
}

func TestPlanFileRefusesAnInconsistentOrigin(t *testing.T) {
	p := testkit.FullPlan()
	p.Origin = plan.Origin{Sandbox: "/sb", State: "file:///sb/state.json"}
	path := filepath.Join(t.TempDir(), "plan.json")
	if err := planfile.Write(path, p); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	bad := strings.Replace(string(raw), `"sandbox": true`, `"sandbox": false`, 1)
	if bad == string(raw) {
		t.Fatal("test did not alter the plan")
	}
	if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := planfile.Read(path); !errors.Is(err, planfile.ErrCorrupt) || !strings.Contains(err.Error(), "made_against") {
		t.Errorf("ReadPlanFile = %v, want a corrupt made_against", err)
	}
}
