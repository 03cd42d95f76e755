package main

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const modulePath = "github.com/applinkctl/applinkctl/"

// TestCommandLayerImports keeps the commands thin (docs/design.md,
// "Packages"): a command file speaks to the rest of the module through
// pipeline (and the packages under it) and view only. The flag factory,
// which opens the platform client, the emulator of --sandbox and the state
// backend, is the one exception. And no package below cmd sees the flag
// parser.
func TestCommandLayerImports(t *testing.T) {
	opener := map[string][]string{
		"factory.go": {"internal/client", "internal/emulator", "internal/secret", "internal/state"},
		"backend.go": {"internal/emulator"},
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		checked++
		for _, imp := range importsOf(t, name) {
			rel, ok := strings.CutPrefix(imp, modulePath)
			if !ok {
				continue
			}
			if rel == "internal/view" || rel == "internal/pipeline" || strings.HasPrefix(rel, "internal/pipeline/") || slices.Contains(opener[name], rel) {
				continue
			}
			t.Errorf("%s imports %s: commands call internal/pipeline (or a package under it) and render with internal/view; move the work there", name, imp)
		}
	}
	if checked == 0 {
		t.Fatal("no command file found")
	}

	internal := filepath.Join("..", "..", "internal")
	seen := 0
	err = filepath.WalkDir(internal, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != internal {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		seen++
		for _, imp := range importsOf(t, path) {
			if strings.HasPrefix(imp, "github.com/urfave/") {
				t.Errorf("%s imports %s: only cmd/applinkctl parses flags", path, imp)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen == 0 {
		t.Fatalf("no Go file under %s", internal)
	}
}

// importsOf lists the import paths of the Go file at path.
func importsOf(t *testing.T, path string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range f.Imports {
		p, err := strconv.Unquote(s.Path.Value)
		if err != nil {
			t.Fatalf("%s: import %s: %v", path, s.Path.Value, err)
		}
		out = append(out, p)
	}
	return out
}
