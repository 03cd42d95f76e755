package view

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/dag"
	"github.com/applinkctl/applinkctl/internal/manifest"
	"github.com/applinkctl/applinkctl/internal/plan"
)

// The formats RenderGraph accepts: Graphviz for `dot -Tsvg`, and Mermaid,
// which GitHub renders inside Markdown (issues, pull requests, READMEs).
const (
	FormatDot     = "dot"
	FormatMermaid = "mermaid"
)

// maxMermaidNodes bounds the graph a Markdown plan embeds: beyond this a
// diagram is unreadable in a comment and costs bytes the changes need.
const maxMermaidNodes = 100

// DependencyGraph is the graph `applinkctl graph` draws: every resource the
// manifest declares and every change of the plan (either may be nil), with
// an edge from each target and publication to its connection. The plan
// brings the resources a manifest no longer declares (deletes); the
// manifest brings those a --target plan left out. It fails only on a cycle,
// which a hand-edited plan file could hold.
func DependencyGraph(m *manifest.Manifest, p *plan.Plan) (*dag.Graph[addr.Address], error) {
	g := dag.New[addr.Address]()
	if m != nil {
		for _, app := range m.Apps {
			for _, c := range app.Connections {
				g.AddNode(c.Address())
				for _, t := range c.Targets {
					g.AddEdge(t.Address(), c.Address())
				}
				for _, pub := range c.Publications {
					g.AddEdge(pub.Address(), c.Address())
				}
			}
			for _, a := range app.Authorizations {
				g.AddNode(a.Address())
			}
		}
	}
	if p != nil {
		merge(g, planGraph(p))
	}
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("dependency graph: %w", err)
	}
	return g, nil
}

// planGraph is the plan's two graphs (see plan.Graphs) drawn as one: the
// create order's nodes and edges, the delete order's, and an edge from each
// deleted child to a connection that stays or is replaced. apply satisfies
// that last edge by walking the deletes only once the create order is
// settled; drawn, every child points at its connection whatever its action.
func planGraph(p *plan.Plan) *dag.Graph[addr.Address] {
	gs := p.Graph()
	g := dag.New[addr.Address]()
	merge(g, gs.Create)
	merge(g, gs.Delete)
	for _, n := range gs.Delete.Nodes() {
		if parent := n.Parent(); parent != "" && gs.Create.Has(parent) {
			g.AddEdge(n, parent)
		}
	}
	return g
}

// merge adds the nodes and edges of src to dst.
func merge(dst, src *dag.Graph[addr.Address]) {
	for _, n := range src.Nodes() {
		dst.AddNode(n)
		for _, d := range src.Deps(n) {
			dst.AddEdge(n, d)
		}
	}
}

// PlanLabels maps each change of p to the word its graph node shows: the
// action, "wait" for a noop waiting on a pending resource, and "blocked"
// appended when apply would refuse the change.
func PlanLabels(p *plan.Plan) map[addr.Address]string {
	out := map[addr.Address]string{}
	if p == nil {
		return out
	}
	for _, c := range p.Changes {
		if c != nil {
			out[c.Address] = graphLabel(c)
		}
	}
	return out
}

func graphLabel(c *plan.Change) string {
	l := string(c.Action)
	if c.Wait && (c.Action == plan.Noop || c.Action == "") {
		l = "wait"
	}
	if c.Blocked != "" {
		l += ", blocked"
	}
	return l
}

// RenderGraph writes g to w in format (FormatDot or FormatMermaid). Nodes
// are grouped by app and named by address; labels (nil for none) add the
// planned action under a node's name. Output is byte-identical for the same
// graph and labels.
func RenderGraph(w io.Writer, g *dag.Graph[addr.Address], labels map[addr.Address]string, format string) error {
	var s string
	switch format {
	case FormatDot:
		s = RenderDot(g, labels)
	case FormatMermaid:
		s = RenderMermaid(g, labels)
	default:
		return &UnknownFormatError{Format: format, Valid: []string{FormatDot, FormatMermaid}}
	}
	if _, err := io.WriteString(w, s); err != nil {
		return fmt.Errorf("graph: write: %w", err)
	}
	return nil
}

// graphApp is the nodes of one app, sorted by address.
type graphApp struct {
	Name  string
	Nodes []addr.Address
}

// graphApps groups g's nodes by app, apps sorted by name.
func graphApps(g *dag.Graph[addr.Address]) []graphApp {
	var out []graphApp
	for _, n := range g.Nodes() { // sorted, so an app's nodes are adjacent
		app := appOf(n)
		if len(out) == 0 || out[len(out)-1].Name != app {
			out = append(out, graphApp{Name: app})
		}
		out[len(out)-1].Nodes = append(out[len(out)-1].Nodes, n)
	}
	return out
}

// nodeName is a node's address without its app, which its group names.
func nodeName(a addr.Address) string {
	s := string(a)
	if app := appOf(a); strings.HasPrefix(s, app+"/") {
		return s[len(app)+1:]
	}
	return s
}

// actionClass is the style a label's action gets: additions green, changes
// yellow, removals red, record-only changes blue, noop plain.
func actionClass(label string) string {
	action, _, _ := strings.Cut(label, ",")
	switch action {
	case string(plan.Create):
		return "create"
	case string(plan.Replace), string(plan.Republish):
		return "change"
	case string(plan.Delete):
		return "delete"
	case string(plan.Adopt), "wait":
		return "record"
	}
	return ""
}

// graphColors are the fill and stroke colors of each action class, GitHub's
// diff palette so the diagram reads like the plan beside it.
var graphColors = map[string][2]string{
	"create": {"#dafbe1", "#1a7f37"},
	"change": {"#fff8c5", "#9a6700"},
	"delete": {"#ffebe9", "#cf222e"},
	"record": {"#ddf4ff", "#0969da"},
}

var dotEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", "")

// RenderDot returns g as a Graphviz digraph: one cluster per app, edges
// from child to connection, laid out right to left so connections stand on
// the left with their children to the right.
func RenderDot(g *dag.Graph[addr.Address], labels map[addr.Address]string) string {
	var b strings.Builder
	b.WriteString("digraph applinkctl {\n")
	b.WriteString("  rankdir=RL;\n")
	b.WriteString("  node [shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\", fontname=\"Helvetica\"];\n")
	for i, app := range graphApps(g) {
		fmt.Fprintf(&b, "  subgraph cluster_%d {\n", i)
		fmt.Fprintf(&b, "    label=\"%s\";\n", dotEscaper.Replace(app.Name))
		for _, n := range app.Nodes {
			text := nodeName(n)
			label, ok := labels[n]
			if ok {
				text += "\n" + label
			}
			fmt.Fprintf(&b, "    \"%s\" [label=\"%s\"", dotEscaper.Replace(string(n)), dotEscaper.Replace(text))
			if c, ok := graphColors[actionClass(label)]; ok {
				fmt.Fprintf(&b, ", fillcolor=\"%s\", color=\"%s\"", c[0], c[1])
			}
			if strings.Contains(label, "blocked") {
				b.WriteString(", penwidth=2, style=\"rounded,filled,dashed\"")
			}
			b.WriteString("];\n")
		}
		b.WriteString("  }\n")
	}
	for _, n := range g.Nodes() {
		for _, d := range g.Deps(n) {
			fmt.Fprintf(&b, "  \"%s\" -> \"%s\";\n", dotEscaper.Replace(string(n)), dotEscaper.Replace(string(d)))
		}
	}
	b.WriteString("}\n")
	return b.String()
}

// mermaidEscaper turns the characters Mermaid would read as syntax or HTML
// inside a quoted label into its entity codes.
var mermaidEscaper = strings.NewReplacer(
	`"`, "#quot;", "<", "#lt;", ">", "#gt;", "&", "#amp;", "`", "#96;", "#", "#35;",
	"\n", " ", "\r", "",
)

// RenderMermaid returns g as a Mermaid flowchart: one subgraph per app,
// nodes n0, n1, … in address order labelled with their address and action,
// edges from child to connection, and the action colors as classes.
func RenderMermaid(g *dag.Graph[addr.Address], labels map[addr.Address]string) string {
	var b strings.Builder
	b.WriteString("flowchart RL\n")
	ids := map[addr.Address]string{}
	for i, n := range g.Nodes() {
		ids[n] = fmt.Sprintf("n%d", i)
	}
	classes := map[string][]string{}
	for i, app := range graphApps(g) {
		fmt.Fprintf(&b, "  subgraph app%d[\"%s\"]\n", i, mermaidEscaper.Replace(app.Name))
		for _, n := range app.Nodes {
			text := mermaidEscaper.Replace(nodeName(n))
			label, ok := labels[n]
			if ok {
				text += "<br/>" + mermaidEscaper.Replace(label)
			}
			fmt.Fprintf(&b, "    %s[\"%s\"]\n", ids[n], text)
			if c := actionClass(label); c != "" {
				classes[c] = append(classes[c], ids[n])
			}
		}
		b.WriteString("  end\n")
	}
	for _, n := range g.Nodes() {
		for _, d := range g.Deps(n) {
			fmt.Fprintf(&b, "  %s --> %s\n", ids[n], ids[d])
		}
	}
	names := make([]string, 0, len(classes))
	for c := range classes {
		names = append(names, c)
	}
	slices.Sort(names)
	for _, c := range names {
		col := graphColors[c]
		fmt.Fprintf(&b, "  classDef %s fill:%s,stroke:%s\n", c, col[0], col[1])
		fmt.Fprintf(&b, "  class %s %s\n", strings.Join(classes[c], ","), c)
	}
	return b.String()
}

// changesGraph is the part of a plan's graph a Markdown comment shows: the
// shown changes and the connections they depend on, with their labels. It
// returns nil when there is nothing worth drawing (one change or none), when
// the drawing would be too large to read, or when the plan is malformed.
func changesGraph(p *plan.Plan) (*dag.Graph[addr.Address], map[addr.Address]string) {
	byAddr := map[addr.Address]*plan.Change{}
	var shownChanges []*plan.Change
	for _, c := range p.SortedChanges() {
		byAddr[c.Address] = c
		if shown(c) {
			shownChanges = append(shownChanges, c)
		}
	}
	if len(shownChanges) < 2 {
		return nil, nil
	}
	all := planGraph(p)
	g := dag.New[addr.Address]()
	labels := map[addr.Address]string{}
	for _, c := range shownChanges {
		g.AddNode(c.Address)
		labels[c.Address] = graphLabel(c)
		for _, d := range all.Deps(c.Address) {
			g.AddEdge(c.Address, d)
			if dc, ok := byAddr[d]; ok {
				labels[d] = graphLabel(dc)
			}
		}
	}
	if g.Len() > maxMermaidNodes || g.Validate() != nil {
		return nil, nil
	}
	return g, labels
}

// mermaidSection is the collapsed dependency graph of a Markdown plan, or ""
// when changesGraph finds nothing to draw.
func mermaidSection(p *plan.Plan) string {
	g, labels := changesGraph(p)
	if g == nil {
		return ""
	}
	m := RenderMermaid(g, labels)
	fence := codeFence(m)
	return "<details><summary>dependency graph</summary>\n\n" + fence + "mermaid\n" + m + fence + "\n\n" + mdDetailsClose
}
