package manifest_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/manifest"
	"github.com/applinkctl/applinkctl/internal/testkit"
)

const goldenRoot = "../../testdata/validate"

// generated builds the inputs of cases too big to commit; each returns the
// path to load and the prefix to strip from messages.
var generated = map[string]func(t *testing.T) string{
	"too-large": func(t *testing.T) string {
		dir := t.TempDir()
		p := filepath.Join(dir, "applink.yaml")
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteString("version: 1\napps: {}\n"); err != nil {
			t.Fatal(err)
		}
		if err := f.Truncate(50 << 20); err != nil { // sparse: costs no disk
			t.Fatal(err)
		}
		f.Close()
		return dir
	},
}

// TestGolden loads every testdata/validate/<case>/ directory and compares
// the problems with <case>/expected.txt (go test -update rewrites them).
func TestGolden(t *testing.T) {
	entries, err := os.ReadDir(goldenRoot)
	if err != nil {
		t.Fatal(err)
	}
	secrets := keys(t)
	cases := 0
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		cases++
		name := e.Name()
		t.Run(name, func(t *testing.T) {
			caseDir := filepath.Join(goldenRoot, name)
			input := caseDir
			if gen, ok := generated[name]; ok {
				input = gen(t)
			}
			start := time.Now()
			m, problems, err := manifest.Load([]string{input}, manifest.Options{LookupEnv: env(t, nil)})
			if d := time.Since(start); d > 30*time.Second { // a hang guard, room for a loaded machine
				t.Errorf("Load took %v", d)
			}
			var b strings.Builder
			for _, p := range problems {
				b.WriteString(strings.ReplaceAll(p.String(), input+string(filepath.Separator), ""))
				b.WriteByte('\n')
			}
			switch {
			case err == nil:
				c := m.Counts()
				b.WriteString("ok\n")
				_ = c
			case errors.Is(err, manifest.ErrInvalid):
				var ie *manifest.InvalidError
				if !errors.As(err, &ie) || len(ie.Problems) != len(problems) {
					t.Errorf("error %T does not carry the problems", err)
				}
			default:
				t.Fatalf("Load: unexpected error kind %T: %v", err, err)
			}
			got := b.String()
			for k, v := range secrets {
				body := strings.TrimSpace(v)
				if lines := strings.Split(body, "\n"); len(lines) > 2 && strings.Contains(got, lines[1]) {
					t.Errorf("output quotes the secret %s", k)
				}
			}
			testkit.Golden(t, filepath.Join(caseDir, "expected.txt"), []byte(got), *update, "go test ./internal/manifest -update")
		})
	}
	if cases == 0 {
		t.Fatalf("no cases under %s: the cases are part of the repository", goldenRoot)
	}
}
