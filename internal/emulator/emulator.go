package emulator

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configure an Emulator. The zero value is a fast, fault-free,
// memory-only emulator with a random API key.
type Options struct {
	// Dir persists the world (world.json, written atomically on every
	// mutation) and loads it on start; "" keeps it in memory only.
	Dir string
	// APIKey is the Platform API key accepted; "" reuses the key persisted
	// in Dir, else generates a random one.
	APIKey string
	// Latency plus a uniform ±Jitter is added to every API request.
	Latency, Jitter time.Duration
	// ErrorRate is the fraction of API requests answered 503 before
	// anything is done.
	ErrorRate float64
	// DropRate is the fraction of API requests whose connection is closed
	// without an answer, before anything is done.
	DropRate float64
	// DropAfterRate is the fraction of mutating API requests (POST, DELETE)
	// whose connection is closed without an answer after the emulator did
	// the work: the ambiguous outcome a client must resolve by looking the
	// name up rather than by sending the request again.
	DropAfterRate float64
	// RateLimitPerMinute refills the account's token bucket shared by the
	// Platform and AppLink routes; 0 is Heroku's 4,500 an hour (75 a minute).
	RateLimitPerMinute int
	// RateLimitBurst is the bucket's size; 0 is 4,500 when
	// RateLimitPerMinute is 0 (so tests are not limited), else one
	// minute's worth.
	RateLimitBurst int
	// Retry429Rate is the fraction of API requests answered 429 with
	// Retry-After: 1, before anything is done.
	Retry429Rate float64
	// AsyncDelay is, per kind ("connection", "authorization", "target",
	// "delete"), how long pending statuses last. 0: the next GET sees the
	// terminal status.
	AsyncDelay map[string]time.Duration
	// ApproveOAuthAfter > 0 approves browser flows by themselves that long
	// after they start, as a person would.
	ApproveOAuthAfter time.Duration
	// Seed makes fault randomness repeatable: same seed and same request
	// sequence, same faults.
	Seed int64
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// PageSize is the most items one answer of a list holds; a longer list
	// is paged with Range / Next-Range as Heroku pages it. 0 is Heroku's
	// DefaultPageSize (1,000); tests set 1 to make every list paged.
	PageSize int
	// Variants are the open questions of the API answered otherwise than
	// by default (AllVariants, variants.go); nil or empty is none.
	Variants []string
	// Linger is how long VariantLinger keeps a deleted connection or
	// authorization listed as disconnected; 0 is DefaultLinger.
	Linger time.Duration
}

// Faults are the fault knobs that tests change at run time with SetFaults.
type Faults struct {
	Latency, Jitter time.Duration
	ErrorRate       float64
	DropRate        float64
	DropAfterRate   float64
	Retry429Rate    float64
}

// Async delay kinds of Options.AsyncDelay.
const (
	KindConnection    = "connection"
	KindAuthorization = "authorization"
	KindTarget        = "target"
	KindDelete        = "delete"
)

// ErrExists is returned by SeedApp when the app name is taken.
var ErrExists = errors.New("emulator: app already exists")

// Emulator is the Heroku Platform + AppLink + Salesforce imitation. It is an
// http.Handler and safe for concurrent use.
type Emulator struct {
	mux   *http.ServeMux
	now   func() time.Time
	dir   string
	delay map[string]time.Duration
	oauth time.Duration
	// pageSize bounds every list answer (paging.go).
	pageSize int
	// variants are the open questions answered otherwise (variants.go);
	// linger is VariantLinger's time.
	variants map[string]bool
	linger   time.Duration

	timeline timeline // every counted request, with its own lock (timeline.go)

	mu       sync.Mutex // guards everything below
	w        *world
	baseURL  string
	faults   Faults
	rng      *rand.Rand
	counts   map[string]int
	tokens   float64 // rate-limit bucket
	refill   float64 // tokens per second
	burst    float64
	lastFill time.Time

	creates map[string]int // successful creates per address (creates.go)
}

// New builds an emulator, loading its world from opts.Dir when set.
func New(opts Options) (*Emulator, error) {
	for name, v := range map[string]float64{"error rate": opts.ErrorRate, "drop rate": opts.DropRate, "drop-after rate": opts.DropAfterRate, "429 rate": opts.Retry429Rate} {
		if v < 0 || v > 1 || math.IsNaN(v) {
			return nil, fmt.Errorf("emulator: %s %v: want a fraction between 0 and 1", name, v)
		}
	}
	if opts.Latency < 0 || opts.Jitter < 0 || opts.ApproveOAuthAfter < 0 || opts.RateLimitPerMinute < 0 || opts.RateLimitBurst < 0 || opts.Linger < 0 {
		return nil, errors.New("emulator: negative latency, jitter, delay or rate limit")
	}
	if opts.PageSize < 0 {
		return nil, fmt.Errorf("emulator: page size %d: want a positive number (0 for %d)", opts.PageSize, DefaultPageSize)
	}
	if opts.PageSize == 0 {
		opts.PageSize = DefaultPageSize
	}
	variants := map[string]bool{}
	for _, v := range opts.Variants {
		names, err := ParseVariants(v)
		if err != nil {
			return nil, fmt.Errorf("emulator: %w", err)
		}
		for _, n := range names {
			variants[n] = true
		}
	}
	if opts.Linger == 0 {
		opts.Linger = DefaultLinger
	}
	delay := map[string]time.Duration{}
	for k, v := range opts.AsyncDelay {
		switch k {
		case KindConnection, KindAuthorization, KindTarget, KindDelete:
		default:
			return nil, fmt.Errorf("emulator: async delay kind %q: want connection, authorization, target or delete", k)
		}
		if v < 0 {
			return nil, fmt.Errorf("emulator: async delay %s: negative", k)
		}
		delay[k] = v
	}
	w, err := load(opts.Dir)
	if err != nil {
		return nil, err
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	e := &Emulator{
		now: now, dir: opts.Dir, delay: delay, oauth: opts.ApproveOAuthAfter, pageSize: opts.PageSize,
		variants: variants, linger: opts.Linger,
		w:      w,
		faults: Faults{Latency: opts.Latency, Jitter: opts.Jitter, ErrorRate: opts.ErrorRate, DropRate: opts.DropRate, DropAfterRate: opts.DropAfterRate, Retry429Rate: opts.Retry429Rate},
		rng:    rand.New(rand.NewPCG(uint64(opts.Seed), uint64(opts.Seed)^0x9e3779b97f4a7c15)),
		counts: map[string]int{},
	}
	perMin, burst := opts.RateLimitPerMinute, opts.RateLimitBurst
	if perMin == 0 {
		perMin = 75
		if burst == 0 {
			burst = 4500
		}
	}
	if burst == 0 {
		burst = perMin
	}
	e.refill, e.burst, e.tokens, e.lastFill = float64(perMin)/60, float64(burst), float64(burst), now()
	switch {
	case opts.APIKey != "":
		w.APIKey = opts.APIKey
	case w.APIKey == "":
		w.APIKey = "emu-" + newToken(16)
	}
	if err := save(e.dir, w); err != nil {
		return nil, err
	}
	e.routes()
	return e, nil
}

// ServeHTTP implements http.Handler.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) { e.mux.ServeHTTP(w, r) }

// SetBaseURL sets the externally visible scheme://host:port used in the
// *_API_URL config vars, redirect_uri and SSO action. Unset, the emulator
// derives it from each request's Host.
func (e *Emulator) SetBaseURL(u string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.baseURL = strings.TrimRight(u, "/")
}

// APIKey is the Platform API key the emulator accepts.
func (e *Emulator) APIKey() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.w.APIKey
}

// Requests returns the number of requests per "METHOD /route/template",
// e.g. "GET /addons/{addon_id}/connections". Requests that matched no
// route count under "UNMATCHED METHOD /path".
func (e *Emulator) Requests() map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]int, len(e.counts))
	for k, v := range e.counts {
		out[k] = v
	}
	return out
}

// ResetRequests zeroes the request counts.
func (e *Emulator) ResetRequests() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.counts = map[string]int{}
}

// SetFaults replaces the fault knobs; the seeded sequence continues.
func (e *Emulator) SetFaults(f Faults) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = f
}

// base is the externally visible URL for r.
func (e *Emulator) base(r *http.Request) string {
	e.mu.Lock()
	b := e.baseURL
	e.mu.Unlock()
	if b != "" {
		return b
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// route classes decide which middleware a route gets.
type class int

const (
	classAdmin      class = iota // no key, no faults, not counted
	classPlatform                // API key, faults, rate limit
	classAppLink                 // add-on token, faults, rate limit
	classSalesforce              // faults, counted
	classBrowser                 // counted only
)

// handle registers h for pattern with the middleware of its class.
func (e *Emulator) handle(pattern string, c class, h http.HandlerFunc) {
	e.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if c != classAdmin {
			e.count(pattern)
			var done func()
			w, done = e.timeline.begin(pattern, w, r)
			defer done()
		}
		dropAfter := false
		if c == classPlatform || c == classAppLink || c == classSalesforce {
			var ok bool
			if ok, dropAfter = e.fault(w, r); !ok {
				return
			}
		}
		if dropAfter && (r.Method == http.MethodPost || r.Method == http.MethodDelete) {
			// Do the work, then lose the answer.
			w = &discardWriter{h: http.Header{}, real: w}
			defer dropConnection(w.(*discardWriter).real)
		}
		if c == classPlatform || c == classAppLink {
			if !e.rateLimit(w) {
				return
			}
		}
		if c == classPlatform && !e.checkAPIKey(w, r) {
			return
		}
		h(w, r)
	})
}

func (e *Emulator) count(key string) {
	e.mu.Lock()
	e.counts[key]++
	e.mu.Unlock()
}

// fault applies latency and the random faults; ok false means the request
// has been answered (or dropped) already; dropAfter asks for the answer to
// be lost once the work is done.
func (e *Emulator) fault(w http.ResponseWriter, r *http.Request) (ok, dropAfter bool) {
	e.mu.Lock()
	f := e.faults
	// Always draw the same number of values so that the sequence of faults
	// depends only on the seed and the request order.
	jit, drop, fail, limit, after := e.rng.Float64(), e.rng.Float64(), e.rng.Float64(), e.rng.Float64(), e.rng.Float64()
	e.mu.Unlock()
	d := f.Latency
	if f.Jitter > 0 {
		d += time.Duration((jit*2 - 1) * float64(f.Jitter))
	}
	if d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return false, false
		}
	}
	switch {
	case drop < f.DropRate:
		dropConnection(w)
		return false, false
	case fail < f.ErrorRate:
		writeError(w, http.StatusServiceUnavailable, "service_unavailable", "the service is temporarily unavailable (injected fault)")
		return false, false
	case limit < f.Retry429Rate:
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusTooManyRequests, "rate_limit", "too many requests (injected fault); retry after 1 second")
		return false, false
	}
	return true, after < f.DropAfterRate
}

// discardWriter swallows an answer that a drop-after fault will lose.
type discardWriter struct {
	h    http.Header
	real http.ResponseWriter
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}

// dropConnection closes the connection without an answer.
func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	// HTTP/2 and recorders cannot be hijacked: abort the handler, which the
	// server turns into a reset stream / closed connection.
	panic(http.ErrAbortHandler)
}

// rateLimit takes a token from the account bucket and always reports
// RateLimit-Remaining; an empty bucket answers 429 rate_limit.
func (e *Emulator) rateLimit(w http.ResponseWriter) bool {
	e.mu.Lock()
	now := e.now()
	if el := now.Sub(e.lastFill).Seconds(); el > 0 {
		e.tokens = math.Min(e.burst, e.tokens+el*e.refill)
		e.lastFill = now
	}
	ok := e.tokens >= 1
	if ok {
		e.tokens--
	}
	remaining := int(e.tokens)
	wait := int(math.Ceil((1 - e.tokens) / e.refill))
	e.mu.Unlock()
	w.Header().Set("RateLimit-Remaining", strconv.Itoa(remaining))
	if !ok {
		w.Header().Set("Retry-After", strconv.Itoa(max(wait, 1)))
		writeError(w, http.StatusTooManyRequests, "rate_limit", "Your account reached the API rate limit. Please wait a few minutes before making new requests.")
	}
	return ok
}

// checkAPIKey checks the Platform Authorization header.
func (e *Emulator) checkAPIKey(w http.ResponseWriter, r *http.Request) bool {
	got, ok := bearer(r)
	if ok && subtle.ConstantTimeCompare([]byte(got), []byte(e.APIKey())) == 1 {
		return true
	}
	writeError(w, http.StatusUnauthorized, "unauthorized", "Invalid credentials provided.")
	return false
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:]), true
	}
	return "", false
}

// persist writes the world to Dir (a no-op in memory). Callers hold e.mu
// and answer a failure as a 500.
func (e *Emulator) persist() error { return save(e.dir, e.w) }
