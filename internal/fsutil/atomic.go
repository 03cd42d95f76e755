package fsutil

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteFileAtomic replaces path with data so that a reader, and the file
// after a crash, holds the old content or the new, never a mix: data goes
// to a new temporary file beside path (see TempPrefix), which is given
// mode perm exactly (whatever the umask), synced, renamed over path, and
// the directory is synced so that the rename survives a crash.
//
// The rename replaces what is at path: when path is a symbolic link, the
// link is replaced, never the file it names, and a link planted under a
// temporary file's name is never written through (the temporary file is
// created with O_EXCL and O_NOFOLLOW).
func WriteFileAtomic(path string, data []byte, perm fs.FileMode) error {
	return writeAtomic(path, data, perm, os.Rename)
}

// CreateFileAtomic is WriteFileAtomic for a file that must not exist yet:
// when something is at path, even something that appeared while data was
// being written, it leaves it alone and returns an error matching
// fs.ErrExist. Where hard links are not supported it falls back to a
// rename, which does not detect a file that appeared during the write.
func CreateFileAtomic(path string, data []byte, perm fs.FileMode) error {
	if _, err := os.Lstat(path); err == nil {
		return &fs.PathError{Op: "create", Path: path, Err: fs.ErrExist}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return writeAtomic(path, data, perm, func(tmp, path string) error {
		// Link, not rename: it fails if the file appeared meanwhile.
		err := os.Link(tmp, path)
		switch {
		case err == nil:
			return os.Remove(tmp)
		case errors.Is(err, fs.ErrExist):
			return err
		default:
			return os.Rename(tmp, path)
		}
	})
}

// TempPrefix starts the names of the temporary files that WriteFileAtomic
// and CreateFileAtomic create beside a file named base: ".BASE.tmp-". A
// writer killed mid-write leaves one behind; whoever owns the directory
// may remove them by this prefix while no write is running.
func TempPrefix(base string) string { return "." + base + ".tmp-" }

func writeAtomic(path string, data []byte, perm fs.FileMode, place func(tmp, path string) error) (err error) {
	dir := filepath.Dir(path)
	tmp, err := createTemp(dir, filepath.Base(path))
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Chmod(perm); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = place(tmp.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}

// createTemp creates a new regular file in dir named TempPrefix(base) and
// a random suffix, with O_EXCL and O_NOFOLLOW: never what a link planted
// under that name points to.
func createTemp(dir, base string) (*os.File, error) {
	for range 100 {
		fh, err := os.OpenFile(filepath.Join(dir, TempPrefix(base)+rand.Text()), os.O_RDWR|os.O_CREATE|os.O_EXCL|noFollow, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue // taken (by a file or a link): another name
		}
		return fh, err
	}
	return nil, fmt.Errorf("create a temporary file in %s: every name tried was taken", dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
