package main

import (
	"fmt"
	"strings"

	"github.com/applinkctl/applinkctl/internal/plan"
	"github.com/applinkctl/applinkctl/internal/view"
)

// blockedError is the error of a plan apply refuses because of its blocked
// changes: each with why, and the command that makes the plan again
// without them when flags can.
func blockedError(p *plan.Plan, in view.Invocation) error {
	var lines []string
	for _, c := range p.Changes {
		if c.Blocked != "" {
			lines = append(lines, string(c.Address)+": "+c.Blocked)
		}
	}
	msg := fmt.Sprintf("the plan has %d %s, which apply refuses:\n  %s", len(lines), plural(len(lines), "blocked change", "blocked changes"), strings.Join(lines, "\n  "))
	if cmd := view.UnblockCommand(p, in); cmd != "" {
		msg += "\nto unblock it, run: " + cmd
	}
	return fmt.Errorf("%s", msg)
}
