package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/applinkctl/applinkctl/internal/safehttp"
	"github.com/applinkctl/applinkctl/internal/secret"
)

// maxBody caps a successful answer; the largest real one is a connection list.
const maxBody = 16 << 20

// transport is the one place requests are sent: pacing, retries, typed
// errors, redacted logging. Platform and every AppLink of it share one, so the
// limiter sees the whole account's traffic from this process.
type transport struct {
	cfg      Config
	requests atomic.Int64
	lim      *limiter
}

// request is one call. Secrets lists every secret this request could meet,
// so that an error message echoing one is scrubbed.
type request struct {
	method  string
	base    string // scheme://host[:port]
	path    string // escaped path, no query
	header  http.Header
	body    []byte
	ctype   string
	secrets []secret.Value
}

// response is a successful answer with its body read.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (t *transport) do(ctx context.Context, r *request) (*response, error) {
	pol := t.cfg.Retry
	deadline := time.Now().Add(pol.Budget)
	for attempt := 1; ; attempt++ {
		if err := t.lim.wait(ctx); err != nil {
			return nil, fmt.Errorf("%s %s: %w", r.method, r.path, err)
		}
		id := newRequestID()
		resp, sent, err := t.once(ctx, r, attempt, id)
		var retryAfter, wait time.Duration
		switch {
		case err == nil && resp.status >= 200 && resp.status < 300:
			return resp, nil
		case err != nil:
			if ctx.Err() != nil {
				if r.method == http.MethodPost && sent {
					return nil, &AmbiguousError{Method: r.method, Path: r.path, RequestID: id, Err: ctx.Err()}
				}
				return nil, fmt.Errorf("%s %s: %w", r.method, r.path, ctx.Err())
			}
			var (
				redir *RedirectError
				proxy *ProxyError
			)
			switch {
			case errors.As(err, &redir):
				return nil, err // names the method and both URLs
			case errors.As(err, &proxy):
				return nil, fmt.Errorf("%s %s: %w", r.method, r.path, err)
			}
			err = fmt.Errorf("%s %s: %w", r.method, r.path, err)
			switch {
			case !sent:
				// Nothing reached the server: safe for every method.
			case r.method == http.MethodPost:
				return nil, &AmbiguousError{Method: r.method, Path: r.path, RequestID: id, Err: err}
			case !transient(err):
				return nil, err
			}
			wait = t.backoff(attempt, 0)
			if !t.again(attempt, wait, deadline) {
				return nil, err
			}
		case resp.status >= 300 && resp.status < 400:
			// A 3xx net/http did not follow (300, 304, one without a
			// Location, or one whose policy said "use this answer"):
			// still a redirect, and still not followed.
			return nil, t.unfollowed(r, resp)
		default:
			apiErr := t.apiError(r, resp, id)
			retryable := resp.status == http.StatusTooManyRequests // not processed: safe even for POST
			if resp.status >= 500 && r.method == http.MethodPost {
				return nil, &AmbiguousError{Method: r.method, Path: r.path, RequestID: id, Err: apiErr}
			}
			switch resp.status {
			case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
				retryable = true
			}
			if resp.status == http.StatusTooManyRequests || resp.status == http.StatusServiceUnavailable {
				retryAfter = parseRetryAfter(resp.header.Get("Retry-After"), time.Now())
			}
			typed := typedError(apiErr, retryAfter)
			wait = t.backoff(attempt, retryAfter)
			if !retryable || !t.again(attempt, wait, deadline) {
				return nil, typed
			}
		}
		if err := sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("%s %s: %w", r.method, r.path, err)
		}
	}
}

// again reports whether another attempt after waiting d fits the policy:
// attempts left, and the wait ends within the call's budget.
func (t *transport) again(attempt int, d time.Duration, deadline time.Time) bool {
	return attempt < t.cfg.Retry.MaxAttempts && time.Now().Add(d).Before(deadline)
}

func (t *transport) minBackoff(attempt int) time.Duration {
	pol := t.cfg.Retry
	d := float64(pol.BaseDelay) * math.Pow(2, float64(attempt-1))
	if d > float64(pol.MaxDelay) {
		d = float64(pol.MaxDelay)
	}
	return time.Duration(d / 2)
}

// backoff is equal-jitter exponential backoff, never shorter than Retry-After.
func (t *transport) backoff(attempt int, retryAfter time.Duration) time.Duration {
	half := t.minBackoff(attempt)
	rnd := t.cfg.Retry.Rand
	if rnd == nil {
		rnd = rand.Float64
	}
	d := half + time.Duration(float64(half)*rnd())
	if retryAfter > d {
		d = retryAfter
	}
	return d
}

// once sends one attempt. sent is false when the request surely did not
// reach the server (the dial failed), which makes even a POST safe to repeat.
func (t *transport) once(ctx context.Context, r *request, attempt int, requestID string) (resp *response, sent bool, err error) {
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, r.base+r.path, body)
	if err != nil {
		return nil, false, fmt.Errorf("build request: %w", err)
	}
	t.setHeaders(req, r, requestID)
	// net/http replays an idempotent request by itself when a reused
	// keep-alive connection turns out dead; count connections taken, not
	// calls, so Requests matches what servers see.
	var conns atomic.Int64
	req = req.WithContext(httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) { conns.Add(1) },
	}))
	began := time.Now()
	hr, err := t.cfg.HTTPClient.Do(req)
	t.requests.Add(max(conns.Load(), 1))
	if err != nil {
		err = unwrapURLError(err)
		err = scrubRefusal(err, t.secrets(r))
		t.log(ctx, r, attempt, requestID, 0, time.Since(began), scrub(err.Error(), t.secrets(r)))
		return nil, !dialFailed(err), err
	}
	defer hr.Body.Close()
	if v := hr.Header.Get("RateLimit-Remaining"); v != "" {
		if n, perr := strconv.Atoi(strings.TrimSpace(v)); perr == nil {
			t.lim.observe(n)
		}
	} else if hr.StatusCode == http.StatusTooManyRequests {
		t.lim.observe(0)
	}
	limit := int64(maxBody)
	if hr.StatusCode < 200 || hr.StatusCode > 299 {
		limit = maxErrorBody
	}
	b, rerr := io.ReadAll(io.LimitReader(hr.Body, limit+1))
	t.log(ctx, r, attempt, requestID, hr.StatusCode, time.Since(began), "")
	if rerr != nil {
		return nil, true, fmt.Errorf("read answer: %w", rerr)
	}
	if int64(len(b)) > limit {
		if hr.StatusCode >= 200 && hr.StatusCode <= 299 {
			return nil, true, fmt.Errorf("answer larger than %d bytes", limit)
		}
		b = b[:limit]
	}
	return &response{status: hr.StatusCode, header: hr.Header, body: b}, true, nil
}

// unfollowed is the *RedirectError of a 3xx answer that reached do.
func (t *transport) unfollowed(r *request, resp *response) error {
	to := "(no Location)"
	if loc := resp.header.Get("Location"); loc != "" {
		to = safehttp.Redact(loc)
		if base, err := url.Parse(r.base + r.path); err == nil {
			if u, err := base.Parse(loc); err == nil {
				to = safehttp.RedactURL(u)
			}
		}
	}
	return scrubRefusal(&RedirectError{Method: r.method, From: safehttp.Redact(r.base + r.path), To: to, Status: resp.status,
		Reason: "not a redirect the client follows; nothing was sent again"}, t.secrets(r))
}

// scrubRefusal returns a refused redirect or proxy with its URLs scrubbed
// of every known secret (a hostile Location may echo one in its path), or
// err unchanged. It copies rather than edits: when a sibling request of
// the same errgroup failed first, net/http hands this request the very
// same error as its context's cancel cause.
func scrubRefusal(err error, sec []secret.Value) error {
	switch e := err.(type) {
	case *RedirectError:
		c := *e
		c.From, c.To = scrub(c.From, sec), scrub(c.To, sec)
		return &c
	case *ProxyError:
		c := *e
		c.URL, c.Proxy = scrub(c.URL, sec), scrub(c.Proxy, sec)
		return &c
	}
	return err
}

func (t *transport) secrets(r *request) []secret.Value {
	return append([]secret.Value{t.cfg.APIKey}, r.secrets...)
}

// log writes one debug line per attempt: never headers (but the
// Request-Id, which holds no secret), never bodies.
func (t *transport) log(ctx context.Context, r *request, attempt int, requestID string, status int, d time.Duration, errText string) {
	if !t.cfg.Logger.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", r.method),
		slog.String("path", r.path),
		slog.Int("status", status),
		slog.Duration("duration", d),
		slog.Int("attempt", attempt),
		slog.String("request_id", requestID),
	}
	if errText != "" {
		attrs = append(attrs, slog.String("error", errText))
	}
	t.cfg.Logger.LogAttrs(ctx, slog.LevelDebug, "http request", attrs...)
}

// apiError decodes a non-2xx body: {"id","message"} on management routes,
// {"title","detail"} on the runtime route.
func (t *transport) apiError(r *request, resp *response, requestID string) *APIError {
	e := &APIError{Method: r.method, Path: r.path, Status: resp.status, RequestID: requestID}
	var body struct {
		ID      string `json:"id"`
		Message string `json:"message"`
		Title   string `json:"title"`
		Detail  string `json:"detail"`
		Error   string `json:"error"`
	}
	if json.Unmarshal(resp.body, &body) == nil {
		e.ID = body.ID
		e.Message = body.Message
		if e.Message == "" {
			e.Message = body.Detail
		}
		if e.Message == "" {
			e.Message = body.Title
		}
		if e.Message == "" {
			e.Message = body.Error
		}
	}
	sec := t.secrets(r)
	e.ID = scrub(clip(e.ID, 100), sec)
	e.Message = scrub(clip(e.Message, 1000), sec)
	return e
}

func typedError(e *APIError, retryAfter time.Duration) error {
	switch e.Status {
	case http.StatusConflict:
		return &ConflictError{e}
	case http.StatusUnprocessableEntity:
		return &ValidationError{e}
	case http.StatusTooManyRequests:
		return &RateLimitError{APIError: e, RetryAfter: retryAfter}
	}
	return e
}

// transient reports whether a transport error of an idempotent request is
// worth another attempt: resets, EOFs and timeouts are; a certificate the
// client refuses is not.
func transient(err error) bool {
	var (
		cv  *tls.CertificateVerificationError
		ua  x509.UnknownAuthorityError
		he  x509.HostnameError
		ci  x509.CertificateInvalidError
		rhe tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &cv), errors.As(err, &ua), errors.As(err, &he), errors.As(err, &ci), errors.As(err, &rhe):
		return false
	}
	return true
}

// dialFailed reports whether the connection was never made, so nothing was sent.
func dialFailed(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// unwrapURLError drops *url.Error's "Get \"URL\":" prefix; the caller adds
// method and path itself.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		if n < 0 || n > 3600 {
			return 0
		}
		return time.Duration(n * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// scrub replaces every known secret in s. Secrets shorter than 6 bytes are
// skipped: they would match ordinary text and are not real keys.
func scrub(s string, secrets []secret.Value) string {
	for _, v := range secrets {
		if x := v.Reveal(); len(x) >= 6 {
			s = strings.ReplaceAll(s, x, secret.Redacted)
		}
	}
	return s
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
