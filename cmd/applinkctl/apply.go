package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/applinkctl/applinkctl/internal/pipeline"
	"github.com/applinkctl/applinkctl/internal/pipeline/ghreport"
	"github.com/applinkctl/applinkctl/internal/view"
)

// applyOptions are the choices of one `applinkctl apply`.
type applyOptions struct {
	IO    streams
	World worldOptions

	Files       []string // -f: plan now, show it, confirm
	PlanFile    string   // or a saved plan, executed exactly after the staleness check
	Plan        pipeline.PlanOptions
	DryRun      bool
	AutoApprove bool
	Parallelism int
	Timeout     time.Duration
	LockTimeout time.Duration
	// WaitForBrowser waits for browser OAuth flows without a terminal;
	// --sandbox implies it because the emulator approves them itself.
	WaitForBrowser bool
	OpenBrowser    bool
	Format         string // text | json
	GitHub         ghreport.Reporter
}

func applyCommand(io streams) *cli.Command {
	return &cli.Command{
		Name:      "apply",
		Usage:     "execute a plan: create, replace, republish and prune in dependency order",
		ArgsUsage: "[PLANFILE]",
		Description: "With -f, apply plans the manifest, shows the plan and asks for confirmation (on a\n" +
			"terminal; elsewhere pass --auto-approve). With PLANFILE (from `plan --out`), it executes\n" +
			"exactly that plan once live state, state, keys and specs are checked unchanged.\n" +
			"--target and --replace take the address patterns of plan. A plan with blocked changes is\n" +
			"refused, naming the command that unblocks it.\n" +
			"Exit codes: 0 done, 1 error (also: the state lock was lost mid-run), 3 some resources still\n" +
			"pending at --timeout (the next run resumes them), 130 interrupted (state is saved; run apply\n" +
			"again).\n\n" +
			"Examples:\n" +
			"   applinkctl apply -f applink.yaml\n" +
			"   applinkctl apply plan.json\n" +
			"   applinkctl apply -f applink.yaml --target acme-api/connection/prod_org --dry-run",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "file", Aliases: []string{"f"}, Usage: "manifest `PATH` (file or directory); repeatable"},
			&cli.BoolFlag{Name: "prune", Usage: "delete what state says applinkctl manages and the manifest no longer declares"},
			&cli.BoolFlag{Name: "allow-empty", Usage: "allow --prune with a manifest that declares nothing"},
			&cli.BoolFlag{Name: "dry-run", Usage: "walk the plan, read and decide everything, but send no write and change no state"},
			&cli.BoolFlag{Name: "auto-approve", Usage: "apply without asking for confirmation"},
			&cli.IntFlag{Name: "parallelism", Value: pipeline.DefaultApplyParallelism, Usage: "at most `N` mutating API calls in flight at once (waits for resources to settle do not count)"},
			&cli.DurationFlag{Name: "timeout", Value: pipeline.DefaultApplyTimeout, Usage: "how long (`DURATION`, e.g. 10m or 90s) to wait for each resource to be ready"},
			&cli.DurationFlag{Name: "lock-timeout", Value: 0, Usage: "how long (`DURATION`, e.g. 30s) to wait for the state lock, saying who holds it meanwhile (0: fail at once)"},
			&cli.StringSliceFlag{Name: "target", Usage: "only resources matching `PATTERN` (as plan --target) and what they depend on; repeatable"},
			&cli.StringSliceFlag{Name: "replace", Usage: "force the replacement of the declared resources matching `PATTERN`; repeatable"},
			&cli.BoolFlag{Name: "wait-for-browser", Usage: "wait for browser OAuth flows even without a terminal"},
			&cli.BoolFlag{Name: "open-browser", Usage: "open browser OAuth URLs (on a terminal)"},
			&cli.StringFlag{Name: "format", Value: "text", Usage: "progress `FORMAT`: text or json (one event per line on stdout)"},
		},
		Action: func(c *cli.Context) error {
			f := newFactory(c, io)
			world, err := f.World()
			if err != nil {
				return err
			}
			o := applyOptions{
				IO:             io,
				World:          world,
				Files:          c.StringSlice("file"),
				Plan:           pipeline.PlanOptions{Prune: c.Bool("prune"), AllowEmpty: c.Bool("allow-empty"), Targets: c.StringSlice("target"), Replace: c.StringSlice("replace")},
				DryRun:         c.Bool("dry-run"),
				AutoApprove:    c.Bool("auto-approve"),
				Parallelism:    c.Int("parallelism"),
				Timeout:        c.Duration("timeout"),
				LockTimeout:    c.Duration("lock-timeout"),
				WaitForBrowser: c.Bool("wait-for-browser") || f.Sandbox != "",
				OpenBrowser:    c.Bool("open-browser"),
				Format:         c.String("format"),
				GitHub:         ghreport.New(io.Err),
			}
			switch args := c.Args().Slice(); {
			case len(args) > 1:
				return fmt.Errorf("apply: want one PLANFILE, got %d arguments", len(args))
			case len(args) == 1 && len(o.Files) > 0:
				return errors.New("apply: give either -f PATH… or a PLANFILE, not both")
			case len(args) == 1:
				o.PlanFile = args[0]
				for _, f := range []string{"prune", "allow-empty", "target", "replace"} {
					if c.IsSet(f) {
						return fmt.Errorf("apply: --%s shapes a plan; a saved plan keeps the options it was made with", f)
					}
				}
			case len(o.Files) == 0:
				return errors.New("apply: want -f PATH… or a PLANFILE")
			}
			return runApply(c.Context, o)
		},
	}
}

// runApply is the whole verb: load, lock, read, plan, confirm, execute,
// record history, and map the outcome to an exit code.
func runApply(ctx context.Context, o applyOptions) (err error) {
	ios := o.IO
	format, err := view.ParseFormat(o.Format, view.FormatText, view.FormatJSON)
	if err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	if o.Parallelism < 1 {
		return fmt.Errorf("apply: --parallelism %d: want at least 1", o.Parallelism)
	}
	if o.Timeout <= 0 {
		return fmt.Errorf("apply: --timeout %s: want a positive duration", o.Timeout)
	}
	// Progress and the signal notices share stderr from different
	// goroutines.
	rawErr := ios.Err
	ios.Err = &lockedWriter{w: ios.Err}
	// The first signal cancels ctx, the second abort; see interrupts.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	abort, stopAbort := context.WithCancel(context.Background())
	defer stopAbort()
	sigs := watchInterrupts(ios.Err, cancel, stopAbort, o.DryRun)
	defer sigs.stop()

	files := o.Files
	saved, err := pipeline.ReadSaved(o.PlanFile, o.World.Sandbox) // nil without a PLANFILE
	if err != nil {
		return err
	}
	if saved != nil {
		files = saved.ManifestFiles
	}
	in, err := o.World.inputs(files, 0, o.GitHub.View(ios.Err)) // reads run at the read bound, not --parallelism
	if err != nil {
		return err
	}
	// A dry run writes nothing and takes no lock, like plan. Whoever
	// comes first, this run's end or a last-resort exit, releases it, once.
	in.Operation, in.Lock, in.LockTimeout, in.OnLock = "apply", !o.DryRun, o.LockTimeout, sigs.holdLock
	w, err := pipeline.Open(ctx, in)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := w.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	inv := o.World.Invocation("apply", files)
	p, err := w.PlanOrReplan(saved, o.Plan)
	if err != nil {
		if saved == nil || !pipeline.IsStale(err) {
			return err
		}
		return fmt.Errorf("%w\nto make it again, run: %s --out %s", err, inv.Command("plan", saved.Options), view.ShellQuote(o.PlanFile))
	}

	color := view.ColorEnabled(ios.Out, o.World.NoColor)
	// A plan whose only difference is a protect flag to record changes
	// nothing live ("No changes.") but is still applied, to state.
	if !p.HasChanges() && !p.RecordsState() {
		if format == view.FormatText {
			// "No changes.", and what a run without --prune leaves alone.
			if err := view.RenderPlan(ios.Out, p, view.FormatText, view.Options{Color: color, Invocation: inv}); err != nil {
				return err
			}
		} else {
			view.NewJSONEvents(ios.Out).Done(pipeline.NothingToApply(p, o.DryRun))
		}
		return nil
	}
	if blocked := view.BlockedError(p, inv); blocked != nil {
		if format == view.FormatText {
			_ = view.RenderPlan(ios.Out, p, view.FormatText, view.Options{Color: color, Invocation: inv})
		}
		return fmt.Errorf("apply: %w", blocked)
	}
	// Only waiting on resources an earlier run left pending changes
	// nothing: no question then.
	ask := saved == nil && !o.AutoApprove && !o.DryRun && p.HasChanges()
	switch {
	case saved == nil && format == view.FormatText:
		if err := view.RenderPlan(ios.Out, p, view.FormatText, view.Options{Color: color, Invocation: inv}); err != nil {
			return err
		}
	case ask && isTTY(ios.In):
		// stdout carries JSON events: show the person the plan on stderr.
		if err := view.RenderPlan(ios.Err, p, view.FormatText, view.Options{Color: view.ColorEnabled(rawErr, o.World.NoColor), Invocation: inv}); err != nil {
			return err
		}
	}
	if ask {
		if err := confirm(ios); err != nil {
			return err
		}
	}

	interactive := isTTY(ios.In) && isTTY(rawErr)
	obs := view.NewJSONEvents(ios.Out)
	if format != view.FormatJSON {
		obs = view.NewProgress(ios.Err, view.IsTerminal(rawErr), view.Options{Color: view.ColorEnabled(rawErr, o.World.NoColor)})
	}
	if o.OpenBrowser && interactive {
		obs = pipeline.OpenBrowsers(ctx, obs)
	}

	summary, applyErr := w.Apply(ctx, p, obs, pipeline.ApplyOptions{
		Parallelism:    o.Parallelism,
		Timeout:        o.Timeout,
		DryRun:         o.DryRun,
		WaitForBrowser: o.WaitForBrowser,
		Interactive:    interactive,
		Abort:          abort,
	})
	if err := o.GitHub.Apply(summary); err != nil {
		fmt.Fprintf(ios.Err, "warning: %v\n", err)
	}
	return applyExit(applyErr)
}

// applyExit maps the engine's outcome to the exit codes of docs/apply.md.
// The observer already printed the details, so most carry no message.
func applyExit(applyErr error) error {
	outcome, err := pipeline.ApplyOutcome(applyErr)
	switch outcome {
	case pipeline.Done:
		return nil
	case pipeline.Failed:
		return withExitCode(exitError, err)
	case pipeline.Interrupted:
		return withExitCode(exitInterrupted, err)
	case pipeline.Pending:
		return withExitCode(exitPending, err)
	}
	return err
}

// errNoTerminal refuses an unconfirmed apply where nobody can answer.
var errNoTerminal = errors.New("apply: no terminal to confirm on; review the plan and pass --auto-approve, or apply a saved plan (plan --out FILE, then apply FILE)")

// confirm asks on a terminal; elsewhere it refuses.
func confirm(ios streams) error {
	if !isTTY(ios.In) {
		return errNoTerminal
	}
	return ask(ios.In, ios.Err)
}

// ask puts the question and accepts only "yes".
func ask(in io.Reader, out io.Writer) error {
	fmt.Fprint(out, "\nDo you want to apply these changes? Only 'yes' is accepted: ")
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("apply: reading the answer: %w", err)
	}
	if strings.TrimSpace(line) != "yes" {
		return errors.New("apply cancelled: the answer was not 'yes'")
	}
	return nil
}

func isTTY(v any) bool {
	f, ok := v.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// abortDeadline is how long a run may still take after the second signal
// (abandon the calls in flight, write state, release the lock) before the
// last resort: release the lock from the signal handler and exit.
const abortDeadline = 10 * time.Second

// interrupts handles SIGINT and SIGTERM alike during an apply. The first
// cancels the run: nothing new starts, calls in flight get apply's grace
// (30 s) to be answered and recorded, then state is written and the lock
// released. The second ends abort: calls in flight are abandoned at once,
// but state is still written with what is known, temporary files are
// removed and the lock is released, as after the first. Should that not be
// done within abortDeadline (a state backend that hangs), or at a third
// signal, the handler releases the lock itself and exits. No signal ever
// leaves the lock behind: the next apply needs no `state unlock`.
type interrupts struct {
	errw   io.Writer
	dryRun bool   // holds no lock and writes no state: the notices say so
	cancel func() // the run's context
	abort  func() // apply.Options.Abort
	sigs   chan os.Signal
	done   chan struct{}

	mu      sync.Mutex
	release func() error // the held lock's, once-only; nil when none is held
	stopped bool
	timer   *time.Timer
}

// watchInterrupts starts handling the signals; stop ends it.
func watchInterrupts(errw io.Writer, cancel, abort func(), dryRun bool) *interrupts {
	h := &interrupts{errw: errw, dryRun: dryRun, cancel: cancel, abort: abort, sigs: make(chan os.Signal, 3), done: make(chan struct{})}
	signal.Notify(h.sigs, os.Interrupt, syscall.SIGTERM)
	go h.loop()
	return h
}

func (h *interrupts) loop() {
	seen := 0
	for {
		select {
		case <-h.done:
			return
		case <-h.sigs:
			seen++
			switch seen {
			case 1:
				if h.dryRun {
					fmt.Fprintln(h.errw, "\nInterrupted: stopping the dry run (it holds no lock and writes no state); interrupt again to stop waiting for the reads in flight.")
				} else {
					fmt.Fprintln(h.errw, "\nInterrupted: finishing in-flight calls, then saving state and releasing the lock; interrupt again to stop waiting for them.")
				}
				h.cancel()
			case 2:
				if h.dryRun {
					fmt.Fprintln(h.errw, "Aborting: the reads in flight are abandoned (interrupt again to exit at once).")
				} else {
					fmt.Fprintln(h.errw, "Aborting: in-flight calls are abandoned; saving what is known and releasing the lock (interrupt again to exit at once).")
				}
				h.cancel()
				h.abort()
				h.mu.Lock()
				if !h.stopped {
					why := "state was not saved within " + abortDeadline.String()
					if h.dryRun {
						why = "the dry run did not stop within " + abortDeadline.String()
					}
					h.timer = time.AfterFunc(abortDeadline, func() { h.exit(why) })
				}
				h.mu.Unlock()
			default:
				h.exit("interrupted a third time")
			}
		}
	}
}

// exit is the last resort: it releases the lock (the run may still be
// writing state; the write is atomic and the next run reads either
// version) and ends the process with exit code 130.
func (h *interrupts) exit(why string) {
	h.mu.Lock()
	if h.stopped {
		h.mu.Unlock()
		return
	}
	release := h.release
	h.mu.Unlock()
	if release != nil {
		if err := release(); err != nil {
			fmt.Fprintf(h.errw, "Exiting (%s); releasing the lock failed: %v\n", why, err)
			os.Exit(exitInterrupted)
		}
	}
	if h.dryRun {
		fmt.Fprintf(h.errw, "Exiting (%s); the dry run changed nothing.\n", why)
	} else {
		fmt.Fprintf(h.errw, "Exiting (%s); the lock is released. State holds every intent: run apply again to converge.\n", why)
	}
	os.Exit(exitInterrupted)
}

// holdLock records the held lock's release for the last resort. The
// workflow's release is once-only and shared with its Close, so the lock is
// released exactly once, by whichever comes first.
func (h *interrupts) holdLock(release func() error) {
	h.mu.Lock()
	h.release = release
	h.mu.Unlock()
}

// stop ends the handling; the run is over and released what it held.
func (h *interrupts) stop() {
	signal.Stop(h.sigs)
	h.mu.Lock()
	h.stopped = true
	if h.timer != nil {
		h.timer.Stop()
	}
	h.mu.Unlock()
	close(h.done)
}

// lockedWriter serialises writes from the walk's observer and the signal
// handler.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}
