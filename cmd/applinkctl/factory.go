package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/applinkctl/applinkctl/internal/client"
	"github.com/applinkctl/applinkctl/internal/emulator"
	"github.com/applinkctl/applinkctl/internal/pipeline"
	"github.com/applinkctl/applinkctl/internal/secret"
	"github.com/applinkctl/applinkctl/internal/state"
	"github.com/applinkctl/applinkctl/internal/view"
)

// factory is what the global flags say, read once per command from its
// command line (they are accepted before and after the verb): where the
// world and the state are and how to open them. As in cli/cli's
// cmdutil.Factory, each command's Action builds one, copies what it needs
// into the command's options struct and calls run<Cmd>(ctx, opts): no
// run function sees the flag parser, and tests build a factory by hand.
type factory struct {
	IO           streams
	Sandbox      string // --sandbox DIR as given; "" when the sandbox is off
	sandboxFlag  string // how a hint repeats --sandbox
	State        string // --state or APPLINKCTL_STATE
	Workspace    string // --workspace or APPLINKCTL_WORKSPACE
	NoColor      bool
	LogLevel     string
	AddonService string // --addon-service or HEROKU_APPLINK_ADDON
}

// newFactory reads the global flags of the command c runs.
func newFactory(c *cli.Context, io streams) *factory {
	f := &factory{
		IO:           io,
		State:        global(c, "state").String("state"),
		Workspace:    global(c, "workspace").String("workspace"),
		NoColor:      global(c, "no-color").Bool("no-color"),
		LogLevel:     global(c, "log-level").String("log-level"),
		AddonService: global(c, "addon-service").String("addon-service"),
	}
	if v, _ := global(c, "sandbox").Generic("sandbox").(*optionalString); v != nil && v.set {
		f.Sandbox = v.value
		if v.value == v.def {
			f.sandboxFlag = "--sandbox"
		} else {
			f.sandboxFlag = "--sandbox=" + v.value
		}
	}
	return f
}

// SandboxAbs is the absolute --sandbox directory, or "" when the sandbox
// is off.
func (f *factory) SandboxAbs() (string, error) {
	if f.Sandbox == "" {
		return "", nil
	}
	abs, err := filepath.Abs(f.Sandbox)
	if err != nil {
		return "", fmt.Errorf("sandbox %s: %w", f.Sandbox, err)
	}
	return abs, nil
}

// StateURL is the state backend of this invocation for the manifest files
// given: --state or APPLINKCTL_STATE, else "" (the default beside the first
// manifest). Under --sandbox it is always the sandbox's own,
// DIR/states/WORKSPACE/state.json, so a sandbox run can neither read nor
// write real state; the workspace (--workspace, else derived from the
// files as for Postgres) keeps the states of manifests sharing a sandbox
// apart, as their default states are apart. An explicit --state there is
// refused rather than honoured or ignored: either would leave in doubt
// which state a sandbox run used.
func (f *factory) StateURL(files []string) (string, error) {
	dir, err := f.SandboxAbs()
	if err != nil || dir == "" {
		return f.State, err
	}
	if f.State != "" {
		// The URL may carry a password: it is not repeated.
		return "", fmt.Errorf("--sandbox keeps its own state in %s and never uses another: drop --state, or unset APPLINKCTL_STATE for this command",
			filepath.Join(dir, "states"))
	}
	ws := f.Workspace
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

// Opener is OpenPlatform as the workflow takes it.
func (f *factory) Opener() pipeline.Opener {
	return func(_ context.Context, apps []string) (*client.Platform, func(), error) {
		p, _, stop, err := f.OpenPlatform(apps)
		return p, stop, err
	}
}

// OpenPlatform returns the Platform client for this invocation: with
// --sandbox, an in-process emulator (its world in the sandbox directory)
// whose apps named in apps are ensured, each with one AppLink add-on; else
// the Heroku API found through the environment as the Heroku CLI finds it.
// The returned close func stops the emulator (a no-op otherwise); call it
// once the command is done with the client.
func (f *factory) OpenPlatform(apps []string) (*client.Platform, *emulator.Server, func(), error) {
	logger := f.Logger()
	ua := client.UserAgent(firstOf(buildVersion()))
	if dir := f.Sandbox; dir != "" {
		opts, err := sandboxOptions(dir)
		if err != nil {
			return nil, nil, nil, err
		}
		srv, err := emulator.Start(opts)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("sandbox %s: %w", dir, err)
		}
		closeFn := func() {
			if err := srv.Close(); err != nil {
				logger.Warn("sandbox: stopping the emulator", "err", err)
			}
		}
		for _, app := range apps {
			if err := srv.Emulator.EnsureApp(app); err != nil {
				closeFn()
				return nil, nil, nil, fmt.Errorf("sandbox %s: app %s: %w", dir, app, err)
			}
		}
		// The sandbox seeds heroku-applink add-ons whatever HEROKU_APPLINK_ADDON says.
		p, err := client.New(client.Config{BaseURL: srv.URL, APIKey: secret.New(srv.APIKey),
			AddonService: emulator.DefaultAddonService, UserAgent: ua, Logger: logger})
		if err != nil {
			closeFn()
			return nil, nil, nil, fmt.Errorf("sandbox %s: %w", dir, err)
		}
		logger.Info("sandbox: using the in-process emulator", "dir", dir, "url", srv.URL)
		return p, srv, closeFn, nil
	}
	home, _ := os.UserHomeDir() // no home: only HEROKU_API_KEY can give the key
	cfg, err := client.ConfigFromEnv(os.LookupEnv, home)
	if err != nil {
		if errors.Is(err, client.ErrNoAPIKey) {
			return nil, nil, nil, fmt.Errorf("%w (or try --sandbox to use the local emulator)", err)
		}
		return nil, nil, nil, err
	}
	if s := f.AddonService; s != "" {
		cfg.AddonService = s
	}
	cfg.UserAgent, cfg.Logger = ua, logger
	p, err := client.New(cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	return p, nil, func() {}, nil
}

func firstOf(a, _ string) string { return a }

// EmulatorURL starts the sandbox's emulator, as OpenPlatform does, and
// returns its base URL and its stop func (validate --preflight with
// --sandbox tries every key against its token endpoint).
func (f *factory) EmulatorURL() (string, func(), error) {
	_, srv, stop, err := f.OpenPlatform(nil)
	if err != nil {
		return "", nil, err
	}
	return srv.URL, stop, nil
}

// Logger is the stderr logger of --log-level (debug, info, warn, error;
// default warn). An unknown level logs at warn and says so, rather than
// failing a command over its logging; it is made when a command first
// talks to an API, so that commands that do not say nothing about it.
func (f *factory) Logger() *slog.Logger {
	var w io.Writer = io.Discard
	if f.IO.Err != nil {
		w = f.IO.Err
	}
	name := strings.ToLower(strings.TrimSpace(f.LogLevel))
	var lvl slog.Level
	known := true
	switch name {
	case "debug":
		lvl = slog.LevelDebug
	case "info":
		lvl = slog.LevelInfo
	case "", "warn", "warning":
		lvl = slog.LevelWarn
	case "error":
		lvl = slog.LevelError
	default:
		lvl, known = slog.LevelWarn, false
	}
	l := slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: lvl}))
	if !known {
		l.Warn("unknown --log-level; logging at warn", "level", name)
	}
	return l
}

// Invocation is how the person ran verb with the -f paths files, for
// hints that name a command to run next: the same paths and the global
// flags that say where the world and the state are, so the command works
// as typed (a hint without --sandbox would send a sandbox user to Heroku).
// A flag whose value came from its environment variable is left out: the
// variable is still set when the hint is run. A password in a --state URL
// is masked: no hint prints a secret.
func (f *factory) Invocation(verb string, files []string) view.Invocation {
	in := view.Invocation{Verb: verb, Files: files}
	if f.sandboxFlag != "" {
		in.Flags = append(in.Flags, f.sandboxFlag)
	}
	for _, g := range []struct{ name, value, env, def string }{
		{"state", f.State, "APPLINKCTL_STATE", ""},
		{"workspace", f.Workspace, "APPLINKCTL_WORKSPACE", ""},
		{"addon-service", f.AddonService, "HEROKU_APPLINK_ADDON", "heroku-applink"},
	} {
		v := g.value
		if env, ok := os.LookupEnv(g.env); v == "" || v == g.def || ok && env == v {
			continue
		}
		if g.name == "state" {
			v = maskPassword(v)
		}
		in.Flags = append(in.Flags, "--"+g.name+"="+v)
	}
	return in
}

// maskPassword hides the password of a URL's user info.
func maskPassword(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); !ok {
		return s
	}
	return u.Redacted()
}

// worldOptions are what plan, drift and apply need to open a workflow,
// copied from the factory: where the world and the state are.
type worldOptions struct {
	Platform   pipeline.Opener
	StateURL   func(files []string) (string, error)
	Workspace  string
	Sandbox    string // absolute; "" for the real API
	Invocation func(verb string, files []string) view.Invocation
	NoColor    bool
}

// World is the factory's worldOptions.
func (f *factory) World() (worldOptions, error) {
	sandbox, err := f.SandboxAbs()
	return worldOptions{
		Platform: f.Opener(), StateURL: f.StateURL, Workspace: f.Workspace,
		Sandbox: sandbox, Invocation: f.Invocation, NoColor: f.NoColor,
	}, err
}

// inputs are the workflow inputs of a run over files that takes no lock.
func (o worldOptions) inputs(files []string, parallelism int, r pipeline.Reporter) (pipeline.Inputs, error) {
	if len(files) == 0 {
		return pipeline.Inputs{}, errors.New("no manifest: pass -f PATH (a file or a directory)")
	}
	url, err := o.StateURL(files)
	if err != nil {
		return pipeline.Inputs{}, err
	}
	in := pipeline.Inputs{Files: files, StateURL: url, Workspace: o.Workspace, Parallelism: parallelism,
		Platform: o.Platform, Sandbox: o.Sandbox, Reporter: r}
	if o.Invocation != nil {
		in.StateArgs = stateArgs(o.Invocation("", files))
	}
	return in, nil
}
