package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/applinkctl/applinkctl/internal/pipeline/emuserve"
	"github.com/applinkctl/applinkctl/internal/view"
)

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
			&cli.IntFlag{Name: "page-size", Value: emuserve.DefaultPageSize, Usage: "at most `N` items per list answer; longer lists are paged with Range/Next-Range (206 Partial Content)"},
			&cli.StringFlag{Name: "variant", Usage: "answer the API's open questions otherwise: `NAME,…` of " + emuserve.VariantNames() + " (see docs/emulator.md)"},
			&cli.DurationFlag{Name: "linger", Value: emuserve.DefaultLinger, Usage: "with --variant linger, how long `D` a deleted connection or authorization stays listed as disconnected"},
			&cli.StringFlag{Name: "tls-cert", Usage: "serve HTTPS with this certificate `FILE` (with --tls-key)"},
			&cli.StringFlag{Name: "tls-key", Usage: "private key `FILE` of --tls-cert"},
			&cli.StringFlag{Name: "env-file", Usage: "once listening, write the HEROKU_API_URL, HEROKU_API_KEY and SALESFORCE_LOGIN_URL lines as export statements to `FILE` (atomically, mode 0600; removed on exit)"},
		},
		Action: func(c *cli.Context) error {
			return runEmulator(c.Context, io, emulatorOptionsFrom(c))
		},
	}
}

// emulatorOptionsFrom reads the flags.
func emulatorOptionsFrom(c *cli.Context) emuserve.Options {
	return emuserve.Options{
		Listen: c.String("listen"), AllowRemote: c.Bool("allow-remote"),
		TLSCert: c.String("tls-cert"), TLSKey: c.String("tls-key"), EnvFile: c.String("env-file"),
		Data: c.String("data"), APIKey: c.String("api-key"), Latency: c.String("latency"),
		ErrorRate: c.Float64("error-rate"), DropRate: c.Float64("drop-rate"), DropAfterRate: c.Float64("drop-after-rate"), Retry429Rate: c.Float64("retry-429-rate"),
		RateLimit: c.String("rate-limit"), RateLimitBurst: c.Int("rate-limit-burst"), AsyncDelay: c.String("async-delay"),
		ApproveOAuthAfter: c.Duration("approve-oauth-after"), Seed: c.Int64("seed"),
		PageSize: c.Int("page-size"), Variant: c.String("variant"), Linger: c.Duration("linger"),
	}
}

// runEmulator serves until the command's context is cancelled (Ctrl-C).
func runEmulator(ctx context.Context, io streams, o emuserve.Options) error {
	srv, err := emuserve.Start(o)
	if err != nil {
		return err
	}
	for _, kv := range srv.Env {
		fmt.Fprintf(io.Out, "%s=%s\n", kv[0], kv[1])
	}
	if err := srv.WriteEnvFile(view.ShellQuote); err != nil {
		return err // the emulator is stopped
	}
	fmt.Fprintf(io.Err, "emulator: serving on %s (admin routes under %s/_emulator/); Ctrl-C stops it\n", srv.URL, srv.URL)
	if v := srv.Variants; len(v) > 0 {
		fmt.Fprintf(io.Err, "emulator: variants %s\n", strings.Join(v, ", "))
	}
	<-ctx.Done()
	return srv.Close()
}
