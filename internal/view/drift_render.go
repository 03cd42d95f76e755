package view

import (
	"io"

	"github.com/applinkctl/applinkctl/internal/plan"
)

// RenderDrift writes a drift report to w in format (text, json or markdown):
// the findings grouped by kind (missing, changed, unmanaged, pending), each
// sorted by address, or "No drift." when there are none.
func RenderDrift(w io.Writer, findings []plan.Finding, format string, opts Options) error {
	fs := make([]finding, 0, len(findings))
	for _, f := range findings {
		var fix string
		if f.Fix != nil {
			fix = opts.Invocation.Command("apply", *f.Fix)
		}
		fs = append(fs, finding{Kind: string(f.Kind), Address: string(f.Address), Detail: f.Detail, Fix: fix})
	}
	return renderDrift(w, fs, format, opts)
}
