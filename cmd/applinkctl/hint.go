package main

import (
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/applinkctl/applinkctl/internal/plan"
	"github.com/applinkctl/applinkctl/internal/view"
)

// invocationOf is how the person ran verb with the -f paths files, for
// hints that name a command to run next: the same paths and the global
// flags that say where the world and the state are, so the command works
// as typed (a hint without --sandbox would send a sandbox user to Heroku).
// A flag whose value came from its environment variable is left out: the
// variable is still set when the hint is run. A password in a --state URL
// is masked: no hint prints a secret.
func invocationOf(c *cli.Context, verb string, files []string) view.Invocation {
	in := view.Invocation{Verb: verb, Files: files}
	if v, _ := global(c, "sandbox").Generic("sandbox").(*optionalString); v != nil && v.set {
		if v.value == v.def {
			in.Flags = append(in.Flags, "--sandbox")
		} else {
			in.Flags = append(in.Flags, "--sandbox="+v.value)
		}
	}
	for _, f := range []struct{ name, env, def string }{
		{"state", "APPLINKCTL_STATE", ""},
		{"workspace", "APPLINKCTL_WORKSPACE", ""},
		{"addon-service", "HEROKU_APPLINK_ADDON", "heroku-applink"},
	} {
		v := global(c, f.name).String(f.name)
		if env, ok := os.LookupEnv(f.env); v == "" || v == f.def || ok && env == v {
			continue
		}
		if f.name == "state" {
			v = maskPassword(v)
		}
		in.Flags = append(in.Flags, "--"+f.name+"="+v)
	}
	return in
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

// maskPassword hides the password of a URL's user info.
func maskPassword(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); !ok {
		return s
	}
	return u.Redacted()
}

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
