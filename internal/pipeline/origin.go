package pipeline

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/applinkctl/applinkctl/internal/plan"
	"github.com/applinkctl/applinkctl/internal/planfile"
)

// ReadSaved reads the saved plan at path (from plan --out) for a run
// against sandbox (the absolute sandbox directory, "" for the real API) and
// refuses one made against another world, or naming no manifest. An empty
// path names no saved plan: nil, nil.
func ReadSaved(path, sandbox string) (*plan.Plan, error) {
	if path == "" {
		return nil, nil
	}
	saved, err := planfile.Read(path)
	if err != nil {
		return nil, err
	}
	if err := CheckOrigin(path, saved.Origin, sandbox); err != nil {
		return nil, err
	}
	if len(saved.ManifestFiles) == 0 {
		return nil, fmt.Errorf("plan file %s: names no manifest file", path)
	}
	return saved, nil
}

// ReadPlanFile reads the saved plan at path as it is, for a command that
// only shows it (graph --plan): no origin check.
func ReadPlanFile(path string) (*plan.Plan, error) { return planfile.Read(path) }

// WriteSaved saves p to path (plan --out) for apply PLANFILE, atomically.
func WriteSaved(path string, p *plan.Plan) error { return planfile.Write(path, p) }

// IsStale reports whether err refuses a saved plan because something it saw
// has changed since (Replan's *plan.StaleError): making it again helps.
func IsStale(err error) bool {
	var stale *plan.StaleError
	return errors.As(err, &stale)
}

// CheckOrigin refuses a saved plan made against another world than this
// run's: one made in the sandbox outside it (or in another sandbox
// directory), and one made against the real API inside the sandbox.
// sandbox is this run's absolute sandbox directory, "" for the real API.
func CheckOrigin(path string, o plan.Origin, sandbox string) error {
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
