package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/applinkctl/applinkctl/internal/client"
	"github.com/applinkctl/applinkctl/internal/emulator"
	"github.com/applinkctl/applinkctl/internal/ghactions"
	"github.com/applinkctl/applinkctl/internal/live"
	"github.com/applinkctl/applinkctl/internal/liveread"
	"github.com/applinkctl/applinkctl/internal/manifest"
	"github.com/applinkctl/applinkctl/internal/plan"
	"github.com/applinkctl/applinkctl/internal/state"
)

// planInputs are what the commands that compare manifest and world (plan,
// drift, apply) were asked for.
type planInputs struct {
	Files       []string     // -f paths, files or directories
	Options     plan.Options // --prune, --allow-empty, --target, --replace
	Parallelism int          // bound on concurrent read calls; < 1 means live.DefaultReadConcurrency
}

// planRun is everything one plan was made from: World is what was read
// live, and Backend is where state is kept; Close releases the backend and stops a sandbox emulator, and must
// be called once the command is done.
type planRun struct {
	Manifest *manifest.Manifest
	World    *live.World
	State    *state.State // as loaded; apply builds its Store from Backend
	Backend  state.Backend
	Platform *client.Platform
	Sandbox  *emulator.Server // nil unless --sandbox
	Plan     *plan.Plan       // nil from prepareWorld
	Origin   plan.Origin      // what Plan is made against: sandbox directory and state
	Close    func()
}

// preparePlan loads the manifest (printing problems as validate does),
// opens the state backend, reads the live world and diffs the three. On
// error nothing is left open.
func preparePlan(c *cli.Context, io streams, in planInputs) (*planRun, error) {
	r, err := prepareWorld(c, io, in)
	if err != nil {
		return nil, err
	}
	p, err := plan.Diff(r.Manifest, r.World, r.State, in.Options)
	if err != nil {
		r.Close()
		return nil, err
	}
	p.Origin = r.Origin
	r.Plan = p
	return r, nil
}

// prepareWorld is preparePlan without the diff: manifest, state and live
// world, for drift and for apply's check of a saved plan. It takes no lock
// and writes nothing.
func prepareWorld(c *cli.Context, io streams, in planInputs) (*planRun, error) {
	m, err := loadManifest(io, in.Files)
	if err != nil {
		return nil, err
	}
	ctx := c.Context
	url, err := stateURL(c, in.Files)
	if err != nil {
		return nil, err
	}
	sandbox, err := sandboxAbs(c)
	if err != nil {
		return nil, err
	}
	backend, err := state.Open(ctx, url, state.OpenOptions{ManifestFiles: in.Files,
		Workspace: global(c, "workspace").String("workspace")})
	if err != nil {
		return nil, err
	}
	closers := []func(){func() { _ = backend.Close() }}
	closeAll := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	st, err := backend.Load(ctx)
	if err != nil {
		closeAll()
		return nil, err
	}
	apps := make([]string, 0, len(m.Apps))
	for _, a := range m.Apps {
		apps = append(apps, a.Name)
	}
	p, srv, stop, err := openPlatform(c, apps)
	if err != nil {
		closeAll()
		return nil, err
	}
	closers = append(closers, stop)
	w, _, err := liveread.Read(ctx, p, m, in.Parallelism)
	if err != nil {
		closeAll()
		return nil, err
	}
	return &planRun{Manifest: m, World: w, State: st, Backend: backend, Platform: p, Sandbox: srv, Close: closeAll,
		Origin: plan.Origin{Sandbox: relToWD(sandbox), State: stateForPlan(backend.Describe())}}, nil
}

// relToWD is p relative to the working directory ("/"-separated) when it
// lies inside it, else p: a saved plan names no absolute path of the
// machine that made it when it need not, and stays valid in another
// checkout of the same repository.
func relToWD(p string) string {
	if p == "" || !filepath.IsAbs(p) {
		return p
	}
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	if rel, err := filepath.Rel(wd, p); err == nil && filepath.IsLocal(rel) {
		return filepath.ToSlash(rel)
	}
	return p
}

// stateForPlan names a state backend in a saved plan: a file state inside
// the working directory by its relative path, any other as in messages.
func stateForPlan(describe string) string {
	if path, ok := strings.CutPrefix(describe, "file://"); ok {
		if rel := relToWD(path); rel != path {
			return rel
		}
	}
	return describe
}

// sandboxAbs is the absolute --sandbox directory, or "" when the sandbox
// is off.
func sandboxAbs(c *cli.Context) (string, error) {
	dir := sandboxDir(c)
	if dir == "" {
		return "", nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("sandbox %s: %w", dir, err)
	}
	return abs, nil
}

// stateURL is the state backend of this invocation for the manifest files
// given: --state or APPLINKCTL_STATE, else "" (the default beside the first
// manifest). Under --sandbox it is always the sandbox's own,
// DIR/states/WORKSPACE/state.json, so a sandbox run can neither read nor
// write real state; the workspace (--workspace, else derived from the
// files as for Postgres) keeps the states of manifests sharing a sandbox
// apart, as their default states are apart. An explicit --state there is
// refused rather than honoured or ignored: either would leave in doubt
// which state a sandbox run used.
func stateURL(c *cli.Context, files []string) (string, error) {
	url := global(c, "state").String("state")
	dir, err := sandboxAbs(c)
	if err != nil || dir == "" {
		return url, err
	}
	if url != "" {
		// The URL may carry a password: it is not repeated.
		return "", fmt.Errorf("--sandbox keeps its own state in %s and never uses another: drop --state, or unset APPLINKCTL_STATE for this command",
			filepath.Join(dir, "states"))
	}
	ws := global(c, "workspace").String("workspace")
	if ws == "" {
		ws = state.DefaultWorkspace(files)
	}
	if !validWorkspace(ws) {
		return "", fmt.Errorf("--workspace %q: under --sandbox it names a directory: use letters, digits, '.', '_' and '-' only", ws)
	}
	return "file://" + filepath.Join(dir, "states", ws, "state.json"), nil
}

// validWorkspace reports whether ws can name a directory of its own.
func validWorkspace(ws string) bool {
	if ws == "" || ws == "." || ws == ".." || len(ws) > 128 {
		return false
	}
	for _, r := range ws {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// checkPlanOrigin refuses a saved plan made against another world than
// this run's: one made in the sandbox outside it (or in another sandbox
// directory), and one made against the real API inside the sandbox.
// sandbox is this run's absolute --sandbox directory, "" for the real API.
func checkPlanOrigin(path string, o plan.Origin, sandbox string) error {
	switch {
	case o == (plan.Origin{}):
		return fmt.Errorf("plan file %s does not say what it was made against (not made by applinkctl plan, or by an older one); make the plan again", path)
	case o.Sandbox != "" && sandbox == "":
		return fmt.Errorf("plan file %s was made against the sandbox %s, not the Heroku API: a sandbox plan is never applied for real; apply it with --sandbox=%s, or make a plan without --sandbox",
			path, o.Sandbox, o.Sandbox)
	case o.Sandbox == "" && sandbox != "":
		return fmt.Errorf("plan file %s was made against the Heroku API (state %s), not the sandbox: --sandbox never applies it; make a plan with --sandbox=%s, or apply this one without --sandbox",
			path, o.State, sandbox)
	case o.Sandbox != "" && !samePath(o.Sandbox, sandbox):
		return fmt.Errorf("plan file %s was made against the sandbox %s, not %s: apply it with --sandbox=%s",
			path, o.Sandbox, sandbox, o.Sandbox)
	}
	return nil
}

// samePath reports whether two absolute paths name the same directory,
// through symbolic links when both exist.
func samePath(a, b string) bool {
	if abs, err := filepath.Abs(filepath.FromSlash(a)); err == nil {
		a = abs // a plan names a sandbox inside its working directory relatively
	}
	if a == b {
		return true
	}
	ra, errA := filepath.EvalSymlinks(a)
	rb, errB := filepath.EvalSymlinks(b)
	return errA == nil && errB == nil && ra == rb
}

// loadManifest loads the -f paths. Warnings go to stderr; when the
// manifest is invalid every problem is printed (with ::error annotations
// under GitHub Actions) and the error says how many there were.
func loadManifest(io streams, files []string) (*manifest.Manifest, error) {
	if len(files) == 0 {
		return nil, errors.New("no manifest: pass -f PATH (a file or a directory)")
	}
	m, problems, err := manifest.Load(files, manifest.Options{})
	if err != nil && !errors.Is(err, manifest.ErrInvalid) {
		return nil, err
	}
	gh := ghactions.Enabled()
	nerr := 0
	for _, p := range problems {
		if gh && p.Severity == manifest.SeverityError {
			ghactions.Annotate(io.Err, p.Severity, p.Pos.File, p.Pos.Line, p.Pos.Col, fieldMessage(p))
		}
		if p.Severity == manifest.SeverityError {
			nerr++
		}
		fmt.Fprintln(io.Err, p.String())
	}
	if err != nil {
		return nil, fmt.Errorf("manifest: %d %s (see above; applinkctl validate checks without network)", nerr, plural(nerr, "problem", "problems"))
	}
	return m, nil
}

// validFormat checks a --format value.
func validFormat(f string, allowed ...string) error {
	for _, a := range allowed {
		if f == a {
			return nil
		}
	}
	return fmt.Errorf("--format %q: want one of %v", f, allowed)
}
