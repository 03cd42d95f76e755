// Package fsutil reads the files a user names: manifests, private keys,
// specs, publication metadata, saved plans, certificates. Every such read
// goes through it so that a wrong path can neither hang applinkctl nor make
// it read something it was not meant to:
//
//   - files are opened without blocking (O_NONBLOCK) and checked with fstat
//     on the opened descriptor, so a named pipe, socket, device or
//     directory is refused at once instead of waiting for a writer for
//     ever; checking the descriptor rather than the path leaves no window
//     between the check and the read;
//   - the size is checked before a byte is read, and the read is bounded
//     anyway, so a huge file or one that grows is refused quickly;
//   - files read from a directory (ReadFileIn, StatIn) are opened through
//     an os.Root, which refuses any symbolic link that leads outside the
//     directory, so a repository cannot make a CI run read the runner's
//     files by committing a link.
//
// Errors carry no path (the caller names the file, with the field that gave
// it) and never any of the file's content.
package fsutil

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrNotRegular is matched (errors.Is) by every *NotRegularError.
var ErrNotRegular = errors.New("not a regular file")

// NotRegularError refuses a file that is not a regular file: a named pipe,
// socket, device or directory where a file is expected.
type NotRegularError struct {
	Mode fs.FileMode
}

// Error reads after the path: "is a named pipe, not a regular file".
func (e *NotRegularError) Error() string {
	return "is " + Describe(e.Mode) + ", not a regular file"
}

// Is makes errors.Is(err, ErrNotRegular) true.
func (e *NotRegularError) Is(target error) bool { return target == ErrNotRegular }

// Describe names a file type with its article: "a named pipe", "a
// directory", "a character device".
func Describe(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "a regular file"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "an irregular file"
}

// TooLargeError refuses a file over the caller's size limit.
type TooLargeError struct {
	Size  int64 // -1 when the file grew past the limit while being read
	Limit int64
}

func (e *TooLargeError) Error() string {
	if e.Size < 0 {
		return fmt.Sprintf("file is larger than the %s limit", HumanSize(e.Limit))
	}
	return fmt.Sprintf("file is %s, larger than the %s limit", HumanSize(e.Size), HumanSize(e.Limit))
}

// EscapeError refuses a path under a directory that resolves outside it,
// through a symbolic link or "..". Target is where it leads (a path, never
// anything read from it).
type EscapeError struct {
	Dir    string
	Target string
}

func (e *EscapeError) Error() string {
	dir := e.Dir
	if dir == "." {
		dir = "the working directory"
	}
	if e.Target == "" {
		return "leads outside " + dir
	}
	return fmt.Sprintf("is a symbolic link to %s, outside %s", e.Target, dir)
}

// HumanSize formats a byte count for messages: "512 bytes", "1.5 KiB",
// "10.0 MiB".
func HumanSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// ReadFile reads the regular file at path (following symbolic links: the
// user named it) up to limit bytes.
func ReadFile(path string, limit int64) ([]byte, error) {
	data, _, err := ReadFileInfo(path, limit)
	return data, err
}

// ReadFileInfo is ReadFile that also returns the opened file's FileInfo,
// for checks such as a private key's permissions that must describe the
// file actually read.
func ReadFileInfo(path string, limit int64) ([]byte, fs.FileInfo, error) {
	f, err := os.OpenFile(path, openFlags, 0)
	if err != nil {
		return nil, nil, bare(err)
	}
	defer f.Close()
	return readRegular(f, limit)
}

// ReadFileIn reads name, a relative path inside dir, up to limit bytes. A
// name that leaves dir, lexically or through a symbolic link anywhere along
// it, is refused with an *EscapeError; links that stay inside are followed.
func ReadFileIn(dir, name string, limit int64) ([]byte, error) {
	f, err := openIn(dir, name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, _, err := readRegular(f, limit)
	return data, err
}

// StatIn is ReadFileIn without the read: it reports whether name exists
// inside dir as a regular file, with the same refusals.
func StatIn(dir, name string) (fs.FileInfo, error) {
	f, err := openIn(dir, name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, bare(err)
	}
	if !st.Mode().IsRegular() {
		return nil, &NotRegularError{Mode: st.Mode()}
	}
	return st, nil
}

// CheckWithin reports whether name, a path relative to dir, stays inside
// dir once symbolic links are resolved: an absolute name, one climbing out
// with "..", or one through a link to outside gets an *EscapeError. A name
// that does not exist is not an error here (the read that follows reports
// it); nothing is opened, so no file is read or waited on.
func CheckWithin(dir, name string) error {
	if !filepath.IsLocal(name) {
		return &EscapeError{Dir: dir}
	}
	return escapeOf(dir, name)
}

func openIn(dir, name string) (*os.File, error) {
	if !filepath.IsLocal(name) {
		return nil, &EscapeError{Dir: dir}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, bare(err)
	}
	defer root.Close()
	f, err := root.OpenFile(name, openFlags, 0)
	if err == nil {
		return f, nil
	}
	// os.Root refused or failed. Say why in terms of the link when the
	// name leads outside. A link that os.Root refuses although it leads
	// back inside (an absolute target such as /repo/manifests/x.yaml) is
	// opened at its resolved path, which holds no link left to follow.
	resolved, inside, ok := resolveIn(dir, name)
	switch {
	case !ok:
		return nil, bare(err)
	case !inside:
		return nil, &EscapeError{Dir: dir, Target: resolved}
	}
	f, ferr := os.OpenFile(resolved, openFlags|noFollow, 0)
	if ferr != nil {
		return nil, bare(ferr)
	}
	return f, nil
}

// escapeOf returns an *EscapeError when dir/name resolves outside dir, naming
// where it leads; nil when it stays inside or cannot be resolved (missing).
func escapeOf(dir, name string) error {
	if resolved, inside, ok := resolveIn(dir, name); ok && !inside {
		return &EscapeError{Dir: dir, Target: resolved}
	}
	return nil
}

// resolveIn resolves the symbolic links of dir/name and reports where it
// leads and whether that is inside dir; ok is false when it cannot tell.
// Missing components and dangling links are judged as far as they go, so
// that a link to outside is reported even when its target does not exist.
func resolveIn(dir, name string) (resolved string, inside, ok bool) {
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return "", false, false
	}
	base, err := filepath.EvalSymlinks(absDir)
	if err != nil {
		return "", false, false
	}
	resolved, ok = resolvePartial(filepath.Join(absDir, name))
	if !ok {
		return "", false, false
	}
	return resolved, within(base, resolved), true
}

// resolvePartial is filepath.EvalSymlinks for a path that may not exist:
// the longest existing prefix is resolved, a dangling link is followed by
// its text, and the rest is appended.
func resolvePartial(p string) (string, bool) {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r, true
	}
	parent := filepath.Dir(p)
	if parent == p {
		return "", false
	}
	rp, ok := resolvePartial(parent)
	if !ok {
		return "", false
	}
	q := filepath.Join(rp, filepath.Base(p))
	if t, err := os.Readlink(q); err == nil {
		if !filepath.IsAbs(t) {
			t = filepath.Join(rp, t)
		}
		return filepath.Clean(t), true
	}
	return q, true
}

// within reports whether the absolute path p is dir or under it.
func within(dir, p string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && (rel == "." || filepath.IsLocal(rel))
}

// readRegular refuses anything but a regular file, checks the size, then
// reads at most limit+1 bytes so a file growing meanwhile is caught too.
func readRegular(f *os.File, limit int64) ([]byte, fs.FileInfo, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, nil, bare(err)
	}
	if !st.Mode().IsRegular() {
		return nil, nil, &NotRegularError{Mode: st.Mode()}
	}
	if st.Size() > limit {
		return nil, nil, &TooLargeError{Size: st.Size(), Limit: limit}
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, nil, bare(err)
	}
	if int64(len(data)) > limit {
		return nil, nil, &TooLargeError{Size: -1, Limit: limit}
	}
	return data, st, nil
}

// bare drops the *fs.PathError wrapper: callers name the file themselves,
// and the wrapped errno still matches fs.ErrNotExist and friends.
func bare(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
