package dag

import (
	"cmp"
	"context"
	"errors"
	"fmt"

	"golang.org/x/sync/errgroup"
)

// WalkResult is what happened to one node of a Walk.
type WalkResult[K cmp.Ordered] struct {
	// Err is fn's error for a node that ran; for a skipped node it is
	// *SkippedError (a dependency failed) or the context's error (the walk
	// was cancelled before the node started).
	Err error
	// Skipped is set when fn was never called for the node.
	Skipped bool
	// SkippedBecause names the root cause: the node whose fn failed and
	// made this one impossible. It is the zero K when the walk was
	// cancelled instead.
	SkippedBecause K
}

// SkippedError says a node did not run because a node it depends on,
// directly or not, failed. Only the failed node is a root cause worth
// reporting as an error; this one is a consequence.
type SkippedError[K cmp.Ordered] struct {
	Because K
}

func (e *SkippedError[K]) Error() string { return fmt.Sprintf("skipped: %v failed", e.Because) }

// Walk runs fn once for every node of g, each only after all its
// dependencies succeeded, at most limit at a time (limit < 1 means 1).
// A failure does not stop unrelated branches: only the failed node's
// descendants are skipped, naming it. Once ctx is cancelled no new node
// starts; nodes already running see the cancelled ctx and Walk waits for
// them. Walk always returns a result for every node. A graph with a cycle
// runs nothing and every node's Err is the *CycleError.
func Walk[K cmp.Ordered](ctx context.Context, g *Graph[K], limit int, fn func(ctx context.Context, k K) error) map[K]WalkResult[K] {
	results := make(map[K]WalkResult[K], g.Len())
	if err := g.Validate(); err != nil {
		for _, k := range g.Nodes() {
			results[k] = WalkResult[K]{Err: err, Skipped: true}
		}
		return results
	}
	if limit < 1 {
		limit = 1
	}

	type done struct {
		k   K
		err error
	}
	remaining := make(map[K]int, g.Len())
	var ready []K
	for _, k := range g.Nodes() {
		remaining[k] = len(g.deps[k])
		if remaining[k] == 0 {
			ready = append(ready, k)
		}
	}
	finished := make(chan done, g.Len())
	var eg errgroup.Group
	eg.SetLimit(limit)
	running := 0

	// settle records a node's result and makes its dependents ready when
	// this was their last dependency.
	settle := func(k K, r WalkResult[K]) {
		results[k] = r
		for _, d := range g.Dependents(k) {
			remaining[d]--
			if remaining[d] == 0 {
				ready = append(ready, d)
			}
		}
	}
	// blocker is the root cause that keeps k from running, if any: the
	// smallest failed dependency, or the cause a skipped dependency carries.
	blocker := func(k K) (K, error, bool) {
		var zero K
		var cancelled error
		for _, d := range g.Deps(k) {
			r := results[d]
			switch {
			case r.Skipped && r.SkippedBecause != zero:
				return r.SkippedBecause, nil, true
			case r.Skipped:
				cancelled = r.Err
			case r.Err != nil && ctx.Err() != nil && errors.Is(r.Err, ctx.Err()):
				// The dependency stopped because the walk was cancelled:
				// that is an interruption, not a failure to blame it for.
				cancelled = ctx.Err()
			case r.Err != nil:
				return d, nil, true
			}
		}
		if cancelled != nil {
			return zero, cancelled, true
		}
		return zero, nil, false
	}

	for len(ready) > 0 || running > 0 {
		for len(ready) > 0 && running < limit {
			k := ready[0]
			ready = ready[1:]
			if because, cerr, blocked := blocker(k); blocked {
				if cerr != nil {
					settle(k, WalkResult[K]{Err: cerr, Skipped: true})
				} else {
					settle(k, WalkResult[K]{Err: &SkippedError[K]{Because: because}, Skipped: true, SkippedBecause: because})
				}
				continue
			}
			if err := ctx.Err(); err != nil {
				settle(k, WalkResult[K]{Err: err, Skipped: true})
				continue
			}
			running++
			eg.Go(func() error {
				finished <- done{k: k, err: fn(ctx, k)}
				return nil
			})
		}
		if running == 0 {
			continue
		}
		d := <-finished
		running--
		settle(d.k, WalkResult[K]{Err: d.err})
	}
	_ = eg.Wait()
	return results
}
