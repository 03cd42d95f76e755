package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/applinkctl/applinkctl/internal/manifest"
	"github.com/applinkctl/applinkctl/internal/preflight"
)

// preflightFlags reads validate's --preflight and --certificate and, when
// asked, sets the step runValidate runs after a successful validation.
func preflightFlags(c *cli.Context, io streams, opts *validateOptions) error {
	certFile := c.String("certificate")
	if !c.Bool("preflight") {
		if certFile != "" {
			return errors.New("validate: --certificate needs --preflight")
		}
		return nil
	}
	if opts.Format != "text" {
		return fmt.Errorf("validate: --preflight reports in text: drop --format %s", opts.Format)
	}
	// SALESFORCE_LOGIN_URL (printed by applinkctl emulator) is checked
	// before anything is loaded; the sandbox has its own emulator and
	// ignores it.
	override := ""
	if raw := os.Getenv(preflight.LoginURLEnv); raw != "" && sandboxDir(c) == "" {
		endpoint, err := preflight.OverrideEndpoint(raw)
		if err != nil {
			return fmt.Errorf("validate: %w", err)
		}
		override = endpoint
	}
	opts.Preflight = func(m *manifest.Manifest) error { return runPreflight(c, io, m, certFile, override) }
	return nil
}

// runPreflight tries every JWT key of m against its token endpoint: the
// login URL's; override (from SALESFORCE_LOGIN_URL) when set; or with
// --sandbox the emulator's (whatever the login URL: the sandbox has no
// other Salesforce). One line per resource; exit 1 when any fails.
func runPreflight(c *cli.Context, io streams, m *manifest.Manifest, certFile, override string) error {
	checks := preflight.Checks(m)
	if len(checks) == 0 {
		fmt.Fprintln(io.Out, "preflight: no JWT connection or authorization to check")
		return nil
	}
	var opts preflight.Options
	if certFile != "" {
		cert, err := preflight.LoadCertificate(certFile)
		if err != nil {
			return fmt.Errorf("validate: --certificate: %w", err)
		}
		opts.Certificate = cert
	}
	if override != "" {
		fmt.Fprintf(io.Err, "preflight: %s is set: every token request goes to %s, not to the login URLs of the manifest\n", preflight.LoginURLEnv, override)
		opts.Endpoint = func(string) string { return override }
	}
	if sandboxDir(c) != "" {
		_, srv, stop, err := openPlatform(c, nil)
		if err != nil {
			return fmt.Errorf("validate: preflight: %w", err)
		}
		defer stop()
		token := srv.URL + "/services/oauth2/token"
		opts.Endpoint = func(string) string { return token }
		opts.TrustOnFirstUse = true
	}
	results := preflight.Run(c.Context, checks, opts)
	failed := 0
	for _, r := range results {
		fmt.Fprintln(io.Out, r.String())
		if r.Status == preflight.StatusFailed {
			failed++
		}
	}
	if err := c.Context.Err(); err != nil {
		return err
	}
	if failed > 0 {
		return withExitCode(exitError, fmt.Errorf("validate: preflight: %d of %d JWT %s would fail", failed, len(results), plural(len(results), "key", "keys")))
	}
	fmt.Fprintf(io.Out, "preflight: %d JWT %s ok\n", len(results), plural(len(results), "key", "keys"))
	return nil
}
