package plan

import (
	"errors"
	"fmt"
	"strings"

	"github.com/applinkctl/applinkctl/internal/addr"
)

// ProtectError is a plan that would delete or replace a resource marked
// protect: true. It is an error rather than a blocked change because the
// manifest itself says the action must never happen.
//
// A replace is of a declared resource: removing protect: true from its
// block releases it. A delete is a prune of a resource whose block is gone,
// protected as state recorded it: there is no block left to edit, so the
// error names the command that releases it in state.
type ProtectError struct {
	Address addr.Address
	Action  Action   // Replace or Delete
	Reasons []string // why the plan wanted to
	// StateArgs select the state in the command named (Options.StateArgs).
	StateArgs []string
}

func (e *ProtectError) Error() string {
	why := ""
	if len(e.Reasons) > 0 {
		why = " (" + strings.Join(e.Reasons, "; ") + ")"
	}
	if e.Action == Delete {
		return fmt.Sprintf("%s is protected and would be deleted%s; to let prune delete it, release it first: %s", e.Address, why, UnprotectCommand(e.Address, e.StateArgs))
	}
	return fmt.Sprintf("%s is protected and would be replaced%s; remove protect: true from the manifest to allow it", e.Address, why)
}

// UnprotectCommand is the command that releases a resource recorded as
// protected whose block is gone from the manifest, so that prune may
// delete it. stateArgs (Options.StateArgs) make it use the same state as
// the run that prints it.
func UnprotectCommand(a addr.Address, stateArgs []string) string {
	words := append([]string{"applinkctl", "state", "unprotect"}, stateArgs...)
	return strings.Join(append(words, string(a)), " ")
}

// ErrEmptyManifest refuses a prune from a manifest that declares nothing:
// such a plan deletes everything applinkctl manages, which is far more often
// a wrong -f path than an intent.
var ErrEmptyManifest = errors.New("manifest declares no resources: --prune would delete everything applinkctl manages; pass --allow-empty if that is intended")

// SelectorError is a --target, --replace or --ignore value that is
// malformed or selects nothing; Closest lists the known addresses nearest
// to it, so a typo shows its correction.
type SelectorError struct {
	Flag    string // "--target", "--replace" or "--ignore"
	Value   string
	Reason  string
	Closest []addr.Address
}

func (e *SelectorError) Error() string {
	msg := fmt.Sprintf("%s %s: %s", e.Flag, e.Value, e.Reason)
	if len(e.Closest) > 0 {
		as := make([]string, len(e.Closest))
		for i, a := range e.Closest {
			as[i] = string(a)
		}
		msg += "; closest: " + strings.Join(as, ", ")
	}
	return msg
}

// StaleError is a saved plan that no longer matches what a fresh plan sees.
type StaleError struct {
	What string // "live state", "state", "key of ADDR", "spec of ADDR", "manifest"
}

func (e *StaleError) Error() string {
	return "stale plan: " + e.What + " changed since it was made; run applinkctl plan again"
}
