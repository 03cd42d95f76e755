package client

import (
	"context"
	"time"
)

// WaitOptions tunes Wait. Zero fields take the defaults: Initial 250ms, Max
// 5s, Timeout 10m. Initial is the shortest interval between polls (and the
// part of the detection delay no schedule can save), Max the longest.
// OnStatus, if set, sees every status change, the first status included;
// the apply view prints them.
type WaitOptions struct {
	Initial, Max, Timeout time.Duration
	OnStatus              func(status string)
	// Ahead, if set, may bring polls forward (see Ahead).
	Ahead Ahead
}

// Ahead lets a caller that waits for many resources of one kind poll each
// when the others were seen to be ready, instead of on the schedule alone.
// Wait tells it the outcome of every poll, and asks it before each sleep
// when to poll next. It can only bring a poll forward: Wait never polls
// later than its own schedule, so the bound on how late readiness is seen
// holds whatever it answers.
type Ahead interface {
	// Polled reports a poll sent at (since the wait began) and whether it
	// found the resource terminal.
	Polled(at time.Duration, terminal bool)
	// Next is when to poll next, since the wait began, given the last
	// poll's time and the time Wait's own schedule chose; an answer
	// outside (last, scheduled) is ignored.
	Next(last, scheduled time.Duration) time.Duration
}

// Wait polls fetch until terminal(status(v)) holds: at once, then each poll
// starts max(Initial, WaitFraction of the time waited so far), capped at
// Max, after the start of the one before (at once when that one took
// longer). AppLink reports asynchronous work in the resource's status,
// not as an HTTP error (docs/api.md, "Answers applinkctl accepts"). Sleeping a
// fraction of the time already waited bounds how late readiness is seen to that
// fraction plus Initial (doubling would let it be as late as the whole time
// waited), while the intervals grow geometrically (×1.2), so the polls grow
// with the logarithm of the wait until the Max cap. It returns the terminal
// value; a fetch error as is; a *TimeoutError once Timeout has passed with the
// status still pending; ctx's error when ctx ends. On error it also returns the
// last value fetched, if any.
func Wait[T any](ctx context.Context, fetch func(context.Context) (T, error), status func(T) string, terminal func(string) bool, opts WaitOptions) (T, error) {
	if opts.Initial <= 0 {
		opts.Initial = 250 * time.Millisecond
	}
	if opts.Max <= 0 {
		opts.Max = 5 * time.Second
	}
	if opts.Max < opts.Initial {
		opts.Max = opts.Initial
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Minute
	}
	start := time.Now()
	deadline := start.Add(opts.Timeout)
	var (
		last    T
		lastSt  string
		started bool
	)
	for {
		polled := time.Now()
		v, err := fetch(ctx)
		if err != nil {
			return last, err
		}
		last = v
		st := status(v)
		if (!started || st != lastSt) && opts.OnStatus != nil {
			opts.OnStatus(st)
		}
		started, lastSt = true, st
		done := terminal(st)
		if opts.Ahead != nil {
			opts.Ahead.Polled(polled.Sub(start), done)
		}
		if done {
			return v, nil
		}
		now := time.Now()
		if !now.Before(deadline) {
			return v, &TimeoutError{LastStatus: st, Waited: now.Sub(start)}
		}
		// The interval runs from the poll's start, not its answer: a
		// round trip spent on the poll is not added to every interval,
		// so readiness is seen at most an interval (not an interval and
		// a round trip) late, whatever the latency.
		next := polled.Add(nextInterval(now.Sub(start), opts))
		if opts.Ahead != nil {
			last, scheduled := polled.Sub(start), next.Sub(start)
			if at := opts.Ahead.Next(last, scheduled); at > last && at < scheduled {
				next = start.Add(at)
			}
		}
		d := min(next.Sub(now), deadline.Sub(now))
		if err := sleep(ctx, d); err != nil {
			return v, err
		}
	}
}

// WaitFraction is the share of the time already waited that Wait sleeps
// before its next poll: the bound on how late, relative to the wait, it
// sees a resource become ready (docs/performance.md, figure 4, asks for 20 %).
const WaitFraction = 0.2

// nextInterval is the sleep before the next poll after waited.
func nextInterval(waited time.Duration, opts WaitOptions) time.Duration {
	d := time.Duration(float64(waited) * WaitFraction)
	return min(max(d, opts.Initial), opts.Max)
}

// ConnectionTerminal reports whether a connection status is final: connected,
// or failed or disconnected.
func ConnectionTerminal(s string) bool {
	return s == StatusConnected || s == StatusFailed || s == StatusDisconnected
}

// AuthorizationTerminal reports whether an authorization status is final:
// authorized, or failed or disconnected.
func AuthorizationTerminal(s string) bool {
	return s == StatusAuthorized || s == StatusFailed || s == StatusDisconnected
}

// TargetTerminal reports whether a data action target status is final:
// created or creation_failed.
func TargetTerminal(s string) bool {
	return s == StatusCreated || s == StatusCreationFailed
}

// StatusFailedFinal reports whether a terminal status of any resource kind
// is a failure (failed, disconnected, creation_failed), so callers need not
// list them per kind.
func StatusFailedFinal(s string) bool {
	return s == StatusFailed || s == StatusDisconnected || s == StatusCreationFailed
}
