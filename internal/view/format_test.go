package view_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/applinkctl/applinkctl/internal/manifest"
	"github.com/applinkctl/applinkctl/internal/view"
)

// Every command checks --format through ParseFormat, so all answer alike.
func TestParseFormat(t *testing.T) {
	if got, err := view.ParseFormat("json", view.FormatText, view.FormatJSON); err != nil || got != "json" {
		t.Fatalf("ParseFormat(json) = %q, %v", got, err)
	}
	for _, tc := range []struct {
		valid []string
		want  string
	}{
		{[]string{view.FormatText, view.FormatJSON}, `--format "yaml": want text or json`},
		{[]string{view.FormatText, view.FormatJSON, view.FormatMarkdown}, `--format "yaml": want text, json or markdown`},
	} {
		_, err := view.ParseFormat("yaml", tc.valid...)
		var uf *view.UnknownFormatError
		if !errors.As(err, &uf) || err.Error() != tc.want {
			t.Errorf("ParseFormat(yaml, %v) = %v, want %s", tc.valid, err, tc.want)
		}
	}
}

// The Reporter prints a valid manifest's warnings; an invalid manifest's
// problems are the run's error and are not printed twice.
func TestReporterPrintsOnlyValidWarnings(t *testing.T) {
	warn := manifest.Problem{Pos: manifest.Pos{File: "a.yaml", Line: 2, Col: 3}, Field: "x", Severity: manifest.SeverityWarning, Message: "old"}
	bad := manifest.Problem{Pos: manifest.Pos{File: "a.yaml", Line: 4, Col: 5}, Field: "y", Severity: manifest.SeverityError, Message: "wrong"}
	var out bytes.Buffer
	var also int
	r := view.Reporter{Err: &out, Also: func(p []manifest.Problem) { also += len(p) }}
	r.ManifestProblems([]manifest.Problem{warn})
	if got, want := out.String(), "a.yaml:2:3: x: warning: old\n"; got != want {
		t.Errorf("warnings: got %q, want %q", got, want)
	}
	out.Reset()
	r.ManifestProblems([]manifest.Problem{warn, bad})
	if out.Len() != 0 || also != 3 {
		t.Errorf("invalid manifest: printed %q, Also saw %d problems (want 3)", out.String(), also)
	}
}
