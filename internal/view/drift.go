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
	What    []string // every difference; Detail is the first
	Since   string   // RFC 3339 time of the last apply that left it as declared, or "unknown"
	Repairs []repair
}

// repair is one way to resolve a finding: what it does, and the commands,
// complete (the -f paths and global flags of the drift run included).
type repair struct {
	Action   string
	Note     string
	Commands []string
}

// label names a repair in text and Markdown: "repair" for the ways that
// bring the resource back to the manifest, else the action (adopt, ignore,
// by hand).
func (r repair) label() string {
	switch r.Action {
	case plan.RepairAdopt, plan.RepairIgnore:
		return r.Action
	case plan.RepairByHand:
		return "repair by hand"
	}
	return "repair"
}

// also is the finding's differences beyond its detail.
func (f finding) also() []string {
	var out []string
	for _, w := range f.What {
		if w != f.Detail {
			out = append(out, w)
		}
	}
	return out
}

// sinceUnknown is a finding's since when no apply recorded in the state
// history left its resource as declared.
const sinceUnknown = "unknown"

// sinceText is a finding's since for people: the time says when the last
// apply that saw the resource as declared ended, so the drift happened after.
func sinceText(since string) string {
	if since == sinceUnknown || since == "" {
		return sinceUnknown
	}
	return since + " (the last apply that left it as declared)"
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
			for _, a := range f.also() {
				b.WriteString("    also: " + a + "\n")
			}
			b.WriteString("    since: " + sinceText(f.Since) + "\n")
			for _, r := range f.Repairs {
				b.WriteString("    " + r.label() + ": " + r.Note + "\n")
				for _, c := range r.Commands {
					b.WriteString("      " + c + "\n")
				}
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
	Kind    string       `json:"kind"`
	Address string       `json:"address"`
	Detail  string       `json:"detail"`
	What    []string     `json:"what"`
	Since   string       `json:"since"`
	Repairs []jsonRepair `json:"repairs"`
}

type jsonRepair struct {
	Action   string   `json:"action"`
	Note     string   `json:"note"`
	Commands []string `json:"commands"`
}

func findingWire(f finding) jsonFinding {
	j := jsonFinding{Kind: f.Kind, Address: f.Address, Detail: f.Detail, What: f.What, Since: f.Since, Repairs: []jsonRepair{}}
	if len(j.What) == 0 {
		j.What = []string{f.Detail}
	}
	if j.Since == "" {
		j.Since = sinceUnknown
	}
	for _, r := range f.Repairs {
		j.Repairs = append(j.Repairs, jsonRepair{Action: r.Action, Note: r.Note, Commands: append([]string{}, r.Commands...)})
	}
	return j
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
			d.Findings = append(d.Findings, findingWire(f))
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
			t += "\n"
			for _, a := range f.also() {
				t += "  - also: " + mdEscape(a) + "\n"
			}
			t += "  - since: " + mdEscape(sinceText(f.Since)) + "\n"
			for _, r := range f.Repairs {
				codes := make([]string, len(r.Commands))
				for i, c := range r.Commands {
					codes[i] = mdCode(c)
				}
				t += "  - " + r.label() + ": " + mdEscape(r.Note)
				if len(codes) > 0 {
					t += ": " + strings.Join(codes, ", then ")
				}
				t += "\n"
			}
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
