package manifest_test

import (
	"bytes"
	"encoding/json"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/applinkctl/applinkctl/internal/manifest"
)

const schemaFile = "../../schema/applink.schema.json"

// TestSchemaFileUpToDate guards the committed schema: editors read the file,
// validate reads Schema(), and the two must not drift.
func TestSchemaFileUpToDate(t *testing.T) {
	got := manifest.Schema()
	if *update {
		if err := os.WriteFile(schemaFile, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is out of date: run go test ./internal/manifest -update (or make schema)", schemaFile)
	}
}

func TestSchemaShape(t *testing.T) {
	var s map[string]any
	if err := json.Unmarshal(manifest.Schema(), &s); err != nil {
		t.Fatalf("schema is not JSON: %v", err)
	}
	if s["$id"] != manifest.SchemaID {
		t.Errorf("$id = %v", s["$id"])
	}
	// additionalProperties is false on every object with properties.
	var walk func(path string, v any)
	walk = func(path string, v any) {
		m, ok := v.(map[string]any)
		if !ok {
			return
		}
		if _, hasProps := m["properties"]; hasProps && m["additionalProperties"] != false {
			t.Errorf("%s: additionalProperties is %v, want false", path, m["additionalProperties"])
		}
		for k, c := range m {
			walk(path+"/"+k, c)
		}
	}
	walk("#", s)
	if !bytes.HasSuffix(manifest.Schema(), []byte("}\n")) {
		t.Error("schema lacks its trailing newline")
	}
}

// schemaProperties lists every property name the schema defines.
func schemaProperties(t *testing.T) []string {
	t.Helper()
	var s map[string]any
	if err := json.Unmarshal(manifest.Schema(), &s); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch m := v.(type) {
		case map[string]any:
			if props, ok := m["properties"].(map[string]any); ok {
				for k := range props {
					seen[k] = true
				}
			}
			for _, c := range m {
				walk(c)
			}
		case []any:
			for _, c := range m {
				walk(c)
			}
		}
	}
	walk(s)
	var out []string
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestDocsCoverSchema keeps docs/manifest.md honest: every field of the
// schema has a row in the field tables, and every row names a real field.
func TestDocsCoverSchema(t *testing.T) {
	doc, err := os.ReadFile("../../docs/manifest.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\|").FindAllStringSubmatch(string(doc), -1) {
		rows[m[1]] = true
	}
	props := schemaProperties(t)
	known := map[string]bool{}
	for _, p := range props {
		known[p] = true
		if !rows[p] {
			t.Errorf("docs/manifest.md has no table row for field %q", p)
		}
	}
	for r := range rows {
		if !known[r] {
			t.Errorf("docs/manifest.md documents %q, which the schema does not have", r)
		}
	}
	if !strings.Contains(string(doc), "schema/applink.schema.json") {
		t.Error("docs/manifest.md does not point at the schema file")
	}
}

// TestNamePatternMatchesHandCheck proves the schema's look-ahead-free name
// pattern and the hand-written check agree, so editors and validate never
// disagree about a name.
func TestNamePatternMatchesHandCheck(t *testing.T) {
	re := regexp.MustCompile(`^[A-Za-z](_?[A-Za-z0-9])*$`)
	if !strings.Contains(string(manifest.Schema()), strings.ReplaceAll(re.String(), `\`, `\\`)) {
		t.Fatal("schema does not carry the name pattern under test")
	}
	alphabet := []byte("aZ9_-")
	var gen func(prefix []byte, n int)
	count := 0
	gen = func(prefix []byte, n int) {
		if n == 0 {
			s := string(prefix)
			want := re.MatchString(s) && len(s) >= 3 && len(s) <= 30
			if got := manifest.ValidName(s) == nil; got != want {
				t.Errorf("name %q: hand check %v, schema pattern %v", s, got, want)
			}
			count++
			return
		}
		for _, c := range alphabet {
			gen(append(prefix, c), n-1)
		}
	}
	for n := 0; n <= 6; n++ {
		gen(nil, n)
	}
	for _, s := range []string{strings.Repeat("a", 30), strings.Repeat("a", 31), "a" + strings.Repeat("_b", 14) + "c", "a" + strings.Repeat("_b", 15)} {
		want := re.MatchString(s) && len(s) >= 3 && len(s) <= 30
		if got := manifest.ValidName(s) == nil; got != want {
			t.Errorf("name %q: hand check %v, schema pattern %v", s, got, want)
		}
	}
	if count == 0 {
		t.Fatal("no names generated")
	}
}
