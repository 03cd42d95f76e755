package export

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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
	tmp, err := os.CreateTemp(dir, ".applink.yaml.*")
	if err != nil {
		return path, fmt.Errorf("export: %w", err)
	}
	done := false
	defer func() {
		if !done {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return path, fmt.Errorf("export: write %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return path, fmt.Errorf("export: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return path, fmt.Errorf("export: write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return path, fmt.Errorf("export: write %s: %w", path, err)
	}
	if !force {
		// Link, not rename: it fails if the file appeared meanwhile.
		if err := os.Link(tmp.Name(), path); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return path, fmt.Errorf("export: %s %w: pass --force to overwrite it", path, ErrExists)
			}
			if err := os.Rename(tmp.Name(), path); err != nil {
				return path, fmt.Errorf("export: write %s: %w", path, err)
			}
			done = true
			return path, nil
		}
		_ = os.Remove(tmp.Name())
		done = true
		return path, nil
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return path, fmt.Errorf("export: write %s: %w", path, err)
	}
	done = true
	return path, nil
}
