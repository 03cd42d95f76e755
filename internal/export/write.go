package export

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/applinkctl/applinkctl/internal/fsutil"
)

// FileName is the name of the manifest WriteFile writes in its directory.
const FileName = "applink.yaml"

// ErrExists is returned by WriteFile when the manifest exists and force is
// not set: an export must never silently replace a reviewed manifest.
var ErrExists = errors.New("exists")

// WriteFile writes data as dir/applink.yaml, creating dir, and returns the
// path written. An existing file is replaced only with force; the write is
// atomic (a temporary file renamed over it), so an interrupted export
// leaves the old file or the new one, never half of either.
func WriteFile(dir string, data []byte, force bool) (string, error) {
	if dir == "" {
		dir = "."
	}
	path := filepath.Join(dir, FileName)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return path, fmt.Errorf("export: %w", err)
	}
	if !force {
		if _, err := os.Lstat(path); err == nil {
			return path, fmt.Errorf("export: %s %w: pass --force to overwrite it", path, ErrExists)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return path, fmt.Errorf("export: %w", err)
		}
	}
	write := fsutil.WriteFileAtomic
	if !force {
		write = fsutil.CreateFileAtomic
	}
	if err := write(path, data, 0o644); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return path, fmt.Errorf("export: %s %w: pass --force to overwrite it", path, ErrExists)
		}
		return path, fmt.Errorf("export: write %s: %w", path, err)
	}
	return path, nil
}
