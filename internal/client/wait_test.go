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
	// capped at 5 ms: about 15 polls in 60ms, not hundreds.
	if *polls < 3 || *polls > 40 {
		t.Errorf("polls = %d, want about 15", *polls)
	}
}

// TestWaitSeesReadinessWithinAFractionOfTheWait checks the schedule of
// issue 8: a resource ready after 300ms is seen at most 20 % of that plus
// Initial later (doubling from 2ms would see it about 210ms late), and the
// polls grow with the logarithm of the wait, not linearly.
func TestWaitSeesReadinessWithinAFractionOfTheWait(t *testing.T) {
	const (
		ready   = 300 * time.Millisecond
		initial = 2 * time.Millisecond
	)
	start := time.Now()
	polls := 0
	var seen time.Time
	c, err := client.Wait(t.Context(), func(context.Context) (*client.Connection, error) {
		polls++
		if now := time.Now(); now.Sub(start) >= ready {
			seen = now
			return &client.Connection{Status: "connected"}, nil
		}
		return &client.Connection{Status: "connecting"}, nil
	}, statusOf, client.ConnectionTerminal, client.WaitOptions{Initial: initial, Max: time.Second})
	if err != nil || c.Status != "connected" {
		t.Fatalf("Wait = %+v, %v", c, err)
	}
	// 40ms of slack for a loaded machine's timers.
	limit := time.Duration(float64(ready)*client.WaitFraction) + initial + 40*time.Millisecond
	if late := seen.Sub(start) - ready; late > limit {
		t.Errorf("readiness seen %s late, want at most %s", late, limit)
	}
	// 2ms steps to 10ms waited (5 polls), then ×1.2 to 300ms (about 19):
	// a few dozen, where polling every 2ms would take 150.
	if polls < 10 || polls > 40 {
		t.Errorf("polls = %d, want about 25", polls)
	}
}

func TestWaitNeverSleepsPastMaxOrTheTimeout(t *testing.T) {
	var times []time.Time
	start := time.Now()
	_, err := client.Wait(t.Context(), func(context.Context) (*client.Connection, error) {
		times = append(times, time.Now())
		return &client.Connection{Status: "connecting"}, nil
	}, statusOf, client.ConnectionTerminal,
		client.WaitOptions{Initial: time.Millisecond, Max: 20 * time.Millisecond, Timeout: 400 * time.Millisecond})
	var te *client.TimeoutError
	if !errors.As(err, &te) {
		t.Fatalf("err = %v, want TimeoutError", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Wait took %s past a 400ms timeout", d)
	}
	// Uncapped, 20 % of 400ms would be an 80ms sleep; capped, none is
	// much over 20ms (15ms of slack for a loaded machine's timers).
	for i := 1; i < len(times); i++ {
		if gap := times[i].Sub(times[i-1]); gap > 35*time.Millisecond {
			t.Errorf("poll %d came %s after the one before, want at most the 20ms cap", i, gap)
		}
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
