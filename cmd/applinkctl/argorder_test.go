package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// TestReorderArgsEveryCommand puts every flag of every command and
// subcommand after an argument and checks that it comes back before the
// argument with its value, and that the argument stays one.
func TestReorderArgsEveryCommand(t *testing.T) {
	app := newApp(streams{})
	var walk func(path []string, cmds []*cli.Command)
	walk = func(path []string, cmds []*cli.Command) {
		for _, c := range cmds {
			p := append(slices.Clone(path), c.Name)
			if len(c.Subcommands) > 0 {
				walk(p, c.Subcommands)
				continue
			}
			for _, f := range c.Flags {
				name := "--" + f.Names()[0]
				tail := []string{"ARG", name}
				want := []string{name}
				if takesValue(f) {
					tail = append(tail, "VALUE")
					want = append(want, "VALUE")
				}
				want = append(want, "ARG")
				args := append(append([]string{"applinkctl"}, p...), tail...)
				got, err := reorderArgs(app, args)
				if err != nil {
					t.Errorf("%s: %v", strings.Join(args, " "), err)
					continue
				}
				if !slices.Equal(got[1+len(p):], want) {
					t.Errorf("%s: reordered to %q, want %q after the command", strings.Join(args, " "), got[1+len(p):], want)
				}
			}
		}
	}
	walk(nil, app.Commands)
}
