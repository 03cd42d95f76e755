// Package emuserve runs applinkctl emulator: it checks the command's
// settings, serves the emulator on its listener (TLS when asked) and writes
// the environment file that points scripts at it. It prints nothing: the
// command prints the environment lines and notices it returns.
package emuserve

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/applinkctl/applinkctl/internal/emulator"
	"github.com/applinkctl/applinkctl/internal/fsutil"
	"github.com/applinkctl/applinkctl/internal/preflight"
)

// The defaults and choices of the command's flags, as the emulator has them.
const (
	DefaultPageSize = emulator.DefaultPageSize
	DefaultLinger   = emulator.DefaultLinger
)

// VariantNames lists the variants --variant takes, comma-separated.
func VariantNames() string { return strings.Join(emulator.AllVariants, ", ") }

// Options are the settings of one applinkctl emulator, as its flags give
// them.
type Options struct {
	Listen      string // host:port
	AllowRemote bool   // allow a non-loopback Listen
	TLSCert     string // serve HTTPS with this certificate file (with TLSKey)
	TLSKey      string
	EnvFile     string // write the environment lines here once listening

	Data              string // persist the world in this directory; "" is memory only
	APIKey            string
	Latency           string // D or D±JITTER
	ErrorRate         float64
	DropRate          float64
	DropAfterRate     float64
	Retry429Rate      float64
	RateLimit         string // N/min, N/h, N/s
	RateLimitBurst    int
	AsyncDelay        string // KIND=D,…
	ApproveOAuthAfter time.Duration
	Seed              int64
	PageSize          int
	Variant           string // NAME,…
	Linger            time.Duration
}

// settings are o checked, as the emulator takes them.
type settings struct {
	listen, tlsCert, tlsKey, envFile string
	emu                              emulator.Options
}

// check parses and checks o.
func check(o Options) (settings, error) {
	s := settings{
		listen: o.Listen, tlsCert: o.TLSCert, tlsKey: o.TLSKey, envFile: o.EnvFile,
		emu: emulator.Options{
			Dir: o.Data, APIKey: o.APIKey,
			ErrorRate: o.ErrorRate, DropRate: o.DropRate, DropAfterRate: o.DropAfterRate, Retry429Rate: o.Retry429Rate,
			RateLimitBurst: o.RateLimitBurst, ApproveOAuthAfter: o.ApproveOAuthAfter, Seed: o.Seed,
			PageSize: o.PageSize, Linger: o.Linger,
		},
	}
	if s.emu.PageSize < 1 {
		return s, fmt.Errorf("emulator: --page-size %d: want at least 1 item per page", s.emu.PageSize)
	}
	if s.emu.Linger <= 0 {
		return s, fmt.Errorf("emulator: --linger %s: want a positive duration", s.emu.Linger)
	}
	var err error
	if s.emu.Variants, err = emulator.ParseVariants(o.Variant); err != nil {
		return s, fmt.Errorf("emulator: --variant: %w", err)
	}
	if s.emu.Latency, s.emu.Jitter, err = parseLatency(o.Latency); err != nil {
		return s, err
	}
	if s.emu.RateLimitPerMinute, err = parseRate(o.RateLimit); err != nil {
		return s, err
	}
	if s.emu.AsyncDelay, err = parseAsyncDelay(o.AsyncDelay); err != nil {
		return s, err
	}
	if (s.tlsCert == "") != (s.tlsKey == "") {
		return s, errors.New("emulator: --tls-cert and --tls-key go together")
	}
	if !o.AllowRemote && !loopbackAddr(s.listen) {
		return s, fmt.Errorf("emulator: --listen %s is not a loopback address; pass --allow-remote to expose it", s.listen)
	}
	return s, nil
}

// Server is a serving emulator.
type Server struct {
	// URL is its base URL: the Platform API, every AppLink route and the
	// Salesforce token endpoint.
	URL string
	// Env are the variables (name, value) that point applinkctl, the
	// Heroku CLI and validate --preflight at it.
	Env [][2]string
	// Variants are the variants it answers with.
	Variants []string

	srv     *emulator.Server
	envFile string
}

// Start checks o and starts serving; Close stops it.
func Start(o Options) (*Server, error) {
	s, err := check(o)
	if err != nil {
		return nil, err
	}
	var tlsConfig *tls.Config
	if s.tlsCert != "" {
		cert, err := loadKeyPair(s.tlsCert, s.tlsKey)
		if err != nil {
			return nil, fmt.Errorf("emulator: tls: %w", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	srv, err := emulator.Listen(s.emu, s.listen, tlsConfig)
	if err != nil {
		return nil, err
	}
	// The token endpoint is served at the same base URL: SALESFORCE_LOGIN_URL
	// points validate --preflight at it rather than at login.salesforce.com.
	return &Server{
		URL:      srv.URL,
		Env:      [][2]string{{"HEROKU_API_URL", srv.URL}, {"HEROKU_API_KEY", srv.APIKey}, {preflight.LoginURLEnv, srv.URL}},
		Variants: srv.Emulator.Variants(),
		srv:      srv,
		envFile:  s.envFile,
	}, nil
}

// WriteEnvFile writes Env to the --env-file, when one was asked for; Close
// removes it: a file left behind would point the next script at a dead
// port. quote quotes a value for a POSIX shell. On error the server is
// stopped.
func (s *Server) WriteEnvFile(quote func(string) string) error {
	if s.envFile == "" {
		return nil
	}
	if err := writeEnvFile(s.envFile, s.Env, quote); err != nil {
		return errors.Join(err, s.srv.Close())
	}
	return nil
}

// Close stops the emulator and removes the --env-file it wrote.
func (s *Server) Close() error {
	err := s.srv.Close()
	if s.envFile != "" {
		os.Remove(s.envFile)
	}
	return err
}

// writeEnvFile writes env to path as POSIX shell export statements, whole
// or not at all: into a temporary file beside it (created 0600: the API
// key is in it), synced, then renamed over path, so a script polling for
// path never reads half of it.
func writeEnvFile(path string, env [][2]string, quote func(string) string) error {
	var b strings.Builder
	b.WriteString("# written by applinkctl emulator; removed when it stops\n")
	for _, kv := range env {
		fmt.Fprintf(&b, "export %s=%s\n", kv[0], quote(kv[1]))
	}
	// Written whole or not at all (0600: it holds the emulator's API key),
	// so a script polling for the file never reads half of it.
	if err := fsutil.WriteFileAtomic(path, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("emulator: --env-file %s: %w", path, err)
	}
	return nil
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
