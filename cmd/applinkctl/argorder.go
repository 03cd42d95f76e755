package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"
)

// completionFlag is the last word urfave/cli's shell completion passes.
const completionFlag = "--generate-bash-completion"

// reorderArgs moves every flag of a command line before its positional
// arguments, command by command, so that flags work anywhere:
// `applinkctl state show ADDR -f infra` and `applinkctl apply plan.json
// --prune` mean what they say. urfave/cli (through the standard flag
// package) stops reading flags at the first positional argument and would
// take the rest as arguments.
//
// Each command's own flag definitions say which flags take a value, so a
// value is never mistaken for an argument nor an argument for a value:
// `--flag value`, `--flag=value`, `-f value` and `-f=value` take one, bool
// flags (and --sandbox, whose value is optional) take none. `--` ends the
// flags: what follows stays an argument, even when it starts with '-'. A
// flag the command does not define is an error naming it and the command.
// A completion request is passed on unchanged: urfave/cli reads it as the
// words were typed.
func reorderArgs(app *cli.App, args []string) ([]string, error) {
	if len(args) < 2 || args[len(args)-1] == completionFlag {
		return args, nil
	}
	rest, err := reorderLevel(app.Name, app.Flags, app.Commands, args[1:])
	if err != nil {
		return nil, err
	}
	return append([]string{args[0]}, rest...), nil
}

// reorderLevel reorders the words after one command: its flags first,
// then its arguments; when a word names one of its subcommands, the words
// after it are that subcommand's, reordered in turn.
func reorderLevel(path string, flags []cli.Flag, subs []*cli.Command, args []string) ([]string, error) {
	takes := flagValues(flags)
	var fl, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			out := append(fl, "--")
			out = append(out, pos...)
			return append(out, args[i+1:]...), nil
		}
		if len(a) > 1 && a[0] == '-' {
			name, _, hasValue := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-"), "=")
			value, ok := takes[name]
			if !ok {
				flag, _, _ := strings.Cut(a, "=")
				return nil, fmt.Errorf("%s: unknown flag %s (see %s --help)", path, flag, path)
			}
			fl = append(fl, a)
			if value && !hasValue && i+1 < len(args) {
				i++
				fl = append(fl, args[i])
			}
			continue
		}
		if len(subs) > 0 && len(pos) == 0 {
			if a == "help" || a == "h" {
				if i+1 < len(args) && findCommand(subs, args[i+1]) != nil {
					// `help CMD…` shows what `CMD… --help` does:
					// urfave/cli's help command leaves out the
					// subcommands and flags of a command that has
					// subcommands (`help state`).
					words := append(append([]string{}, args[i+1:]...), "--help")
					rest, err := reorderLevel(path, flags, subs, words)
					if err != nil {
						return nil, err
					}
					return append(fl, rest...), nil
				}
				// urfave/cli's own help command: passed on as typed.
				return append(fl, args[i:]...), nil
			}
			if sub := findCommand(subs, a); sub != nil {
				rest, err := reorderLevel(path+" "+sub.Name, sub.Flags, sub.Subcommands, args[i+1:])
				if err != nil {
					return nil, err
				}
				return append(append(fl, a), rest...), nil
			}
			// Not a command: urfave/cli says so.
			return append(fl, args[i:]...), nil
		}
		pos = append(pos, a)
	}
	return append(fl, pos...), nil
}

// flagValues maps each name and alias of flags (and of urfave/cli's help
// flag, which every command gets) to whether the flag takes a value.
func flagValues(flags []cli.Flag) map[string]bool {
	m := map[string]bool{"help": false, "h": false}
	for _, f := range flags {
		v := takesValue(f)
		for _, n := range f.Names() {
			m[n] = v
		}
	}
	return m
}

// takesValue reports whether f reads the next word as its value: not a
// bool flag, nor a generic flag whose value says it is one (--sandbox).
func takesValue(f cli.Flag) bool {
	switch f := f.(type) {
	case *cli.BoolFlag:
		return false
	case *cli.GenericFlag:
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			return false
		}
		return true
	}
	if d, ok := f.(cli.DocGenerationFlag); ok {
		return d.TakesValue()
	}
	return true
}

// findCommand is the command of subs named or aliased name, or nil.
func findCommand(subs []*cli.Command, name string) *cli.Command {
	for _, c := range subs {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}
