package main

import (
	"github.com/applinkctl/applinkctl/internal/view"
)

// stateArgs are the words of in that select the state a command uses (its
// -f paths and global flags), quoted for a POSIX shell: the tail of a
// printed command, such as plan's state unprotect, that must use the same
// state as the run printing it.
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
