package apply

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/client"
	"github.com/applinkctl/applinkctl/internal/plan"
	"github.com/applinkctl/applinkctl/internal/state"
)

// gatedRecorder holds back the write that records hold as applied until
// release is closed, passing every other write through. A generous
// timeout ends the hold (and marks it) so a run that never releases it
// fails the test rather than hanging.
type gatedRecorder struct {
	next     recorder
	hold     addr.Address
	release  <-chan struct{}
	timedOut atomic.Bool
}

func (g *gatedRecorder) Update(ctx context.Context, fn func(*state.State) error) error {
	scratch := &state.State{Resources: map[addr.Address]*state.Resource{}}
	if err := fn(scratch); err == nil {
		if r := scratch.Resources[g.hold]; r != nil && r.Phase == state.Applied {
			select {
			case <-g.release:
			case <-time.After(10 * time.Second):
				g.timedOut.Store(true)
			}
		}
	}
	return g.next.Update(ctx, fn)
}

// startWatch closes started once the change at a starts.
type startWatch struct {
	recorded
	a       addr.Address
	once    sync.Once
	started chan struct{}
}

func (w *startWatch) Event(e Event) {
	w.recorded.Event(e)
	if e.Address == w.a && e.Type == EventStarted {
		w.once.Do(func() { close(w.started) })
	}
}

// TestDependentStartsOnceItsParentIsReady checks that a change's
// dependents start once its resource is ready, not once its record is
// saved: the connection's applied record is held back until its
// publication has started, which a walk waiting for the record would
// never do. Each link of a chain of creates saves one state write fewer
// (the parent's record and the child's intent go in the same save).
func TestDependentStartsOnceItsParentIsReady(t *testing.T) {
	h := newHarness(t)
	conn, pub := jwtConn("m_org"), publication("m_org", "API")
	obs := &startWatch{a: pub.Address, started: make(chan struct{})}
	rec := &gatedRecorder{next: h.store, hold: conn.Address, release: obs.started}
	links := func(string) (linkAPI, error) { return h.link, nil }
	s, err := run(context.Background(), planOf(conn, pub), links, rec, obs, fastOpts())
	if err != nil || s.Created != 2 {
		t.Fatalf("apply = %+v, %v", s, err)
	}
	if rec.timedOut.Load() {
		t.Fatal("the publication started only after its connection's record was saved")
	}
	if r := h.record(conn.Address); r == nil || r.Phase != state.Applied {
		t.Fatalf("connection record %+v, want applied", r)
	}
}

// timedLink notes when the first connection POST was answered and when
// the first GET of a connection was sent.
type timedLink struct {
	*fakeLink
	mu                 sync.Mutex
	answered, firstGet time.Time
}

func (l *timedLink) CreateJWTConnection(ctx context.Context, req client.JWTRequest) (*client.Connection, error) {
	c, err := l.fakeLink.CreateJWTConnection(ctx, req)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.answered.IsZero() {
		l.answered = time.Now()
	}
	return c, err
}

func (l *timedLink) GetConnection(ctx context.Context, key string) (*client.Connection, error) {
	l.mu.Lock()
	if l.firstGet.IsZero() {
		l.firstGet = time.Now()
	}
	l.mu.Unlock()
	return l.fakeLink.GetConnection(ctx, key)
}

// TestFirstPollWaitsAnInterval checks that the answer to the creating
// request counts as the wait's first look at the status: the first poll
// comes an interval after it, not at once for the status the answer just
// gave. (A lower bound on a wait, which a loaded machine only lengthens.)
func TestFirstPollWaitsAnInterval(t *testing.T) {
	h := newHarness(t)
	l := &timedLink{fakeLink: h.link}
	opts := fastOpts()
	opts.Poll = client.WaitOptions{Initial: 100 * time.Millisecond, Max: 200 * time.Millisecond}
	links := func(string) (linkAPI, error) { return l, nil }
	s, err := run(context.Background(), planOf(jwtConn("a_org")), links, h.store, nil, opts)
	if err != nil || s.Created != 1 {
		t.Fatalf("apply = %+v, %v", s, err)
	}
	if l.firstGet.IsZero() {
		t.Fatal("no poll")
	}
	if gap := l.firstGet.Sub(l.answered); gap < opts.Poll.Initial {
		t.Errorf("first poll %v after the POST's answer, want at least %v", gap, opts.Poll.Initial)
	}
}

func planOf(changes ...*plan.Change) *plan.Plan { return &plan.Plan{Changes: changes} }
