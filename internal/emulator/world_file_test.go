//go:build unix

package emulator

import (
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestNewRefusesAWorldPipe: a world.json that is a named pipe used to block
// New (and `applinkctl emulator`, --sandbox) for ever.
func TestNewRefusesAWorldPipe(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, worldFile)
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := New(Options{Dir: dir})
		done <- err
	}()
	select {
	case err := <-done:
		if want := "emulator world " + p + ": is a named pipe, not a regular file"; err == nil || err.Error() != want {
			t.Errorf("err = %v, want %q", err, want)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("New still blocked after 30s")
	}
}
