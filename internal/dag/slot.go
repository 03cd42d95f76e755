package dag

import (
	"container/heap"
	"context"
	"sync"
)

// Semaphore bounds how many nodes of a walk hold a slot at once. It is what
// WalkWith uses in place of Walk's fixed limit when a node's work has phases
// that should not count against the bound, such as sleeping between polls:
// the node gives its Slot back for those and takes it again to go on.
//
// A freed slot goes to the waiter of highest priority (the walk's Priority
// of its node), then to the one that asked first, whether it is the walk
// starting a node or a running node taking its slot back: a node that gave
// its slot back for a moment does not queue behind nodes of lower priority
// that started meanwhile.
type Semaphore struct {
	mu      sync.Mutex
	free    int
	next    uint64
	waiting waiters
}

// NewSemaphore returns a semaphore of n slots; n < 1 means 1, so a walk
// always makes progress.
func NewSemaphore(n int) *Semaphore {
	return &Semaphore{free: max(n, 1)}
}

// waiter is one wait for a slot; ready is closed once it is granted.
type waiter struct {
	priority int
	seq      uint64
	ready    chan struct{}
	index    int // in the heap; -1 once granted
}

// waiters is a heap: highest priority first, then the first to ask.
type waiters []*waiter

func (w waiters) Len() int { return len(w) }
func (w waiters) Less(i, j int) bool {
	if w[i].priority != w[j].priority {
		return w[i].priority > w[j].priority
	}
	return w[i].seq < w[j].seq
}
func (w waiters) Swap(i, j int) {
	w[i], w[j] = w[j], w[i]
	w[i].index, w[j].index = i, j
}
func (w *waiters) Push(x any) {
	v := x.(*waiter)
	v.index = len(*w)
	*w = append(*w, v)
}
func (w *waiters) Pop() any {
	old := *w
	v := old[len(old)-1]
	old[len(old)-1] = nil
	*w = old[:len(old)-1]
	v.index = -1
	return v
}

// wait asks for a slot: ready is closed once it is granted (at once when
// one is free and nobody waits).
func (s *Semaphore) wait(priority int) *waiter {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := &waiter{priority: priority, seq: s.next, ready: make(chan struct{}), index: -1}
	s.next++
	if s.takeFree() {
		close(w.ready)
		return w
	}
	heap.Push(&s.waiting, w)
	return w
}

// try takes a slot if one is free and nobody waits for one.
func (s *Semaphore) try() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.takeFree()
}

// takeFree takes a slot if one is free and nobody waits; s.mu is held.
func (s *Semaphore) takeFree() bool {
	if s.free > 0 && len(s.waiting) == 0 {
		s.free--
		return true
	}
	return false
}

// cancel withdraws w; granted reports that the slot was granted first, and
// is then the caller's to use or release.
func (s *Semaphore) cancel(w *waiter) (granted bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w.index < 0 {
		return true
	}
	heap.Remove(&s.waiting, w.index)
	return false
}

// release gives a slot back, to the first waiter if any.
func (s *Semaphore) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.waiting) > 0 {
		close(heap.Pop(&s.waiting).(*waiter).ready)
		return
	}
	s.free++
}

// Slot is one node's hold on a walk's Semaphore. WalkWith takes it before
// the node starts and hands it to fn held; fn may Release it while it waits
// on something and Acquire it again before going on; the walk releases it
// once fn returns. A Slot is used by one goroutine at a time (fn's, then
// the walk's). A Slot without a semaphore (WalkOptions.Slots nil) bounds
// nothing: Acquire and Release do nothing.
type Slot struct {
	sem      *Semaphore
	priority int // its node's, for taking it back
	held     bool
	// queued is the request Queue made, which the next Acquire waits
	// for; nil when none is outstanding.
	queued *waiter
	// succeeded tells the walk the node succeeded early (see Succeeded);
	// nil outside a walk.
	succeeded func()
}

// Succeeded tells the walk that the node has succeeded before fn returns:
// its dependents may start while fn finishes work they do not wait on,
// such as recording the node's outcome. An error fn returns afterwards is
// still the node's Err, but skips none of its dependents, which may have
// started. Calling it again, or outside a walk, does nothing.
func (s *Slot) Succeeded() {
	if s != nil && s.succeeded != nil {
		f := s.succeeded
		s.succeeded = nil
		f()
	}
}

// Acquire takes the slot unless it is already held, waiting for a free
// one; ctx ending first is its error and the slot stays released.
func (s *Slot) Acquire(ctx context.Context) error {
	if s == nil || s.sem == nil || s.held {
		return nil
	}
	w := s.queued
	if w == nil {
		w = s.sem.wait(s.priority)
	}
	s.queued = nil
	select {
	case <-w.ready:
		s.held = true
		return nil
	case <-ctx.Done():
		if s.sem.cancel(w) {
			s.sem.release()
		}
		return ctx.Err()
	}
}

// Release gives the slot back if it is held; releasing twice is harmless,
// so every path out of a wait can release without bookkeeping.
func (s *Slot) Release() {
	if s == nil || s.sem == nil {
		return
	}
	if w := s.queued; w != nil {
		s.queued = nil
		if s.sem.cancel(w) {
			s.sem.release()
		}
	}
	if !s.held {
		return
	}
	s.sem.release()
	s.held = false
}

// Queue asks for the slot now, without waiting for it: the next Acquire
// waits for this request instead of making its own. A node that gave its
// slot back for work of its own, such as a save that other nodes' saves
// join, queues when that work is done, so when several such nodes finish
// together they queue in the order of the Queue calls, by priority, and
// not in the order their goroutines happen to wake in. A granted request
// holds a slot until Acquire takes it or Release withdraws it; Queue does
// nothing while the slot is held or already queued. Queue may be called
// from another goroutine than the slot's user while that user waits on
// it (for example inside the work it gave the slot back for).
func (s *Slot) Queue() {
	if s == nil || s.sem == nil || s.held || s.queued != nil {
		return
	}
	s.queued = s.sem.wait(s.priority)
}

// Priority is the priority the slot's node queues with.
func (s *Slot) Priority() int {
	if s == nil {
		return 0
	}
	return s.priority
}

// Held reports whether the slot is currently taken.
func (s *Slot) Held() bool { return s != nil && s.held }
