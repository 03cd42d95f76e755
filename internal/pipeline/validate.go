package pipeline

import (
	"context"
	"errors"
	"fmt"

	"github.com/applinkctl/applinkctl/internal/manifest"
	"github.com/applinkctl/applinkctl/internal/plan"
	"github.com/applinkctl/applinkctl/internal/preflight"
)

// Validation is what validate finds in a manifest.
type Validation struct {
	// Manifest is the loaded manifest; nil when Invalid.
	Manifest *manifest.Manifest
	// Problems are every problem, warnings included, sorted by position.
	Problems []manifest.Problem
	// Invalid says at least one problem is an error.
	Invalid bool
	// Errors is how many problems are errors rather than warnings.
	Errors int
}

// Validate loads the manifest at files and reports every problem. Only a
// failure to read it is an error: an invalid manifest is a Validation.
func Validate(files []string) (Validation, error) {
	m, problems, err := manifest.Load(files, manifest.Options{})
	if err != nil && !errors.Is(err, manifest.ErrInvalid) {
		return Validation{}, err
	}
	v := Validation{Problems: problems, Invalid: err != nil, Errors: ErrorCount(problems)}
	if !v.Invalid {
		v.Manifest = m
	}
	return v, nil
}

// LoginURLEnv names the variable that sends every preflight token request
// to one endpoint (applinkctl emulator prints it).
const LoginURLEnv = preflight.LoginURLEnv

// PreflightOverride is the token endpoint that SALESFORCE_LOGIN_URL (raw,
// "" when unset) names for every key, or "" when it is unset; a bad value
// is an error, found before anything is loaded.
func PreflightOverride(raw string) (string, error) {
	if raw == "" {
		return "", nil
	}
	return preflight.OverrideEndpoint(raw)
}

// PreflightOptions say where validate --preflight sends its token requests.
type PreflightOptions struct {
	CertFile string // --certificate; "" checks no certificate
	Override string // from PreflightOverride; "" when unset
	// Sandbox, with --sandbox, starts the sandbox's emulator and returns
	// its base URL and its stop func: every key is tried against its token
	// endpoint, whatever the login URL. nil for the real world.
	Sandbox func() (baseURL string, stop func(), err error)
}

// Preflight is a prepared validate --preflight: the checks of a manifest
// and the certificate to compare the keys with.
type Preflight struct {
	checks []preflight.Check
	opts   PreflightOptions
	cert   preflight.Options
}

// PreflightResult is the outcome of one key's check.
type PreflightResult struct {
	Line   string // the line that reports it
	Failed bool
}

// NewPreflight prepares the checks of every JWT key of m and loads the
// certificate, if any. With none to check it loads nothing (Empty).
func NewPreflight(m *manifest.Manifest, o PreflightOptions) (*Preflight, error) {
	p := &Preflight{checks: preflight.Checks(m), opts: o}
	if len(p.checks) == 0 {
		return p, nil
	}
	if o.CertFile != "" {
		cert, err := preflight.LoadCertificate(o.CertFile)
		if err != nil {
			return nil, fmt.Errorf("validate: --certificate: %w", err)
		}
		p.cert.Certificate = cert
	}
	return p, nil
}

// Empty says the manifest has no JWT connection or authorization.
func (p *Preflight) Empty() bool { return len(p.checks) == 0 }

// Run tries every key against its token endpoint: the login URL's; the
// override when set; or with the sandbox the emulator's (the sandbox has no
// other Salesforce). The results are in the order of the checks.
func (p *Preflight) Run(ctx context.Context) ([]PreflightResult, error) {
	opts := p.cert
	if o := p.opts.Override; o != "" {
		opts.Endpoint = func(string) string { return o }
	}
	if p.opts.Sandbox != nil {
		base, stop, err := p.opts.Sandbox()
		if err != nil {
			return nil, fmt.Errorf("validate: preflight: %w", err)
		}
		defer stop()
		token := base + "/services/oauth2/token"
		opts.Endpoint = func(string) string { return token }
		opts.TrustOnFirstUse = true
	}
	results := preflight.Run(ctx, p.checks, opts)
	out := make([]PreflightResult, 0, len(results))
	for _, r := range results {
		out = append(out, PreflightResult{Line: r.String(), Failed: r.Status == preflight.StatusFailed})
	}
	return out, nil
}

// GraphInputs load what graph draws: the manifest at files (when given,
// its problems to r) and the saved plan at planFile (when given), either
// nil when not asked for.
func GraphInputs(files []string, planFile string, r Reporter) (*manifest.Manifest, *plan.Plan, error) {
	var (
		m   *manifest.Manifest
		p   *plan.Plan
		err error
	)
	if len(files) > 0 {
		if m, err = LoadManifest(files, r); err != nil {
			return nil, nil, err
		}
	}
	if planFile != "" {
		if p, err = ReadPlanFile(planFile); err != nil {
			return nil, nil, err
		}
	}
	return m, p, nil
}

// Schema is the JSON Schema (draft 2020-12) that Validate checks every
// manifest file against.
func Schema() []byte { return manifest.Schema() }
