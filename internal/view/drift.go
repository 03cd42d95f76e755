package view

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/applinkctl/applinkctl/internal/plan"
)

// finding is a drift finding as the renderers see it; RenderDrift builds it
// from plan.Finding so the renderers stay independent of that type.
type finding struct {
	Kind    string
	Address string
	Detail  string
	Fix     string // the command that resolves it, when a plain apply does not
}

// driftKinds are the finding kinds (docs/plan-format.md, "The drift report") in the order they are
// shown, with their headings: what vanished first, what merely waits last.
var driftKinds = []struct{ kind, heading, color string }{
	{"missing", "Missing (deleted out of band)", ansiRed},
	{"changed", "Changed (status or fields differ from the manifest or state)", ansiYellow},
	{"unmanaged", "Unmanaged (live, never created or adopted by applinkctl; left alone)", ansiCyan},
	{"pending", "Pending (manifest changes not yet applied)", ansiYellow},
}

// driftGroup is the findings of one kind, sorted by address then detail.
type driftGroup struct {
	kind, heading, color string
	items                []finding
}

// groupFindings orders findings by kind (known kinds first, in driftKinds
// order, then any other kind alphabetically) and by address within a kind.
func groupFindings(fs []finding) []driftGroup {
	by := map[string][]finding{}
	for _, f := range fs {
		by[f.Kind] = append(by[f.Kind], f)
	}
	var out []driftGroup
	known := map[string]bool{}
	for _, k := range driftKinds {
		known[k.kind] = true
		if len(by[k.kind]) > 0 {
			out = append(out, driftGroup{kind: k.kind, heading: k.heading, color: k.color, items: by[k.kind]})
		}
	}
	var other []string
	for k := range by {
		if !known[k] {
			other = append(other, k)
		}
	}
	sort.Strings(other)
	for _, k := range other {
		out = append(out, driftGroup{kind: k, heading: k, items: by[k]})
	}
	for _, g := range out {
		sort.SliceStable(g.items, func(i, j int) bool {
			if g.items[i].Address != g.items[j].Address {
				return g.items[i].Address < g.items[j].Address
			}
			return g.items[i].Detail < g.items[j].Detail
		})
	}
	return out
}

// driftSummary is the first line of a drift report.
func driftSummary(fs []finding) string {
	if len(fs) == 0 {
		return "No drift."
	}
	n := map[string]int{}
	for _, f := range fs {
		n[f.Kind]++
	}
	var parts []string
	for _, k := range driftKinds {
		parts = append(parts, fmt.Sprintf("%d %s", n[k.kind], k.kind))
		delete(n, k.kind)
	}
	for _, k := range slices.Sorted(maps.Keys(n)) {
		parts = append(parts, fmt.Sprintf("%d %s", n[k], k))
	}
	return "Drift: " + strings.Join(parts, ", ") + "."
}

func renderDrift(w io.Writer, fs []finding, format string, opts Options) error {
	var b []byte
	var err error
	switch format {
	case FormatText, "":
		b = []byte(driftText(fs, opts))
	case FormatJSON:
		b, err = marshalIndent(driftWire(fs))
	case FormatMarkdown:
		b = []byte(driftMarkdown(fs, opts))
	default:
		return &UnknownFormatError{Format: format, Valid: []string{FormatText, FormatJSON, FormatMarkdown}}
	}
	if err != nil {
		return fmt.Errorf("drift: %w", err)
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("drift: write: %w", err)
	}
	return nil
}

func findingLine(f finding) string {
	if f.Detail == "" {
		return f.Address
	}
	return f.Address + ": " + f.Detail
}

func driftText(fs []finding, opts Options) string {
	var b strings.Builder
	b.WriteString(paint(opts.Color, ansiBold, driftSummary(fs)) + "\n")
	for _, g := range groupFindings(fs) {
		b.WriteString("\n" + paint(opts.Color, g.color, g.heading+":") + "\n")
		for _, f := range g.items {
			b.WriteString("  " + findingLine(f) + "\n")
			if f.Fix != "" {
				b.WriteString("      run: " + f.Fix + "\n")
			}
		}
	}
	return b.String()
}

// jsonDrift is the drift report on the wire (docs/plan-format.md).
type jsonDrift struct {
	FormatVersion string         `json:"format_version"`
	HasDrift      bool           `json:"has_drift"`
	Counts        map[string]int `json:"counts"`
	Findings      []jsonFinding  `json:"findings"`
}

type jsonFinding struct {
	Kind    string `json:"kind"`
	Address string `json:"address"`
	Detail  string `json:"detail"`
	Fix     string `json:"fix,omitempty"`
}

func driftWire(fs []finding) jsonDrift {
	d := jsonDrift{
		FormatVersion: FormatVersion,
		HasDrift:      len(fs) > 0,
		Counts:        map[string]int{},
		Findings:      []jsonFinding{},
	}
	for _, k := range driftKinds {
		d.Counts[k.kind] = 0
	}
	for _, g := range groupFindings(fs) {
		for _, f := range g.items {
			d.Counts[f.Kind]++
			d.Findings = append(d.Findings, jsonFinding(f))
		}
	}
	return d
}

func driftMarkdown(fs []finding, opts Options) string {
	var head strings.Builder
	head.WriteString("## applinkctl drift\n\n**" + mdEscape(driftSummary(fs)) + "**\n\n")
	groups := groupFindings(fs)
	if len(groups) > 0 {
		head.WriteString("| kind | count |\n|---|---:|\n")
		for _, g := range groups {
			fmt.Fprintf(&head, "| %s | %d |\n", mdEscape(g.kind), len(g.items))
		}
		head.WriteString("\n")
	}
	chunks := []mdChunk{{text: head.String()}}
	for _, g := range groups {
		chunks = append(chunks, mdChunk{text: "### " + mdEscape(g.heading) + "\n\n", lead: true})
		for i, f := range g.items {
			t := "- `" + f.Address + "`"
			if f.Detail != "" {
				t += ": " + mdEscape(f.Detail)
			}
			if f.Fix != "" {
				t += "; run " + mdCode(f.Fix)
			}
			t += "\n"
			if i == len(g.items)-1 {
				t += "\n"
			}
			chunks = append(chunks, mdChunk{text: t, changes: 1})
		}
	}
	full := "applinkctl drift -f PATH…"
	if len(opts.Invocation.Files) > 0 {
		full = opts.Invocation.Command("drift", plan.Options{})
	}
	return capChunks(chunks, opts.maxBytes(), "finding", "findings", "run "+mdCode(full)+" locally for the full report")
}
