package view

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/applinkctl/applinkctl/internal/manifest"
)

// RenderProblems writes the problems of a manifest in format: as text, one
// FILE:LINE:COL: field: message line each, errors to out and warnings to
// errw (so that a warning never reads as the command's result); as json,
// the array of docs/manifest.md's validate --format json to out. Every
// command that loads a manifest prints its problems through this.
func RenderProblems(out, errw io.Writer, problems []manifest.Problem, format string) error {
	switch format {
	case FormatText, "":
		for _, p := range problems {
			w := out
			if p.Severity == manifest.SeverityWarning {
				w = errw
			}
			if _, err := fmt.Fprintln(w, p.String()); err != nil {
				return err
			}
		}
		return nil
	case FormatJSON:
		return writeProblemsJSON(out, problems)
	}
	return &UnknownFormatError{Format: format, Valid: []string{FormatText, FormatJSON}}
}

// problemJSON is the wire shape of one problem in `validate --format json`.
type problemJSON struct {
	File     string `json:"file"`
	Line     int    `json:"line"`
	Column   int    `json:"column"`
	Field    string `json:"field"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
}

func writeProblemsJSON(w io.Writer, problems []manifest.Problem) error {
	out := make([]problemJSON, 0, len(problems))
	for _, p := range problems {
		out = append(out, problemJSON{File: p.Pos.File, Line: p.Pos.Line, Column: p.Pos.Col, Field: p.Field, Severity: p.Severity, Message: p.Message})
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// RenderValid is validate's line for a manifest without errors.
func RenderValid(w io.Writer, m *manifest.Manifest) error {
	n := m.Counts()
	_, err := fmt.Fprintf(w, "ok: %d apps, %d connections, %d authorizations, %d targets, %d publications\n",
		n.Apps, n.Connections, n.Authorizations, n.Targets, n.Publications)
	return err
}

// Reporter shows a person what a run found on its way on errw, their
// standard error (stdout stays the command's result): the warnings of a
// manifest, and warnings of the run. It implements pipeline.Reporter.
type Reporter struct {
	Err io.Writer
	// Also, when set, is told every problem of the manifest (the GitHub
	// Actions annotations).
	Also func([]manifest.Problem)
}

// ManifestProblems prints the warnings of a valid manifest on Err, one
// line each. The problems of an invalid one are the run's error, which
// lists them all, warnings included: printing them here too would show
// them twice.
func (r Reporter) ManifestProblems(problems []manifest.Problem) {
	if r.Also != nil {
		r.Also(problems)
	}
	for _, p := range problems {
		if p.Severity == manifest.SeverityError {
			return
		}
	}
	_ = RenderProblems(r.Err, r.Err, problems, FormatText)
}

// Warning prints err as a warning.
func (r Reporter) Warning(err error) {
	fmt.Fprintf(r.Err, "warning: %v\n", err)
}
