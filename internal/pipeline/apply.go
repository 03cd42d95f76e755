package pipeline

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/applinkctl/applinkctl/internal/apply"
	"github.com/applinkctl/applinkctl/internal/plan"
)

// historyTimeout bounds the write of the history record, which must land
// even when the run was interrupted (its context is cancelled then).
const historyTimeout = 30 * time.Second

// Apply executes p against this run's world and state and, unless it is a
// dry run, appends the run to the state history: who, where, the commit
// (GITHUB_SHA), a hash of the plan, the counts and the outcome. A history
// that cannot be written is a Reporter warning, not a failure: the state
// itself is written by then.
func (w *Run) Apply(ctx context.Context, p *plan.Plan, obs apply.Observer, opts ApplyOptions) (apply.Summary, error) {
	summary, applyErr := apply.Apply(ctx, p, w.links, w.store, obs, opts.engineOptions(w.who.Who))
	if opts.DryRun {
		return summary, applyErr
	}
	rec := apply.History(p, summary, applyErr)
	rec.Workspace, rec.Who, rec.Host, rec.CIRunURL, rec.GitCommit = w.in.Workspace, w.who.Who, w.who.Host, w.who.CIRunURL, os.Getenv("GITHUB_SHA")
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), historyTimeout)
	defer cancel()
	if herr := w.backend.AppendHistory(hctx, rec); herr != nil && w.in.Reporter != nil {
		w.in.Reporter.Warning(fmt.Errorf("state %s: history: %w", w.backend.Describe(), herr))
	}
	return summary, applyErr
}
