package apply

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/client"
	"github.com/applinkctl/applinkctl/internal/manifest"
	"github.com/applinkctl/applinkctl/internal/plan"
	"github.com/applinkctl/applinkctl/internal/state"
)

// provisioningLink is a fakeLink whose connections take provision to
// become ready after their POST, as the real API's do, and that observes
// how many calls, mutating calls and waits overlap.
type provisioningLink struct {
	*fakeLink
	provision time.Duration
	// untilAll, when set, replaces provision: connections stay connecting
	// until that many have been created, whatever the clock says.
	untilAll int

	mu                     sync.Mutex
	created                map[string]time.Time
	seenReady              map[string]bool
	calls, mostCalls       int
	mutating, mostMutating int
	waiting, mostWaiting   int
}

func (l *provisioningLink) enter(mutating bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	l.mostCalls = max(l.mostCalls, l.calls)
	if mutating {
		l.mutating++
		l.mostMutating = max(l.mostMutating, l.mutating)
	}
}

func (l *provisioningLink) leave(mutating bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls--
	if mutating {
		l.mutating--
	}
}

func (l *provisioningLink) CreateJWTConnection(ctx context.Context, req client.JWTRequest) (*client.Connection, error) {
	l.enter(true)
	defer l.leave(true)
	time.Sleep(5 * time.Millisecond) // a round trip
	c, err := l.fakeLink.CreateJWTConnection(ctx, req)
	if err == nil {
		l.mu.Lock()
		l.created[req.Name] = time.Now()
		l.waiting++
		l.mostWaiting = max(l.mostWaiting, l.waiting)
		l.mu.Unlock()
		c.Status = client.StatusConnecting
	}
	return c, err
}

func (l *provisioningLink) GetConnection(ctx context.Context, key string) (*client.Connection, error) {
	l.enter(false)
	defer l.leave(false)
	time.Sleep(5 * time.Millisecond)
	c, err := l.fakeLink.GetConnection(ctx, key)
	if err != nil {
		return c, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	name := c.Org.ConnectionName
	if l.untilAll > 0 && len(l.created) < l.untilAll || l.untilAll == 0 && time.Since(l.created[name]) < l.provision {
		c.Status = client.StatusConnecting
	} else if c.Status == client.StatusConnected && !l.seenReady[name] {
		l.seenReady[name] = true
		l.waiting--
	}
	return c, nil
}

// TestParallelismBoundsCallsNotWaits checks that --parallelism bounds the
// calls in flight, not the changes being waited on: at parallelism 1, five
// independent connections that each stay connecting until all five were
// created are all waited on at once (were a waiting change to keep its
// slot, the second would never be created and the first would time out),
// while never more than one mutating call is in flight.
func TestParallelismBoundsCallsNotWaits(t *testing.T) {
	h := newHarness(t)
	l := &provisioningLink{fakeLink: h.link, untilAll: 5,
		created: map[string]time.Time{}, seenReady: map[string]bool{}}
	opts := fastOpts()
	opts.Parallelism = 1
	opts.PollConcurrency = 1
	opts.Poll = client.WaitOptions{Initial: 20 * time.Millisecond, Max: 50 * time.Millisecond}
	var changes []*plan.Change
	for i := range 5 {
		changes = append(changes, jwtConn(fmt.Sprintf("org_%d", i)))
	}
	links := func(string) (linkAPI, error) { return l, nil }
	s, err := run(context.Background(), &plan.Plan{Changes: changes}, links, h.store, nil, opts)
	if err != nil || s.Created != 5 {
		t.Fatalf("apply = %+v, %v", s, err)
	}
	if l.mostWaiting != 5 {
		t.Errorf("at most %d connections were waited on at once, want all 5", l.mostWaiting)
	}
	// One slot for mutating calls and one token for polls: two calls at
	// most, one of them mutating.
	if l.mostMutating != 1 || l.mostCalls > 2 {
		t.Errorf("%d mutating calls and %d calls in flight at once, want 1 and at most 2", l.mostMutating, l.mostCalls)
	}
}

// TestFastPollingKeepsTheSlot checks minYield: at a cadence under it a
// waiting change keeps its slot, so at parallelism 1 the changes run one
// after the other.
func TestFastPollingKeepsTheSlot(t *testing.T) {
	h := newHarness(t)
	l := &provisioningLink{fakeLink: h.link, provision: 30 * time.Millisecond,
		created: map[string]time.Time{}, seenReady: map[string]bool{}}
	opts := fastOpts() // polls every 1–2ms
	opts.Parallelism = 1
	links := func(string) (linkAPI, error) { return l, nil }
	s, err := run(context.Background(), &plan.Plan{Changes: []*plan.Change{jwtConn("a_org"), jwtConn("b_org"), jwtConn("c_org")}}, links, h.store, nil, opts)
	if err != nil || s.Created != 3 {
		t.Fatalf("apply = %+v, %v", s, err)
	}
	if l.mostWaiting != 1 || l.mostCalls != 1 {
		t.Errorf("%d waits and %d calls at once, want 1 and 1", l.mostWaiting, l.mostCalls)
	}
}

// TestHeaviestChainStartsFirst checks the order in which ready changes
// take the slots: the change heading the heaviest chain first (a Data Cloud
// connection with a target, then a Salesforce connection with a
// publication, then a lone authorization), then in the order they became
// ready; dependencies still come first.
func TestHeaviestChainStartsFirst(t *testing.T) {
	h := newHarness(t)
	opts := fastOpts() // at parallelism 1, one change at a time
	opts.Parallelism = 1
	opts.WaitForBrowser = true
	_, s, err := h.apply(context.Background(), opts,
		jwtAuth("a_auth"), jwtConn("m_org"), publication("m_org", "API"),
		oauthConn("z_dc", manifest.DataCloud), target("z_dc", "T_one"))
	if err != nil || s.Created != 5 {
		t.Fatalf("apply = %+v, %v", s, err)
	}
	want := []string{"POST connection z_dc", "POST connection m_org", "POST authorization a_auth", "POST target T_one", "POST publication API"}
	if got := h.link.logged(); !slices.Equal(got, want) {
		t.Errorf("calls = %v\nwant %v", got, want)
	}
}

// TestCancelWhileWaitingForASlotStartsNothingMore checks Ctrl-C with the
// slot given back during waits and state writes: changes still waiting for
// a slot send nothing once interrupted. One that had its intent saved
// meanwhile (changes start at once, so usually all) is pending (the next
// apply looks its name up, and finds nothing); one that had not is
// skipped and writes no state.
func TestCancelWhileWaitingForASlotStartsNothingMore(t *testing.T) {
	h := newHarness(t)
	h.link.postDelay = 100 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts := fastOpts()
	opts.Parallelism = 1
	opts.Poll = client.WaitOptions{Initial: 20 * time.Millisecond, Max: 50 * time.Millisecond}
	h.link.inPost = cancel // during the first POST
	_, s, err := h.apply(ctx, opts, jwtConn("a_org"), jwtConn("b_org"), jwtConn("c_org"))
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("err = %v, want interrupted", err)
	}
	if h.link.calls["POST connection"] != 1 || s.Skipped+s.Pending != 3 || s.Created != 0 {
		t.Errorf("%d POSTs, summary %+v: want the first only, the others skipped or pending", h.link.calls["POST connection"], s)
	}
	// Which change sends the one POST depends on which takes the slot
	// first after the state writes that give it back; any may.
	posted := ""
	for _, call := range h.link.logged() {
		if name, ok := strings.CutPrefix(call, "POST connection "); ok {
			posted = name
		}
	}
	if posted == "" {
		t.Fatalf("calls = %v, want one POST", h.link.logged())
	}
	for _, p := range s.StillPending {
		if p.Address == addr.Connection(app, posted) {
			continue
		}
		if !strings.Contains(p.Message, "interrupted before its create") {
			t.Errorf("%s: %q, want interrupted before its create", p.Address, p.Message)
		}
		if r := h.record(p.Address); r == nil || r.Phase != state.Intent || r.RemoteID != "" {
			t.Errorf("state of %s = %+v, want its intent alone", p.Address, r)
		}
	}
}

// TestIntentIsSavedWhileTheSlotsAreBusy checks that a change starts as soon
// as it is ready, without a free slot: its intent is saved while another
// change's create holds the only slot, so it sends its own create as soon
// as that slot is free, instead of saving its intent only then.
func TestIntentIsSavedWhileTheSlotsAreBusy(t *testing.T) {
	yielding := fastOpts()
	yielding.Poll = client.WaitOptions{Initial: 20 * time.Millisecond, Max: 50 * time.Millisecond}
	for name, opts := range map[string]Options{"fast polling": fastOpts(), "yielding": yielding} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			opts.Parallelism = 1
			var first sync.Once
			both := false
			h.link.inPost = func() {
				// The first POST holds the only slot: wait, within
				// bounds, for both intents to be saved meanwhile.
				first.Do(func() {
					for deadline := time.Now().Add(10 * time.Second); !both && time.Now().Before(deadline); time.Sleep(time.Millisecond) {
						a, b := h.record(addr.Connection(app, "a_org")), h.record(addr.Connection(app, "b_org"))
						both = a != nil && b != nil && a.Phase == state.Intent && b.Phase == state.Intent
					}
				})
			}
			_, s, err := h.apply(context.Background(), opts, jwtConn("a_org"), jwtConn("b_org"))
			if err != nil || s.Created != 2 {
				t.Fatalf("apply = %+v, %v", s, err)
			}
			if !both {
				t.Error("the second change's intent was not saved while the first change's create held the only slot")
			}
		})
	}
}
