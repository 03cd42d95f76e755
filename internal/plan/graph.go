package plan

import (
	"slices"
	"strings"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/dag"
)

// HasChanges reports whether apply has anything to do: any action but noop,
// a blocked change, or a pending resource to wait for (a run that timed out
// has not converged until the next one sees it settle). plan
// --detailed-exitcode, the views' has_changes and apply agree on it.
func (p *Plan) HasChanges() bool {
	for _, c := range p.Changes {
		if c.Action != Noop || c.Blocked != "" || c.Wait {
			return true
		}
	}
	return false
}

// BreakingChanges lists the changes whose publication spec breaks existing
// callers (see SpecChange.Breaking), in plan order; plan
// --fail-on-breaking fails when it is not empty. A first publish breaks
// nobody, and a republish of the same spec (a replaced connection's
// cascade) changes nothing a caller sees.
func (p *Plan) BreakingChanges() []*Change {
	var out []*Change
	for _, c := range p.Changes {
		if c.Action != Noop && c.Spec.IsBreaking() {
			out = append(out, c)
		}
	}
	return out
}

// RecordsState reports whether apply writes state even where HasChanges
// says nothing is to be done: a noop whose declared protect flag is not the
// one recorded (see Change.StateOnly). apply runs such a plan; plan and
// drift report no changes for it, since nothing live differs.
func (p *Plan) RecordsState() bool {
	for _, c := range p.Changes {
		if c.StateOnly {
			return true
		}
	}
	return false
}

// Counts are the totals of a plan's summary: each change counted once,
// under its action (noop included), and apart from that the changes apply
// waits for first and the blocked ones, which also have an action.
type Counts struct {
	Create, Replace, Republish, Delete, Adopt, Noop, Wait, Blocked int
}

// Actionable reports whether the counts show anything for apply to do: an
// action other than noop, or a resource to wait for. The views' summaries
// and has_changes use it; a blocked change is counted under its action.
func (n Counts) Actionable() bool {
	return n.Create+n.Replace+n.Republish+n.Delete+n.Adopt+n.Wait > 0
}

// Counts totals the plan's changes (see Counts).
func (p *Plan) Counts() Counts {
	var n Counts
	for _, c := range p.Changes {
		switch c.Action {
		case Create:
			n.Create++
		case Replace:
			n.Replace++
		case Republish:
			n.Republish++
		case Delete:
			n.Delete++
		case Adopt:
			n.Adopt++
		case Noop:
			n.Noop++
		}
		if c.Wait {
			n.Wait++
		}
		if c.Blocked != "" {
			n.Blocked++
		}
	}
	return n
}

// ResourceKind is the change's kind, taken from its address when the
// planner left it unset, so the kind always agrees with the address.
func (c *Change) ResourceKind() addr.Kind {
	if c.Kind != "" {
		return c.Kind
	}
	if p, err := addr.Parse(string(c.Address)); err == nil {
		return p.Kind
	}
	return ""
}

// SortedChanges returns the plan's changes ordered by address (then
// action, for the impossible-but-harmless duplicate), the order every view
// and the saved plan list them in, never mutating the plan.
func (p *Plan) SortedChanges() []*Change {
	out := make([]*Change, 0, len(p.Changes))
	for _, c := range p.Changes {
		if c != nil {
			out = append(out, c)
		}
	}
	slices.SortStableFunc(out, func(a, b *Change) int {
		if a.Address != b.Address {
			return strings.Compare(string(a.Address), string(b.Address))
		}
		return strings.Compare(string(a.Action), string(b.Action))
	})
	return out
}

// Change finds the change of an address, or nil.
func (p *Plan) Change(a addr.Address) *Change {
	for _, c := range p.Changes {
		if c.Address == a {
			return c
		}
	}
	return nil
}

// Graphs are the two dependency graphs apply walks, one after the other.
// Edges point from a change to what must be settled first (dag.AddEdge's
// direction); every change of the plan is a node of exactly one of them.
type Graphs struct {
	// Create holds every change but deletes (creates, replaces,
	// republishes, adopts and noops, so a child can wait for a pending
	// parent), each depending on the changes it names in DependsOn and on
	// its parent connection when the plan holds them: a target or
	// publication starts only once its connection is ready. Its
	// topological order is parent first.
	Create *dag.Graph[addr.Address]
	// Delete holds the deletes, walked once every change of Create is
	// settled, so nothing is deleted while the run could still fail to
	// build what replaces it. The API deletes a connection's targets and
	// publications with it and has no delete of its own for them, so a
	// deleted child does not go before its connection as in a generic
	// teardown: it depends on its connection when that is deleted too, is
	// settled once the connection is gone, and is skipped if that failed.
	Delete *dag.Graph[addr.Address]
}

// Graph builds the plan's dependency graphs, the order apply runs the
// changes in. Neither is validated: apply's walk reports a cycle (which
// only a hand-edited plan file could hold) on the changes in it, and a
// caller that must refuse one calls Validate.
func (p *Plan) Graph() Graphs {
	byAddr := make(map[addr.Address]*Change, len(p.Changes))
	for _, c := range p.Changes {
		if c != nil {
			byAddr[c.Address] = c
		}
	}
	deleted := func(a addr.Address) bool { c := byAddr[a]; return c != nil && c.Action == Delete }
	gs := Graphs{Create: dag.New[addr.Address](), Delete: dag.New[addr.Address]()}
	for _, c := range p.Changes {
		if c == nil {
			continue
		}
		if c.Action == Delete {
			gs.Delete.AddNode(c.Address)
		} else {
			gs.Create.AddNode(c.Address)
		}
	}
	for _, c := range p.Changes {
		if c == nil {
			continue
		}
		parent := c.Address.Parent()
		if c.Action == Delete {
			if parent != "" && deleted(parent) {
				gs.Delete.AddEdge(c.Address, parent)
			}
			continue
		}
		deps := slices.Clone(c.DependsOn)
		if parent != "" {
			deps = append(deps, parent)
		}
		for _, d := range deps {
			if byAddr[d] != nil && d != c.Address && !deleted(d) {
				gs.Create.AddEdge(c.Address, d)
			}
		}
	}
	return gs
}
