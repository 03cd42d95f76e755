package view

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// docPath is the documentation of every JSON wire format in this package.
var docPath = filepath.Join("..", "..", "docs", "plan-format.md")

// jsonFields collects the JSON names of t's fields, recursively.
func jsonFields(t reflect.Type, seen map[reflect.Type]bool, out map[string]bool) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || seen[t] {
		return
	}
	seen[t] = true
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		out[name] = true
		jsonFields(f.Type, seen, out)
	}
}

// TestWireFieldsDocumented fails when a wire struct emits a field that
// docs/plan-format.md does not name, so the documentation cannot fall behind.
func TestWireFieldsDocumented(t *testing.T) {
	doc, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	fields := map[string]bool{}
	seen := map[reflect.Type]bool{}
	for _, v := range []any{jsonPlan{}, jsonDrift{}, jsonEvent{}, jsonApplySummary{}} {
		jsonFields(reflect.TypeOf(v), seen, fields)
	}
	if len(fields) < 40 {
		t.Fatalf("found only %d fields; is the reflection broken?", len(fields))
	}
	for name := range fields {
		if !strings.Contains(string(doc), "`"+name+"`") {
			t.Errorf("JSON field %q is not documented in %s", name, docPath)
		}
	}
}
