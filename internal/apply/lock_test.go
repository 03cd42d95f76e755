package apply

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/plan"
	"github.com/applinkctl/applinkctl/internal/state"
)

// locked makes h's store one of a run holding the file lock, and returns
// the lock file's path, whose removal takes the lock away as `state
// unlock` from another host or a person would.
func (h *harness) locked() string {
	h.t.Helper()
	ctx := context.Background()
	b, err := state.Open(ctx, "file://"+filepath.Join(h.dir, "state.json"), state.OpenOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { _ = b.Close() })
	if _, err := b.Lock(ctx, state.NewLockInfo("apply"), 0); err != nil {
		h.t.Fatal(err)
	}
	if h.store, err = state.NewStore(ctx, b); err != nil {
		h.t.Fatal(err)
	}
	return filepath.Join(h.dir, "state.json.lock")
}

func waitLost(t *testing.T, st *state.Store) {
	t.Helper()
	select {
	case <-st.LockLost():
	case <-time.After(30 * time.Second):
		t.Fatal("the lost lock was never noticed")
	}
}

func assertLockLost(t *testing.T, err error) {
	t.Helper()
	var lost *state.LockLostError
	if !errors.Is(err, ErrLockLost) || !errors.As(err, &lost) || errors.Is(err, ErrInterrupted) {
		t.Fatalf("err = %v, want ErrLockLost with the *state.LockLostError", err)
	}
}

// TestLostLockStopsTheRun: the lock is taken away while a change waits on
// its resource. The run notices, starts nothing more, sends no further
// mutating call, and ends with ErrLockLost; what it recorded before the
// loss stays for the next run.
func TestLostLockStopsTheRun(t *testing.T) {
	h := newHarness(t)
	lockFile := h.locked()
	h.link.stuck["slow_org"] = true
	opts := fastOpts()
	opts.Parallelism = 1
	opts.Timeout = 20 * time.Second // the loss is noticed long before
	go func() {
		for h.link.mutations() == 0 {
			time.Sleep(time.Millisecond)
		}
		_ = os.Remove(lockFile)
	}()
	obs, s, err := h.apply(context.Background(), opts, jwtConn("slow_org"), publication("slow_org", "API"), jwtConn("zz_org"))
	assertLockLost(t, err)
	if got := h.link.logged(); len(got) != 1 || got[0] != "POST connection slow_org" {
		t.Errorf("mutating calls = %v, want only the first one, made before the loss", got)
	}
	if !s.Interrupted || s.Failed != 0 {
		t.Errorf("summary = %+v, want interrupted with nothing failed", s)
	}
	// zz_org started at once and waited for the slot: skipped, or
	// pending with its intent saved, it names the lost lock.
	ev := obs.find(EventSkipped, addr.Connection(app, "zz_org"))
	if ev == nil {
		ev = obs.find(EventPending, addr.Connection(app, "zz_org"))
	}
	if ev == nil || !strings.Contains(ev.Message, "lost the state lock") {
		t.Errorf("zz_org's end = %+v, want it to name the lost lock", ev)
	}
	h.reopen()
	if r := h.record(addr.Connection(app, "slow_org")); r == nil || (r.Phase != state.Intent && r.Phase != state.Pending) {
		t.Errorf("slow_org's record = %+v, want the intent or pending record written before the loss", r)
	}
}

// TestLostLockBeforeTheRunSendsNothing: a run whose lock was lost before
// its walk (at the confirmation prompt, say) sends no mutating call, both
// once its heartbeat noticed and when its first fenced write is what finds
// out.
func TestLostLockBeforeTheRunSendsNothing(t *testing.T) {
	for _, noticed := range []bool{true, false} {
		t.Run(map[bool]string{true: "noticed", false: "found by the write"}[noticed], func(t *testing.T) {
			h := newHarness(t)
			lockFile := h.locked()
			if err := os.Remove(lockFile); err != nil {
				t.Fatal(err)
			}
			if noticed {
				waitLost(t, h.store)
			}
			_, s, err := h.apply(context.Background(), fastOpts(), jwtConn("prod_org"), jwtAuth("ci_auth"))
			assertLockLost(t, err)
			if n := h.link.mutations(); n != 0 {
				t.Errorf("%d mutating calls after the lock was lost: %v", n, h.link.logged())
			}
			if s.Created != 0 || s.Failed != 0 || s.Skipped+s.Pending != 2 {
				t.Errorf("summary = %+v", s)
			}
		})
	}
}

// afterWrite is the run's store with a hook after each write.
type afterWrite struct {
	*state.Store
	hook func()
}

func (a *afterWrite) Update(ctx context.Context, fn func(*state.State) error) error {
	err := a.Store.Update(ctx, fn)
	a.hook()
	return err
}

// TestLostLockBetweenIntentAndCall: the loss is noticed after a change
// wrote its intent and before it sent the call the intent announces; the
// call is not sent, and the intent stays for the next run.
func TestLostLockBetweenIntentAndCall(t *testing.T) {
	h := newHarness(t)
	lockFile := h.locked()
	var once sync.Once
	rec := &afterWrite{Store: h.store, hook: func() {
		once.Do(func() {
			_ = os.Remove(lockFile)
			waitLost(t, h.store)
		})
	}}
	links := func(string) (linkAPI, error) { return h.link, nil }
	_, err := run(context.Background(), &plan.Plan{Changes: []*plan.Change{jwtConn("prod_org")}}, links, rec, &recorded{}, fastOpts())
	assertLockLost(t, err)
	if n := h.link.mutations(); n != 0 {
		t.Errorf("the announced call was sent after the loss was known: %v", h.link.logged())
	}
	h.reopen()
	if r := h.record(addr.Connection(app, "prod_org")); r == nil || r.Phase != state.Intent {
		t.Errorf("record = %+v, want the create intent", r)
	}
}
