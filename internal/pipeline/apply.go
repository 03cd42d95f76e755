package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/applinkctl/applinkctl/internal/apply"
	"github.com/applinkctl/applinkctl/internal/plan"
	"github.com/applinkctl/applinkctl/internal/state"
)

// historyTimeout bounds the write of the history record, which must land
// even when the run was interrupted (its context is cancelled then).
const historyTimeout = 30 * time.Second

// Apply executes p against this run's world and state and, unless it is a
// dry run, appends the run to the state history: who, where, the commit
// (GITHUB_SHA), a hash of the plan, the counts and the outcome. A history
// that cannot be written is a Reporter warning, not a failure: the state
// itself is written by then. opts.Who is filled in when empty.
func (w *Run) Apply(ctx context.Context, p *plan.Plan, obs apply.Observer, opts apply.Options) (apply.Summary, error) {
	if opts.Who == "" {
		opts.Who = w.who.Who
	}
	started := time.Now()
	summary, applyErr := apply.Apply(ctx, p, w.World, w.store, obs, opts)
	if opts.DryRun {
		return summary, applyErr
	}
	rec := state.HistoryRecord{
		Workspace: w.in.Workspace, Started: started.UTC(), Ended: time.Now().UTC(),
		Who: w.who.Who, Host: w.who.Host, CIRunURL: w.who.CIRunURL, GitCommit: os.Getenv("GITHUB_SHA"),
		PlanHash: PlanHash(p), Summary: SummaryCounts(summary), Outcome: Outcome(summary, applyErr),
	}
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), historyTimeout)
	defer cancel()
	if herr := w.backend.AppendHistory(hctx, rec); herr != nil && w.in.Reporter != nil {
		w.in.Reporter.Warning(fmt.Errorf("state %s: history: %w", w.backend.Describe(), herr))
	}
	return summary, applyErr
}

// SummaryCounts is an apply summary as the history records it.
func SummaryCounts(s apply.Summary) map[string]int {
	return map[string]int{
		"created": s.Created, "replaced": s.Replaced, "republished": s.Republished, "deleted": s.Deleted,
		"adopted": s.Adopted, "unchanged": s.Unchanged, "failed": s.Failed, "skipped": s.Skipped, "pending": s.Pending,
	}
}

// Outcome is the history's one word for how an apply ended.
func Outcome(s apply.Summary, err error) string {
	switch {
	case errors.Is(err, apply.ErrLockLost):
		return "lock-lost"
	case s.Interrupted:
		return "interrupted"
	case s.Failed > 0 || (err != nil && s.Pending == 0):
		return "failed"
	case s.Pending > 0:
		return "pending"
	}
	return "success"
}

// PlanHash identifies what was applied in the history: the addresses and
// actions, in order.
func PlanHash(p *plan.Plan) string {
	h := sha256.New()
	for _, c := range p.Changes {
		fmt.Fprintf(h, "%s\x00%s\x00", c.Address, c.Action)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}
