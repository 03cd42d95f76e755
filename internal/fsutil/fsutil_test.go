package fsutil_test

import (
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/fsutil"
	"github.com/applinkctl/applinkctl/internal/testkit"
)

// within runs f and fails the test if it has not returned after a
// generous delay: a read that blocks (the bug with named pipes) then shows
// as a failure, not as a hung test binary.
func within[T any](t *testing.T, f func() (T, error)) (T, error) {
	t.Helper()
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := f()
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-time.After(30 * time.Second):
		t.Fatal("read still blocked after 30s")
		panic("unreachable")
	}
}

func write(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestReadFileRefusesWhatIsNotARegularFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pipe.yaml")
	testkit.Mkfifo(t, fifo)
	sock := filepath.Join(dir, "s.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, tc := range []struct {
		path, want string
	}{
		{fifo, "is a named pipe, not a regular file"},
		{dir, "is a directory, not a regular file"},
		{os.DevNull, "is a character device, not a regular file"},
		{sock, ""}, // opening a socket fails (ENXIO) before fstat: refused either way
	} {
		_, err := within(t, func() ([]byte, error) { return fsutil.ReadFile(tc.path, 1<<20) })
		if err == nil {
			t.Errorf("%s: read, want refused", tc.path)
			continue
		}
		if tc.want != "" && (err.Error() != tc.want || !errors.Is(err, fsutil.ErrNotRegular)) {
			t.Errorf("%s: err = %v, want %q", tc.path, err, tc.want)
		}
		if strings.Contains(err.Error(), tc.path) {
			t.Errorf("%s: error %q names the path: the caller does", tc.path, err)
		}
	}
}

func TestReadFileSizeAndMissing(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "big")
	write(t, p, strings.Repeat("x", 2048))
	if _, err := fsutil.ReadFile(p, 1024); err == nil || err.Error() != "file is 2.0 KiB, larger than the 1.0 KiB limit" {
		t.Errorf("err = %v", err)
	}
	if b, err := fsutil.ReadFile(p, 4096); err != nil || len(b) != 2048 {
		t.Errorf("read %d bytes, %v", len(b), err)
	}
	if _, err := fsutil.ReadFile(filepath.Join(dir, "nope"), 10); !errors.Is(err, fs.ErrNotExist) || err.Error() != "no such file or directory" {
		t.Errorf("missing: %v", err)
	}
}

func TestReadFileInSymlinks(t *testing.T) {
	top := t.TempDir()
	dir := filepath.Join(top, "manifests")
	write(t, filepath.Join(dir, "real.yaml"), "version: 1\n")
	write(t, filepath.Join(dir, "sub", "deep.yaml"), "deep\n")
	write(t, filepath.Join(top, "secret"), "root:x:0:0:::\n")
	links := map[string]string{
		"inside.yaml":   "real.yaml",
		"sub-link.yaml": "sub/deep.yaml",
		"abs-in.yaml":   filepath.Join(dir, "real.yaml"),
		"outside.yaml":  "../secret",
		"abs-out.yaml":  filepath.Join(top, "secret"),
		"dangling.yaml": "/nonexistent/secret",
		"etc.yaml":      "/etc/passwd",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"real.yaml", "inside.yaml", "abs-in.yaml"} {
		if b, err := fsutil.ReadFileIn(dir, name, 1<<20); err != nil || string(b) != "version: 1\n" {
			t.Errorf("%s: %q, %v", name, b, err)
		}
	}
	if b, err := fsutil.ReadFileIn(dir, "sub-link.yaml", 1<<20); err != nil || string(b) != "deep\n" {
		t.Errorf("sub-link.yaml: %q, %v", b, err)
	}
	for name, target := range map[string]string{
		"outside.yaml":  filepath.Join(top, "secret"),
		"abs-out.yaml":  filepath.Join(top, "secret"),
		"dangling.yaml": "/nonexistent/secret",
		"etc.yaml":      "/etc/passwd",
	} {
		b, err := fsutil.ReadFileIn(dir, name, 1<<20)
		var esc *fsutil.EscapeError
		if !errors.As(err, &esc) || b != nil {
			t.Errorf("%s: %q, %v: want an EscapeError", name, b, err)
			continue
		}
		want := "is a symbolic link to " + target + ", outside " + dir
		if resolved, rerr := filepath.EvalSymlinks(target); rerr == nil {
			want = "is a symbolic link to " + resolved + ", outside " + dir
		}
		if err.Error() != want {
			t.Errorf("%s: %q, want %q", name, err, want)
		}
		if strings.Contains(err.Error(), "root:") {
			t.Errorf("%s: error quotes the file", name)
		}
		if _, err := fsutil.StatIn(dir, name); !errors.As(err, &esc) {
			t.Errorf("StatIn %s: %v", name, err)
		}
	}
	for _, name := range []string{"../secret", filepath.Join(top, "secret"), ""} {
		var esc *fsutil.EscapeError
		if _, err := fsutil.ReadFileIn(dir, name, 1<<20); !errors.As(err, &esc) {
			t.Errorf("%q: %v, want an EscapeError", name, err)
		}
	}
}

func TestReadFileInFIFO(t *testing.T) {
	dir := t.TempDir()
	testkit.Mkfifo(t, filepath.Join(dir, "connectedapp-meta.xml"))
	_, err := within(t, func() ([]byte, error) { return fsutil.ReadFileIn(dir, "connectedapp-meta.xml", 1<<20) })
	if err == nil || err.Error() != "is a named pipe, not a regular file" {
		t.Errorf("err = %v", err)
	}
	_, err = within(t, func() (fs.FileInfo, error) { return fsutil.StatIn(dir, "connectedapp-meta.xml") })
	if !errors.Is(err, fsutil.ErrNotRegular) {
		t.Errorf("StatIn: %v", err)
	}
	if _, err := fsutil.StatIn(dir, "permissionset-meta.xml"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("StatIn missing: %v", err)
	}
}

func TestCheckWithin(t *testing.T) {
	top := t.TempDir()
	wd := filepath.Join(top, "wd")
	write(t, filepath.Join(wd, "infra", "applink.yaml"), "version: 1\n")
	write(t, filepath.Join(top, "other.yaml"), "version: 1\n")
	if err := os.Symlink("../other.yaml", filepath.Join(wd, "out.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(top, filepath.Join(wd, "up")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("infra", filepath.Join(wd, "in")); err != nil {
		t.Fatal(err)
	}
	for name, ok := range map[string]bool{
		"infra/applink.yaml":    true,
		"in/applink.yaml":       true,
		"missing.yaml":          true, // the read reports it
		"out.yaml":              false,
		"up/other.yaml":         false,
		"../other.yaml":         false,
		"infra/../../x.yaml":    false,
		"/etc/shadow":           false,
		"infra/../applink.yaml": true,
	} {
		err := fsutil.CheckWithin(wd, name)
		var esc *fsutil.EscapeError
		if ok && err != nil || !ok && !errors.As(err, &esc) {
			t.Errorf("%s: %v, want ok=%v", name, err, ok)
		}
	}
}
