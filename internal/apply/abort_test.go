package apply

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/state"
)

// A second Ctrl-C (Abort) stops the wait for an in-flight call that would
// otherwise get its whole Grace (an hour here): Apply returns, the change
// is recorded as interrupted, and its intent stays for the next run. Abort
// alone, with ctx live, ends nothing: a call cut short then would be a
// failure, not an interruption.
func TestAbortEndsTheGraceAtOnce(t *testing.T) {
	for _, abortFirst := range []bool{false, true} {
		name := map[bool]string{false: "interrupt then abort", true: "abort then interrupt"}[abortFirst]
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			h.link.postDelay = time.Hour
			inPost := make(chan struct{})
			var once sync.Once
			h.link.inPost = func() { once.Do(func() { close(inPost) }) }
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			abort, stop := context.WithCancel(context.Background())
			defer stop()
			opts := fastOpts()
			opts.Grace = time.Hour
			opts.Abort = abort
			conn := addr.Connection(app, "prod_org")

			type outcome struct {
				s   Summary
				err error
			}
			done := make(chan outcome, 1)
			go func() {
				_, s, err := h.apply(ctx, opts, jwtConn("prod_org"))
				done <- outcome{s, err}
			}()
			// Wait for the POST itself: a recorded intent alone does not
			// mean the call has started (the change may still be waiting
			// for a slot, and is then interrupted before its create).
			select {
			case <-inPost:
			case <-time.After(time.Minute):
				t.Fatal("the create's POST never started")
			}
			if r := h.record(conn); r == nil || r.Phase != state.Intent {
				t.Fatalf("state = %+v at the POST, want the create intent recorded first", r)
			}
			first, second := cancel, stop
			if abortFirst {
				first, second = stop, cancel
			}
			first()
			select {
			case o := <-done:
				t.Fatalf("one of interrupt and abort alone ended the call: %v, %+v", o.err, o.s)
			case <-time.After(100 * time.Millisecond):
			}
			second()
			select {
			case o := <-done:
				if !errors.Is(o.err, ErrInterrupted) || o.s.Failed != 0 || o.s.Pending != 1 {
					t.Fatalf("err = %v, summary %+v; want interrupted, one pending, nothing failed", o.err, o.s)
				}
			case <-time.After(2 * time.Minute):
				t.Fatal("Apply did not return after the interrupt and the abort: it still waits out the grace")
			}
			if r := h.record(conn); r == nil || r.Phase != state.Intent {
				t.Errorf("state = %+v, want the create intent kept", r)
			}
		})
	}
}
