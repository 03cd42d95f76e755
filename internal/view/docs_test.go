package view

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/applinkctl/applinkctl/internal/testkit"
)

// docPath is the documentation of every JSON wire format in this package.
var docPath = filepath.Join("..", "..", "docs", "plan-format.md")

// TestWireFieldsDocumented fails when a wire struct emits a field that
// docs/plan-format.md does not name, so the documentation cannot fall behind.
func TestWireFieldsDocumented(t *testing.T) {
	doc, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	// The plan's own fields are planfile's (TestV1FieldsDocumented).
	fields := testkit.JSONFields(jsonDrift{}, jsonEvent{}, jsonApplySummary{})
	if len(fields) < 20 {
		t.Fatalf("found only %d fields; is the reflection broken?", len(fields))
	}
	for name := range fields {
		if !strings.Contains(string(doc), "`"+name+"`") {
			t.Errorf("JSON field %q is not documented in %s", name, docPath)
		}
	}
}
