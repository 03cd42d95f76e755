package planfile

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/applinkctl/applinkctl/internal/testkit"
)

// docPath documents the JSON plan, which a saved plan of version 1 is.
var docPath = filepath.Join("..", "..", "docs", "plan-format.md")

// TestV1FieldsDocumented fails when a saved plan holds a field that
// docs/plan-format.md does not name.
func TestV1FieldsDocumented(t *testing.T) {
	doc, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	fields := testkit.JSONFields(v1Plan{})
	if len(fields) < 30 {
		t.Fatalf("found only %d fields; is the reflection broken?", len(fields))
	}
	for name := range fields {
		if !strings.Contains(string(doc), "`"+name+"`") {
			t.Errorf("plan file field %q is not documented in %s", name, docPath)
		}
	}
}

// TestDocExampleIsAPlan checks that the documented plan example is a plan
// file this package reads, so the example cannot rot either.
func TestDocExampleIsAPlan(t *testing.T) {
	doc, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)### Example\n\n```json\n(.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("no plan example found")
	}
	p, err := decode(m[1])
	if err != nil {
		t.Fatalf("documented example: %v", err)
	}
	if len(p.Changes) != 3 || p.Changes[2].Spec == nil || p.Changes[2].CausedBy == "" {
		t.Errorf("documented example decoded to %+v", p)
	}
	// The example is in canonical form: re-encoding gives the same bytes.
	b, err := marshalIndent(encodeV1(p))
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != string(m[1]) {
		t.Errorf("documented example is not what applinkctl writes:\n%s", b)
	}
}
