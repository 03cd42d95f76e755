package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/applinkctl/applinkctl/internal/pipeline"
	"github.com/applinkctl/applinkctl/internal/pipeline/ghreport"
	"github.com/applinkctl/applinkctl/internal/view"
)

// planOptions are the inputs of one plan run.
type planOptions struct {
	IO    streams
	World worldOptions

	Files            []string
	Plan             pipeline.PlanOptions // --prune, --allow-empty, --target, --replace
	Parallelism      int                  // bound on concurrent read calls
	Format           string               // text, json or markdown
	Out              string               // --out FILE: save the plan for apply FILE
	MaxBytes         int                  // markdown cap
	DetailedExitCode bool                 // exit 2 when the plan has changes
	FailOnBreaking   bool                 // exit 1 when a publication change breaks its callers
	GitHub           ghreport.Reporter    // step summary, outputs and annotations under Actions
}

func planCommand(io streams) *cli.Command {
	return &cli.Command{
		Name:  "plan",
		Usage: "read live state and show what apply would change",
		UsageText: "applinkctl plan -f PATH... [--prune [--allow-empty]] [--target PATTERN]... [--replace PATTERN]...\n" +
			"                [--format text|json|markdown] [--out FILE] [--detailed-exitcode] [--fail-on-breaking]\n\n" +
			"Compares the manifest with what exists in Heroku AppLink and with applinkctl's state, and\n" +
			"prints the changes: + create, -/+ replace, ~ republish, - delete, = adopt, … wait.\n" +
			"--out saves the plan for `applinkctl apply FILE`, which refuses it once anything it saw changed.\n" +
			"Resources applinkctl manages that the manifest no longer declares are listed; --prune deletes them.\n" +
			"A plan with blocked changes (e.g. a data action target whose fields changed: the API cannot\n" +
			"delete a target alone) is an error and is never saved; it names the command that unblocks it.\n\n" +
			"--target and --replace take address patterns: * within a segment, ** across segments, and a\n" +
			"prefix (acme-api, acme-api/connection/events_dc) selects everything under it. A pattern that\n" +
			"matches nothing is an error naming the closest addresses.\n\n" +
			"A republished spec is classified for the Salesforce flows, Apex and agents calling the API:\n" +
			"⚠ breaking (an operation, parameter or response field removed, a parameter made required,\n" +
			"a type changed, the security changed), with the spec's file:line, or not breaking.\n\n" +
			"Exit codes: 0 success (with --detailed-exitcode: no changes), 1 error or blocked plan (with\n" +
			"--fail-on-breaking: also a breaking publication change, after the plan is printed), 2 changes\n" +
			"present (--detailed-exitcode only).\n\n" +
			"Examples:\n" +
			"   applinkctl plan -f applink.yaml\n" +
			"   applinkctl plan -f examples/quickstart --sandbox\n" +
			"   applinkctl plan -f applink.yaml --format markdown --out plan.json --detailed-exitcode\n" +
			"   applinkctl plan -f applink.yaml --fail-on-breaking\n" +
			"   applinkctl plan -f applink.yaml --target 'acme-api/connection/prod_org/*'\n" +
			"   applinkctl plan -f applink.yaml --target acme-api/connection/events_dc\n" +
			"   applinkctl plan -f applink.yaml --target 'acme-api/**/target/*'\n" +
			"   applinkctl plan -f applink.yaml --replace acme-api/connection/events_dc",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "file", Aliases: []string{"f"}, Usage: "manifest `PATH` (file or directory); repeatable", Required: true},
			&cli.BoolFlag{Name: "prune", Usage: "delete what state records as applinkctl's and the manifest no longer declares"},
			&cli.BoolFlag{Name: "allow-empty", Usage: "allow --prune with a manifest that declares nothing"},
			&cli.StringFlag{Name: "out", Usage: "save the plan to `FILE` for apply"},
			&cli.StringFlag{Name: "format", Value: "text", Usage: "output `FORMAT`: text, json or markdown"},
			&cli.IntFlag{Name: "max-bytes", Value: 60000, Usage: "cap markdown output at `N` bytes (pull-request comments have a limit)"},
			&cli.BoolFlag{Name: "detailed-exitcode", Usage: "exit 0 when there are no changes, 2 when there are, 1 on error"},
			&cli.BoolFlag{Name: "fail-on-breaking", Usage: "exit 1 when a republished spec breaks existing callers of the API (after printing the plan)"},
			&cli.StringSliceFlag{Name: "target", Usage: "plan only resources matching `PATTERN` (an address, a prefix, * or **) and what they depend on; repeatable"},
			&cli.StringSliceFlag{Name: "replace", Usage: "force the replacement of the declared resources matching `PATTERN` (e.g. to re-run a JWT flow); repeatable"},
			&cli.IntFlag{Name: "parallelism", Value: pipeline.DefaultReadParallelism, Usage: "at most `N` read calls at once (reads change nothing; lower it to spare a rate limit shared with other tools)"},
		},
		Action: func(c *cli.Context) error {
			f := newFactory(c, io)
			world, err := f.World()
			if err != nil {
				return err
			}
			return runPlan(c.Context, planOptions{
				IO:    io,
				World: world,
				Files: c.StringSlice("file"),
				Plan: pipeline.PlanOptions{
					Prune:      c.Bool("prune"),
					AllowEmpty: c.Bool("allow-empty"),
					Targets:    c.StringSlice("target"),
					Replace:    c.StringSlice("replace"),
				},
				Parallelism:      c.Int("parallelism"),
				Format:           c.String("format"),
				Out:              c.String("out"),
				MaxBytes:         c.Int("max-bytes"),
				DetailedExitCode: c.Bool("detailed-exitcode"),
				FailOnBreaking:   c.Bool("fail-on-breaking"),
				GitHub:           ghreport.New(io.Err),
			})
		},
	}
}

// runPlan makes the plan, prints it, saves it when asked and maps "changes
// present" to exit code 2 under --detailed-exitcode, and a breaking
// publication change to exit code 1 under --fail-on-breaking. A plan with
// blocked changes is an error (exit 1, whatever the flags) and is not saved:
// apply would refuse it, so the error names the command that unblocks it.
func runPlan(ctx context.Context, opts planOptions) error {
	io := opts.IO
	format, err := view.ParseFormat(opts.Format, view.FormatText, view.FormatJSON, view.FormatMarkdown)
	if err != nil {
		return fmt.Errorf("plan: %w", err)
	}
	in, err := opts.World.inputs(opts.Files, opts.Parallelism, opts.GitHub.View(io.Err))
	if err != nil {
		return fmt.Errorf("plan: %w", err)
	}
	w, err := pipeline.Open(ctx, in)
	if err != nil {
		return fmt.Errorf("plan: %w", err)
	}
	defer w.Close()
	p, err := w.Plan(opts.Plan)
	if err != nil {
		return fmt.Errorf("plan: %w", err)
	}
	inv := opts.World.Invocation("plan", opts.Files)
	vo := view.Options{Color: format == view.FormatText && view.ColorEnabled(io.Out, opts.World.NoColor), MaxBytes: opts.MaxBytes, Invocation: inv}
	if err := view.RenderPlan(io.Out, p, format, vo); err != nil {
		return fmt.Errorf("plan: %w", err)
	}
	blocked := view.BlockedError(p, inv)
	saved := ""
	switch {
	case opts.Out != "" && blocked != nil:
		fmt.Fprintf(io.Err, "Not saved to %s: apply refuses a plan with blocked changes.\n", opts.Out)
	case opts.Out != "":
		if err := pipeline.WriteSaved(opts.Out, p); err != nil {
			return fmt.Errorf("plan: %w", err)
		}
		saved = opts.Out
		apply := view.Invocation{Flags: inv.Flags}.BareCommand("apply") + " " + view.ShellQuote(opts.Out)
		fmt.Fprintf(io.Err, "Saved the plan to %s; run `%s` to apply exactly it.\n", opts.Out, apply)
	}
	if err := opts.GitHub.Plan(p, vo, saved, opts.FailOnBreaking); err != nil {
		return fmt.Errorf("plan: %w", err)
	}
	if n := len(p.BreakingChanges()); opts.FailOnBreaking && n > 0 {
		return fmt.Errorf("plan: %d %s existing callers (--fail-on-breaking); see ⚠ breaking above",
			n, plural(n, "publication change breaks", "publication changes break"))
	}
	if blocked != nil {
		return fmt.Errorf("plan: %w", blocked)
	}
	if opts.DetailedExitCode && p.HasChanges() {
		return withExitCode(exitChanges, nil)
	}
	return nil
}
