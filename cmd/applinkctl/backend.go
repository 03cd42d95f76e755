package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/applinkctl/applinkctl/internal/client"
	"github.com/applinkctl/applinkctl/internal/emulator"
	"github.com/applinkctl/applinkctl/internal/secret"
)

// sandboxOptions are the emulator settings of --sandbox: browser flows
// approve themselves after about a second, and pending statuses last long
// enough for a newcomer to see them move without making the examples slow.
// APPLINKCTL_EMULATOR_PAGE_SIZE sets its page size (a test knob: every list
// paged at 1) and APPLINKCTL_EMULATOR_VARIANTS its variants (another: the
// API's open questions answered otherwise).
func sandboxOptions(dir string) (emulator.Options, error) {
	pageSize, err := emulator.PageSizeFromEnv(os.LookupEnv)
	if err != nil {
		return emulator.Options{}, fmt.Errorf("sandbox: %w", err)
	}
	variants, err := emulator.VariantsFromEnv(os.LookupEnv)
	if err != nil {
		return emulator.Options{}, fmt.Errorf("sandbox: %w", err)
	}
	return emulator.Options{
		PageSize:          pageSize,
		Variants:          variants,
		Dir:               dir,
		ApproveOAuthAfter: time.Second,
		AsyncDelay: map[string]time.Duration{
			emulator.KindConnection:    500 * time.Millisecond,
			emulator.KindAuthorization: 500 * time.Millisecond,
			emulator.KindTarget:        1500 * time.Millisecond,
			emulator.KindDelete:        500 * time.Millisecond,
		},
	}, nil
}

// openPlatform returns the Platform client for this invocation: with
// --sandbox, an in-process emulator (its world in the sandbox directory)
// whose apps named in apps are ensured, each with one AppLink add-on; else
// the Heroku API found through the environment as the Heroku CLI finds it.
// The returned close func stops the emulator (a no-op otherwise); call it
// once the command is done with the client.
func openPlatform(c *cli.Context, apps []string) (*client.Platform, *emulator.Server, func(), error) {
	logger := newLogger(c, c.App.ErrWriter)
	ua := client.UserAgent(firstOf(buildVersion()))
	if dir := sandboxDir(c); dir != "" {
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
	if s := global(c, "addon-service").String("addon-service"); s != "" {
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

// newLogger returns the stderr logger of --log-level (debug, info, warn,
// error; default warn). An unknown level logs at warn and says so, rather
// than failing a command over its logging.
func newLogger(c *cli.Context, w io.Writer) *slog.Logger {
	if w == nil {
		w = io.Discard
	}
	name := strings.ToLower(strings.TrimSpace(global(c, "log-level").String("log-level")))
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
