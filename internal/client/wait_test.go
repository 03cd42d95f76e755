package client_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/client"
)

func statusOf(c *client.Connection) string { return c.Status }

// fetcher returns the statuses in order, the last one forever.
func fetcher(statuses ...string) (func(context.Context) (*client.Connection, error), *int) {
	n := 0
	return func(context.Context) (*client.Connection, error) {
		s := statuses[min(n, len(statuses)-1)]
		n++
		return &client.Connection{Status: s}, nil
	}, &n
}

func TestWaitReportsChangesUntilTerminal(t *testing.T) {
	fetch, polls := fetcher("connecting", "connecting", "connecting", "connected")
	var seen []string
	c, err := client.Wait(t.Context(), fetch, statusOf, client.ConnectionTerminal,
		client.WaitOptions{Initial: time.Millisecond, Max: 2 * time.Millisecond, OnStatus: func(s string) { seen = append(seen, s) }})
	if err != nil || c.Status != "connected" {
		t.Fatalf("Wait = %+v, %v", c, err)
	}
	if *polls != 4 {
		t.Errorf("polls = %d, want 4", *polls)
	}
	if !reflect.DeepEqual(seen, []string{"connecting", "connected"}) {
		t.Errorf("OnStatus saw %v", seen)
	}
}

func TestWaitTimesOut(t *testing.T) {
	fetch, polls := fetcher("authorizing")
	_, err := client.Wait(t.Context(), fetch, statusOf, client.AuthorizationTerminal,
		client.WaitOptions{Initial: time.Millisecond, Max: 5 * time.Millisecond, Timeout: 60 * time.Millisecond})
	var te *client.TimeoutError
	if !errors.As(err, &te) || te.LastStatus != "authorizing" || te.Waited < 60*time.Millisecond {
		t.Fatalf("err = %v, want TimeoutError", err)
	}
	// Intervals of 1 ms until 5 ms waited, then 20 % of the time waited,
	// capped at 5 ms: about 15 polls in 60ms, not hundreds (a loaded
	// machine's late timers make fewer, never more; the first poll and
	// the one at the deadline are always made).
	if *polls < 2 || *polls > 40 {
		t.Errorf("polls = %d, want about 15", *polls)
	}
}

// pollsUntil replays Wait's schedule from its first poll (at 0) and
// returns the moment of the first poll at or after ready, and how many
// polls that took.
func pollsUntil(ready time.Duration, opts client.WaitOptions) (time.Duration, int) {
	at, polls := time.Duration(0), 1
	for at < ready {
		at += client.NextInterval(at, opts)
		polls++
	}
	return at, polls
}

// TestWaitSeesReadinessWithinAFractionOfTheWait checks the schedule of
// docs/performance.md, figure 4 (replayed, not timed): a resource ready after r
// is seen at most 20 % of r plus Initial later (doubling from 2ms would see one
// ready after 300ms about 210ms late), and the polls grow with the logarithm of
// the wait, not linearly.
func TestWaitSeesReadinessWithinAFractionOfTheWait(t *testing.T) {
	opts := client.WaitOptions{Initial: 2 * time.Millisecond, Max: time.Hour}
	for _, ready := range []time.Duration{time.Millisecond, 10 * time.Millisecond, 300 * time.Millisecond, 7 * time.Second, 10 * time.Minute} {
		seen, polls := pollsUntil(ready, opts)
		limit := time.Duration(float64(ready)*client.WaitFraction) + opts.Initial
		if late := seen - ready; late > limit {
			t.Errorf("ready after %s: seen %s late, want at most %s", ready, late, limit)
		}
		if ready == 300*time.Millisecond && (polls < 10 || polls > 40) {
			// 2ms steps to 10ms waited (5 polls), then ×1.2 to 300ms
			// (about 19): a few dozen, where polling every 2ms takes 150.
			t.Errorf("ready after 300ms: %d polls, want about 25", polls)
		}
	}
	// And Wait follows it: a resource that becomes ready is returned.
	fetch, polls := fetcher("connecting", "connecting", "connected")
	c, err := client.Wait(t.Context(), fetch, statusOf, client.ConnectionTerminal, opts)
	if err != nil || c.Status != "connected" || *polls != 3 {
		t.Fatalf("Wait = %+v, %v after %d polls", c, err, *polls)
	}
}

// TestWaitNeverSleepsPastMaxOrTheTimeout checks that no sleep exceeds Max
// (replayed, as above), and that Wait gives up at its timeout even when
// the next poll is due much later: with an hour between polls, a 400ms
// timeout ends it, where sleeping the hour would blow any bound.
func TestWaitNeverSleepsPastMaxOrTheTimeout(t *testing.T) {
	opts := client.WaitOptions{Initial: time.Millisecond, Max: 20 * time.Millisecond}
	for waited := time.Duration(0); waited < time.Hour; waited += client.NextInterval(waited, opts) {
		if d := client.NextInterval(waited, opts); d > opts.Max || d < opts.Initial {
			t.Fatalf("after %s waited, sleeps %s: want between Initial and the 20ms cap", waited, d)
		}
	}
	// A Wait that slept past its timeout would be cut by this context.
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	start := time.Now()
	fetch, polls := fetcher("connecting")
	_, err := client.Wait(ctx, fetch, statusOf, client.ConnectionTerminal,
		client.WaitOptions{Initial: time.Hour, Max: time.Hour, Timeout: 400 * time.Millisecond})
	var te *client.TimeoutError
	if !errors.As(err, &te) || *polls != 2 {
		t.Fatalf("err = %v after %d polls, want TimeoutError after the first poll and one at the timeout", err, *polls)
	}
	if d := time.Since(start); d > time.Minute {
		t.Errorf("Wait took %s past a 400ms timeout", d)
	}
}

func TestWaitStopsOnCancelAndFetchError(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	fetch, _ := fetcher("pending")
	calls := 0
	_, err := client.Wait(ctx, func(ctx context.Context) (*client.Connection, error) {
		calls++
		if calls == 2 {
			cancel()
		}
		return fetch(ctx)
	}, statusOf, client.TargetTerminal, client.WaitOptions{Initial: time.Millisecond})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want canceled", err)
	}
	boom := errors.New("boom")
	_, err = client.Wait(t.Context(), func(context.Context) (int, error) { return 0, boom },
		func(int) string { return "" }, client.TargetTerminal, client.WaitOptions{})
	if !errors.Is(err, boom) {
		t.Errorf("err = %v, want the fetch error", err)
	}
}

func TestTerminalStatuses(t *testing.T) {
	cases := []struct {
		f    func(string) bool
		yes  []string
		no   []string
		name string
	}{
		{client.ConnectionTerminal, []string{"connected", "failed", "disconnected"}, []string{"connecting", "disconnecting", ""}, "connection"},
		{client.AuthorizationTerminal, []string{"authorized", "failed", "disconnected"}, []string{"authorizing"}, "authorization"},
		{client.TargetTerminal, []string{"created", "creation_failed"}, []string{"pending", "creating", "generating_signing_key"}, "target"},
	}
	for _, c := range cases {
		for _, s := range c.yes {
			if !c.f(s) {
				t.Errorf("%s: %q not terminal", c.name, s)
			}
		}
		for _, s := range c.no {
			if c.f(s) {
				t.Errorf("%s: %q terminal", c.name, s)
			}
		}
	}
	if !client.StatusFailedFinal("creation_failed") || client.StatusFailedFinal("connected") {
		t.Error("StatusFailedFinal")
	}
}

// ahead is a client.Ahead that answers next and records what Wait tells it.
type ahead struct {
	next   func(last, scheduled time.Duration) time.Duration
	polled []bool // each poll's terminal, in order
	asked  int
}

func (a *ahead) Polled(_ time.Duration, terminal bool) { a.polled = append(a.polled, terminal) }
func (a *ahead) Next(last, scheduled time.Duration) time.Duration {
	a.asked++
	return a.next(last, scheduled)
}

// TestWaitAheadBringsAPollForward checks WaitOptions.Ahead: a poll it
// proposes before the schedule's is made then, and Wait tells it every
// poll's outcome.
func TestWaitAheadBringsAPollForward(t *testing.T) {
	fetch, polls := fetcher("connecting", "connected")
	a := &ahead{next: func(last, _ time.Duration) time.Duration { return last + 10*time.Millisecond }}
	start := time.Now()
	// The schedule's next poll is a minute away: only Ahead's proposal
	// lets the wait end now.
	c, err := client.Wait(t.Context(), fetch, statusOf, client.ConnectionTerminal,
		client.WaitOptions{Initial: time.Minute, Max: time.Minute, Ahead: a})
	if err != nil || c.Status != "connected" {
		t.Fatalf("Wait = %+v, %v", c, err)
	}
	if waited := time.Since(start); waited > 30*time.Second {
		t.Errorf("waited %v: the proposed poll was not made", waited)
	}
	if *polls != 2 || !reflect.DeepEqual(a.polled, []bool{false, true}) || a.asked != 1 {
		t.Errorf("%d polls, Polled saw %v, Next asked %d times; want 2 polls, [false true], once", *polls, a.polled, a.asked)
	}
}

// TestWaitAheadNeverDelaysAPoll checks that proposals outside (last,
// scheduled) are ignored: a later one does not delay the schedule's poll,
// and one at or before the last poll does not make Wait poll in a loop.
func TestWaitAheadNeverDelaysAPoll(t *testing.T) {
	for name, next := range map[string]func(last, scheduled time.Duration) time.Duration{
		"later":  func(_, scheduled time.Duration) time.Duration { return scheduled + time.Hour },
		"last":   func(last, _ time.Duration) time.Duration { return last },
		"before": func(last, _ time.Duration) time.Duration { return last - time.Second },
	} {
		t.Run(name, func(t *testing.T) {
			fetch, polls := fetcher("connecting", "connecting", "connecting", "connected")
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			start := time.Now()
			_, err := client.Wait(ctx, fetch, statusOf, client.ConnectionTerminal,
				client.WaitOptions{Initial: 20 * time.Millisecond, Max: 20 * time.Millisecond, Ahead: &ahead{next: next}})
			if err != nil || *polls != 4 {
				t.Fatalf("Wait: %v after %d polls, want 4 polls", err, *polls)
			}
			// Three intervals of 20ms: a poll made at once would end
			// it sooner.
			if waited := time.Since(start); waited < 60*time.Millisecond {
				t.Errorf("ended after %v, want the schedule's 3 intervals of 20ms at least", waited)
			}
		})
	}
}
