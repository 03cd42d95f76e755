package preflight_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/preflight"
	"github.com/applinkctl/applinkctl/internal/testkit"
)

// TestLoadCertificateRefusesWhatIsNotARegularFile: --certificate naming a
// named pipe used to wait for a writer for ever; it, a device and a
// directory are refused at once, by what they are.
func TestLoadCertificateRefusesWhatIsNotARegularFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "cert.pem")
	testkit.Mkfifo(t, fifo)
	big := testkit.WriteFile(t, dir, "big.pem", strings.Repeat("x", 2<<20))
	for path, want := range map[string]string{
		fifo:       "certificate " + fifo + ": is a named pipe, not a regular file",
		dir:        "certificate " + dir + ": is a directory, not a regular file",
		os.DevNull: "certificate " + os.DevNull + ": is a character device, not a regular file",
		big:        "certificate " + big + ": file is 2.0 MiB, larger than the 1.0 MiB limit",
	} {
		done := make(chan error, 1)
		go func() {
			_, err := preflight.LoadCertificate(path)
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil || err.Error() != want {
				t.Errorf("%s: %v, want %q", path, err, want)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: LoadCertificate still blocked after 30s", path)
		}
	}
}
