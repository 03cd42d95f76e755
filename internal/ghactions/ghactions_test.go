package ghactions_test

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/applinkctl/applinkctl/internal/ghactions"
)

func TestAnnotate(t *testing.T) {
	cases := []struct {
		name, level, file string
		line, col         int
		msg, want         string
	}{
		{"full", "error", "examples/a.yaml", 3, 5, "bad value", "::error file=examples/a.yaml,line=3,col=5::bad value\n"},
		{"no position", "warning", "", 0, 0, "careful", "::warning::careful\n"},
		{"line only", "error", "a.yaml", 2, 0, "m", "::error file=a.yaml,line=2::m\n"},
		{"escapes", "error", "we,ird:file.yaml", 1, 1, "50% done\nnext line", "::error file=we%2Cird%3Afile.yaml,line=1,col=1::50%25 done%0Anext line\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			ghactions.Annotate(&b, c.level, c.file, c.line, c.col, c.msg)
			if b.String() != c.want {
				t.Errorf("got %q, want %q", b.String(), c.want)
			}
		})
	}
}

func TestAppendStepSummary(t *testing.T) {
	path := filepath.Join(t.TempDir(), "summary.md")
	t.Setenv("GITHUB_STEP_SUMMARY", path)
	if err := ghactions.AppendStepSummary("# one"); err != nil {
		t.Fatal(err)
	}
	if err := ghactions.AppendStepSummary("two\n"); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	if string(got) != "# one\ntwo\n" {
		t.Errorf("summary = %q", got)
	}
}

func TestAppendStepSummaryUnset(t *testing.T) {
	t.Setenv("GITHUB_STEP_SUMMARY", "")
	if err := ghactions.AppendStepSummary("x"); err != nil {
		t.Errorf("unset summary file: %v", err)
	}
}

func TestAppendStepSummaryUnwritable(t *testing.T) {
	t.Setenv("GITHUB_STEP_SUMMARY", filepath.Join(t.TempDir(), "missing", "dir", "summary.md"))
	if err := ghactions.AppendStepSummary("x"); err == nil {
		t.Error("want an error for an unwritable summary file")
	}
}

func TestSetOutputMultiline(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out")
	t.Setenv("GITHUB_OUTPUT", path)
	value := "line one\nEOF\nother=injected"
	if err := ghactions.SetOutput("plan", value); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	m := regexp.MustCompile(`(?s)^plan<<(ghadelimiter_[0-9a-f]+)\n(.*)\n(ghadelimiter_[0-9a-f]+)\n$`).FindStringSubmatch(string(got))
	if m == nil {
		t.Fatalf("output file = %q", got)
	}
	if m[1] != m[3] || m[2] != value {
		t.Errorf("delimiters %q/%q, value %q", m[1], m[3], m[2])
	}
}

func TestSetOutputBadName(t *testing.T) {
	t.Setenv("GITHUB_OUTPUT", filepath.Join(t.TempDir(), "out"))
	for _, name := range []string{"", "a\nb", "a=b"} {
		if err := ghactions.SetOutput(name, "v"); err == nil || !strings.Contains(err.Error(), "invalid name") {
			t.Errorf("SetOutput(%q) = %v, want invalid name", name, err)
		}
	}
}

func TestEnabled(t *testing.T) {
	t.Setenv("GITHUB_ACTIONS", "true")
	if !ghactions.Enabled() {
		t.Error("Enabled() = false under GITHUB_ACTIONS=true")
	}
	t.Setenv("GITHUB_ACTIONS", "")
	if ghactions.Enabled() {
		t.Error("Enabled() = true without GITHUB_ACTIONS")
	}
}
