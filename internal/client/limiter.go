package client

import (
	"context"
	"sync"
	"time"
)

// limiter paces requests by the account's shared budget. Heroku answers
// every request with RateLimit-Remaining (a token bucket of about 4,500,
// refilled at about 75 a minute, shared by every tool on the account) and
// answers 429 "rate_limit" once it is empty; a plan over fifty apps can empty
// it, so the client slows down before the server has to tell it to. Above
// high it does not wait; between low and high it spaces requests out, more as
// the budget falls; below low it sends at the refill rate. It is safe for
// concurrent use: each request reserves its start time under the lock.
type limiter struct {
	mu        sync.Mutex
	known     bool
	remaining float64   // estimate at `at`
	at        time.Time // when remaining was last set
	next      time.Time // earliest start of the next request

	refill    float64 // tokens per second
	high, low float64
	now       func() time.Time
}

func newLimiter() *limiter {
	return &limiter{refill: 75.0 / 60.0, high: 100, low: 10, now: time.Now}
}

// observe records the server's view of the budget.
func (l *limiter) observe(remaining int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.known = true
	l.remaining = float64(remaining)
	l.at = l.now()
}

// reserve books a start time for one request and returns how long to wait.
func (l *limiter) reserve() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if !l.known {
		return 0
	}
	est := l.remaining + now.Sub(l.at).Seconds()*l.refill
	interval := time.Duration(float64(time.Second) / l.refill)
	start := now
	var gap time.Duration
	switch {
	case est >= l.high:
	case est >= l.low:
		gap = time.Duration(float64(interval) * (l.high - est) / (l.high - l.low))
	default:
		gap = interval
		if est < 1 {
			start = now.Add(time.Duration((1 - est) / l.refill * float64(time.Second)))
		}
	}
	if l.next.After(start) {
		start = l.next
	}
	l.next = start.Add(gap)
	l.remaining = est - 1
	l.at = now
	return start.Sub(now)
}

// wait blocks until this request may start, or ctx ends.
func (l *limiter) wait(ctx context.Context) error {
	return sleep(ctx, l.reserve())
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
