//go:build !unix

package testkit

import (
	"errors"
	"testing"
)

// Mkfifo skips the test: named pipes in the file system are a Unix
// feature, and the refusal they test is the Unix open path.
func Mkfifo(t testing.TB, path string) {
	t.Helper()
	t.Skipf("no named pipes on this system (wanted one at %s)", path)
}

// MakeFifo fails: named pipes in the file system are a Unix feature.
func MakeFifo(path string) error {
	return errors.New("no named pipes on this system: " + path)
}
