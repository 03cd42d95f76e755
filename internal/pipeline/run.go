package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/applinkctl/applinkctl/internal/client"
	"github.com/applinkctl/applinkctl/internal/live"
	"github.com/applinkctl/applinkctl/internal/liveread"
	"github.com/applinkctl/applinkctl/internal/manifest"
	"github.com/applinkctl/applinkctl/internal/plan"
	"github.com/applinkctl/applinkctl/internal/state"
)

// Opener opens the Platform client of a run whose manifest declares apps:
// the Heroku API, or the sandbox's emulator (which ensures those apps). The
// returned close func is called once the run is done with the client.
type Opener func(ctx context.Context, apps []string) (*client.Platform, func(), error)

// Reporter receives what a run finds on the way that is not its result.
// The view implements it; a nil Reporter drops everything.
type Reporter interface {
	// ManifestProblems is every problem of the manifest, warnings
	// included, sorted by position; called once per Open, only when there
	// are some. When one is an error, Open then fails with the
	// *manifest.InvalidError that lists them all: a Reporter that prints
	// should print only the warnings of a manifest without errors.
	ManifestProblems([]manifest.Problem)
	// Warning is a failure that does not fail the run (a history record
	// that could not be written).
	Warning(error)
}

// Inputs are what a run is made from.
type Inputs struct {
	Files       []string // manifest paths, files or directories
	StateURL    string   // state backend; "" is the default beside the first manifest
	Workspace   string   // state workspace; "" derives it from Files
	Parallelism int      // bound on concurrent read calls; < 1 means live.DefaultReadConcurrency
	Platform    Opener   // required

	// Sandbox is the absolute sandbox directory, "" for the real API; it
	// is recorded in the plan's origin.
	Sandbox string

	// Operation names the run in the lock and the history ("apply").
	Operation string
	// Lock takes the state lock before state is read and holds it until
	// Close: a plan made from state another run is changing would be
	// wrong. Runs that write nothing (plan, drift, a dry run) take none.
	Lock        bool
	LockTimeout time.Duration // how long to wait for it; 0 fails at once
	// OnLock, when set, is given the lock's release as soon as the lock is
	// held, for a last-resort exit that must not leave it behind. That
	// release and Close share one call: the lock is released exactly once.
	OnLock func(release func() error)

	Reporter Reporter

	// StateArgs are the words that make a printed command use this run's
	// state (plan.Options.StateArgs): the commands its plans' errors name
	// (state unprotect) carry them. Drift's repair commands are built by
	// the view from the same invocation (view.Invocation.StepCommand).
	StateArgs []string
}

// Run is one opened run: manifest, state and live world, read
// consistently, with the lock held when Inputs.Lock asked for it. Close it
// once done, on every path.
type Run struct {
	Manifest *manifest.Manifest
	World    *live.World // plain records; the clients that read it are links
	// State is the state as loaded, under the lock when one is held.
	State *state.State

	in      Inputs
	links   liveread.Links // the AppLink API of each app, for Apply
	backend state.Backend
	store   *state.Store
	who     state.LockInfo // who runs this, whether or not the lock is taken
	release func() error   // once-only; nil when no lock is held
	stop    func()         // the platform's close; nil until opened
	closed  bool
}

// Open loads the manifest (handing its problems to the Reporter), opens the
// state backend, takes the lock when asked, loads the state, opens the
// platform and reads the live world. On error everything it opened is
// closed again and the lock, if taken, released.
func Open(ctx context.Context, in Inputs) (w *Run, err error) {
	if len(in.Files) == 0 {
		return nil, errors.New("no manifest: pass -f PATH (a file or a directory)")
	}
	if in.Platform == nil {
		return nil, errors.New("pipeline: no platform opener")
	}
	m, err := LoadManifest(in.Files, in.Reporter)
	if err != nil {
		return nil, err
	}
	w = &Run{Manifest: m, in: in, who: state.NewLockInfo(in.Operation)}
	defer func() {
		if err != nil {
			// The first error is the run's; a failed release after it
			// is not news (the lock is then left to expire or to
			// state unlock, and the error above says why).
			_ = w.Close()
			w = nil
		}
	}()
	backend, err := state.Open(ctx, in.StateURL, state.OpenOptions{ManifestFiles: in.Files, Workspace: in.Workspace})
	if err != nil {
		return w, err
	}
	w.backend = backend
	if in.Lock {
		release, err := backend.Lock(ctx, w.who, in.LockTimeout)
		if err != nil {
			// Its unlock command selects this run's state, as typed.
			return w, state.WithStateArgs(err, in.StateArgs)
		}
		var once sync.Once
		var rerr error
		w.release = func() error {
			once.Do(func() { rerr = release() })
			return rerr
		}
		if in.OnLock != nil {
			in.OnLock(w.release)
		}
	}
	if w.store, err = state.NewStore(ctx, backend); err != nil {
		return w, err
	}
	w.State = w.store.Snapshot()
	apps := make([]string, 0, len(m.Apps))
	for _, a := range m.Apps {
		apps = append(apps, a.Name)
	}
	p, closePlatform, err := in.Platform(ctx, apps)
	if err != nil {
		return w, err
	}
	w.stop = closePlatform
	if w.World, w.links, err = liveread.Read(ctx, p, m, in.Parallelism); err != nil {
		return w, err
	}
	return w, nil
}

// LoadManifest loads the manifest at paths and hands every problem to r.
// An invalid manifest fails with the manifest's own *manifest.InvalidError,
// which lists every problem (warnings included) one per line: that error is
// how the person sees them, printed once.
func LoadManifest(paths []string, r Reporter) (*manifest.Manifest, error) {
	m, problems, err := manifest.Load(paths, manifest.Options{})
	if len(problems) > 0 && r != nil {
		r.ManifestProblems(problems)
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

// ErrorCount is how many of problems are errors rather than warnings.
func ErrorCount(problems []manifest.Problem) int {
	n := 0
	for _, p := range problems {
		if p.Severity == manifest.SeverityError {
			n++
		}
	}
	return n
}

// Describe names the state backend as messages do (never with a password).
func (w *Run) Describe() string { return w.backend.Describe() }

// Who is who runs this, as the lock and the history record it.
func (w *Run) Who() state.LockInfo { return w.who }

// Origin is what a plan of this run is made against: the sandbox
// directory and the state, named so that the plan stays valid in another
// checkout of the same repository.
func (w *Run) Origin() plan.Origin {
	return plan.Origin{Sandbox: relToWD(w.in.Sandbox), State: stateForPlan(w.backend.Describe())}
}

// Plan diffs manifest, live world and state with opts.
func (w *Run) Plan(opts PlanOptions) (*plan.Plan, error) {
	return w.diff(opts.diffOptions())
}

// PlanOrReplan is Replan(saved) when saved is not nil, else Plan(opts):
// apply's plan, from a saved plan or made now.
func (w *Run) PlanOrReplan(saved *plan.Plan, opts PlanOptions) (*plan.Plan, error) {
	if saved != nil {
		return w.Replan(saved)
	}
	return w.Plan(opts)
}

// diff is Plan with the options as plan.Diff takes them.
func (w *Run) diff(opts plan.Options) (*plan.Plan, error) {
	opts.StateArgs = w.in.StateArgs
	p, err := plan.Diff(w.Manifest, w.World, w.State, opts)
	if err != nil {
		return nil, err
	}
	p.Origin = w.Origin()
	return p, nil
}

// Replan makes saved's plan again with the options it was made with and
// refuses it, with plan.CheckStale's *plan.StaleError, when
// anything it saw has changed since. The fresh plan is what apply runs:
// it carries the live ids a saved plan may lack.
func (w *Run) Replan(saved *plan.Plan) (*plan.Plan, error) {
	p, err := w.diff(saved.Options)
	if err != nil {
		return nil, err
	}
	if err := plan.CheckStale(saved, p); err != nil {
		return nil, err
	}
	return p, nil
}

// Drift classifies how the live world differs from manifest and state, and
// dates each finding from the state history (plan.AddSince): since the
// last apply that left its resource as declared. A history that cannot be
// read costs only the dates, with a warning to the Reporter.
func (w *Run) Drift(ctx context.Context, ignore []string) ([]plan.Finding, error) {
	fs, err := plan.Drift(w.Manifest, w.World, w.State, ignore)
	if err != nil || len(fs) == 0 {
		return fs, err
	}
	recs, herr := w.backend.History(ctx, 0)
	if herr != nil {
		if w.in.Reporter != nil {
			w.in.Reporter.Warning(fmt.Errorf("state %s: history: %w; the findings' since is unknown", w.backend.Describe(), herr))
		}
		return fs, nil
	}
	plan.AddSince(fs, recs)
	return fs, nil
}

// ReleaseLock releases the state lock now, if one is held; later calls,
// and Close, return the first call's result. It may be called from
// another goroutine (a signal handler's last resort).
func (w *Run) ReleaseLock() error {
	if w.release == nil {
		return nil
	}
	if err := w.release(); err != nil {
		return fmt.Errorf("state %s: release lock: %w", w.backend.Describe(), err)
	}
	return nil
}

// Close stops the platform, releases the lock and closes the backend, in
// that order. Only the lock's release can fail the run: the error says so.
// Close is idempotent.
func (w *Run) Close() error {
	if w == nil || w.closed {
		return nil
	}
	w.closed = true
	if w.stop != nil {
		w.stop()
	}
	err := w.ReleaseLock()
	if w.backend != nil {
		_ = w.backend.Close()
	}
	return err
}
