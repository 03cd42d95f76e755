package apply

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/client"
	"github.com/applinkctl/applinkctl/internal/dag"
	"github.com/applinkctl/applinkctl/internal/live"
	"github.com/applinkctl/applinkctl/internal/plan"
	"github.com/applinkctl/applinkctl/internal/state"
)

// Defaults of Options, chosen for the real API: docs/apply.md says four at
// once and ten minutes per resource ("Timeouts"): OAuth flows wait for a
// person.
const (
	DefaultParallelism = 4
	DefaultTimeout     = 10 * time.Minute
	DefaultGrace       = 30 * time.Second
	// DefaultPollInitial is the engine's shortest interval between polls,
	// finer than client.Wait's 250ms: most creates (JWT ones, targets) are
	// ready within a second, and a dependent starts only once its parent is
	// seen ready, so each link of a chain would otherwise be seen up to 250ms
	// late (docs/performance.md, figure 3). Past 500ms waited the interval is
	// 20 % of the time waited anyway.
	DefaultPollInitial = 100 * time.Millisecond
	// stateWriteTimeout bounds one state write made after ctx was cancelled,
	// so a hung backend cannot keep an interrupted run alive for ever.
	stateWriteTimeout = 30 * time.Second
)

// Options tune Apply. The zero value is usable.
type Options struct {
	// Parallelism bounds the API calls in flight: a change holds one of
	// Parallelism slots from its start (reads, the intent written before a
	// mutating call) until its creating or deleting request is answered,
	// and gives it back while it waits for its resource to settle, so
	// changes waited on do not hold up the others. < 1 means 4.
	Parallelism int
	// PollConcurrency bounds the polls in flight of the changes waiting
	// for their resource (they hold no parallelism slot meanwhile). Polls
	// are reads, as cheap as the plan's, so the default is the plan's read
	// concurrency: < 1 means max(Parallelism, live.DefaultReadConcurrency).
	PollConcurrency int
	// Timeout bounds the wait of each resource for a terminal status; a
	// resource still pending then is reported pending (exit code 3) and
	// resumed by the next run. 0 means 10 minutes.
	Timeout time.Duration
	// DryRun makes every read and every decision but no mutating request and
	// no state write; events are marked DryRun.
	DryRun bool
	// WaitForBrowser waits for browser OAuth flows even without a terminal
	// (the sandbox approves them by itself).
	WaitForBrowser bool
	// Interactive says a person is at a terminal to follow redirect URIs.
	Interactive bool
	// Grace is how long in-flight mutating calls may still take after ctx is
	// cancelled, so a request the server may already have processed gets its
	// answer recorded. 0 means 30s.
	Grace time.Duration
	// Abort, once done after ctx, ends Grace at once: in-flight calls are
	// abandoned and recorded as interrupted (their intents make the next
	// run look the names up) while state is still written. The CLI ends it
	// on a second Ctrl-C. nil: calls always get their Grace.
	Abort context.Context
	// Poll is the polling cadence; Timeout and OnStatus are set per
	// resource. A zero Initial means DefaultPollInitial, other zero fields
	// client.Wait's defaults.
	Poll client.WaitOptions
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Who is recorded in state as the author of each write.
	Who string
}

func (o Options) withDefaults() Options {
	if o.Parallelism < 1 {
		o.Parallelism = DefaultParallelism
	}
	if o.PollConcurrency < 1 {
		o.PollConcurrency = max(o.Parallelism, live.DefaultReadConcurrency)
	}
	if o.Poll.Initial <= 0 {
		o.Poll.Initial = DefaultPollInitial
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Grace <= 0 {
		o.Grace = DefaultGrace
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// ErrInterrupted is what the error of an apply cut short by ctx matches
// (together with ctx's own error, so context.Canceled maps to exit 130).
var ErrInterrupted = errors.New("apply interrupted")

// ErrLockLost is what the error of an apply stopped by the loss of its
// state lock matches, together with the store's *state.LockLostError
// naming the cause. Such a run starts no change and no mutating call once
// it knows, lets the calls in flight finish, and writes no state after the
// loss: the intents it wrote before make the next run resume.
var ErrLockLost = errors.New("apply stopped")

// BlockedError refuses a plan before anything starts: some changes cannot
// be applied as planned. Each Failure's Message names the way out.
type BlockedError struct{ Changes []Failure }

func (e *BlockedError) Error() string {
	return "plan cannot be applied: " + joinFailures(e.Changes)
}

// FailedError says some changes failed. RootCauses lists only the changes
// that failed themselves, not their skipped dependents.
type FailedError struct{ RootCauses []Failure }

func (e *FailedError) Error() string {
	return fmt.Sprintf("apply: %d change(s) failed: %s", len(e.RootCauses), joinFailures(e.RootCauses))
}

// PendingError says every change that ran either reached its goal or timed
// out while still pending; the CLI exits 3 and the next run resumes them.
type PendingError struct{ StillPending []Failure }

func (e *PendingError) Error() string {
	return fmt.Sprintf("apply: %d resource(s) still pending: %s", len(e.StillPending), joinFailures(e.StillPending))
}

func joinFailures(fs []Failure) string {
	parts := make([]string, 0, len(fs))
	for _, f := range fs {
		s := string(f.Address)
		if f.RemoteID != "" {
			s += " (id " + f.RemoteID + ")"
		}
		if f.Message != "" {
			s += ": " + f.Message
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// Apply executes p through links, the AppLink API of each app by the
// manifest's app name (as liveread.Read returns them), and records into
// the store. It never returns before every started call has finished
// (bounded by Grace after ctx is cancelled) and state is written.
//
// The error is nil when every change reached its goal; *BlockedError when
// the plan was refused before starting; otherwise, in this order of
// precedence, one matching ErrInterrupted (ctx was cancelled), a
// *FailedError, or a *PendingError. The Summary is complete in every case.
func Apply(ctx context.Context, p *plan.Plan, links map[string]*client.AppLink, st *state.Store, obs Observer, opts Options) (Summary, error) {
	linkOf := func(app string) (linkAPI, error) {
		if links[app] == nil {
			return nil, fmt.Errorf("app %s: no AppLink API was resolved for it", app)
		}
		return links[app], nil
	}
	var rec recorder
	if st != nil {
		rec = st
	}
	return run(ctx, p, linkOf, rec, obs, opts)
}

// recorder is the part of *state.Store the engine writes through; every
// intent and result goes through its serialised Update.
type recorder interface {
	Update(ctx context.Context, fn func(*state.State) error) error
}

// lockWatcher is the part of *state.Store that reports the loss of the
// run's state lock.
type lockWatcher interface {
	LockLost() <-chan struct{}
	LockErr() error
}

// engine is one run of Apply.
type engine struct {
	opts  Options
	links func(app string) (linkAPI, error)
	rec   *batcher
	// readiness times each class's provisioning for the waits that
	// follow (see readiness).
	readiness readiness
	// writeCtx outlives ctx: mutating calls and state writes made after an
	// interrupt still complete, bounded by Grace (calls) or
	// stateWriteTimeout (writes).
	writeCtx context.Context
	graceCtx context.Context

	obsMu sync.Mutex
	obs   Observer

	// slots bound the calls in flight (Parallelism), polls the polls of
	// waiting changes (PollConcurrency); see dag.Slot and withToken.
	slots *dag.Semaphore
	polls chan struct{}

	// lost is closed once the run's state lock is known lost (nil: never),
	// lostErr then says why.
	lost    <-chan struct{}
	lostErr func() error

	byAddr  map[addr.Address]int // index into changes; read-only during the walk
	changes []*plan.Change
	results []result // index-addressed like changes: each node writes its own slot
	// publishing holds, per Salesforce connection with a publication in
	// the plan, the turn to publish to it (a channel of one): see
	// publishTurn. Built before the walk, read-only during it.
	publishing map[addr.Address]chan struct{}
}

// publishTurn waits for the turn to publish to connection (the
// publication's parent address), or for ctx; release gives it back. One
// publish at a time per connection lets the registration a publish made
// be told from the others by what appeared in the list, when the answer
// names none (see pubFinder).
func (e *engine) publishTurn(ctx context.Context, connection addr.Address) (release func(), err error) {
	ch := e.publishing[connection]
	if ch == nil {
		return func() {}, nil
	}
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// outcome is how a change ended.
type outcome int

const (
	notRun outcome = iota
	succeeded
	failed
	stillPending
	skipped
)

// result is what happened to one change.
type result struct {
	outcome  outcome
	remoteID string
	status   string
	message  string
	// interrupted marks a pending or skipped result caused by ctx's cancel.
	interrupted bool
}

// errNotDone tells the walk a change did not reach its goal, so its
// dependents are skipped; the reason is in the change's result.
var errNotDone = errors.New("change did not reach its goal")

func run(ctx context.Context, p *plan.Plan, links func(string) (linkAPI, error), rec recorder, obs Observer, opts Options) (Summary, error) {
	opts = opts.withDefaults()
	start := opts.Now()
	if p == nil {
		return Summary{DryRun: opts.DryRun, Started: start, Ended: opts.Now()}, errors.New("apply: no plan")
	}
	if err := check(p); err != nil {
		return Summary{DryRun: opts.DryRun, Started: start, Ended: opts.Now()}, err
	}
	if rec == nil && !opts.DryRun {
		return Summary{Started: start, Ended: opts.Now()}, errors.New("apply: no state store")
	}

	// A lost lock stops the run as an interrupt does: no new change
	// starts, waits end, calls in flight get their grace.
	var lost <-chan struct{}
	lostErr := func() error { return nil }
	if w, ok := rec.(lockWatcher); ok && !opts.DryRun {
		lost, lostErr = w.LockLost(), w.LockErr
	}
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	if lost != nil {
		select {
		case <-lost:
			stop(lostErr()) // lost before anything started
		default:
			go func() {
				select {
				case <-lost:
					stop(lostErr())
				case <-ctx.Done():
				}
			}()
		}
	}

	writeCtx := context.WithoutCancel(ctx)
	graceCtx, cancelGrace := context.WithCancel(writeCtx)
	defer cancelGrace()
	stopGrace := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(opts.Grace, cancelGrace)
		context.AfterFunc(graceCtx, func() { t.Stop() })
	})
	defer stopGrace()
	if opts.Abort != nil {
		// Only after ctx: a call cut short while ctx is live would be
		// reported as failed rather than interrupted.
		stopAbort := context.AfterFunc(opts.Abort, func() { context.AfterFunc(ctx, cancelGrace) })
		defer stopAbort()
	}

	e := &engine{
		opts:     opts,
		links:    links,
		writeCtx: writeCtx,
		graceCtx: graceCtx,
		obs:      obs,
		slots:    dag.NewSemaphore(opts.Parallelism),
		polls:    make(chan struct{}, opts.PollConcurrency),
		byAddr:   make(map[addr.Address]int, len(p.Changes)),
		changes:  p.Changes,
		results:  make([]result, len(p.Changes)),
		lost:     lost,
		lostErr:  lostErr,

		publishing: map[addr.Address]chan struct{}{},
	}
	if rec != nil {
		e.rec = &batcher{rec: rec}
	}
	for i, c := range p.Changes {
		e.byAddr[c.Address] = i
		if c.Kind == addr.KindPublication && e.publishing[c.Address.Parent()] == nil {
			e.publishing[c.Address.Parent()] = make(chan struct{}, 1)
		}
	}

	// Creates, replaces, republishes, adopts and waits first, parent before
	// child; prunes only after all of them, so nothing is deleted while the
	// run could still fail to build what replaces it (see plan.Graphs).
	gs := p.Graph()
	e.walk(ctx, gs.Create)
	e.walk(ctx, gs.Delete)

	lockErr := e.lockLost()
	end := opts.Now()
	s := e.summary(end.Sub(start), ctx.Err() != nil || lockErr != nil)
	s.Started, s.Ended = start, end
	e.obsMu.Lock()
	if e.obs != nil {
		e.obs.Done(s)
	}
	e.obsMu.Unlock()

	switch {
	case lockErr != nil:
		return s, fmt.Errorf("%w: %w", ErrLockLost, lockErr)
	case s.Interrupted:
		return s, fmt.Errorf("%w: %w", ErrInterrupted, ctx.Err())
	case len(s.RootCauses) > 0:
		return s, &FailedError{RootCauses: s.RootCauses}
	case len(s.StillPending) > 0:
		return s, &PendingError{StillPending: s.StillPending}
	}
	return s, nil
}

// check refuses a plan that cannot be applied, before any request: blocked
// changes, protected resources that would be deleted or replaced, and
// changes whose manifest resource was not loaded.
func check(p *plan.Plan) error {
	var bad []Failure
	for _, c := range p.Changes {
		switch {
		case c.Blocked != "":
			bad = append(bad, Failure{Address: c.Address, Message: "blocked: " + c.Blocked})
		case c.Protected && c.Action == plan.Delete:
			// Pruned: its block is gone, only state holds the flag.
			bad = append(bad, Failure{Address: c.Address, Message: "protected: refusing to delete it; release it first: " + plan.UnprotectCommand(c.Address, p.Options.StateArgs)})
		case c.Protected && c.Action == plan.Replace:
			bad = append(bad, Failure{Address: c.Address, Message: "protected: refusing to replace it; remove protect: true first"})
		case c.Action != plan.Delete && c.Action != plan.Noop && c.Action != plan.Adopt && c.Desired == nil:
			bad = append(bad, Failure{Address: c.Address, Message: "the manifest resource was not loaded"})
		case c.Kind == addr.KindPublication && (c.Action == plan.Create || c.Action == plan.Republish || c.Action == plan.Replace) && c.Bundle == nil:
			bad = append(bad, Failure{Address: c.Address, Message: "the publication bundle was not built"})
		}
	}
	if len(bad) > 0 {
		slices.SortFunc(bad, func(a, b Failure) int { return strings.Compare(string(a.Address), string(b.Address)) })
		return &BlockedError{Changes: bad}
	}
	return nil
}

// lockLost is the *state.LockLostError once the run knows its lock is
// lost, else nil.
func (e *engine) lockLost() error {
	if e.lost == nil {
		return nil
	}
	select {
	case <-e.lost:
		return e.lostErr()
	default:
		return nil
	}
}

// stopReason says why a change did not start once ctx is done: the
// interrupt, or the lost lock.
func stopReason(ctx context.Context) string {
	var le *state.LockLostError
	if errors.As(context.Cause(ctx), &le) {
		return "not started: this run lost the state lock"
	}
	return "interrupted"
}

// emit sends one event, serialised.
func (e *engine) emit(ev Event) {
	if ev.Time.IsZero() {
		ev.Time = e.opts.Now()
	}
	ev.DryRun = e.opts.DryRun
	e.obsMu.Lock()
	defer e.obsMu.Unlock()
	if e.obs != nil {
		e.obs.Event(ev)
	}
}

// summary counts the results; failures and pendings are sorted by address.
func (e *engine) summary(wall time.Duration, interrupted bool) Summary {
	s := Summary{Wall: wall, DryRun: e.opts.DryRun, Interrupted: interrupted}
	for i, c := range e.changes {
		r := e.results[i]
		f := Failure{Address: c.Address, RemoteID: r.remoteID, Status: r.status, Message: r.message}
		switch r.outcome {
		case succeeded:
			if c.Action != plan.Delete {
				s.Settled = append(s.Settled, c.Address)
			}
			switch c.Action {
			case plan.Create:
				s.Created++
			case plan.Replace:
				s.Replaced++
			case plan.Republish:
				s.Republished++
			case plan.Delete:
				s.Deleted++
			case plan.Adopt:
				s.Adopted++
			default:
				s.Unchanged++
			}
		case failed:
			s.Failed++
			s.RootCauses = append(s.RootCauses, f)
		case stillPending:
			s.Pending++
			s.StillPending = append(s.StillPending, f)
		case skipped, notRun:
			s.Skipped++
		}
	}
	slices.Sort(s.Settled)
	return s
}
