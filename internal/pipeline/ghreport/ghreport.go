// Package ghreport is the one place that reports to GitHub Actions
// (docs/plan-format.md): annotations on stderr, which the runner reads for
// workflow commands, the step summary and the step outputs. It decides what
// each command reports there; view renders it.
package ghreport

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/applinkctl/applinkctl/internal/apply"
	"github.com/applinkctl/applinkctl/internal/ghactions"
	"github.com/applinkctl/applinkctl/internal/manifest"
	"github.com/applinkctl/applinkctl/internal/plan"
	"github.com/applinkctl/applinkctl/internal/view"
)

// Reporter reports a command's results to GitHub Actions. Outside Actions
// (GITHUB_ACTIONS unset) every method does nothing.
type Reporter struct {
	on   bool
	errw io.Writer
}

// New reports to errw when the process runs under GitHub Actions.
func New(errw io.Writer) Reporter { return Reporter{on: ghactions.Enabled(), errw: errw} }

// Problems annotates each manifest problem at its file, line and column.
func (g Reporter) Problems(problems []manifest.Problem) {
	if !g.on {
		return
	}
	for _, p := range problems {
		msg := p.Message
		if p.Field != "" {
			msg = p.Field + ": " + p.Message
		}
		ghactions.Annotate(g.errw, p.Severity, p.Pos.File, p.Pos.Line, p.Pos.Col, msg)
	}
}

// Plan appends the Markdown plan to the step summary, sets the step outputs
// the action (action.yml) and later steps branch on (has_changes, and
// plan_file: saved, "" when none was saved), and annotates each breaking
// publication change, as an error under --fail-on-breaking.
func (g Reporter) Plan(p *plan.Plan, vo view.Options, saved string, failOnBreaking bool) error {
	if !g.on {
		return nil
	}
	var md bytes.Buffer
	if err := view.RenderPlan(&md, p, view.FormatMarkdown, view.Options{MaxBytes: vo.MaxBytes, Invocation: vo.Invocation}); err != nil {
		return err
	}
	if err := ghactions.AppendStepSummary(md.String()); err != nil {
		return err
	}
	if err := ghactions.SetOutput("has_changes", strconv.FormatBool(p.HasChanges())); err != nil {
		return err
	}
	if err := ghactions.SetOutput("plan_file", saved); err != nil {
		return err
	}
	level := "warning"
	if failOnBreaking {
		level = "error"
	}
	view.AnnotateBreaking(g.errw, p, level)
	return nil
}

// Drift appends the Markdown drift report to the step summary.
func (g Reporter) Drift(findings []plan.Finding, inv view.Invocation) error {
	if !g.on {
		return nil
	}
	var md bytes.Buffer
	if err := view.RenderDrift(&md, findings, view.FormatMarkdown, view.Options{Invocation: inv}); err != nil {
		return err
	}
	return ghactions.AppendStepSummary(md.String())
}

// Apply annotates the run with each root-cause failure and each resource
// left pending, and appends the summary to the step summary.
func (g Reporter) Apply(s apply.Summary) error {
	if !g.on {
		return nil
	}
	for _, f := range s.RootCauses {
		ghactions.Annotate(g.errw, "error", "", 0, 0, fmt.Sprintf("applinkctl apply: %s: %s", f.Address, f.Message))
	}
	for _, f := range s.StillPending {
		ghactions.Annotate(g.errw, "warning", "", 0, 0, fmt.Sprintf("applinkctl apply: %s still pending (status %s, id %s); the next apply resumes waiting", f.Address, f.Status, f.RemoteID))
	}
	var md strings.Builder
	md.WriteString("### applinkctl apply\n\n```\n")
	view.RenderSummary(&md, s, view.Options{})
	md.WriteString("```\n")
	return ghactions.AppendStepSummary(md.String())
}

// View is the pipeline.Reporter of a command: problems and warnings on
// errw, problems also as annotations.
func (g Reporter) View(errw io.Writer) view.Reporter {
	return view.Reporter{Err: errw, Also: g.Problems}
}
