package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/applinkctl/applinkctl/internal/client"
	"github.com/applinkctl/applinkctl/internal/emulator"
	"github.com/applinkctl/applinkctl/internal/ghactions"
	"github.com/applinkctl/applinkctl/internal/live"
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

// planRun is everything one plan was made from. Apply executes Plan against
// World (whose apps carry their resolved AppLink clients) and records into
// Backend; Close releases the backend and stops a sandbox emulator, and must
// be called once the command is done.
type planRun struct {
	Manifest *manifest.Manifest
	World    *live.World
	State    *state.State // as loaded; apply builds its Store from Backend
	Backend  state.Backend
	Platform *client.Platform
	Sandbox  *emulator.Server // nil unless --sandbox
	Plan     *plan.Plan       // nil from prepareWorld
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
	backend, err := state.Open(ctx, global(c, "state").String("state"), state.OpenOptions{ManifestFiles: in.Files,
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
	w, err := live.Read(ctx, p, m, in.Parallelism)
	if err != nil {
		closeAll()
		return nil, err
	}
	return &planRun{Manifest: m, World: w, State: st, Backend: backend, Platform: p, Sandbox: srv, Close: closeAll}, nil
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
