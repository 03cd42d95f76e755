package manifest

import (
	"encoding/json"
	"reflect"
	"testing"
)

// posOf finds a value by JSON pointer, escaped as the schema validator
// escapes it, falling back to the nearest ancestor.
func TestPosOf(t *testing.T) {
	src := "version: 1\napps:\n  \"a/b\":\n    connections: {}\n  \"t~1\": x\n  \"\": empty\n  list:\n    - one\n    - two\n"
	var ps problems
	d := &doc{file: "f.yaml"}
	if parseYAML([]byte(src), d, func(string) (string, bool) { return "", false }, &ps) == nil {
		t.Fatal(ps.list)
	}
	for ptr, want := range map[string]string{
		"":                          "f.yaml:1:1",
		"/apps":                     "f.yaml:2:1",
		"/apps/a~1b":                "f.yaml:3:3",
		"/apps/a~1b/connections":    "f.yaml:4:5",
		"/apps/a~1b/connections/zz": "f.yaml:4:5",
		"/apps/t~01":                "f.yaml:5:3",
		"/apps/":                    "f.yaml:6:3",
		"/apps/list/1":              "f.yaml:9:7",
		"/apps/list/01":             "f.yaml:7:3",
		"/nothing/here":             "f.yaml:1:1",
		"not-a-pointer":             "f.yaml:1:1",
	} {
		p := d.posOf(ptr).at()
		if got := (Problem{Pos: p}).String(); got != want+": " {
			t.Errorf("posOf(%q) = %s, want %s", ptr, got, want)
		}
	}
}

// wireApps decodes the apps as decoding the whole file into a fileWire
// does, whatever the value holds.
func TestWireAppsMatchesWholeFile(t *testing.T) {
	for _, src := range []string{
		`{"version": 1, "apps": {"a": {"addon": "x", "connections": {"c": {"type": "salesforce", "protect": true}}}, "b": null, "c": "string", "d": {"connections": 3}}}`,
		`{"Apps": {"a": {"addon": "first"}, "b": {}}, "apps": {"a": {"addon": "second"}}}`,
		`{"APPS": {"a": {}}, "apps": null}`,
		`{"apps": []}`,
		`{"apps": {"a": {"Connections": {"c": {"TYPE": "datacloud"}}}}}`,
		`{}`,
	} {
		var v any
		if err := json.Unmarshal([]byte(src), &v); err != nil {
			t.Fatal(err)
		}
		var fw fileWire
		raw, _ := json.Marshal(v)
		_ = json.Unmarshal(raw, &fw)
		if got := wireApps(v); !reflect.DeepEqual(got, fw.Apps) {
			t.Errorf("%s:\n got %+v\nwant %+v", src, got, fw.Apps)
		}
	}
}
