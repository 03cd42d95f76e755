package apply

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/plan"
)

// TestHistoryIsTimedByTheClock: the history record of a run takes its
// times from apply's clock, so a test (or a replay) controls them, and
// says what was applied and how it ended.
func TestHistoryIsTimedByTheClock(t *testing.T) {
	h := newHarness(t)
	start := time.Date(2031, 2, 3, 4, 5, 6, 0, time.FixedZone("CET", 3600))
	var mu sync.Mutex
	now := start
	opts := fastOpts()
	opts.Now = func() time.Time { // a second passes at every reading
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Second)
		return now
	}
	c := jwtConn("prod_org")
	_, s, err := h.apply(context.Background(), opts, c)
	if err != nil {
		t.Fatal(err)
	}
	rec := History(&plan.Plan{Changes: []*plan.Change{c}}, s, err)
	if want := start.Add(time.Second).UTC(); !rec.Started.Equal(want) || rec.Started.Location() != time.UTC {
		t.Errorf("started %v, want %v (the clock's first reading, in UTC)", rec.Started, want)
	}
	if !rec.Ended.After(rec.Started) || rec.Ended.Sub(rec.Started) != s.Wall {
		t.Errorf("ended %v after started %v, wall %v", rec.Ended, rec.Started, s.Wall)
	}
	if rec.Outcome != "success" || rec.Summary["created"] != 1 || rec.PlanHash == History(&plan.Plan{}, s, err).PlanHash {
		t.Errorf("record %+v", rec)
	}
}

// TestOutcome: the one word of the history for how a run ended.
func TestOutcome(t *testing.T) {
	for _, tc := range []struct {
		s    Summary
		err  error
		want string
	}{
		{Summary{Created: 1}, nil, "success"},
		{Summary{Pending: 1}, &PendingError{}, "pending"},
		{Summary{Failed: 1}, errors.New("x"), "failed"},
		{Summary{Interrupted: true}, ErrInterrupted, "interrupted"},
		{Summary{}, ErrLockLost, "lock-lost"},
	} {
		if got := History(nil, tc.s, tc.err).Outcome; got != tc.want {
			t.Errorf("Outcome(%+v, %v) = %s, want %s", tc.s, tc.err, got, tc.want)
		}
	}
}
