package apply

import (
	"cmp"
	"context"
	"slices"
	"sync"

	"github.com/applinkctl/applinkctl/internal/state"
)

// batcher is a recorder that saves the writes of changes made at the same
// time together: while one save is in progress, the writes that arrive
// queue up, and the next save carries all of them. Each caller still
// returns only once its own write is saved (or the save failed), so the
// order intent → call → record of every change is as durable as with one
// save per write; but a run whose changes all wait on one serialised backend
// pays one save per batch instead of one per write (docs/performance.md, figure
// 3: on a 2-core machine a file save of a 220-resource state takes a few ms,
// and 660 of them in a row were most of an apply's time).
type batcher struct {
	rec recorder

	mu    sync.Mutex
	queue []*write
	busy  bool // a caller is saving; the next in queue saves after it
}

// write is one caller's update waiting to be saved.
type write struct {
	fn   func(*state.State) error
	done chan writeResult
	// then, when set, runs once the save is done and before any of its
	// callers is told: the saves of a batch run their then in order of
	// rank, highest first (see saved).
	then func()
	rank int
}

// writeResult is what a queued caller is told: its write's outcome, or
// that it is its turn to save the queue.
type writeResult struct {
	err  error
	lead bool
}

// Update queues fn and returns once it is saved with whatever else was
// queued with it. A save's error is every one of its writes' error; the
// store then keeps none of them, as for a single write.
func (b *batcher) Update(ctx context.Context, fn func(*state.State) error) error {
	return b.update(ctx, &write{fn: fn})
}

// UpdateThen is Update, with then run once the save is done, before the
// callers of the batch are told, in order of rank among them (highest
// first, then in the order they queued). A change that gave its slot back
// for its write queues for it in then (see dag.Slot.Queue): the changes
// saved together take their slots back by priority, whichever goroutine
// wakes first.
func (b *batcher) UpdateThen(ctx context.Context, fn func(*state.State) error, rank int, then func()) error {
	return b.update(ctx, &write{fn: fn, then: then, rank: rank})
}

func (b *batcher) update(ctx context.Context, w *write) error {
	w.done = make(chan writeResult, 1)
	b.mu.Lock()
	b.queue = append(b.queue, w)
	lead := !b.busy
	b.busy = true
	b.mu.Unlock()
	if !lead {
		r := <-w.done
		if !r.lead {
			return r.err
		}
	}
	b.mu.Lock()
	batch := b.queue
	b.queue = nil
	b.mu.Unlock()
	err := b.rec.Update(ctx, func(s *state.State) error {
		for _, x := range batch {
			if err := x.fn(s); err != nil {
				return err
			}
		}
		return nil
	})
	saved(batch)
	for _, x := range batch {
		if x != w {
			x.done <- writeResult{err: err}
		}
	}
	// Hand the next save to the first caller that queued meanwhile, so no
	// caller saves for others longer than its own batch.
	b.mu.Lock()
	if len(b.queue) > 0 {
		next := b.queue[0]
		b.mu.Unlock()
		next.done <- writeResult{lead: true}
		return err
	}
	b.busy = false
	b.mu.Unlock()
	return err
}

// saved runs the then of a batch's writes, highest rank first, then in
// the order they queued.
func saved(batch []*write) {
	var then []*write
	for _, x := range batch {
		if x.then != nil {
			then = append(then, x)
		}
	}
	slices.SortStableFunc(then, func(a, b *write) int { return cmp.Compare(b.rank, a.rank) })
	for _, x := range then {
		x.then()
	}
}
