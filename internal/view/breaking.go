package view

import (
	"fmt"
	"io"
	"strings"

	"github.com/applinkctl/applinkctl/internal/fsutil"
	"github.com/applinkctl/applinkctl/internal/ghactions"
	"github.com/applinkctl/applinkctl/internal/plan"
	"github.com/applinkctl/applinkctl/internal/specdiff"
)

// A reviewer of a republish should not have to read a spec diff to learn
// whether the flows, Apex classes and agents calling the API will break:
// every view says it, per publication and under the summary.

// breakingLine says under the summary how many publication changes break
// their callers; "" when none does.
func breakingLine(p *plan.Plan) string {
	switch n := len(p.BreakingChanges()); n {
	case 0:
		return ""
	case 1:
		return "⚠ 1 publication change breaks existing callers (see ⚠ breaking below)."
	default:
		return fmt.Sprintf("⚠ %d publication changes break existing callers (see ⚠ breaking below).", n)
	}
}

// breakingText is one line per breaking change of a spec, "⚠ breaking:
// GET /orders: deleted … (api/openapi.yaml:14)", or the one line saying
// the change is compatible.
func breakingText(s *plan.SpecChange) []string {
	if !s.IsBreaking() {
		return []string{"not breaking: existing callers of the published API keep working"}
	}
	out := make([]string, 0, len(s.Breaking))
	for _, c := range s.Breaking {
		out = append(out, "⚠ breaking: "+c.String()+" ("+specPos(s.File, c)+")")
	}
	return out
}

// shownSpec is a spec path as a reviewer finds it in the repository:
// relative to the working directory when inside it (as manifest_files are),
// else as it is.
func shownSpec(file string) string {
	if file == "" {
		return ""
	}
	return fsutil.RelativeToWorkdir([]string{file})[0]
}

// specPos is "FILE:LINE" of a breaking change, the file as a reviewer finds
// it in the repository.
func specPos(file string, c specdiff.Change) string {
	f := shownSpec(file)
	if c.Line <= 0 {
		return f
	}
	return fmt.Sprintf("%s:%d", f, c.Line)
}

// mdBreaking shows a breaking change in Markdown: oasdiff quotes the names
// it mentions in backticks, which become code spans; everything else is
// escaped, since names come from the spec.
func mdBreaking(c specdiff.Change) string {
	s := c.String()
	parts := strings.Split(s, "`")
	if len(parts)%2 == 0 { // an odd number of backticks: not quoting
		return mdEscape(s)
	}
	var b strings.Builder
	for i, p := range parts {
		if i%2 == 1 && p != "" {
			b.WriteString(mdCode(p))
			continue
		}
		b.WriteString(mdEscape(p))
	}
	return b.String()
}

// AnnotateBreaking writes a GitHub Actions annotation on the spec file's
// line for each change of p that breaks callers, so a pull request shows
// it where the spec changed. level is "error" when the plan fails on it
// (plan --fail-on-breaking), "warning" otherwise.
func AnnotateBreaking(w io.Writer, p *plan.Plan, level string) {
	for _, c := range p.BreakingChanges() {
		for _, b := range c.Spec.Breaking {
			ghactions.Annotate(w, level, shownSpec(c.Spec.File), b.Line, b.Column,
				fmt.Sprintf("applinkctl plan: %s: breaking change for callers: %s", c.Address, b))
		}
	}
}
