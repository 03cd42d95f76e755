package view

import (
	"io"
	"time"

	"github.com/applinkctl/applinkctl/internal/plan"
)

// RenderDrift writes a drift report to w in format (text, json or markdown):
// the findings grouped by kind (missing, changed, unmanaged, pending), each
// sorted by address, or "No drift." when there are none. Each finding says
// what differs, since when (its Since, "unknown" when zero) and how to
// repair it: the steps of its Repairs become commands with the -f paths and
// global flags of opts.Invocation, so they work as typed.
func RenderDrift(w io.Writer, findings []plan.Finding, format string, opts Options) error {
	fs := make([]finding, 0, len(findings))
	for _, f := range findings {
		v := finding{Kind: string(f.Kind), Address: string(f.Address), Detail: f.Detail, What: f.What, Since: sinceUnknown}
		if !f.Since.IsZero() {
			v.Since = f.Since.UTC().Format(time.RFC3339)
		}
		for _, r := range f.Repairs {
			cmds := make([]string, 0, len(r.Steps))
			for _, s := range r.Steps {
				cmds = append(cmds, opts.Invocation.StepCommand(s))
			}
			v.Repairs = append(v.Repairs, repair{Action: r.Action, Note: r.Note, Commands: cmds})
		}
		fs = append(fs, v)
	}
	return renderDrift(w, fs, format, opts)
}
