package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/applinkctl/applinkctl/internal/pipeline"
	"github.com/applinkctl/applinkctl/internal/pipeline/ghreport"
	"github.com/applinkctl/applinkctl/internal/view"
)

// driftOptions are the inputs of one drift run.
type driftOptions struct {
	IO          streams
	World       worldOptions
	Files       []string
	Parallelism int
	Format      string
	Ignore      []string
	GitHub      ghreport.Reporter
}

func driftCommand(io streams) *cli.Command {
	return &cli.Command{
		Name:  "drift",
		Usage: "report how live state differs from the manifest and state (read-only)",
		UsageText: "applinkctl drift -f PATH... [--format text|json|markdown] [--ignore PATTERN]...\n\n" +
			"Reads like plan but takes no lock and writes nothing. Findings: missing (deleted out of band),\n" +
			"changed (status or fields changed out of band), unmanaged (live, never in state), pending\n" +
			"(manifest changes not yet applied). Each finding says what differs, since when (the end of the\n" +
			"last apply that left it as declared, from the state history, or unknown) and the commands that\n" +
			"repair it, with the same -f paths and global flags: apply --target, with --prune for what is no\n" +
			"longer declared or the --replace of a target's connection, state unprotect first for what state\n" +
			"protects, adopt or ignore for what is unmanaged, or a step by hand when apply would refuse.\n" +
			"--ignore takes the address patterns of plan --target; one that matches no resource is an error\n" +
			"naming the closest addresses.\n" +
			"Exit codes: 0 no finding shown, 2 findings shown, 1 error.\n\n" +
			"Examples:\n" +
			"   applinkctl drift -f applink.yaml\n" +
			"   applinkctl drift -f applink.yaml --format json --ignore 'acme-api/authorization/*'\n" +
			"   applinkctl drift -f applink.yaml --ignore acme-api/connection/events_dc",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "file", Aliases: []string{"f"}, Usage: "manifest `PATH` (file or directory); repeatable", Required: true},
			&cli.StringFlag{Name: "format", Value: "text", Usage: "output `FORMAT`: text, json or markdown"},
			&cli.StringSliceFlag{Name: "ignore", Usage: "drop findings whose address matches `PATTERN` (as plan --target); repeatable"},
			&cli.IntFlag{Name: "parallelism", Value: pipeline.DefaultReadParallelism, Usage: "at most `N` read calls at once (reads change nothing; lower it to spare a rate limit shared with other tools)"},
		},
		Action: func(c *cli.Context) error {
			world, err := newFactory(c, io).World()
			if err != nil {
				return err
			}
			return runDrift(c.Context, driftOptions{
				IO:          io,
				World:       world,
				Files:       c.StringSlice("file"),
				Parallelism: c.Int("parallelism"),
				Format:      c.String("format"),
				Ignore:      c.StringSlice("ignore"),
				GitHub:      ghreport.New(io.Err),
			})
		},
	}
}

// runDrift reads, classifies and prints; exit code 2 exactly when it shows
// a finding.
func runDrift(ctx context.Context, opts driftOptions) error {
	io := opts.IO
	format, err := view.ParseFormat(opts.Format, view.FormatText, view.FormatJSON, view.FormatMarkdown)
	if err != nil {
		return fmt.Errorf("drift: %w", err)
	}
	in, err := opts.World.inputs(opts.Files, opts.Parallelism, opts.GitHub.View(io.Err))
	if err != nil {
		return fmt.Errorf("drift: %w", err)
	}
	w, err := pipeline.Open(ctx, in)
	if err != nil {
		return fmt.Errorf("drift: %w", err)
	}
	defer w.Close()
	findings, err := w.Drift(ctx, opts.Ignore)
	if err != nil {
		return fmt.Errorf("drift: %w", err)
	}
	// Repair commands repeat the -f paths and global flags of this run.
	inv := opts.World.Invocation("apply", opts.Files)
	vo := view.Options{Color: format == view.FormatText && view.ColorEnabled(io.Out, opts.World.NoColor), Invocation: inv}
	if err := view.RenderDrift(io.Out, findings, format, vo); err != nil {
		return fmt.Errorf("drift: %w", err)
	}
	if err := opts.GitHub.Drift(findings, inv); err != nil {
		return fmt.Errorf("drift: %w", err)
	}
	if len(findings) > 0 {
		return withExitCode(exitChanges, nil)
	}
	return nil
}
