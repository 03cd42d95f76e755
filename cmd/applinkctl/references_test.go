package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// outsideRefRE matches a citation of something a reader of the repository
// cannot open: the maintainers' design notes kept outside it, a section
// sign that points into them, or an issue tracker entry by number. Code
// comments and docs cite files in the repository (docs/design.md,
// docs/api.md, …) or say the reason themselves. The names are split so
// that this file does not match itself.
var outsideRefRE = regexp.MustCompile(strings.Join([]string{
	`\b` + "DESIGN" + `\.md`, `\b` + "STYLE" + `\.md`, // upper case: docs/design.md is ours
	`(?i:\b` + "applink-api" + `\.md)`, `(?i:\b` + "realcli-wire" + `\.md)`,
	`(?i:\b` + "issues?" + ` #?\d+)`,
	"\u00a7",
}, "|"))

// docRefRE matches a citation of a page of docs/.
var docRefRE = regexp.MustCompile(`\bdocs/[A-Za-z0-9_-]+\.md\b`)

// TestReferencesLeadSomewhere fails on any source, doc, workflow or script
// of the repository that cites a file outside it or an issue by number,
// or a page of docs/ that does not exist.
func TestReferencesLeadSomewhere(t *testing.T) {
	root := filepath.Join("..", "..")
	n := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); p != root && (strings.HasPrefix(name, ".") && name != ".github" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		switch filepath.Ext(p) {
		case ".go", ".md", ".yml", ".yaml", ".txtar", ".json":
		default:
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		n++
		for i, line := range strings.Split(string(b), "\n") {
			if m := outsideRefRE.FindString(line); m != "" {
				rel, _ := filepath.Rel(root, p)
				t.Errorf("%s:%d cites %q, which is not in the repository: cite a file under docs/ (or README.md) with its section, or say the reason", filepath.ToSlash(rel), i+1, m)
			}
			for _, m := range docRefRE.FindAllString(line, -1) {
				if _, err := os.Stat(filepath.Join(root, m)); err != nil {
					rel, _ := filepath.Rel(root, p)
					t.Errorf("%s:%d cites %s, which does not exist", filepath.ToSlash(rel), i+1, m)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 100 {
		t.Fatalf("walked only %d files from %s: not the repository's root?", n, root)
	}
}
