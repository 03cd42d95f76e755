package plan_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestPlanIsPure fails when the planner, or any package of this module it
// depends on, reaches an HTTP client, a state backend or the CLI: plan
// compares plain records (live.World, statedata.State) and must stay
// testable without a server, a store or flags. The one import of net/http
// it tolerates is kin-openapi's, which parses publication specs.
func TestPlanIsPure(t *testing.T) {
	const module = "github.com/applinkctl/applinkctl/"
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	banned := []string{module + "internal/client", module + "internal/state", "github.com/urfave/cli"}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, " ")
		for _, b := range banned {
			if pkg == b || strings.HasPrefix(pkg, b+"/") {
				t.Errorf("plan depends on %s", pkg)
			}
		}
		if !strings.HasPrefix(pkg, module) {
			continue
		}
		for _, imp := range strings.Fields(imports) {
			if imp == "net/http" || strings.HasPrefix(imp, "net/http/") {
				t.Errorf("%s (a dependency of plan) imports %s", pkg, imp)
			}
		}
	}
}
