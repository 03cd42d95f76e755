package apply

import (
	"context"
	"fmt"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/dag"
	"github.com/applinkctl/applinkctl/internal/plan"
)

// walk runs the changes of g in dependency order and records a result for
// every one, including those it skipped. A change starts as soon as it is
// ready; the slots (Parallelism) bound its calls, not its start. The slots
// go to the change heading the heaviest chain of dependents first (see
// weight), then in the order they asked, so the chains that bound the
// run's length go first. A change waiting for its resource gives its slot
// back between polls (see minYield), so Parallelism bounds the calls in
// flight, not the changes being waited on.
func (e *engine) walk(ctx context.Context, g *dag.Graph[addr.Address]) {
	if g.Len() == 0 {
		return
	}
	// On a cycle there are no heights; the walk reports the cycle.
	h, _ := g.Heights(weight)
	// A change starts at once, with its slot if one is free: most begin
	// with their intent's state write, which needs none, and is saved
	// while the slots are busy; it takes its slot for its first call (see
	// hold), queuing by priority as that write is saved.
	opts := dag.WalkOptions[addr.Address]{Priority: func(a addr.Address) int { return h[a] }, Slots: e.slots, StartUnheld: true}
	res := dag.WalkWith(ctx, g, opts, func(ctx context.Context, a addr.Address, s *dag.Slot) error {
		i := e.byAddr[a]
		r := e.do(ctx, e.changes[i], s)
		e.results[i] = r
		if r.outcome != succeeded {
			return errNotDone
		}
		return nil
	})
	for _, a := range g.Nodes() {
		wr := res[a]
		if !wr.Skipped {
			continue
		}
		i := e.byAddr[a]
		c := e.changes[i]
		r := result{outcome: skipped}
		switch {
		case wr.SkippedBecause != "":
			why := "failed"
			if j, ok := e.byAddr[wr.SkippedBecause]; ok && e.results[j].outcome == stillPending {
				why = "still pending"
			}
			r.message = fmt.Sprintf("skipped: %s %s", wr.SkippedBecause, why)
		case ctx.Err() != nil:
			r.message = stopReason(ctx)
			r.interrupted = true
		default:
			r.message = fmt.Sprintf("skipped: %v", wr.Err)
		}
		e.results[i] = r
		if c.Action == plan.Noop && !c.Wait && !c.StateOnly {
			// Nothing would have been done anyway: it is unchanged.
			e.results[i] = result{outcome: succeeded}
			continue
		}
		e.emit(Event{Address: a, Action: c.Action, Type: EventSkipped, Message: r.message})
	}
}

// weight is roughly what a change costs in its chain, in round trips: a
// resource with a status is posted, provisioned and read (3), a publication
// is posted and read back (2). Only the order matters: a Data Cloud
// connection with targets (two provisionings) starts before a Salesforce
// connection with publications, and both before a lone authorization.
func weight(a addr.Address) int {
	if a.Kind() == addr.KindPublication {
		return 2
	}
	return 3
}
