package specdiff_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/applinkctl/applinkctl/internal/specdiff"
	"github.com/applinkctl/applinkctl/internal/testkit"
)

var update = flag.Bool("update", false, "rewrite the want.txt files of testdata/breaking")

// TestGolden compares every pair of testdata/breaking/<case>: old.yaml (or
// old.json), the spec as published, and new.yaml (new.json), the spec in
// the manifest. want.txt holds one line per breaking change,
// "FILE:LINE:COL: ID: OPERATION: MESSAGE", or "not breaking".
func TestGolden(t *testing.T) {
	olds, err := filepath.Glob("../../testdata/breaking/*/old.*")
	if err != nil {
		t.Fatal(err)
	}
	if len(olds) < 12 {
		t.Fatalf("want at least 12 cases under testdata/breaking, found %d", len(olds))
	}
	for _, old := range olds {
		dir := filepath.Dir(old)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			newName := "new" + filepath.Ext(old)
			a, err := os.ReadFile(old)
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(filepath.Join(dir, newName))
			if err != nil {
				t.Fatal(err)
			}
			cs, err := specdiff.Compare(a, b)
			if err != nil {
				t.Fatal(err)
			}
			var got strings.Builder
			for _, c := range cs {
				fmt.Fprintf(&got, "%s:%d:%d: %s: %s\n", newName, c.Line, c.Column, c.ID, c)
			}
			if len(cs) == 0 {
				got.WriteString("not breaking\n")
			}
			testkit.Golden(t, filepath.Join(dir, "want.txt"), []byte(got.String()), *update, "go test ./internal/specdiff -update")
		})
	}
}

// Every breaking change points at a line of the new spec, even a removal
// whose element is gone from it.
func TestEveryChangeHasALine(t *testing.T) {
	olds, _ := filepath.Glob("../../testdata/breaking/*/old.*")
	for _, old := range olds {
		a, _ := os.ReadFile(old)
		b, _ := os.ReadFile(filepath.Join(filepath.Dir(old), "new"+filepath.Ext(old)))
		cs, err := specdiff.Compare(a, b)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Count(string(b), "\n") + 1
		for _, c := range cs {
			if c.Line < 1 || c.Line > lines || c.Column < 1 {
				t.Errorf("%s: %s at %d:%d, outside the new spec's %d lines", old, c.ID, c.Line, c.Column, lines)
			}
		}
	}
}

func TestCompareErrors(t *testing.T) {
	good := []byte("openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\n")
	ext := []byte("openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    get:\n      responses:\n        '200':\n          $ref: other.yaml#/r\n")
	cases := []struct {
		name     string
		old, new []byte
		want     string
	}{
		{"published not a spec", []byte("openapi: [\n"), good, "published spec: "},
		{"new not a spec", good, []byte("- a list\n"), "new spec: "},
		{"external ref", good, ext, `new spec: external $ref "other.yaml#/r" is not supported`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := specdiff.Compare(c.old, c.new)
			if err == nil || !strings.HasPrefix(err.Error(), c.want) {
				t.Fatalf("got %v, want an error starting %q", err, c.want)
			}
		})
	}
}

// The same spec, however formatted, breaks nothing.
func TestSameSpecIsNotBreaking(t *testing.T) {
	olds, _ := filepath.Glob("../../testdata/breaking/*/new.*")
	for _, f := range olds {
		b, _ := os.ReadFile(f)
		cs, err := specdiff.Compare(b, b)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) != 0 {
			t.Errorf("%s against itself: %v", f, cs)
		}
	}
}

// BenchmarkCompare measures one classification of a republished spec, which
// plan runs once per publication whose spec changed.
func BenchmarkCompare(b *testing.B) {
	a, err := os.ReadFile("../../testdata/breaking/response_field_type_changed/old.yaml")
	if err != nil {
		b.Fatal(err)
	}
	n, err := os.ReadFile("../../testdata/breaking/response_field_type_changed/new.yaml")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := specdiff.Compare(a, n); err != nil {
			b.Fatal(err)
		}
	}
}
