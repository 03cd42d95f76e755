package apply

import (
	"context"
	"time"
)

// minYield is the shortest polling cadence at which a waiting change gives
// its slot back between polls. Under it (a test's or a local emulator's
// cadence) the change is as good as calling without pause, and giving the
// slot back for a millisecond would only let other changes start behind
// its back.
const minYield = 10 * time.Millisecond

// withToken runs fn holding one token of sem; ctx ending first is its
// error.
func withToken[T any](ctx context.Context, sem chan struct{}, fn func(context.Context) (T, error)) (T, error) {
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
	defer func() { <-sem }()
	return fn(ctx)
}

// yieldsWhileWaiting reports whether the polling cadence is slow enough
// (see minYield) for a waiting change to give its slot back between polls.
// It mirrors client.Wait's defaults.
func (o Options) yieldsWhileWaiting() bool {
	initial, longest := o.Poll.Initial, o.Poll.Max
	if initial <= 0 {
		initial = 250 * time.Millisecond
	}
	if longest <= 0 {
		longest = 5 * time.Second
	}
	return max(initial, longest) >= minYield
}
