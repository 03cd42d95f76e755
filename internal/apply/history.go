package apply

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/applinkctl/applinkctl/internal/plan"
	"github.com/applinkctl/applinkctl/internal/state"
)

// History is the history record of an apply of p that ended with s and err
// as Apply returned them: when it ran, by apply's clock (Options.Now), what
// it applied (a hash of the plan's addresses and actions, in order), its
// counts and its outcome. Who ran it, from where, and the workspace are
// the caller's to add.
func History(p *plan.Plan, s Summary, err error) state.HistoryRecord {
	return state.HistoryRecord{
		Started:  s.Started.UTC(),
		Ended:    s.Ended.UTC(),
		PlanHash: planHash(p),
		Summary:  summaryCounts(s),
		Outcome:  historyOutcome(s, err),
	}
}

func summaryCounts(s Summary) map[string]int {
	return map[string]int{
		"created": s.Created, "replaced": s.Replaced, "republished": s.Republished, "deleted": s.Deleted,
		"adopted": s.Adopted, "unchanged": s.Unchanged, "failed": s.Failed, "skipped": s.Skipped, "pending": s.Pending,
	}
}

// historyOutcome is how the run ended, in one word: lock-lost, interrupted,
// failed, pending or success.
func historyOutcome(s Summary, err error) string {
	switch {
	case errors.Is(err, ErrLockLost):
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

// planHash identifies what was applied in the history: the addresses and
// actions, in order.
func planHash(p *plan.Plan) string {
	h := sha256.New()
	if p != nil {
		for _, c := range p.Changes {
			fmt.Fprintf(h, "%s\x00%s\x00", c.Address, c.Action)
		}
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}
