package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/applinkctl/applinkctl/internal/pipeline"
)

// streams are the command's standard streams, injected so tests capture them.
type streams struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// Exit codes (README.md, "Exit codes").
const (
	exitOK          = 0
	exitError       = 1
	exitChanges     = 2
	exitPending     = 3
	exitInterrupted = 130
)

// exitCodeError carries a process exit code other than 1 through the error
// path; "changes present" is such an error, as in kapp.
type exitCodeError struct {
	code int
	err  error // may be nil: nothing more to print
}

func (e *exitCodeError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit code %d", e.code)
	}
	return e.err.Error()
}
func (e *exitCodeError) Unwrap() error { return e.err }

// withExitCode wraps err (possibly nil) so run exits with code.
func withExitCode(code int, err error) error { return &exitCodeError{code: code, err: err} }

// exitCode maps an error to the process exit code; the one place that does.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var ec *exitCodeError
	if errors.As(err, &ec) {
		return ec.code
	}
	if errors.Is(err, context.Canceled) {
		return exitInterrupted
	}
	return exitError
}

// interruptedMessage is the last line of a run stopped by a signal: where
// it was stopped, without the "context canceled" that only says how.
func interruptedMessage(err error) string {
	where := strings.TrimSuffix(err.Error(), ": "+context.Canceled.Error())
	if where == context.Canceled.Error() || where == "" {
		return "interrupted"
	}
	return "interrupted: stopped in " + where
}

// run is the whole program: it builds the command tree, runs it and maps the
// outcome to an exit code. It never panics on input and never calls os.Exit.
func run(args []string, io streams) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// A command waiting for the state lock (--lock-timeout) says who holds
	// it on stderr rather than waiting in silence.
	ctx = pipeline.WithLockWaitOutput(ctx, io.Err)
	app := newApp(io)
	// A shell completing a resource address gets those recorded in state.
	if completeAddresses(ctx, app, args, os.LookupEnv, io.Out) {
		return exitOK
	}
	args, err := reorderArgs(app, args)
	if err == nil {
		err = app.RunContext(ctx, args)
	}
	if err != nil {
		var ec *exitCodeError
		switch {
		case errors.Is(err, context.Canceled):
			// Stopped by Ctrl-C or SIGTERM (the only cancellation that
			// reaches here, exit 130 as exitCode says; apply's own signal
			// handler may have cancelled before ctx is): say so, not
			// "context canceled", which reads like a fault; the command
			// has said what it saved.
			fmt.Fprintln(io.Err, interruptedMessage(err))
		case !errors.As(err, &ec) || ec.err != nil:
			fmt.Fprintf(io.Err, "error: %v\n", err)
		}
	}
	return exitCode(err)
}

func newApp(io streams) *cli.App {
	app := &cli.App{
		Name:  "applinkctl",
		Usage: "manage Heroku AppLink declaratively",
		Description: "applinkctl reads applink.yaml, validates it against a JSON Schema, plans the difference\n" +
			"against live Heroku AppLink state, and applies it in dependency order.",
		Flags:                globalFlags(),
		Reader:               io.In,
		Writer:               io.Out,
		ErrWriter:            io.Err,
		HideHelpCommand:      false,
		EnableBashCompletion: true,
		ExitErrHandler:       func(*cli.Context, error) {}, // run maps errors to exit codes
		Commands: []*cli.Command{
			validateCommand(io),
			planCommand(io),
			applyCommand(io),
			driftCommand(io),
			exportCommand(io),
			graphCommand(io),
			stateCommand(io),
			schemaCommand(io),
			emulatorCommand(io),
			versionCommand(io),
			completionCommand(io), manCommand(io),
		},
	}
	// Global flags are accepted after the verb too (applinkctl plan --sandbox),
	// as users of terraform and kubectl expect.
	for _, c := range app.Commands {
		c.Flags = append(c.Flags, globalFlags()...)
	}
	return app
}

// globalFlags are the flags every command takes (README.md).
func globalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.GenericFlag{Name: "sandbox", Value: &optionalString{def: ".applinkctl/sandbox"},
			Usage: "use the in-process AppLink emulator with its world and its own state in `DIR` (default .applinkctl/sandbox); no Heroku account needed, real state untouched"},
		&cli.StringFlag{Name: "state", EnvVars: []string{"APPLINKCTL_STATE"},
			Usage: "state backend `URL`: file://PATH (default .applinkctl/state.json beside the first manifest) or postgres://…; not with --sandbox"},
		// NO_COLOR is read by the views, not here: no-color.org says any
		// non-empty value disables color, which a bool flag cannot parse.
		&cli.StringFlag{Name: "workspace", EnvVars: []string{"APPLINKCTL_WORKSPACE"},
			Usage: "state workspace `NAME` of a Postgres backend (default: derived from the manifest files, or ?workspace= in the URL)"},
		&cli.BoolFlag{Name: "no-color", Usage: "disable colored output (also: NO_COLOR set to anything)"},
		&cli.StringFlag{Name: "log-level", Value: "warn", Usage: "log `LEVEL` on stderr: debug, info, warn, error"},
		&cli.StringFlag{Name: "addon-service", EnvVars: []string{"HEROKU_APPLINK_ADDON"}, Value: "heroku-applink",
			Usage: "AppLink add-on service `SLUG`"},
	}
}

// global finds a global flag's context: the innermost command on whose
// command line it was set, else the command's own (for defaults and env vars).
func global(c *cli.Context, name string) *cli.Context {
	for _, ctx := range c.Lineage() {
		for _, n := range ctx.LocalFlagNames() {
			if n == name {
				return ctx
			}
		}
	}
	return c
}

// optionalString is a flag value that may be given bare (--sandbox) or with
// a value (--sandbox=DIR). The flag package treats it as boolean so a bare
// flag does not swallow the next argument.
type optionalString struct {
	def   string
	value string
	set   bool
}

func (o *optionalString) String() string {
	if o == nil {
		return ""
	}
	return o.value
}
func (o *optionalString) Set(s string) error {
	o.set = true
	if s == "true" || s == "" {
		s = o.def
	}
	if s == "false" {
		o.set, s = false, ""
	}
	o.value = s
	return nil
}
func (o *optionalString) IsBoolFlag() bool { return true }
