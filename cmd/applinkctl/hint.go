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

// stateArgs are the words of in that select the state a command uses (its
// -f paths and global flags), quoted for a POSIX shell: the tail of a
// printed command, such as plan's state unprotect, that must use the same
// state as the run printing it (plan.Options.StateArgs).
func stateArgs(in view.Invocation) []string {
	var words []string
	for _, f := range in.Files {
		words = append(words, "-f", view.ShellQuote(f))
	}
	for _, f := range in.Flags {
		words = append(words, view.ShellQuote(f))
	}
	return words
}
