package pipeline

import (
	"errors"
	"fmt"

	"github.com/applinkctl/applinkctl/internal/apply"
	"github.com/applinkctl/applinkctl/internal/plan"
	"github.com/applinkctl/applinkctl/internal/state"
)

// Outcome classifies how an apply ended, for the command's exit code
// (docs/apply.md).
type Outcome int

const (
	// Done: everything applied.
	Done Outcome = iota
	// Failed: a failed change or a lost lock; exit 1 whatever the error
	// wraps.
	Failed
	// Interrupted: stopped by a signal; state holds what finished.
	Interrupted
	// Pending: some resources still pending at the timeout; the next run
	// resumes them.
	Pending
	// Errored: any other error (a blocked plan, a failed read), whose exit
	// code is that of any command's error.
	Errored
)

// ApplyOutcome maps the engine's error to an Outcome and the error to
// print. The observer already printed the details, so most carry a short
// message or none (a nil error with Pending).
func ApplyOutcome(err error) (Outcome, error) {
	var blocked *apply.BlockedError
	var failed *apply.FailedError
	var pending *apply.PendingError
	var lost *state.LockLostError
	switch {
	case err == nil:
		return Done, nil
	case errors.Is(err, apply.ErrLockLost) && errors.As(err, &lost):
		return Failed, fmt.Errorf("apply stopped: %w; another run may hold the lock now. This run started nothing once it knew, "+
			"let the calls in flight finish and wrote no state after the loss: run apply again (once the other run is done) to resume from the intents in state", lost)
	case errors.Is(err, apply.ErrInterrupted):
		return Interrupted, errors.New("apply interrupted: what finished is recorded in state; run apply again to finish")
	case errors.As(err, &failed):
		return Failed, fmt.Errorf("apply failed: %d change(s) failed", len(failed.RootCauses))
	case errors.As(err, &pending):
		return Pending, nil
	case errors.As(err, &blocked):
		return Errored, err
	}
	return Errored, err
}

// NothingToApply is the summary of an apply whose plan changes nothing:
// every resource unchanged.
func NothingToApply(p *plan.Plan, dryRun bool) apply.Summary {
	return apply.Summary{Unchanged: len(p.Changes), DryRun: dryRun}
}
