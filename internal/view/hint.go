package view

import (
	"errors"
	"fmt"
	"strings"

	"github.com/applinkctl/applinkctl/internal/plan"
)

// Invocation is how the person ran applinkctl, so that a hint prints a
// command that works as typed: the same -f paths and the same global flags
// saying where the world and the state are (--sandbox, --state, …), with
// other plan options.
type Invocation struct {
	// Verb is the command a plan hint repeats: "plan" (the default) or
	// "apply". Drift hints always name apply.
	Verb string
	// Files are the -f paths as given; empty means the plan's manifest
	// files.
	Files []string
	// Flags are global flags as words, e.g. "--sandbox=dir"; they must hold
	// no secret.
	Flags []string
}

// Command is the command line of verb with the plan options o, each word
// quoted for a POSIX shell where it needs it.
func (in Invocation) Command(verb string, o plan.Options) string {
	return in.StepCommand(plan.Step{Verb: verb, Options: o})
}

// BareCommand is the command line of verb with no plan option (apply
// PLANFILE takes none).
func (in Invocation) BareCommand(verb string) string { return in.Command(verb, plan.Options{}) }

// StepCommand is the command line of one step of a drift repair: its verb,
// the -f paths and global flags of the invocation (export, which reads no
// manifest and no state, takes only those that name the platform), its
// plan options, then its other words, each quoted for a POSIX shell where
// it needs it.
func (in Invocation) StepCommand(s plan.Step) string {
	words := append([]string{"applinkctl"}, strings.Fields(s.Verb)...)
	if s.Verb == "export" {
		for _, f := range in.Flags {
			if f == "--sandbox" || strings.HasPrefix(f, "--sandbox=") || strings.HasPrefix(f, "--addon-service=") {
				words = append(words, f)
			}
		}
	} else {
		for _, f := range in.Files {
			words = append(words, "-f", f)
		}
		words = append(words, in.Flags...)
	}
	o := s.Options
	if o.Prune {
		words = append(words, "--prune")
	}
	if o.AllowEmpty {
		words = append(words, "--allow-empty")
	}
	for _, t := range sortedCopy(o.Targets) {
		words = append(words, "--target", t)
	}
	for _, r := range sortedCopy(o.Replace) {
		words = append(words, "--replace", r)
	}
	words = append(words, s.Args...)
	for i, w := range words {
		words[i] = ShellQuote(w)
	}
	return strings.Join(words, " ")
}

// ShellQuote returns w as one word of a POSIX shell: unchanged when it
// holds only characters no shell interprets, else in single quotes.
func ShellQuote(w string) string {
	if w == "" {
		return "''"
	}
	if strings.IndexFunc(w, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@%+,", r))
	}) < 0 {
		return w
	}
	return "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
}

// verb is the command plan hints repeat.
func (in Invocation) verb() string {
	if in.Verb == "" {
		return "plan"
	}
	return in.Verb
}

// forPlan fills in the plan's manifest files when the invocation names none.
func (in Invocation) forPlan(p *plan.Plan) Invocation {
	if len(in.Files) == 0 {
		in.Files = p.ManifestFiles
	}
	return in
}

// BlockedError is the error of a plan apply refuses because of its blocked
// changes, nil when p has none: each with why, and the command that makes
// the plan again without them when flags can.
func BlockedError(p *plan.Plan, in Invocation) error {
	var lines []string
	for _, c := range p.Changes {
		if c.Blocked != "" {
			lines = append(lines, string(c.Address)+": "+c.Blocked)
		}
	}
	if lines == nil {
		return nil
	}
	msg := fmt.Sprintf("the plan has %s, which apply refuses:\n  %s", plural(len(lines), "blocked change", "blocked changes"), strings.Join(lines, "\n  "))
	if cmd := UnblockCommand(p, in); cmd != "" {
		msg += "\nto unblock it, run: " + cmd
	}
	return errors.New(msg)
}

// UnblockCommand is the command that makes p again without its blocked
// changes (the same options plus the --replace that unblocks each), or ""
// when p has none or one of them has no such way out.
func UnblockCommand(p *plan.Plan, in Invocation) string {
	if p.Counts().Blocked == 0 {
		return ""
	}
	o, ok := plan.Unblocked(p.Options, p.Changes)
	if !ok {
		return ""
	}
	in = in.forPlan(p)
	return in.Command(in.verb(), o)
}

// pruneCommand is the plan that deletes p's undeclared resources: p's
// options with --prune, plus the --replace that unblocks those --prune
// cannot delete alone; "" when some of them have no such way out.
func pruneCommand(p *plan.Plan, in Invocation) string {
	o := p.Options
	o.Prune = true
	o, ok := plan.Unblocked(o, p.Undeclared)
	if !ok {
		return ""
	}
	return in.forPlan(p).Command("plan", o)
}

// pruneHint is the line that closes the list of undeclared resources.
func pruneHint(p *plan.Plan, in Invocation) string {
	cmd := pruneCommand(p, in)
	if cmd == "" {
		return ""
	}
	return "To review deleting " + itThem(len(p.Undeclared)) + ", run: " + cmd
}

func itThem(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}

// undeclaredLine says, under the summary, what a plan without --prune
// leaves alone; "" when nothing.
func undeclaredLine(p *plan.Plan) string {
	n := len(p.Undeclared)
	if n == 0 {
		return ""
	}
	verb := "are"
	if n == 1 {
		verb = "is"
	}
	return fmt.Sprintf("%s applinkctl manages %s no longer declared; --prune would delete %s (listed below).",
		plural(n, "resource", "resources"), verb, itThem(n))
}

// undeclaredNotes are the lines under an undeclared resource: what --prune
// would do with it beyond deleting it.
func undeclaredNotes(c *plan.Change) []string {
	var out []string
	switch {
	case c.CausedBy != "":
		out = append(out, "deleted with its connection "+string(c.CausedBy))
	case c.Before == nil:
		out = append(out, "already gone live: --prune only drops its state record")
	}
	if c.Blocked != "" {
		out = append(out, "--prune alone is blocked: "+c.Blocked)
	}
	return out
}
