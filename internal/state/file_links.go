package state

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/applinkctl/applinkctl/internal/fsutil"
)

// LinkError reports a symbolic link where the file backend keeps one of its
// files (state, lock, history). applinkctl never follows a link there (nor
// writes a temporary file through one: those are created with O_EXCL and
// O_NOFOLLOW under fresh names): a history link would have apply append to whatever file it
// names (as root, any file), a state link would have the state read from
// and written beside another file, and a dangling lock link would block
// every apply while naming no holder.
type LinkError struct {
	What   string // "state file", "lock file" or "history file"
	Path   string // the link itself
	Target string // what it names, as stored in the link; "" when unreadable
}

func (e *LinkError) Error() string {
	to := ""
	if e.Target != "" {
		to = " (to " + e.Target + ")"
	}
	fix := "remove it: rm " + shellQuote(e.Path)
	switch e.What {
	case "state file":
		fix += ", or pass --state with the path of the file it names"
	case "lock file":
		fix += " (or: applinkctl state unlock link, which removes only the link)"
	}
	return fmt.Sprintf("%s %s is a symbolic link%s; applinkctl never follows links beside its state: %s", e.What, e.Path, to, fix)
}

// shellQuote quotes p for a copy-pasted command line when it holds
// anything but the characters paths usually have.
func shellQuote(p string) string {
	if p != "" && strings.IndexFunc(p, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+:@%,=", r))
	}) < 0 {
		return p
	}
	return "'" + strings.ReplaceAll(p, "'", `'\''`) + "'"
}

// linkAt returns a *LinkError when path is a symbolic link, else nil.
func linkAt(path, what string) error {
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		return nil
	}
	target, _ := os.Readlink(path)
	return &LinkError{What: what, Path: path, Target: target}
}

// openNoFollow opens path without following a symbolic link in its last
// component; a link there is a *LinkError whatever the flags (O_NOFOLLOW
// fails with ELOOP on Linux and other errors elsewhere, hence the Lstat).
func openNoFollow(path string, flag int, perm fs.FileMode, what string) (*os.File, error) {
	if oNoFollow == 0 {
		// No O_NOFOLLOW on this system (Windows): look before opening.
		if lerr := linkAt(path, what); lerr != nil {
			return nil, lerr
		}
	}
	fh, err := os.OpenFile(path, flag|oNoFollow, perm)
	if err == nil {
		return fh, nil
	}
	if lerr := linkAt(path, what); lerr != nil {
		return nil, lerr
	}
	return nil, err
}

// removeTemps removes the temporary files a writer killed mid-write left
// beside the state (links among them are removed, never followed). It
// runs under the directory's flock, which every write holds, so it never
// takes a file a live write is using; when a write holds it now, it does
// nothing rather than wait.
func (f *fileBackend) removeTemps() {
	dir := filepath.Dir(f.path)
	unlock, ok, err := flockDirTry(dir)
	if err != nil || !ok {
		return
	}
	defer unlock()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	prefix := fsutil.TempPrefix(filepath.Base(f.path))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// LockLinkClearer is implemented by the file backend, whose lock path can
// hold a symbolic link instead of a lock file. `applinkctl state unlock`
// uses it to say what it removed.
type LockLinkClearer interface {
	// ClearLockLink removes the lock path when it is a symbolic link — the
	// link itself, never what it names — and describes it; nil when the
	// lock path is not a link.
	ClearLockLink(ctx context.Context) (*LinkError, error)
}

func (f *fileBackend) ClearLockLink(ctx context.Context) (*LinkError, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var le *LinkError
	if !errors.As(linkAt(f.lock, "lock file"), &le) {
		return nil, nil
	}
	// os.Remove unlinks the link; it never touches the file it names.
	if err := os.Remove(f.lock); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("state %s: unlock: %w", f.Describe(), err)
	}
	return le, nil
}
