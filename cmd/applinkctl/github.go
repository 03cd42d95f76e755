package main

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

// gitHub is the one place that reports to GitHub Actions (docs/plan-format.md):
// annotations on stderr, which the runner reads for workflow commands, the
// step summary and the step outputs. Outside Actions (GITHUB_ACTIONS unset)
// every method does nothing.
type gitHub struct {
	on   bool
	errw io.Writer
}

// newGitHub reports to errw when the process runs under GitHub Actions.
func newGitHub(errw io.Writer) gitHub { return gitHub{on: ghactions.Enabled(), errw: errw} }

// problems annotates each manifest problem at its file, line and column.
func (g gitHub) problems(problems []manifest.Problem) {
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

// plan appends the Markdown plan to the step summary, sets the step outputs
// the action (action.yml) and later steps branch on (has_changes, and
// plan_file: saved, "" when none was saved), and annotates each breaking
// publication change, as an error under --fail-on-breaking.
func (g gitHub) plan(p *plan.Plan, vo view.Options, saved string, failOnBreaking bool) error {
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

// drift appends the Markdown drift report to the step summary.
func (g gitHub) drift(findings []plan.Finding, inv view.Invocation) error {
	if !g.on {
		return nil
	}
	var md bytes.Buffer
	if err := view.RenderDrift(&md, findings, view.FormatMarkdown, view.Options{Invocation: inv}); err != nil {
		return err
	}
	return ghactions.AppendStepSummary(md.String())
}

// apply annotates the run with each root-cause failure and each resource
// left pending, and appends the summary to the step summary.
func (g gitHub) apply(s apply.Summary) error {
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

// reporter is the workflow's Reporter of a command: problems and warnings
// on stderr, problems also as annotations.
func (g gitHub) reporter(errw io.Writer) view.Reporter {
	return view.Reporter{Err: errw, Also: g.problems}
}
