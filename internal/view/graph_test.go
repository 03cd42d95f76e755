package view_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/dag"
	"github.com/applinkctl/applinkctl/internal/manifest"
	"github.com/applinkctl/applinkctl/internal/plan"
	"github.com/applinkctl/applinkctl/internal/view"
)

// graphManifest declares two apps: a Salesforce connection with two
// publications, a Data Cloud connection with a target whose label holds a
// space and a quote-like character, and an authorization.
func graphManifest() *manifest.Manifest {
	prod := &manifest.Connection{App: "acme-api", Name: "prod_org", Type: manifest.OrgType("salesforce")}
	prod.Publications = []*manifest.Publication{
		{App: "acme-api", Connection: "prod_org", ClientName: "AcmeAPI"},
		{App: "acme-api", Connection: "prod_org", ClientName: "Billing"},
	}
	dc := &manifest.Connection{App: "acme-api", Name: "events_dc", Type: manifest.OrgType("datacloud")}
	dc.Targets = []*manifest.Target{{App: "acme-api", Connection: "events_dc", Label: "Order Events"}}
	web := &manifest.Connection{App: "acme-web", Name: "sf", Type: manifest.OrgType("salesforce")}
	return &manifest.Manifest{Apps: []*manifest.App{
		{Name: "acme-api", Connections: []*manifest.Connection{prod, dc},
			Authorizations: []*manifest.Authorization{{App: "acme-api", DeveloperName: "ci_auth"}}},
		{Name: "acme-web", Connections: []*manifest.Connection{web}},
	}}
}

func renderGraph(t *testing.T, g *dag.Graph[addr.Address], labels map[addr.Address]string, format string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := view.RenderGraph(&buf, g, labels, format); err != nil {
		t.Fatalf("RenderGraph(%s): %v", format, err)
	}
	return buf.Bytes()
}

func TestRenderGraphGolden(t *testing.T) {
	mg, err := view.DependencyGraph(graphManifest(), nil)
	if err != nil {
		t.Fatal(err)
	}
	p := fullPlan()
	pg, err := view.DependencyGraph(nil, p)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		g      *dag.Graph[addr.Address]
		labels map[addr.Address]string
	}{
		{"manifest", mg, nil},
		{"plan", pg, view.PlanLabels(p)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			golden(t, "graph", tc.name+".dot", renderGraph(t, tc.g, tc.labels, view.FormatDot))
			golden(t, "graph", tc.name+".mmd", renderGraph(t, tc.g, tc.labels, view.FormatMermaid))
		})
	}
}

func TestDependencyGraphEdgesPointFromChildToConnection(t *testing.T) {
	g, err := view.DependencyGraph(graphManifest(), nil)
	if err != nil {
		t.Fatal(err)
	}
	pub := addr.Publication("acme-api", "prod_org", "AcmeAPI")
	if got := g.Deps(pub); len(got) != 1 || got[0] != addr.Connection("acme-api", "prod_org") {
		t.Errorf("Deps(%s) = %v, want its connection", pub, got)
	}
	if got := g.Deps(addr.Authorization("acme-api", "ci_auth")); len(got) != 0 {
		t.Errorf("an authorization depends on nothing, got %v", got)
	}
	if g.Len() != 7 {
		t.Errorf("Len = %d, want 7 (3 connections, 2 publications, 1 target, 1 authorization)", g.Len())
	}
}

func TestDependencyGraphMergesManifestAndPlan(t *testing.T) {
	// A pruned connection is only in the plan; the manifest's are all kept.
	gone := addr.Connection("acme-api", "gone_dc")
	p := &plan.Plan{Changes: []*plan.Change{
		{Address: gone, Kind: addr.KindConnection, Action: plan.Delete},
		{Address: addr.Target("acme-api", "gone_dc", "Old"), Kind: addr.KindTarget, Action: plan.Delete, DependsOn: []addr.Address{gone}},
	}}
	g, err := view.DependencyGraph(graphManifest(), p)
	if err != nil {
		t.Fatal(err)
	}
	if g.Len() != 9 || !g.Has(gone) || len(g.Dependents(gone)) != 1 {
		t.Errorf("merged graph: %d nodes %v", g.Len(), g.Nodes())
	}
	out := string(renderGraph(t, g, view.PlanLabels(p), view.FormatDot))
	if !strings.Contains(out, `label="connection/gone_dc\ndelete"`) || !strings.Contains(out, `label="connection/prod_org"]`) {
		t.Errorf("dot output lacks the delete label or the unlabelled manifest node:\n%s", out)
	}
}

func TestDependencyGraphRefusesACycle(t *testing.T) {
	// Only a hand-edited plan file can say a connection depends on its child.
	a, b := addr.Connection("x", "c"), addr.Target("x", "c", "t")
	p := &plan.Plan{Changes: []*plan.Change{
		{Address: a, Action: plan.Create, DependsOn: []addr.Address{b}},
		{Address: b, Action: plan.Create, DependsOn: []addr.Address{a}},
	}}
	if _, err := view.DependencyGraph(nil, p); err == nil || !strings.Contains(err.Error(), "dependency graph") {
		t.Fatalf("want a cycle error, got %v", err)
	}
}

func TestRenderGraphUnknownFormat(t *testing.T) {
	g, _ := view.DependencyGraph(graphManifest(), nil)
	err := view.RenderGraph(&bytes.Buffer{}, g, nil, "svg")
	var ue *view.UnknownFormatError
	if !errors.As(err, &ue) || len(ue.Valid) != 2 {
		t.Fatalf("want UnknownFormatError listing dot and mermaid, got %v", err)
	}
}

func TestRenderGraphDeterministicAndEscaped(t *testing.T) {
	weird := addr.Target("app", "dc", `Say "hi" <b>#1</b>`)
	g := dag.New[addr.Address]()
	g.AddEdge(weird, addr.Connection("app", "dc"))
	labels := map[addr.Address]string{weird: "create"}
	mmd := string(renderGraph(t, g, labels, view.FormatMermaid))
	if strings.Contains(mmd, `"hi"`) || strings.Contains(mmd, "<b>") || !strings.Contains(mmd, "#quot;hi#quot; #lt;b#gt;#35;1") {
		t.Errorf("mermaid label not escaped:\n%s", mmd)
	}
	dot := string(renderGraph(t, g, labels, view.FormatDot))
	if !strings.Contains(dot, `Say \"hi\"`) {
		t.Errorf("dot label not escaped:\n%s", dot)
	}
	for i := 0; i < 5; i++ {
		if again := string(renderGraph(t, g, labels, view.FormatMermaid)); again != mmd {
			t.Fatal("mermaid output differs between runs")
		}
	}
}

func TestRenderPlanMarkdownGraphOnlyWithSeveralChanges(t *testing.T) {
	one := &plan.Plan{Changes: []*plan.Change{
		{Address: addr.Connection("a", "c"), Kind: addr.KindConnection, Action: plan.Create},
		{Address: addr.Connection("a", "d"), Kind: addr.KindConnection, Action: plan.Noop},
	}}
	if md := string(render(t, one, "markdown", view.Options{})); strings.Contains(md, "mermaid") {
		t.Errorf("a plan of one change has no graph:\n%s", md)
	}
	two := &plan.Plan{Changes: []*plan.Change{
		{Address: addr.Connection("a", "c"), Kind: addr.KindConnection, Action: plan.Create},
		{Address: addr.Target("a", "c", "t"), Kind: addr.KindTarget, Action: plan.Create, DependsOn: []addr.Address{addr.Connection("a", "c")}},
		{Address: addr.Connection("a", "d"), Kind: addr.KindConnection, Action: plan.Noop},
	}}
	md := string(render(t, two, "markdown", view.Options{}))
	if !strings.Contains(md, "```mermaid\nflowchart RL\n") || !strings.Contains(md, "n1 --> n0") {
		t.Errorf("want the graph of the two changes:\n%s", md)
	}
	if strings.Contains(md, "connection/d") {
		t.Errorf("noop resources stay out of the comment's graph:\n%s", md)
	}
	// When the graph would push a change out of a capped comment, the
	// changes win.
	capped := string(render(t, two, "markdown", view.Options{MaxBytes: len(md) - 1}))
	if strings.Contains(capped, "mermaid") || strings.Contains(capped, "truncated") {
		t.Errorf("capped comment should drop the graph and keep every change:\n%s", capped)
	}
}
