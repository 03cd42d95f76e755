//go:build unix

package testkit

import (
	"os"
	"syscall"
	"testing"
)

// Mkfifo makes a named pipe at path, in place of any file there, for tests
// that a user-named file which is not a regular file is refused without
// blocking on it.
func Mkfifo(t testing.TB, path string) {
	t.Helper()
	_ = os.Remove(path)
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatalf("mkfifo %s: %v", path, err)
	}
}

// MakeFifo is Mkfifo for callers without a testing.TB (testscript commands).
func MakeFifo(path string) error { return syscall.Mkfifo(path, 0o600) }
