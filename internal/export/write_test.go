package export_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/applinkctl/applinkctl/internal/export"
)

func TestWriteFileRefusesToOverwriteWithoutForce(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "infra", "applink")
	path, err := export.WriteFile(dir, []byte("version: 1\n"), false)
	if err != nil || path != filepath.Join(dir, "applink.yaml") {
		t.Fatalf("first write: %q %v", path, err)
	}
	if _, err := export.WriteFile(dir, []byte("version: 2\n"), false); !errors.Is(err, export.ErrExists) {
		t.Fatalf("second write without force: %v", err)
	} else if want := "export: " + path + " exists: pass --force to overwrite it"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	if b, _ := os.ReadFile(path); string(b) != "version: 1\n" {
		t.Errorf("refused write changed the file: %q", b)
	}
	if _, err := export.WriteFile(dir, []byte("version: 2\n"), true); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "version: 2\n" {
		t.Errorf("forced write: %q", b)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

func TestWriteFileIntoAFileFails(t *testing.T) {
	file := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := export.WriteFile(file, []byte("x"), false); err == nil {
		t.Error("wrote below a regular file")
	}
}
