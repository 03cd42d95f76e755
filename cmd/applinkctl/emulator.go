package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/applinkctl/applinkctl/internal/emulator"
	"github.com/applinkctl/applinkctl/internal/fsutil"
	"github.com/applinkctl/applinkctl/internal/preflight"
	"github.com/applinkctl/applinkctl/internal/view"
)

// emulatorOptions are the parsed flags of `applinkctl emulator`.
type emulatorOptions struct {
	listen      string
	allowRemote bool
	tlsCert     string
	tlsKey      string
	envFile     string
	emu         emulator.Options
}

func emulatorCommand(io streams) *cli.Command {
	return &cli.Command{
		Name:  "emulator",
		Usage: "run the local Heroku AppLink emulator (Platform, AppLink and Salesforce routes on one port)",
		UsageText: "applinkctl emulator [--listen ADDR] [--data DIR] [faults…]\n\n" +
			"Serves the Heroku Platform API subset, every AppLink route and the Salesforce token endpoint on\n" +
			"one listener, and prints HEROKU_API_URL=…, HEROKU_API_KEY=… and SALESFORCE_LOGIN_URL=… lines to\n" +
			"stdout, so that with them exported applinkctl (or the Heroku CLI, with HEROKU_HOST) talks to it,\n" +
			"validate --preflight included. Serves until interrupted.\n" +
			"Admin routes under /_emulator/ seed apps and break things; see docs/emulator.md.\n" +
			"With --env-file FILE it also writes those lines, as export statements, to FILE once it listens\n" +
			"(whole, in one rename, mode 0600), and removes FILE when it stops: a script started in the\n" +
			"background waits for FILE and sources it.\n\n" +
			"Examples:\n" +
			"   applinkctl emulator\n" +
			"   rm -f /tmp/em.env; applinkctl emulator --listen 127.0.0.1:0 --env-file /tmp/em.env &\n" +
			"   while [ ! -s /tmp/em.env ]; do sleep 0.1; done; . /tmp/em.env   # then: applinkctl plan -f applink.yaml\n" +
			"   applinkctl emulator --listen 127.0.0.1:0 --data .emulator --approve-oauth-after 2s\n" +
			"   applinkctl emulator --latency 50ms±10ms --error-rate 0.1 --rate-limit 100/min --seed 7\n" +
			"   applinkctl emulator --async-delay connection=2s,target=1s\n" +
			"   applinkctl emulator --page-size 1\n" +
			"   applinkctl emulator --variant linger,esr-name --linger 5s\n" +
			"   applinkctl emulator --listen 127.0.0.1:8443 --tls-cert cert.pem --tls-key key.pem",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "listen", Value: "127.0.0.1:5000", Usage: "listen on `ADDR` (host:port; port 0 picks a free one)"},
			&cli.BoolFlag{Name: "allow-remote", Usage: "allow a non-loopback --listen address (the emulator's keys protect nothing real)"},
			&cli.StringFlag{Name: "data", Usage: "persist the emulator's world in `DIR` (default: memory only)"},
			&cli.StringFlag{Name: "api-key", Usage: "Platform API `KEY` to accept (default: the one persisted in --data, else random)"},
			&cli.StringFlag{Name: "latency", Usage: "added to every request: `D` or D±JITTER, e.g. 50ms±10ms"},
			&cli.Float64Flag{Name: "error-rate", Usage: "`FRACTION` of requests answered 503"},
			&cli.Float64Flag{Name: "drop-rate", Usage: "`FRACTION` of requests whose connection is closed without an answer"},
			&cli.Float64Flag{Name: "drop-after-rate", Usage: "`FRACTION` of POSTs and DELETEs whose connection is closed after the work is done (an ambiguous outcome)"},
			&cli.Float64Flag{Name: "retry-429-rate", Usage: "`FRACTION` of requests answered 429 with Retry-After: 1"},
			&cli.StringFlag{Name: "rate-limit", Usage: "account budget refill `N/min` (also N/h, N/s); default 4500/h with a 4500 burst"},
			&cli.IntFlag{Name: "rate-limit-burst", Usage: "size `N` of the rate-limit bucket (default: one minute's worth of --rate-limit)"},
			&cli.StringFlag{Name: "async-delay", Usage: "how long pending statuses last, `KIND=D,…` for connection, authorization, target, delete"},
			&cli.DurationFlag{Name: "approve-oauth-after", Usage: "approve browser OAuth flows by themselves after `D`"},
			&cli.Int64Flag{Name: "seed", Usage: "`N` seeds the fault randomness, for repeatable runs"},
			&cli.IntFlag{Name: "page-size", Value: emulator.DefaultPageSize, Usage: "at most `N` items per list answer; longer lists are paged with Range/Next-Range (206 Partial Content)"},
			&cli.StringFlag{Name: "variant", Usage: "answer the API's open questions otherwise: `NAME,…` of " + strings.Join(emulator.AllVariants, ", ") + " (see docs/emulator.md)"},
			&cli.DurationFlag{Name: "linger", Value: emulator.DefaultLinger, Usage: "with --variant linger, how long `D` a deleted connection or authorization stays listed as disconnected"},
			&cli.StringFlag{Name: "tls-cert", Usage: "serve HTTPS with this certificate `FILE` (with --tls-key)"},
			&cli.StringFlag{Name: "tls-key", Usage: "private key `FILE` of --tls-cert"},
			&cli.StringFlag{Name: "env-file", Usage: "once listening, write the HEROKU_API_URL, HEROKU_API_KEY and SALESFORCE_LOGIN_URL lines as export statements to `FILE` (atomically, mode 0600; removed on exit)"},
		},
		Action: func(c *cli.Context) error {
			opts, err := emulatorOptionsFrom(c)
			if err != nil {
				return err
			}
			return runEmulator(c.Context, io, opts)
		},
	}
}

// emulatorOptionsFrom parses and checks the flags.
func emulatorOptionsFrom(c *cli.Context) (emulatorOptions, error) {
	o := emulatorOptions{
		listen: c.String("listen"), allowRemote: c.Bool("allow-remote"),
		tlsCert: c.String("tls-cert"), tlsKey: c.String("tls-key"), envFile: c.String("env-file"),
		emu: emulator.Options{
			Dir: c.String("data"), APIKey: c.String("api-key"),
			ErrorRate: c.Float64("error-rate"), DropRate: c.Float64("drop-rate"), DropAfterRate: c.Float64("drop-after-rate"), Retry429Rate: c.Float64("retry-429-rate"),
			RateLimitBurst: c.Int("rate-limit-burst"), ApproveOAuthAfter: c.Duration("approve-oauth-after"), Seed: c.Int64("seed"),
			PageSize: c.Int("page-size"), Linger: c.Duration("linger"),
		},
	}
	if o.emu.PageSize < 1 {
		return o, fmt.Errorf("emulator: --page-size %d: want at least 1 item per page", o.emu.PageSize)
	}
	if o.emu.Linger <= 0 {
		return o, fmt.Errorf("emulator: --linger %s: want a positive duration", o.emu.Linger)
	}
	var err error
	if o.emu.Variants, err = emulator.ParseVariants(c.String("variant")); err != nil {
		return o, fmt.Errorf("emulator: --variant: %w", err)
	}
	if o.emu.Latency, o.emu.Jitter, err = parseLatency(c.String("latency")); err != nil {
		return o, err
	}
	if o.emu.RateLimitPerMinute, err = parseRate(c.String("rate-limit")); err != nil {
		return o, err
	}
	if o.emu.AsyncDelay, err = parseAsyncDelay(c.String("async-delay")); err != nil {
		return o, err
	}
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return o, errors.New("emulator: --tls-cert and --tls-key go together")
	}
	if !o.allowRemote && !loopbackAddr(o.listen) {
		return o, fmt.Errorf("emulator: --listen %s is not a loopback address; pass --allow-remote to expose it", o.listen)
	}
	return o, nil
}

// runEmulator serves until the command's context is cancelled (Ctrl-C).
func runEmulator(ctx context.Context, io streams, o emulatorOptions) error {
	var tlsConfig *tls.Config
	if o.tlsCert != "" {
		cert, err := loadKeyPair(o.tlsCert, o.tlsKey)
		if err != nil {
			return fmt.Errorf("emulator: tls: %w", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	srv, err := emulator.Listen(o.emu, o.listen, tlsConfig)
	if err != nil {
		return err
	}
	// The token endpoint is served at the same base URL: SALESFORCE_LOGIN_URL
	// points validate --preflight at it rather than at login.salesforce.com.
	env := [][2]string{{"HEROKU_API_URL", srv.URL}, {"HEROKU_API_KEY", srv.APIKey}, {preflight.LoginURLEnv, srv.URL}}
	for _, kv := range env {
		fmt.Fprintf(io.Out, "%s=%s\n", kv[0], kv[1])
	}
	if o.envFile != "" {
		if err := writeEnvFile(o.envFile, env); err != nil {
			return errors.Join(err, srv.Close())
		}
		// A file left behind would point the next script at a dead port.
		defer os.Remove(o.envFile)
	}
	fmt.Fprintf(io.Err, "emulator: serving on %s (admin routes under %s/_emulator/); Ctrl-C stops it\n", srv.URL, srv.URL)
	if v := srv.Emulator.Variants(); len(v) > 0 {
		fmt.Fprintf(io.Err, "emulator: variants %s\n", strings.Join(v, ", "))
	}
	<-ctx.Done()
	return srv.Close()
}

// writeEnvFile writes env to path as POSIX shell export statements, whole
// or not at all: into a temporary file beside it (created 0600: the API
// key is in it), synced, then renamed over path, so a script polling for
// path never reads half of it.
func writeEnvFile(path string, env [][2]string) (err error) {
	var b strings.Builder
	b.WriteString("# written by applinkctl emulator; removed when it stops\n")
	for _, kv := range env {
		fmt.Fprintf(&b, "export %s=%s\n", kv[0], view.ShellQuote(kv[1]))
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("emulator: --env-file %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp.Name())
			err = fmt.Errorf("emulator: --env-file %s: %w", path, err)
		}
	}()
	if _, err = tmp.WriteString(b.String()); err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// parseLatency reads "50ms", "50ms±10ms" or "50ms+-10ms".
func parseLatency(s string) (latency, jitter time.Duration, err error) {
	if s == "" {
		return 0, 0, nil
	}
	base, jit, found := strings.Cut(strings.ReplaceAll(s, "+-", "±"), "±")
	if latency, err = time.ParseDuration(strings.TrimSpace(base)); err != nil || latency < 0 {
		return 0, 0, fmt.Errorf("emulator: --latency %q: want a duration such as 50ms or 50ms±10ms", s)
	}
	if found {
		if jitter, err = time.ParseDuration(strings.TrimSpace(jit)); err != nil || jitter < 0 {
			return 0, 0, fmt.Errorf("emulator: --latency %q: want a duration such as 50ms or 50ms±10ms", s)
		}
	}
	return latency, jitter, nil
}

// parseRate reads "N/min" (also N/m, N/h, N/s, bare N per minute) as a
// per-minute rate.
func parseRate(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	num, unit, _ := strings.Cut(strings.TrimSpace(s), "/")
	n, err := strconv.ParseFloat(num, 64)
	bad := fmt.Errorf("emulator: --rate-limit %q: want N/min, N/h or N/s with N > 0", s)
	if err != nil || n <= 0 {
		return 0, bad
	}
	switch unit {
	case "", "m", "min", "minute":
	case "h", "hour":
		n /= 60
	case "s", "sec", "second":
		n *= 60
	default:
		return 0, bad
	}
	return max(1, int(n+0.5)), nil
}

// parseAsyncDelay reads "connection=2s,target=1s".
func parseAsyncDelay(s string) (map[string]time.Duration, error) {
	out := map[string]time.Duration{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		d, err := time.ParseDuration(v)
		if !ok || err != nil || d < 0 {
			return nil, fmt.Errorf("emulator: --async-delay %q: want KIND=DURATION,… e.g. connection=2s,target=1s", s)
		}
		switch k {
		case emulator.KindConnection, emulator.KindAuthorization, emulator.KindTarget, emulator.KindDelete:
		default:
			return nil, fmt.Errorf("emulator: --async-delay kind %q: want connection, authorization, target or delete", k)
		}
		out[k] = d
	}
	return out, nil
}

// loopbackAddr reports whether a host:port listen address stays on this machine.
func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// loadKeyPair is tls.LoadX509KeyPair reading through fsutil, so a named
// pipe or a directory given as --tls-cert or --tls-key is refused at once
// rather than waited on.
func loadKeyPair(certFile, keyFile string) (tls.Certificate, error) {
	const limit = 1 << 20 // a certificate chain or key is a few KiB
	certPEM, err := fsutil.ReadFile(certFile, limit)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("--tls-cert %s: %w", certFile, err)
	}
	keyPEM, err := fsutil.ReadFile(keyFile, limit)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("--tls-key %s: %w", keyFile, err)
	}
	return tls.X509KeyPair(certPEM, keyPEM)
}
