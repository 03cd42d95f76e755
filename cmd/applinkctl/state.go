package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/applinkctl/applinkctl/internal/pipeline/stateops"
	"github.com/applinkctl/applinkctl/internal/view"
)

// stateOptionsFrom locates the state of a state subcommand; under
// --sandbox it is the sandbox's own (see factory.StateURL).
func stateOptionsFrom(c *cli.Context, f *factory) (stateops.Locator, error) {
	files := c.StringSlice("file")
	url, err := f.StateURL(files)
	return stateops.Locator{
		URL:       url,
		Files:     files,
		Workspace: f.Workspace,
		StateArgs: stateArgs(f.Invocation("", files)),
		// The URL may carry a password: it is masked.
		DestStateArgs: func(to string) []string {
			args := []string{view.ShellQuote("--state=" + maskPassword(to))}
			if f.Workspace != "" {
				args = append(args, view.ShellQuote("--workspace="+f.Workspace))
			}
			return args
		},
	}, err
}

// stateCommand inspects and maintains the state (docs/state.md): list,
// show, unlock, unprotect, history, migrate.
func stateCommand(io streams) *cli.Command {
	locate := func() []cli.Flag {
		return append([]cli.Flag{
			&cli.StringSliceFlag{Name: "file", Aliases: []string{"f"},
				Usage: "manifest `PATH` (repeatable): the default state lives beside the first, and the set names the default workspace"},
		}, globalFlags()...)
	}
	return &cli.Command{
		Name:  "state",
		Usage: "inspect and maintain applinkctl's state: list, show, unlock, unprotect, history, migrate",
		UsageText: "applinkctl state COMMAND [-f PATH…] [--state URL] [--workspace NAME] [ARGS]\n\n" +
			"Each subcommand finds the state as plan and apply do: --state URL (or APPLINKCTL_STATE), else\n" +
			".applinkctl/state.json beside the first -f manifest; under --sandbox, the sandbox's own.\n" +
			"See docs/state.md.\n\n" +
			"Examples:\n" +
			"   applinkctl state list -f applink.yaml\n" +
			"   applinkctl state show -f applink.yaml acme-api/connection/prod_org\n" +
			"   applinkctl state history --state postgres://applinkctl@db/applinkctl --workspace prod",
		Subcommands: []*cli.Command{
			{
				Name:  "list",
				Usage: "list the managed resources recorded in state",
				UsageText: "applinkctl state list [-f PATH…] [--state URL] [--workspace NAME]\n\n" +
					"One line per resource: address, kind, origin (created or adopted), phase, remote id and\n" +
					"when it was last recorded. A resource in phase intent was being changed by a run that\n" +
					"did not finish; the next apply resumes it.\n\n" +
					"Examples:\n" +
					"   applinkctl state list -f applink.yaml\n" +
					"   applinkctl state list -f applink.yaml --sandbox\n" +
					"   applinkctl state list --state file://infra/.applinkctl/state.json",
				Flags: locate(),
				Action: func(c *cli.Context) error {
					o, err := stateOptionsFrom(c, newFactory(c, io))
					if err != nil {
						return err
					}
					return runStateList(c.Context, o, io.Out)
				},
			},
			{
				Name:      "show",
				Usage:     "show every field of one resource's record",
				ArgsUsage: "ADDRESS",
				UsageText: "applinkctl state show ADDRESS [-f PATH…] [--state URL] [--workspace NAME]\n\n" +
					"Every field state records for ADDRESS (see applinkctl state list): ids, phase, key\n" +
					"fingerprint, the published spec's name, size and digest; never a secret.\n\n" +
					"Examples:\n" +
					"   applinkctl state show -f applink.yaml acme-api/connection/prod_org\n" +
					"   applinkctl state show acme-api/authorization/ci_auth -f infra --sandbox",
				Flags: locate(),
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return errors.New("state show: want exactly one ADDRESS (see applinkctl state list)")
					}
					o, err := stateOptionsFrom(c, newFactory(c, io))
					if err != nil {
						return err
					}
					return runStateShow(c.Context, o, c.Args().First(), io.Out)
				},
			},
			{
				Name:      "unlock",
				Usage:     "break a lock left by a run that is gone",
				ArgsUsage: "LOCK_ID",
				UsageText: "applinkctl state unlock LOCK_ID [-f PATH…] [--state URL] [--workspace NAME]\n\n" +
					"Releases the state lock whose id is LOCK_ID, as the lock error prints it with the run\n" +
					"that holds it. Only for a run that is gone: breaking the lock of a live run lets two\n" +
					"runs write one state. A different id is refused, so a newer lock is never broken.\n\n" +
					"Examples:\n" +
					"   applinkctl state unlock -f applink.yaml 9f2c4e1a7b3d5f60\n" +
					"   applinkctl state unlock --state postgres://applinkctl@db/applinkctl --workspace prod 9f2c4e1a7b3d5f60",
				Flags: locate(),
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return errors.New("state unlock: want exactly one LOCK_ID (the lock error names it)")
					}
					o, err := stateOptionsFrom(c, newFactory(c, io))
					if err != nil {
						return err
					}
					return runStateUnlock(c.Context, o, c.Args().First(), io.Out)
				},
			},
			{
				Name:      "unprotect",
				Usage:     "release a resource recorded as protected, so that apply --prune may delete it once its block is gone",
				ArgsUsage: "ADDRESS",
				UsageText: "applinkctl state unprotect ADDRESS [-f PATH…] [--state URL] [--workspace NAME] [--lock-timeout DURATION]\n\n" +
					"A resource declared with protect: true is recorded so in state, and prune never deletes it, even\n" +
					"once its block is gone from the manifest. This clears the recorded flag (taking the state lock,\n" +
					"and adding a line to the state history), so that the next apply --prune deletes the resource.\n" +
					"Of a resource still declared, remove protect: true from its block instead: the next apply\n" +
					"records that, and one that still says protect: true records it again.\n\n" +
					"Examples:\n" +
					"   applinkctl state unprotect -f applink.yaml acme-api/connection/old_org\n" +
					"   applinkctl apply -f applink.yaml --prune",
				Flags: append(locate(),
					&cli.DurationFlag{Name: "lock-timeout", Usage: "how long (`DURATION`, e.g. 30s) to wait for the state lock, saying who holds it meanwhile (0: fail at once)"},
				),
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return errors.New("state unprotect: want exactly one ADDRESS (see applinkctl state list)")
					}
					o, err := stateOptionsFrom(c, newFactory(c, io))
					if err != nil {
						return err
					}
					return runStateUnprotect(c.Context, o, c.Args().First(), c.Duration("lock-timeout"), io.Out)
				},
			},
			{
				Name:  "history",
				Usage: "list past applies, newest first",
				UsageText: "applinkctl state history [-f PATH…] [--state URL] [--workspace NAME] [--limit N] [--format text|json]\n\n" +
					"One record per apply (and per state unprotect): when, how long, outcome, who, where\n" +
					"(CI run URL or host), commit and counts.\n\n" +
					"Examples:\n" +
					"   applinkctl state history -f applink.yaml\n" +
					"   applinkctl state history -f applink.yaml --limit 0 --format json",
				Flags: append(locate(),
					&cli.IntFlag{Name: "limit", Value: 20, Usage: "show at most `N` records (0: all)"},
					&cli.StringFlag{Name: "format", Value: "text", Usage: "output `FORMAT`: text or json"},
				),
				Action: func(c *cli.Context) error {
					o, err := stateOptionsFrom(c, newFactory(c, io))
					if err != nil {
						return err
					}
					return runStateHistory(c.Context, o, c.Int("limit"), c.String("format"), io.Out)
				},
			},
			{
				Name:  "migrate",
				Usage: "move the state and its history to another backend, verifying the copy, and mark the old state as migrated",
				UsageText: "applinkctl state migrate --to URL [-f PATH…] [--state URL] [--workspace NAME]\n" +
					"applinkctl state migrate --undo --to URL [-f PATH…] [--state URL] [--workspace NAME]\n\n" +
					"Copies the state and its history from the current backend to --to, under both locks, and\n" +
					"verifies the copy by digest. Once the copy is verified, and only then, the old state is\n" +
					"marked as migrated, with the new location: from then on every command that uses it (plan,\n" +
					"apply, drift, state …) fails and names the new state, so point --state (or APPLINKCTL_STATE)\n" +
					"at the new one. Run again, it says where the state already went.\n\n" +
					"--undo makes the old state usable again: it removes the marker, provided that --to is where\n" +
					"the state went and that nothing has changed there since (an apply since makes the new state\n" +
					"the current one, and undo is refused). The copy at --to is left as it is: remove it, or stop\n" +
					"using it.\n\n" +
					"Examples:\n" +
					"   applinkctl state migrate -f applink.yaml --to postgres://applinkctl@db/applinkctl?workspace=prod\n" +
					"   applinkctl state migrate -f applink.yaml --to file://infra/state.json\n" +
					"   applinkctl state migrate -f applink.yaml --to file://infra/state.json --undo",
				Flags: append(locate(),
					&cli.StringFlag{Name: "to", Required: true, Usage: "destination backend `URL` (file://PATH or postgres://…)"},
					&cli.BoolFlag{Name: "undo", Usage: "make the migrated state usable again (the new state at --to must be unchanged since)"},
				),
				Action: func(c *cli.Context) error {
					o, err := stateOptionsFrom(c, newFactory(c, io))
					if err != nil {
						return err
					}
					if c.Bool("undo") {
						return runStateMigrateUndo(c.Context, o, c.String("to"), io.Out)
					}
					return runStateMigrate(c.Context, o, c.String("to"), io.Out)
				},
			},
		},
	}
}

func runStateList(ctx context.Context, o stateops.Locator, out io.Writer) error {
	describe, s, err := stateops.List(ctx, o)
	if err != nil {
		return err
	}
	return view.RenderStateList(out, describe, s)
}

func runStateShow(ctx context.Context, o stateops.Locator, address string, out io.Writer) error {
	r, err := stateops.Show(ctx, o, address)
	if err != nil {
		return err
	}
	return view.RenderStateRecord(out, address, r)
}

func runStateUnlock(ctx context.Context, o stateops.Locator, id string, out io.Writer) error {
	u, err := stateops.Unlock(ctx, o, id)
	if err != nil {
		return err
	}
	if u.LinkPath != "" {
		// A symbolic link where the lock file goes is no lock any run
		// made: it went whatever the id, and what it names stays.
		_, err = fmt.Fprintf(out, "removed %s, a symbolic link to %s and not a lock; the file it names was left alone\n", u.LinkPath, u.LinkTarget)
		return err
	}
	_, err = fmt.Fprintf(out, "released lock %s on %s\n", id, u.Describe)
	return err
}

// runStateUnprotect clears the protect flag of one resource's record,
// under the state lock, and records that in the history. A record already
// unprotected is left alone.
func runStateUnprotect(ctx context.Context, o stateops.Locator, address string, lockTimeout time.Duration, out io.Writer) error {
	u, err := stateops.Unprotect(ctx, o, address, lockTimeout)
	if err != nil {
		return err
	}
	if !u.WasProtected {
		_, err = fmt.Fprintf(out, "%s is not protected in state %s; nothing to do\n", address, u.Describe)
		return err
	}
	_, err = fmt.Fprintf(out, "%s is no longer protected in state %s; the next apply --prune deletes it if the manifest no longer declares it\n", address, u.Describe)
	return err
}

func runStateHistory(ctx context.Context, o stateops.Locator, limit int, format string, out io.Writer) error {
	format, err := view.ParseFormat(format, view.FormatText, view.FormatJSON)
	if err != nil {
		return fmt.Errorf("state history: %w", err)
	}
	if limit < 0 {
		return fmt.Errorf("state history: --limit %d: want 0 (all) or more", limit)
	}
	describe, recs, err := stateops.History(ctx, o, limit)
	if err != nil {
		return err
	}
	return view.RenderHistory(out, describe, recs, format)
}

func runStateMigrate(ctx context.Context, o stateops.Locator, to string, out io.Writer) error {
	m, err := stateops.Migrate(ctx, o, to)
	if err != nil {
		return err
	}
	// The destination is named by Describe, never by the URL given,
	// which may carry a password.
	res := m.Result
	switch {
	case res.Already != nil:
		_, err = fmt.Fprintf(out, "%s was already migrated to %s (serial %d, %s); nothing to do: use --state %s from now on\n",
			m.From, res.Already.To, res.Already.Serial, res.Already.At.Format(time.RFC3339), view.ShellQuote(res.Already.To))
	case res.Unchanged:
		_, err = fmt.Fprintf(out, "%s already holds this state (serial %d, %s); nothing copied; %s is marked as migrated there\n",
			m.To, res.Serial, res.Digest, m.From)
	default:
		_, err = fmt.Fprintf(out, "migrated state serial %d (%d resources) and %d history records from %s to %s; verified %s\n"+
			"%s is marked as migrated: use --state %s from now on (undo: applinkctl state migrate --undo)\n",
			res.Serial, res.Resources, res.History, m.From, m.To, res.Digest, m.From, view.ShellQuote(m.To))
	}
	return err
}

// runStateMigrateUndo removes the migration marker of the state o selects,
// when to is where it went and unchanged since.
func runStateMigrateUndo(ctx context.Context, o stateops.Locator, to string, out io.Writer) error {
	u, err := stateops.UndoMigration(ctx, o, to)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "%s is usable again (serial %d, as migrated); the copy at %s was left as it is: remove it, or stop using it\n",
		u.From, u.Migration.Serial, u.Migration.To)
	return err
}
