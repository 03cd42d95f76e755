package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/applinkctl/applinkctl/internal/ghactions"
	"github.com/applinkctl/applinkctl/internal/manifest"
)

// validateOptions are the inputs of one validate run.
type validateOptions struct {
	Files  []string
	Format string // text or json
	GitHub bool   // also print ::error annotations (GITHUB_ACTIONS=true)
	// Preflight, set by --preflight, runs after a successful validation
	// (see preflight.go).
	Preflight func(m *manifest.Manifest) error
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
				Files:  c.StringSlice("file"),
				Format: c.String("format"),
				GitHub: ghactions.Enabled(),
			}
			if err := preflightFlags(c, io, &opts); err != nil {
				return err
			}
			return runValidate(io, opts)
		},
	}
}

// problemJSON is the wire shape of one problem in `validate --format json`.
type problemJSON struct {
	File     string `json:"file"`
	Line     int    `json:"line"`
	Column   int    `json:"column"`
	Field    string `json:"field"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
}

func runValidate(io streams, opts validateOptions) error {
	if opts.Format != "text" && opts.Format != "json" {
		return fmt.Errorf("validate: --format %q: want text or json", opts.Format)
	}
	m, problems, err := manifest.Load(opts.Files, manifest.Options{})
	if err != nil && !errors.Is(err, manifest.ErrInvalid) {
		return fmt.Errorf("validate: %w", err)
	}
	if opts.GitHub {
		// On stderr, which the runner reads for workflow commands too, so
		// that stdout stays the report (--format json parses).
		for _, p := range problems {
			ghactions.Annotate(io.Err, p.Severity, p.Pos.File, p.Pos.Line, p.Pos.Col, fieldMessage(p))
		}
	}
	if opts.Format == "json" {
		if err := writeProblemsJSON(io.Out, problems); err != nil {
			return err
		}
	} else {
		for _, p := range problems {
			w := io.Out
			if p.Severity == manifest.SeverityWarning {
				w = io.Err
			}
			fmt.Fprintln(w, p.String())
		}
	}
	if err != nil {
		nerr := 0
		for _, p := range problems {
			if p.Severity == manifest.SeverityError {
				nerr++
			}
		}
		if opts.Format == "json" {
			return withExitCode(exitError, nil)
		}
		return withExitCode(exitError, fmt.Errorf("validate: %d %s", nerr, plural(nerr, "problem", "problems")))
	}
	if opts.Format == "text" {
		n := m.Counts()
		fmt.Fprintf(io.Out, "ok: %d apps, %d connections, %d authorizations, %d targets, %d publications\n",
			n.Apps, n.Connections, n.Authorizations, n.Targets, n.Publications)
	}
	if opts.Preflight != nil {
		return opts.Preflight(m)
	}
	return nil
}

// fieldMessage is a problem without its position, for annotations, which
// carry the position separately.
func fieldMessage(p manifest.Problem) string {
	if p.Field == "" {
		return p.Message
	}
	return p.Field + ": " + p.Message
}

func writeProblemsJSON(w io.Writer, problems []manifest.Problem) error {
	out := make([]problemJSON, 0, len(problems))
	for _, p := range problems {
		out = append(out, problemJSON{File: p.Pos.File, Line: p.Pos.Line, Column: p.Pos.Col, Field: p.Field, Severity: p.Severity, Message: p.Message})
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return fmt.Errorf("validate: %w", err)
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
