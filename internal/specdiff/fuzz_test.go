package specdiff_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/applinkctl/applinkctl/internal/specdiff"
)

// FuzzCompare feeds Compare arbitrary pairs of documents: it returns
// changes or an error, never panics, and every change has a line.
func FuzzCompare(f *testing.F) {
	olds, _ := filepath.Glob("../../testdata/breaking/*/old.*")
	for _, old := range olds {
		a, _ := os.ReadFile(old)
		b, _ := os.ReadFile(filepath.Join(filepath.Dir(old), "new"+filepath.Ext(old)))
		f.Add(a, b)
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		cs, err := specdiff.Compare(a, b)
		if err != nil {
			return
		}
		for _, c := range cs {
			if c.Line < 1 || c.Column < 1 || c.ID == "" || c.Message == "" {
				t.Fatalf("change %+v", c)
			}
		}
	})
}
