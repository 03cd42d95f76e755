package pgtest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// recorder is a testing.TB that records Skipf and Fatalf instead of
// stopping the test.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()                      {}
func (r *recorder) Skipf(f string, args ...any)  { r.skipped = fmtf(f, args...) }
func (r *recorder) Fatalf(f string, args ...any) { r.failed = fmtf(f, args...) }
func fmtf(f string, args ...any) string          { return strings.TrimSpace(fmt.Sprintf(f, args...)) }

func TestNoPostgresSkipsUnlessRequired(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	old := debianBins
	debianBins = "/nonexistent/*/bin/pg_ctl"
	defer func() { debianBins = old }()
	_, err := binDir()
	if !errors.Is(err, errNoPostgres) {
		t.Fatalf("binDir without PostgreSQL = %v", err)
	}

	t.Setenv(EnvRequire, "")
	r := &recorder{TB: t}
	if usable(r, err) || r.failed != "" || !strings.Contains(r.skipped, "apt-get install postgresql") || !strings.Contains(r.skipped, EnvURL) {
		t.Fatalf("without %s: skipped %q, failed %q", EnvRequire, r.skipped, r.failed)
	}
	t.Setenv(EnvRequire, "1")
	r = &recorder{TB: t}
	if usable(r, err) || r.skipped != "" || !strings.Contains(r.failed, EnvRequire+"=1") {
		t.Fatalf("with %s=1: skipped %q, failed %q", EnvRequire, r.skipped, r.failed)
	}
	r = &recorder{TB: t}
	if usable(r, errors.New("initdb: boom")) || r.skipped != "" || !strings.Contains(r.failed, "boom") {
		t.Fatalf("a broken install must fail, not skip: skipped %q, failed %q", r.skipped, r.failed)
	}
}
