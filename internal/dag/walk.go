package dag

import (
	"cmp"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"sync"
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
// runs nothing and every node's Err is the *CycleError. Nodes start in the
// order they became ready, those ready at the start in key order.
func Walk[K cmp.Ordered](ctx context.Context, g *Graph[K], limit int, fn func(ctx context.Context, k K) error) map[K]WalkResult[K] {
	return WalkWith(ctx, g, WalkOptions[K]{Slots: NewSemaphore(limit)}, func(ctx context.Context, k K, _ *Slot) error {
		return fn(ctx, k)
	})
}

// WalkOptions shape a WalkWith: which ready node starts first and what
// bounds how many run.
type WalkOptions[K cmp.Ordered] struct {
	// Priority ranks ready nodes: the higher starts first. Among equals
	// the node that became ready first starts first (those ready at the
	// start in key order), so none waits behind an equal that became
	// ready after it. Nil ranks all nodes equal. It is called once per
	// node, from the walk's goroutine.
	Priority func(K) int
	// Slots bounds how many nodes hold a slot at once: a node starts only
	// once the walk took a slot for it. Nil bounds nothing.
	Slots *Semaphore
	// StartUnheld starts a ready node at once even when no slot is free:
	// its fn gets its Slot released and takes it (Queue, Acquire) before
	// the work the slots bound. It is for nodes that begin with work the
	// bound does not cover, such as a state write, which they can then do
	// while the slots are busy instead of after one was freed. A node
	// still gets a free slot held when one is free and nobody waits.
	StartUnheld bool
}

// WalkWith is Walk with a priority among ready nodes and a Semaphore in
// place of the fixed limit. fn gets its node's Slot held; it may give it
// back while it waits and take it again (see Slot), so the semaphore bounds
// the work in flight rather than the nodes started: every node may be
// running at once, most of them waiting, at most one goroutine per node.
// While it waits for a free slot the walk keeps settling the nodes that
// finish, which may make a node of higher priority ready or skip the one
// it was about to start; a slot held when fn returns is freed only once
// the node is settled, so its dependents compete for it. The results, the
// skips and the stop of new starts on cancel are Walk's.
func WalkWith[K cmp.Ordered](ctx context.Context, g *Graph[K], opts WalkOptions[K], fn func(ctx context.Context, k K, s *Slot) error) map[K]WalkResult[K] {
	results := make(map[K]WalkResult[K], g.Len())
	if err := g.Validate(); err != nil {
		for _, k := range g.Nodes() {
			results[k] = WalkResult[K]{Err: err, Skipped: true}
		}
		return results
	}

	type done struct {
		k   K
		err error
		s   *Slot
	}
	remaining := make(map[K]int, g.Len())
	ready := &readyQueue[K]{priority: opts.Priority}
	for _, k := range g.Nodes() {
		remaining[k] = len(g.deps[k])
		if remaining[k] == 0 {
			heap.Push(ready, k)
		}
	}
	finished := make(chan done, g.Len())
	// succeeded carries the nodes that told the walk they succeeded
	// before their fn returned (see Slot.Succeeded); early marks them.
	succeeded := make(chan K, g.Len())
	early := map[K]bool{}
	// spare is a slot granted to the walk while it settled a node
	// instead; it goes to the next node to start, or back at the end.
	spare := false
	defer func() {
		if spare {
			opts.Slots.release()
		}
	}()
	var wg sync.WaitGroup
	defer wg.Wait()
	running := 0
	// settle records a node's result and makes its dependents ready when
	// this was their last dependency.
	settle := func(k K, r WalkResult[K]) {
		results[k] = r
		for _, d := range g.Dependents(k) {
			remaining[d]--
			if remaining[d] == 0 {
				heap.Push(ready, d)
			}
		}
	}
	finish := func(d done) {
		running--
		if early[d.k] {
			results[d.k] = WalkResult[K]{Err: d.err} // its dependents are settled on
		} else {
			settle(d.k, WalkResult[K]{Err: d.err})
		}
		d.s.Release()
	}
	succeed := func(k K) {
		if _, settled := results[k]; settled {
			return // its fn's return was seen first
		}
		early[k] = true
		settle(k, WalkResult[K]{})
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

	for ready.Len() > 0 || running > 0 {
		for ready.Len() > 0 {
			k := ready.peek()
			if because, cerr, blocked := blocker(k); blocked {
				heap.Pop(ready)
				if cerr != nil {
					settle(k, WalkResult[K]{Err: cerr, Skipped: true})
				} else {
					settle(k, WalkResult[K]{Err: &SkippedError[K]{Because: because}, Skipped: true, SkippedBecause: because})
				}
				continue
			}
			if err := ctx.Err(); err != nil {
				heap.Pop(ready)
				settle(k, WalkResult[K]{Err: err, Skipped: true})
				continue
			}
			s := &Slot{sem: opts.Slots, priority: ready.peekRank()}
			if opts.Slots != nil && spare {
				spare, s.held = false, true
			} else if opts.Slots != nil && opts.StartUnheld {
				s.held = opts.Slots.try()
			} else if opts.Slots != nil {
				w := opts.Slots.wait(s.priority)
				select {
				case <-w.ready:
					s.held = true
					if ctx.Err() != nil {
						s.Release() // cancelled meanwhile: it is not started
						continue    // settled as cancelled above
					}
				case <-ctx.Done():
					if opts.Slots.cancel(w) {
						opts.Slots.release()
					}
					continue // settled as cancelled above
				case d := <-finished:
					// Granted meanwhile, the slot goes to whichever
					// node is ready next.
					spare = opts.Slots.cancel(w)
					finish(d) // it may skip k or make others ready: look again
					continue
				case k := <-succeeded:
					spare = opts.Slots.cancel(w)
					succeed(k) // it may make others ready: look again
					continue
				}
			}
			heap.Pop(ready)
			running++
			s.succeeded = func() { succeeded <- k }
			wg.Go(func() {
				finished <- done{k: k, err: fn(ctx, k, s), s: s}
			})
		}
		if running == 0 {
			continue
		}
		select {
		case d := <-finished:
			finish(d)
		case k := <-succeeded:
			succeed(k)
		}
	}
	return results
}

// readyQueue is a heap of the nodes ready to start: the highest priority
// first, then the node that became ready first.
type readyQueue[K cmp.Ordered] struct {
	priority func(K) int
	items    []readyItem[K]
	next     int
}

type readyItem[K cmp.Ordered] struct {
	k    K
	rank int
	seq  int
}

func (q *readyQueue[K]) peek() K { return q.items[0].k }

func (q *readyQueue[K]) peekRank() int { return q.items[0].rank }

func (q *readyQueue[K]) Len() int { return len(q.items) }

func (q *readyQueue[K]) Less(i, j int) bool {
	a, b := q.items[i], q.items[j]
	if a.rank != b.rank {
		return a.rank > b.rank
	}
	return a.seq < b.seq
}

func (q *readyQueue[K]) Swap(i, j int) { q.items[i], q.items[j] = q.items[j], q.items[i] }

func (q *readyQueue[K]) Push(x any) {
	it := readyItem[K]{k: x.(K), seq: q.next}
	q.next++
	if q.priority != nil {
		it.rank = q.priority(it.k)
	}
	q.items = append(q.items, it)
}

func (q *readyQueue[K]) Pop() any {
	it := q.items[len(q.items)-1]
	q.items = q.items[:len(q.items)-1]
	return it.k
}
