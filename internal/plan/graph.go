package plan

import (
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

// Counts is the number of changes per action, noop included.
func (p *Plan) Counts() map[Action]int {
	out := map[Action]int{}
	for _, c := range p.Changes {
		out[c.Action]++
	}
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

// Graph is the dependency graph of the plan's changes: an edge from each
// change to every change it depends on (a target or publication to its
// connection), so TopoOrder runs creates, replaces and republishes parent
// first; apply walks the Reverse for deletes. Every change is a node, noops
// included, so a child can wait for a pending parent.
func (p *Plan) Graph() (*dag.Graph[addr.Address], error) {
	g := dag.New[addr.Address]()
	in := map[addr.Address]bool{}
	for _, c := range p.Changes {
		g.AddNode(c.Address)
		in[c.Address] = true
	}
	for _, c := range p.Changes {
		for _, d := range c.DependsOn {
			if in[d] {
				g.AddEdge(c.Address, d)
			}
		}
	}
	if err := g.Validate(); err != nil {
		return nil, err
	}
	return g, nil
}
