package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/applinkctl/applinkctl/internal/pipeline"
	"github.com/applinkctl/applinkctl/internal/pipeline/ghreport"
	"github.com/applinkctl/applinkctl/internal/view"
)

// validateOptions are the inputs of one validate run.
type validateOptions struct {
	IO     streams
	Files  []string
	Format string            // text or json
	GitHub ghreport.Reporter // also print annotations under GitHub Actions
	// Preflight, set by --preflight, runs after a successful validation
	// (see preflight.go).
	Preflight *preflightOptions
}

func validateCommand(io streams) *cli.Command {
	return &cli.Command{
		Name:  "validate",
		Usage: "check manifests against the schema and the semantic rules, without network",
		UsageText: "applinkctl validate -f PATH... [--format text|json]\n\n" +
			"Checks every file (or every *.yaml/*.yml in a directory), reports all problems at once as\n" +
			"FILE:LINE:COL: field: message and exits 1 when any is an error. Warnings go to stderr.\n" +
			"Under GITHUB_ACTIONS=true each problem is also printed as a ::error annotation.\n" +
			"--preflight then tries each JWT key against {login_url}/services/oauth2/token, or against\n" +
			"$SALESFORCE_LOGIN_URL/services/oauth2/token for every key when that is set (docs/export.md).\n\n" +
			"Examples:\n" +
			"   applinkctl validate -f applink.yaml\n" +
			"   applinkctl validate -f examples/quickstart\n" +
			"   applinkctl validate -f base.yaml -f apps/ --format json\n" +
			"   applinkctl validate -f applink.yaml --preflight --certificate keys/server.crt",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "file", Aliases: []string{"f"}, Usage: "manifest `PATH` (file or directory); repeatable", Required: true},
			&cli.StringFlag{Name: "format", Value: "text", Usage: "output `FORMAT`: text or json"},
			&cli.BoolFlag{Name: "preflight", Usage: "also try each JWT key against its login URL's token endpoint (network; the sandbox's emulator with --sandbox)"},
			&cli.StringFlag{Name: "certificate", Usage: "with --preflight: check that each JWT key matches the PEM certificate `FILE` uploaded to the connected app"},
		},
		Action: func(c *cli.Context) error {
			opts := validateOptions{
				IO:     io,
				Files:  c.StringSlice("file"),
				Format: c.String("format"),
				GitHub: ghreport.New(io.Err),
			}
			pre, err := preflightOptionsFrom(c, newFactory(c, io), opts.Format)
			if err != nil {
				return err
			}
			opts.Preflight = pre
			return runValidate(c.Context, opts)
		},
	}
}

// runValidate loads the manifest and prints every problem: as text, errors
// on stdout and warnings on stderr, then a count of what it declares; as
// json, the array of problems. Exit 1 when any is an error.
func runValidate(ctx context.Context, opts validateOptions) error {
	io := opts.IO
	format, err := view.ParseFormat(opts.Format, view.FormatText, view.FormatJSON)
	if err != nil {
		return fmt.Errorf("validate: %w", err)
	}
	v, err := pipeline.Validate(opts.Files)
	if err != nil {
		return fmt.Errorf("validate: %w", err)
	}
	// On stderr, which the runner reads for workflow commands too, so
	// that stdout stays the report (--format json parses).
	opts.GitHub.Problems(v.Problems)
	if err := view.RenderProblems(io.Out, io.Err, v.Problems, format); err != nil {
		return fmt.Errorf("validate: %w", err)
	}
	if v.Invalid {
		if format == view.FormatJSON {
			return withExitCode(exitError, nil)
		}
		return withExitCode(exitError, fmt.Errorf("validate: %d %s", v.Errors, plural(v.Errors, "problem", "problems")))
	}
	if format == view.FormatText {
		if err := view.RenderValid(io.Out, v.Manifest); err != nil {
			return err
		}
	}
	if opts.Preflight != nil {
		return runPreflight(ctx, *opts.Preflight, v)
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
