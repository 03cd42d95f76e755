package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/applinkctl/applinkctl/internal/pipeline"
)

// preflightOptions are the inputs of validate --preflight.
type preflightOptions struct {
	IO    streams
	Check pipeline.PreflightOptions
}

// preflightOptionsFrom reads validate's --preflight and --certificate:
// nil when preflight was not asked for. format is validate's --format.
func preflightOptionsFrom(c *cli.Context, f *factory, format string) (*preflightOptions, error) {
	certFile := c.String("certificate")
	if !c.Bool("preflight") {
		if certFile != "" {
			return nil, errors.New("validate: --certificate needs --preflight")
		}
		return nil, nil
	}
	if format != "text" {
		return nil, fmt.Errorf("validate: --preflight reports in text: drop --format %s", format)
	}
	o := &preflightOptions{IO: f.IO, Check: pipeline.PreflightOptions{CertFile: certFile}}
	if f.Sandbox != "" {
		o.Check.Sandbox = f.EmulatorURL
		return o, nil
	}
	// SALESFORCE_LOGIN_URL (printed by applinkctl emulator) is checked
	// before anything is loaded; the sandbox has its own emulator and
	// ignores it.
	endpoint, err := pipeline.PreflightOverride(os.Getenv(pipeline.LoginURLEnv))
	if err != nil {
		return nil, fmt.Errorf("validate: %w", err)
	}
	o.Check.Override = endpoint
	return o, nil
}

// runPreflight tries every JWT key of the valid manifest v against its
// token endpoint: the login URL's; the override (from SALESFORCE_LOGIN_URL)
// when set; or with --sandbox the emulator's (whatever the login URL: the
// sandbox has no other Salesforce). One line per resource; exit 1 when any
// fails.
func runPreflight(ctx context.Context, o preflightOptions, v pipeline.Validation) error {
	io := o.IO
	pf, err := pipeline.NewPreflight(v.Manifest, o.Check)
	if err != nil {
		return err
	}
	if pf.Empty() {
		fmt.Fprintln(io.Out, "preflight: no JWT connection or authorization to check")
		return nil
	}
	if o.Check.Override != "" {
		fmt.Fprintf(io.Err, "preflight: %s is set: every token request goes to %s, not to the login URLs of the manifest\n", pipeline.LoginURLEnv, o.Check.Override)
	}
	results, err := pf.Run(ctx)
	if err != nil {
		return err
	}
	failed := 0
	for _, r := range results {
		fmt.Fprintln(io.Out, r.Line)
		if r.Failed {
			failed++
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if failed > 0 {
		return withExitCode(exitError, fmt.Errorf("validate: preflight: %d of %d JWT %s would fail", failed, len(results), plural(len(results), "key", "keys")))
	}
	fmt.Fprintf(io.Out, "preflight: %d JWT %s ok\n", len(results), plural(len(results), "key", "keys"))
	return nil
}
