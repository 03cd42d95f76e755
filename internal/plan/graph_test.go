package plan_test

import (
	"slices"
	"testing"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/plan"
)

// TestGraphIsApplyOrder pins the two graphs apply walks: creates and
// everything else parent first (a child waits for its connection even when
// the plan names no dependency), then the deletes, a deleted child settled
// after its deleted connection and free of a connection that stays.
func TestGraphIsApplyOrder(t *testing.T) {
	conn := addr.Connection("acme", "events_dc")
	tgt := addr.Target("acme", "events_dc", "T1")
	sf := addr.Connection("acme", "prod_org")
	pub := addr.Publication("acme", "prod_org", "AcmeAPI")
	gone := addr.Connection("acme", "gone")
	goneTgt := addr.Target("acme", "gone", "T2")
	auth := addr.Authorization("acme", "ci_auth")
	p := &plan.Plan{Changes: []*plan.Change{
		{Address: conn, Action: plan.Noop, Wait: true},
		{Address: tgt, Action: plan.Create}, // no DependsOn: the parent still orders it
		{Address: sf, Action: plan.Replace},
		{Address: pub, Action: plan.Delete, DependsOn: []addr.Address{sf}},
		{Address: gone, Action: plan.Delete},
		{Address: goneTgt, Action: plan.Delete, DependsOn: []addr.Address{gone}},
		{Address: auth, Action: plan.Adopt},
	}}
	gs := p.Graph()
	if want := []addr.Address{auth, conn, tgt, sf}; !slices.Equal(gs.Create.Nodes(), want) {
		t.Fatalf("create nodes %v, want %v", gs.Create.Nodes(), want)
	}
	if want := []addr.Address{gone, goneTgt, pub}; !slices.Equal(gs.Delete.Nodes(), want) {
		t.Fatalf("delete nodes %v, want %v", gs.Delete.Nodes(), want)
	}
	if d := gs.Create.Deps(tgt); !slices.Equal(d, []addr.Address{conn}) {
		t.Errorf("target depends on %v, want its connection", d)
	}
	if d := gs.Delete.Deps(goneTgt); !slices.Equal(d, []addr.Address{gone}) {
		t.Errorf("deleted target depends on %v, want its deleted connection", d)
	}
	if d := gs.Delete.Deps(pub); len(d) != 0 {
		t.Errorf("publication deleted beside its replaced connection depends on %v, want nothing in the delete order", d)
	}
	for _, g := range []interface{ Validate() error }{gs.Create, gs.Delete} {
		if err := g.Validate(); err != nil {
			t.Error(err)
		}
	}
}
