package apply

import (
	"container/heap"
	"context"
	"errors"
	"fmt"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/dag"
	"github.com/applinkctl/applinkctl/internal/plan"
)

// forwardGraph holds every change but deletes, each depending on the
// changes its plan entry names and on its parent connection: a target or
// publication starts only once its connection is ready.
func (e *engine) forwardGraph() *dag.Graph[addr.Address] {
	g := dag.New[addr.Address]()
	for _, c := range e.changes {
		if c.Action == plan.Delete {
			continue
		}
		g.AddNode(c.Address)
	}
	for _, c := range e.changes {
		if c.Action == plan.Delete {
			continue
		}
		deps := append([]addr.Address{}, c.DependsOn...)
		if p := c.Address.Parent(); p != "" {
			deps = append(deps, p)
		}
		for _, d := range deps {
			if i, ok := e.byAddr[d]; ok && d != c.Address && e.changes[i].Action != plan.Delete {
				g.AddEdge(c.Address, d)
			}
		}
	}
	return g
}

// deleteGraph holds the prunes. The API deletes a connection's targets and
// publications with it and has no delete of its own for them, so a pruned
// child does not run before its connection as in a generic teardown: it is
// settled after its connection is gone, and skipped if that failed.
func (e *engine) deleteGraph() *dag.Graph[addr.Address] {
	g := dag.New[addr.Address]()
	for _, c := range e.changes {
		if c.Action != plan.Delete {
			continue
		}
		g.AddNode(c.Address)
		if p := c.Address.Parent(); p != "" && e.deleting[p] {
			g.AddEdge(c.Address, p)
		}
	}
	return g
}

// walk runs the changes of g in dependency order and records a result for
// every one, including those it skipped.
func (e *engine) walk(ctx context.Context, g *dag.Graph[addr.Address]) {
	if g.Len() == 0 {
		return
	}
	res := e.schedule(ctx, g, func(ctx context.Context, a addr.Address, s *slot) error {
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
			r.message = "interrupted"
			r.interrupted = true
		default:
			r.message = fmt.Sprintf("skipped: %v", wr.Err)
		}
		e.results[i] = r
		if c.Action == plan.Noop && !c.Wait {
			// Nothing would have been done anyway: it is unchanged.
			e.results[i] = result{outcome: succeeded}
			continue
		}
		e.emit(Event{Address: a, Action: c.Action, Type: EventSkipped, Message: r.message})
	}
}

// schedule is dag.Walk with the engine's slots in place of its limit: a
// change starts only once the walk has taken a slot for it, the ready
// change heading the longest chain of dependents first (then by address),
// so the chains that bound the run's length start first; and a change waiting for its resource gives the slot back
// between polls (see slot), so Parallelism bounds the calls in flight, not
// the changes being waited on. Every change of g may be running at once,
// most of them asleep: at most one goroutine per change. The results, the
// skips (naming the failed dependency, or the cancel) and the stop of new
// starts once ctx is cancelled are dag.Walk's.
func (e *engine) schedule(ctx context.Context, g *dag.Graph[addr.Address], fn func(ctx context.Context, a addr.Address, s *slot) error) map[addr.Address]dag.WalkResult[addr.Address] {
	results := make(map[addr.Address]dag.WalkResult[addr.Address], g.Len())
	if err := g.Validate(); err != nil {
		for _, k := range g.Nodes() {
			results[k] = dag.WalkResult[addr.Address]{Err: err, Skipped: true}
		}
		return results
	}
	type done struct {
		k   addr.Address
		err error
	}
	remaining := make(map[addr.Address]int, g.Len())
	ready := &readyQueue{height: heights(g), seq: make(map[addr.Address]int, g.Len())}
	for _, k := range g.Nodes() {
		remaining[k] = len(g.Deps(k))
		if remaining[k] == 0 {
			heap.Push(ready, k)
		}
	}
	finished := make(chan done, g.Len())
	running := 0

	settle := func(k addr.Address, r dag.WalkResult[addr.Address]) {
		results[k] = r
		for _, d := range g.Dependents(k) {
			remaining[d]--
			if remaining[d] == 0 {
				heap.Push(ready, d)
			}
		}
	}
	// blocker is the root cause that keeps k from running, if any: the
	// smallest failed dependency, or the cause a skipped dependency carries.
	blocker := func(k addr.Address) (addr.Address, error, bool) {
		var cancelled error
		for _, d := range g.Deps(k) {
			r := results[d]
			switch {
			case r.Skipped && r.SkippedBecause != "":
				return r.SkippedBecause, nil, true
			case r.Skipped:
				cancelled = r.Err
			case r.Err != nil && ctx.Err() != nil && errors.Is(r.Err, ctx.Err()):
				cancelled = ctx.Err()
			case r.Err != nil:
				return d, nil, true
			}
		}
		if cancelled != nil {
			return "", cancelled, true
		}
		return "", nil, false
	}
	finish := func(d done) {
		running--
		settle(d.k, dag.WalkResult[addr.Address]{Err: d.err})
	}

	for ready.Len() > 0 || running > 0 {
		for ready.Len() > 0 {
			k := ready.keys[0]
			if because, cerr, blocked := blocker(k); blocked {
				heap.Pop(ready)
				if cerr != nil {
					settle(k, dag.WalkResult[addr.Address]{Err: cerr, Skipped: true})
				} else {
					settle(k, dag.WalkResult[addr.Address]{Err: &dag.SkippedError[addr.Address]{Because: because}, Skipped: true, SkippedBecause: because})
				}
				continue
			}
			if err := ctx.Err(); err != nil {
				heap.Pop(ready)
				settle(k, dag.WalkResult[addr.Address]{Err: err, Skipped: true})
				continue
			}
			s := &slot{ch: e.slots}
			select {
			case e.slots <- struct{}{}:
				s.held = true
				if ctx.Err() != nil {
					s.release() // cancelled meanwhile: it is not started
					continue
				}
			case <-ctx.Done():
				continue // settled as cancelled above
			case d := <-finished:
				finish(d) // it may skip k or make others ready; look again
				continue
			}
			heap.Pop(ready)
			running++
			go func() {
				err := fn(ctx, k, s)
				s.release()
				finished <- done{k: k, err: err}
			}()
		}
		if running == 0 {
			continue
		}
		finish(<-finished)
	}
	return results
}

// heights is, for every node, the weight of the longest chain of changes
// that starts with it (see weight).
func heights(g *dag.Graph[addr.Address]) map[addr.Address]int {
	h := make(map[addr.Address]int, g.Len())
	var of func(k addr.Address) int
	of = func(k addr.Address) int {
		if v, ok := h[k]; ok {
			return v
		}
		v := 0
		for _, d := range g.Dependents(k) {
			v = max(v, of(d))
		}
		v += weight(k)
		h[k] = v
		return v
	}
	for _, k := range g.Nodes() {
		of(k)
	}
	return h
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

// readyQueue is a heap of ready changes: the heaviest chain first, then
// the change that became ready first (the graph's order for those ready at
// the start), so a change waits behind no equal that became ready after it.
type readyQueue struct {
	keys   []addr.Address
	height map[addr.Address]int
	seq    map[addr.Address]int
	next   int
}

func (q *readyQueue) Len() int { return len(q.keys) }
func (q *readyQueue) Less(i, j int) bool {
	a, b := q.keys[i], q.keys[j]
	if q.height[a] != q.height[b] {
		return q.height[a] > q.height[b]
	}
	return q.seq[a] < q.seq[b]
}
func (q *readyQueue) Swap(i, j int) { q.keys[i], q.keys[j] = q.keys[j], q.keys[i] }
func (q *readyQueue) Push(x any) {
	k := x.(addr.Address)
	q.seq[k] = q.next
	q.next++
	q.keys = append(q.keys, k)
}
func (q *readyQueue) Pop() any {
	k := q.keys[len(q.keys)-1]
	q.keys = q.keys[:len(q.keys)-1]
	return k
}
