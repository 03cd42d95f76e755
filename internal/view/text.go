package view

import (
	"strings"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/plan"
)

// planText renders the terminal view: the summary first, because in a long
// CI log it is the one line everyone looks for; then each app's changes,
// cascades nested beneath their cause; then what is left alone.
func planText(p *plan.Plan, opts Options) string {
	var b strings.Builder
	n := p.Counts()
	summary, undeclared := planSummary(p, n)
	b.WriteString(paint(opts.Color, ansiBold, summary) + "\n")
	if l := blockedLine(n); l != "" {
		b.WriteString(paint(opts.Color, ansiRed, l) + "\n")
		if cmd := UnblockCommand(p, opts.Invocation); cmd != "" {
			b.WriteString("To unblock it, run: " + cmd + "\n")
		}
	}
	if undeclared != "" {
		b.WriteString(undeclared + "\n")
	}
	if l := breakingLine(p); l != "" {
		b.WriteString(paint(opts.Color, ansiYellow, l) + "\n")
	}
	for _, g := range groupByApp(p) {
		b.WriteString("\n" + paint(opts.Color, ansiBold, g.App) + "\n")
		for _, c := range g.Top {
			writeTextChange(&b, c, g.Actions, "  ", opts)
			for _, sub := range g.Under[c.Address] {
				writeTextChange(&b, sub, g.Actions, "      ", opts)
			}
		}
	}
	if len(p.Undeclared) > 0 {
		b.WriteString("\nNo longer declared (managed by applinkctl; left alone without --prune):\n")
		for _, c := range p.Undeclared {
			b.WriteString("  " + string(c.Address))
			b.WriteString("\n")
			for _, l := range undeclaredNotes(c) {
				b.WriteString("      " + l + "\n")
			}
		}
		if h := pruneHint(p, opts.Invocation); h != "" {
			b.WriteString(h + "\n")
		}
	}
	if len(p.Unmanaged) > 0 {
		b.WriteString("\nUnmanaged (left alone; applinkctl never touches what it did not create or adopt):\n")
		for _, a := range sortedAddrs(p.Unmanaged) {
			b.WriteString("  " + string(a) + "\n")
		}
	}
	return b.String()
}

// writeTextChange writes one change: its symbol and address, then its
// details indented to start under the address.
func writeTextChange(b *strings.Builder, c *plan.Change, actions map[addr.Address]plan.Action, indent string, opts Options) {
	sym := symbol(c)
	pad := 3 - len([]rune(sym))
	if pad < 0 {
		pad = 0
	}
	b.WriteString(indent + strings.Repeat(" ", pad) + paint(opts.Color, color(c), sym) + " " + string(c.Address))
	for _, t := range tags(c) {
		b.WriteString(" " + paint(opts.Color, tagColor(t), "["+t+"]"))
	}
	b.WriteString("\n")
	detail := indent + "      "
	line := func(s string) {
		// A multi-line reason keeps its indentation on every line.
		b.WriteString(detail + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+detail) + "\n")
	}
	if c.CausedBy != "" {
		line(causeLine(c, actions))
	}
	for _, r := range reasons(c, actions) {
		line(r)
	}
	for _, l := range createLines(c) {
		line(paint(opts.Color, ansiGreen, "+") + l[1:])
	}
	for _, a := range attrChanges(c) {
		line(a)
	}
	if c.Blocked != "" {
		line(paint(opts.Color, ansiRed, "blocked: "+c.Blocked))
	}
	if c.Spec != nil {
		for _, l := range breakingText(c.Spec) {
			if c.Spec.IsBreaking() {
				l = paint(opts.Color, ansiYellow, l)
			}
			line(l)
		}
		for _, op := range specOps(c.Spec) {
			line(paint(opts.Color, opColor(op), op))
		}
		for _, d := range diffLines(c.Spec.UnifiedDiff) {
			line(paint(opts.Color, diffColor(d), d))
		}
		if c.Spec.Truncated {
			line("(diff truncated)")
		}
	}
}

// tags are the bracketed markers after an address.
func tags(c *plan.Change) []string {
	var out []string
	if c.Blocked != "" {
		out = append(out, "blocked")
	}
	if c.Wait {
		out = append(out, "waits")
	}
	if c.Protected {
		out = append(out, "protected")
	}
	if c.Spec.IsBreaking() {
		out = append(out, "breaking")
	}
	return out
}

func tagColor(t string) string {
	switch t {
	case "blocked":
		return ansiRed
	case "waits":
		return ansiCyan
	case "breaking":
		return ansiYellow
	}
	return ""
}

func opColor(op string) string {
	switch {
	case strings.HasPrefix(op, "+"):
		return ansiGreen
	case strings.HasPrefix(op, "−"):
		return ansiRed
	}
	return ansiYellow
}

func diffColor(l string) string {
	switch {
	case strings.HasPrefix(l, "+++"), strings.HasPrefix(l, "---"):
		return ansiBold
	case strings.HasPrefix(l, "@@"):
		return ansiCyan
	case strings.HasPrefix(l, "+"):
		return ansiGreen
	case strings.HasPrefix(l, "-"):
		return ansiRed
	}
	return ""
}
