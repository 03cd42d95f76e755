package client_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/client"
	"github.com/applinkctl/applinkctl/internal/testkit"
)

// TestConfigFromEnvRefusesANetrcPipe: a ~/.netrc that is a named pipe with
// no writer used to block ConfigFromEnv (and every command) for ever.
func TestConfigFromEnvRefusesANetrcPipe(t *testing.T) {
	home := t.TempDir()
	netrc := filepath.Join(home, ".netrc")
	testkit.Mkfifo(t, netrc)
	done := make(chan error, 1)
	go func() {
		_, err := client.ConfigFromEnv(env(nil), home)
		done <- err
	}()
	select {
	case err := <-done:
		if want := "heroku api key: read " + netrc + ": is a named pipe, not a regular file"; err == nil || err.Error() != want {
			t.Errorf("err = %v, want %q", err, want)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("ConfigFromEnv still blocked after 30s")
	}
}
