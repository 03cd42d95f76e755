package client

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/applinkctl/applinkctl/internal/fsutil"
	"github.com/applinkctl/applinkctl/internal/safehttp"
	"github.com/applinkctl/applinkctl/internal/secret"
)

// Defaults of Config and RetryPolicy.
const (
	DefaultBaseURL      = "https://api.heroku.com"
	DefaultAddonService = "heroku-applink"
)

// Config is how to reach the Platform API. Zero fields take defaults in New.
type Config struct {
	BaseURL      string       // Platform API, default https://api.heroku.com
	APIKey       secret.Value // Heroku API key
	AddonService string       // add-on service slug, default "heroku-applink"
	UserAgent    string       // default UserAgent(<module version>): "applinkctl/<version> (<os>; <arch>)"
	// HTTPClient sends the requests; default: a client with sane timeouts
	// and the proxy of HTTPS_PROXY/HTTP_PROXY/NO_PROXY. New uses a copy
	// that follows no redirect of a POST, PUT, PATCH or DELETE, none to
	// another origin, and (when its Transport is an *http.Transport) no
	// non-loopback proxy for a plaintext http:// request.
	HTTPClient *http.Client
	Logger     *slog.Logger // default: discard; at debug: method, path, status, duration
	Retry      RetryPolicy  // zero fields take defaults
}

// RetryPolicy bounds the retries of one call. The budget counts from the
// first attempt, so a call never takes much longer than Budget even when the
// server keeps asking it to come back later.
type RetryPolicy struct {
	MaxAttempts int            // default 6
	BaseDelay   time.Duration  // default 250ms; doubles per attempt
	MaxDelay    time.Duration  // default 10s; cap of one backoff
	Budget      time.Duration  // default 60s; total per call
	Rand        func() float64 // jitter source in [0,1), default math/rand/v2
}

// ConfigFromEnv builds a Config the way the Heroku CLI finds its settings:
// the key from HEROKU_API_KEY, else from homeDir/.netrc (machine
// api.heroku.com, or the api.* host of HEROKU_API_URL); the base URL from
// HEROKU_API_URL; the add-on service slug from HEROKU_APPLINK_ADDON. It
// refuses an http:// base URL that is not loopback, since the key would
// travel in clear text. With no key anywhere the error wraps ErrNoAPIKey.
func ConfigFromEnv(lookupEnv func(string) (string, bool), homeDir string) (Config, error) {
	get := func(k string) string {
		v, _ := lookupEnv(k)
		return strings.TrimSpace(v)
	}
	cfg := Config{BaseURL: DefaultBaseURL, AddonService: DefaultAddonService}
	if v := get("HEROKU_API_URL"); v != "" {
		cfg.BaseURL = strings.TrimRight(v, "/")
	}
	u, err := checkBaseURL(cfg.BaseURL)
	if err != nil {
		return Config{}, fmt.Errorf("HEROKU_API_URL: %w", err)
	}
	if v := get("HEROKU_APPLINK_ADDON"); v != "" {
		cfg.AddonService = v
	}
	if v := get("HEROKU_API_KEY"); v != "" {
		cfg.APIKey = secret.New(v)
		return cfg, nil
	}
	host := u.Hostname()
	if host != "api.heroku.com" && !strings.HasPrefix(host, "api.") {
		return Config{}, fmt.Errorf("heroku api key: %w: set HEROKU_API_KEY (netrc is read only for api.* hosts, not %s)", ErrNoAPIKey, host)
	}
	if homeDir == "" {
		return Config{}, fmt.Errorf("heroku api key: %w: set HEROKU_API_KEY", ErrNoAPIKey)
	}
	path := filepath.Join(homeDir, ".netrc")
	// Read like every other file applinkctl reads: a ~/.netrc that is a
	// named pipe or a device is refused at once, not waited on for ever.
	data, err := fsutil.ReadFile(path, 1<<20)
	if errors.Is(err, fs.ErrNotExist) {
		return Config{}, fmt.Errorf("heroku api key: %w: set HEROKU_API_KEY or add machine %s to %s", ErrNoAPIKey, host, path)
	}
	if err != nil {
		return Config{}, fmt.Errorf("heroku api key: read %s: %w", path, err)
	}
	pw, ok := netrcPassword(string(data), host)
	if !ok {
		return Config{}, fmt.Errorf("heroku api key: %w: set HEROKU_API_KEY or add machine %s to %s", ErrNoAPIKey, host, path)
	}
	cfg.APIKey = secret.New(pw)
	return cfg, nil
}

// checkBaseURL parses a base URL and refuses clear text to anything but
// loopback. The transport applies the same rule to every redirect target.
func checkBaseURL(raw string) (*url.URL, error) { return safehttp.CheckURL(raw) }

// netrcPassword finds the password of machine host in a .netrc text. Only an
// exact machine entry counts: a "default" entry is not used, so a key meant for
// one host is never sent to another.
func netrcPassword(text, host string) (string, bool) {
	var toks []string
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		toks = append(toks, strings.Fields(line)...)
	}
	var in bool
	for i := 0; i < len(toks); i++ {
		switch toks[i] {
		case "machine":
			in = i+1 < len(toks) && toks[i+1] == host
			i++
		case "default":
			in = false
		case "login", "account":
			i++
		case "password":
			if i+1 < len(toks) && in {
				return toks[i+1], true
			}
			i++
		case "macdef":
			// A macro runs to the next blank line; it holds no machine entries
			// we need, so skipping its name is enough for the token scan.
			in = false
			i++
		}
	}
	return "", false
}

// withDefaults fills zero fields.
func (c Config) withDefaults() Config {
	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURL
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if c.AddonService == "" {
		c.AddonService = DefaultAddonService
	}
	if c.UserAgent == "" {
		c.UserAgent = UserAgent(buildVersion())
	}
	if c.HTTPClient == nil {
		c.HTTPClient = defaultHTTPClient()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	c.Retry = c.Retry.withDefaults()
	return c
}

func (r RetryPolicy) withDefaults() RetryPolicy {
	if r.MaxAttempts <= 0 {
		r.MaxAttempts = 6
	}
	if r.BaseDelay <= 0 {
		r.BaseDelay = 250 * time.Millisecond
	}
	if r.MaxDelay <= 0 {
		r.MaxDelay = 10 * time.Second
	}
	if r.Budget <= 0 {
		r.Budget = 60 * time.Second
	}
	return r
}

func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// defaultHTTPClient bounds every phase of a request so a hung server cannot
// hang a plan: connect, TLS, and waiting for the answer's headers.
func defaultHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 10 * time.Second
	t.ResponseHeaderTimeout = 30 * time.Second
	t.MaxIdleConnsPerHost = 16
	return &http.Client{Transport: t, Timeout: 2 * time.Minute}
}
