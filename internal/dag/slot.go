package dag

import "context"

// Semaphore bounds how many nodes of a walk hold a slot at once. It is what
// WalkWith uses in place of Walk's fixed limit when a node's work has phases
// that should not count against the bound, such as sleeping between polls:
// the node gives its Slot back for those and takes it again to go on.
type Semaphore struct {
	ch chan struct{}
}

// NewSemaphore returns a semaphore of n slots; n < 1 means 1, so a walk
// always makes progress.
func NewSemaphore(n int) *Semaphore {
	return &Semaphore{ch: make(chan struct{}, max(n, 1))}
}

// Slot is one node's hold on a walk's Semaphore. WalkWith takes it before
// the node starts and hands it to fn held; fn may Release it while it waits
// on something and Acquire it again before going on; the walk releases it
// once fn returns. A Slot is used by one goroutine at a time (fn's, then
// the walk's). A Slot without a semaphore (WalkOptions.Slots nil) bounds
// nothing: Acquire and Release do nothing.
type Slot struct {
	sem  *Semaphore
	held bool
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
	select {
	case s.sem.ch <- struct{}{}:
		s.held = true
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Release gives the slot back if it is held; releasing twice is harmless,
// so every path out of a wait can release without bookkeeping.
func (s *Slot) Release() {
	if s == nil || s.sem == nil || !s.held {
		return
	}
	<-s.sem.ch
	s.held = false
}

// Held reports whether the slot is currently taken.
func (s *Slot) Held() bool { return s != nil && s.held }
