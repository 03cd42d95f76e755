package ghreport

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/apply"
)

// Under GitHub Actions an apply annotates the run with its root-cause
// failures and pending resources and appends its summary to the step
// summary.
func TestApplyReportsToGitHub(t *testing.T) {
	summary := filepath.Join(t.TempDir(), "summary.md")
	t.Setenv("GITHUB_STEP_SUMMARY", summary)
	var errOut bytes.Buffer
	s := apply.Summary{
		Created: 1, Failed: 1, Pending: 1,
		RootCauses:   []apply.Failure{{Address: addr.Connection("acme-api", "prod_org"), Message: "status is failed (authentication_failed)"}},
		StillPending: []apply.Failure{{Address: addr.Target("acme-api", "events_dc", "Order_Events"), RemoteID: "t-1", Status: "creating"}},
	}
	if err := (Reporter{on: true, errw: &errOut}).Apply(s); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"::error::applinkctl apply: acme-api/connection/prod_org: status is failed (authentication_failed)\n",
		"::warning::applinkctl apply: acme-api/connection/events_dc/target/Order_Events still pending (status creating, id t-1)",
	} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("annotations %q lack %q", errOut.String(), want)
		}
	}
	b, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "### applinkctl apply") || !strings.Contains(string(b), "Apply failed: 1 created") {
		t.Errorf("step summary:\n%s", b)
	}
}
