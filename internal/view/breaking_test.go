package view_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/plan"
	"github.com/applinkctl/applinkctl/internal/view"
)

func TestAnnotateBreaking(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	p := fullPlan()
	// The planner sets the spec's absolute path; annotations name it as the
	// repository does, relative to the working directory.
	for _, c := range p.Changes {
		if c.Spec != nil {
			c.Spec.File = filepath.Join(wd, "api", "openapi.yaml")
		}
	}
	var b bytes.Buffer
	view.AnnotateBreaking(&b, p, "error")
	want := "::error file=api/openapi.yaml,line=7,col=1::applinkctl plan: acme-api/connection/prod_org/publication/AcmeAPI: breaking change for callers: GET /legacy: API path removed without deprecation\n" +
		"::error file=api/openapi.yaml,line=9,col=5::applinkctl plan: acme-api/connection/prod_org/publication/AcmeAPI: breaking change for callers: GET /orders: deleted the `query` request parameter `status`\n"
	if b.String() != want {
		t.Errorf("annotations:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	view.AnnotateBreaking(&b, noopPlan(), "warning")
	if b.Len() != 0 {
		t.Errorf("a plan without breaking changes annotated: %s", b.String())
	}
}

// A republished spec that breaks nobody says so in every view, and the
// plan has no breaking change.
func TestCompatibleSpecChange(t *testing.T) {
	p := &plan.Plan{Changes: []*plan.Change{{
		Address: addr.Publication("acme-api", "prod_org", "AcmeAPI"), Kind: addr.KindPublication, Action: plan.Republish,
		Reasons: []string{"spec changed: +1 −0 operations"},
		Spec:    &plan.SpecChange{Added: []string{"POST /orders"}, UnifiedDiff: specDiff, File: "api/openapi.yaml"},
	}}}
	if n := len(p.BreakingChanges()); n != 0 {
		t.Fatalf("%d breaking changes", n)
	}
	for format, want := range map[string]string{
		"text":     "        not breaking: existing callers of the published API keep working\n",
		"markdown": "  - not breaking: existing callers of the published API keep working\n",
		"json":     "\"breaking\": false,\n        \"breaking_changes\": []",
	} {
		out := string(render(t, p, format, view.Options{}))
		if !strings.Contains(out, want) {
			t.Errorf("%s plan lacks %q:\n%s", format, want, out)
		}
		if strings.Contains(out, "⚠") {
			t.Errorf("%s plan warns of a breaking change:\n%s", format, out)
		}
	}
}
