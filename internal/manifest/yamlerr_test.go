package manifest_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/applinkctl/applinkctl/internal/manifest"
)

// TestSyntaxErrorPositionsAreInTheFile cuts the YAML-error golden inputs
// in the middle and at both ends of every line and puts a tab at the start
// of every line, and checks that each problem's position is a real place in
// the file it names: a line that exists and a column at most one past its
// end (a cut file has no final newline, where the parser marks a line that
// does not exist).
func TestSyntaxErrorPositionsAreInTheFile(t *testing.T) {
	var inputs []string
	for _, c := range []string{"yaml-tab-indent", "yaml-unclosed-bracket", "yaml-unclosed-brace", "yaml-unclosed-quote", "yaml-bad-indent", "not-yaml", "yaml-second-document"} {
		b, err := os.ReadFile(filepath.Join(goldenRoot, c, "applink.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		start := 0
		for _, l := range strings.SplitAfter(s, "\n") {
			for _, cut := range []int{start + 1, start + len(l)/2, start + len(l) - 1} {
				if cut > 0 && cut < len(s) {
					inputs = append(inputs, s[:cut])
				}
			}
			start += len(l)
		}
		lines := strings.SplitAfter(s, "\n")
		for i := range lines {
			mod := append(append(append([]string(nil), lines[:i]...), "\t"+lines[i]), lines[i+1:]...)
			inputs = append(inputs, strings.Join(mod, ""))
		}
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "applink.yaml")
	checked := 0
	for _, in := range inputs {
		if err := os.WriteFile(file, []byte(in), 0o600); err != nil {
			t.Fatal(err)
		}
		_, problems, _ := manifest.Load([]string{file}, manifest.Options{LookupEnv: env(t, nil)})
		lines := strings.Split(in, "\n")
		for _, p := range problems {
			if p.Pos.File != file || p.Pos.Line == 0 {
				continue
			}
			checked++
			if p.Pos.Line > len(lines) || p.Pos.Col < 1 || p.Pos.Col > utf8.RuneCountInString(lines[p.Pos.Line-1])+1 {
				t.Errorf("%s: position outside the file:\n%s", p, in)
			}
		}
	}
	if checked < len(inputs)/2 {
		t.Fatalf("only %d positioned problems for %d inputs", checked, len(inputs))
	}
}
