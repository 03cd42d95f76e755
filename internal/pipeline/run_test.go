package pipeline_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/apply"
	"github.com/applinkctl/applinkctl/internal/client"
	"github.com/applinkctl/applinkctl/internal/emulator"
	"github.com/applinkctl/applinkctl/internal/manifest"
	"github.com/applinkctl/applinkctl/internal/pipeline"
	"github.com/applinkctl/applinkctl/internal/plan"
	"github.com/applinkctl/applinkctl/internal/state"
	"github.com/applinkctl/applinkctl/internal/testkit"
)

// These tests open runs through the public API against the in-process
// emulator and a file state, and check above all that the state lock is
// released on every path out of Open and Close.

const oneConnection = `version: 1
apps:
  pipe-app:
    connections:
      events_dc:
        type: datacloud
`

type world struct {
	srv      *emulator.Server
	manifest string
	state    string // file:// URL
}

func newWorld(t *testing.T, body string) *world {
	t.Helper()
	dir := t.TempDir()
	srv := testkit.Emulator(t, emulator.Options{ApproveOAuthAfter: time.Millisecond})
	testkit.SeedApp(t, srv, "pipe-app", 1)
	return &world{srv: srv, manifest: testkit.WriteFile(t, dir, "applink.yaml", body),
		state: "file://" + filepath.Join(dir, "state", "state.json")}
}

// quiet is an apply observer that shows nothing.
type quiet struct{}

func (quiet) Event(apply.Event)  {}
func (quiet) Done(apply.Summary) {}

// recorder is a Reporter that keeps what it is told.
type recorder struct {
	problems []manifest.Problem
	warnings []error
}

func (r *recorder) ManifestProblems(p []manifest.Problem) { r.problems = append(r.problems, p...) }
func (r *recorder) Warning(err error)                     { r.warnings = append(r.warnings, err) }

// inputs are a locking run's inputs; opened counts platform opens and
// closed their closes.
func (w *world) inputs(t *testing.T, opened, closed *atomic.Int32) pipeline.Inputs {
	return pipeline.Inputs{
		Files: []string{w.manifest}, StateURL: w.state, Operation: "apply", Lock: true,
		Platform: func(context.Context, []string) (*client.Platform, func(), error) {
			opened.Add(1)
			return testkit.Platform(t, w.srv), func() { closed.Add(1) }, nil
		},
	}
}

// openState opens the run's state backend, closed when the test ends.
func (w *world) openState(t *testing.T) state.Backend {
	t.Helper()
	b, err := state.Open(context.Background(), w.state, state.OpenOptions{ManifestFiles: []string{w.manifest}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// assertUnlocked takes and releases the lock on the run's state: it fails
// when a run left the lock behind.
func (w *world) assertUnlocked(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	b := w.openState(t)
	release, err := b.Lock(ctx, state.NewLockInfo("test"), 0)
	if err != nil {
		t.Fatalf("the lock was left behind: %v", err)
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
}

// assertLocked fails unless the run's state is locked now.
func (w *world) assertLocked(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	b := w.openState(t)
	var locked *state.LockedError
	if release, err := b.Lock(ctx, state.NewLockInfo("test"), 0); !errors.As(err, &locked) {
		if err == nil {
			_ = release()
		}
		t.Fatalf("state not locked: %v", err)
	}
}

func TestOpenReleasesLockWhenPlatformFails(t *testing.T) {
	w := newWorld(t, oneConnection)
	var opened, closed atomic.Int32
	in := w.inputs(t, &opened, &closed)
	in.Platform = func(context.Context, []string) (*client.Platform, func(), error) {
		w.assertLocked(t) // the lock is taken before the world is read
		return nil, nil, errors.New("no platform today")
	}
	r, err := pipeline.Open(context.Background(), in)
	if err == nil || r != nil || !strings.Contains(err.Error(), "no platform today") {
		t.Fatalf("Open = %v, %v", r, err)
	}
	w.assertUnlocked(t)
}

func TestOpenReleasesLockWhenLiveReadFails(t *testing.T) {
	// An app the account does not have: the read fails after the lock
	// and the platform are taken.
	w := newWorld(t, strings.ReplaceAll(oneConnection, "pipe-app", "other-app"))
	var opened, closed atomic.Int32
	var handed func() error
	in := w.inputs(t, &opened, &closed)
	in.OnLock = func(release func() error) { handed = release }
	r, err := pipeline.Open(context.Background(), in)
	if err == nil || r != nil || !strings.Contains(err.Error(), "other-app") {
		t.Fatalf("Open = %v, %v", r, err)
	}
	if opened.Load() != 1 || closed.Load() != 1 {
		t.Errorf("platform opened %d, closed %d times; want 1 and 1", opened.Load(), closed.Load())
	}
	if handed == nil {
		t.Fatal("OnLock was not called once the lock was held")
	}
	w.assertUnlocked(t)
	// The release handed out is the one Open used: calling it again is
	// harmless and takes nobody else's lock away.
	if err := handed(); err != nil {
		t.Errorf("second release: %v", err)
	}
}

func TestOpenReleasesLockWhenCancelled(t *testing.T) {
	w := newWorld(t, oneConnection)
	var opened, closed atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	in := w.inputs(t, &opened, &closed)
	in.OnLock = func(func() error) { cancel() } // Ctrl-C right after the lock
	r, err := pipeline.Open(ctx, in)
	if !errors.Is(err, context.Canceled) || r != nil {
		t.Fatalf("Open = %v, %v; want context.Canceled", r, err)
	}
	w.assertUnlocked(t)
}

func TestOpenInvalidManifestTakesNoLock(t *testing.T) {
	w := newWorld(t, oneConnection+"        login_url: ftp://nowhere\n")
	var opened, closed atomic.Int32
	rec := &recorder{}
	in := w.inputs(t, &opened, &closed)
	in.Reporter = rec
	r, err := pipeline.Open(context.Background(), in)
	var invalid *manifest.InvalidError
	if !errors.As(err, &invalid) || r != nil {
		t.Fatalf("Open = %v, %v; want *manifest.InvalidError", r, err)
	}
	if len(rec.problems) == 0 || len(rec.problems) != len(invalid.Problems) {
		t.Errorf("reporter got %v, error lists %v", rec.problems, invalid.Problems)
	}
	if opened.Load() != 0 {
		t.Error("the platform was opened for an invalid manifest")
	}
	w.assertUnlocked(t)
}

func TestOpenLockedByAnotherRunFails(t *testing.T) {
	w := newWorld(t, oneConnection)
	var opened, closed atomic.Int32
	first, err := pipeline.Open(context.Background(), w.inputs(t, &opened, &closed))
	if err != nil {
		t.Fatal(err)
	}
	_, err = pipeline.Open(context.Background(), w.inputs(t, &opened, &closed))
	var locked *state.LockedError
	if !errors.As(err, &locked) {
		t.Fatalf("second Open = %v; want *state.LockedError", err)
	}
	// The refused run released nothing of the first's.
	w.assertLocked(t)
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	w.assertUnlocked(t)
	if err := first.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestOpenWithoutLockLeavesStateFree(t *testing.T) {
	w := newWorld(t, oneConnection)
	var opened, closed atomic.Int32
	in := w.inputs(t, &opened, &closed)
	in.Lock = false
	r, err := pipeline.Open(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	w.assertUnlocked(t) // plan and drift take no lock
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if closed.Load() != 1 {
		t.Errorf("platform closed %d times; want 1", closed.Load())
	}
}

// A whole run: plan, apply, history, then a second run finds nothing to do.
func TestPlanApplyRecordsHistoryAndReleases(t *testing.T) {
	w := newWorld(t, oneConnection)
	var opened, closed atomic.Int32
	ctx := context.Background()
	rec := &recorder{}
	in := w.inputs(t, &opened, &closed)
	in.Reporter = rec
	r, err := pipeline.Open(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	p, err := r.Plan(pipeline.PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !p.HasChanges() || p.Origin.State == "" {
		t.Fatalf("plan has no changes or no origin: %+v", p)
	}
	s, err := r.Apply(ctx, p, quiet{}, pipeline.ApplyOptions{Parallelism: 2, Timeout: time.Minute, WaitForBrowser: true})
	if err != nil || s.Created != 1 {
		t.Fatalf("Apply = %+v, %v", s, err)
	}
	w.assertLocked(t) // held until Close
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	w.assertUnlocked(t)
	if len(rec.warnings) > 0 {
		t.Errorf("warnings: %v", rec.warnings)
	}

	b := w.openState(t)
	h, err := b.History(ctx, 0)
	if err != nil || len(h) != 1 {
		t.Fatalf("history = %+v, %v", h, err)
	}
	if got := h[0]; got.Outcome != "success" || got.Summary["created"] != 1 || got.PlanHash != apply.History(p, apply.Summary{}, nil).PlanHash || got.Who == "" {
		t.Errorf("history record %+v", got)
	}

	// A saved plan made before the apply is stale now.
	r, err = pipeline.Open(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var stale *plan.StaleError
	if _, err := r.Replan(p); !errors.As(err, &stale) {
		t.Errorf("Replan of an applied plan = %v; want *plan.StaleError", err)
	}
	again, err := r.Plan(pipeline.PlanOptions{})
	if err != nil || again.HasChanges() {
		t.Errorf("second plan: changes %v, %v", again != nil && again.HasChanges(), err)
	}
}
