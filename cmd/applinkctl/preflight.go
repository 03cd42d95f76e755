package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/applinkctl/applinkctl/internal/client"
	"github.com/applinkctl/applinkctl/internal/emulator"
	"github.com/applinkctl/applinkctl/internal/manifest"
	"github.com/applinkctl/applinkctl/internal/preflight"
)

// preflightOptions are the inputs of validate --preflight.
type preflightOptions struct {
	IO       streams
	CertFile string // --certificate; "" checks no certificate
	Override string // token endpoint from SALESFORCE_LOGIN_URL; "" when unset
	// Sandbox, with --sandbox, opens the sandbox's emulator, whose token
	// endpoint every key is then tried against; nil for the real world.
	Sandbox func() (*client.Platform, *emulator.Server, func(), error)
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
	o := &preflightOptions{IO: f.IO, CertFile: certFile}
	if f.Sandbox != "" {
		o.Sandbox = func() (*client.Platform, *emulator.Server, func(), error) { return f.OpenPlatform(nil) }
	}
	// SALESFORCE_LOGIN_URL (printed by applinkctl emulator) is checked
	// before anything is loaded; the sandbox has its own emulator and
	// ignores it.
	if raw := os.Getenv(preflight.LoginURLEnv); raw != "" && o.Sandbox == nil {
		endpoint, err := preflight.OverrideEndpoint(raw)
		if err != nil {
			return nil, fmt.Errorf("validate: %w", err)
		}
		o.Override = endpoint
	}
	return o, nil
}

// runPreflight tries every JWT key of m against its token endpoint: the
// login URL's; the override (from SALESFORCE_LOGIN_URL) when set; or with
// --sandbox the emulator's (whatever the login URL: the sandbox has no
// other Salesforce). One line per resource; exit 1 when any fails.
func runPreflight(ctx context.Context, o preflightOptions, m *manifest.Manifest) error {
	io := o.IO
	checks := preflight.Checks(m)
	if len(checks) == 0 {
		fmt.Fprintln(io.Out, "preflight: no JWT connection or authorization to check")
		return nil
	}
	var opts preflight.Options
	if o.CertFile != "" {
		cert, err := preflight.LoadCertificate(o.CertFile)
		if err != nil {
			return fmt.Errorf("validate: --certificate: %w", err)
		}
		opts.Certificate = cert
	}
	if o.Override != "" {
		fmt.Fprintf(io.Err, "preflight: %s is set: every token request goes to %s, not to the login URLs of the manifest\n", preflight.LoginURLEnv, o.Override)
		opts.Endpoint = func(string) string { return o.Override }
	}
	if o.Sandbox != nil {
		_, srv, stop, err := o.Sandbox()
		if err != nil {
			return fmt.Errorf("validate: preflight: %w", err)
		}
		defer stop()
		token := srv.URL + "/services/oauth2/token"
		opts.Endpoint = func(string) string { return token }
		opts.TrustOnFirstUse = true
	}
	results := preflight.Run(ctx, checks, opts)
	failed := 0
	for _, r := range results {
		fmt.Fprintln(io.Out, r.String())
		if r.Status == preflight.StatusFailed {
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
