package client

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/applinkctl/applinkctl/internal/safehttp"
)

// ErrNotFound is what every 404 answer matches under errors.Is, so callers can
// tell "gone" from "broken" without looking at status codes.
var ErrNotFound = errors.New("not found")

// ErrUnauthorized is what every 401 answer matches under errors.Is: the API key
// or the add-on token was refused, and retrying will not help.
var ErrUnauthorized = errors.New("unauthorized")

// ErrAmbiguous is what an *AmbiguousError matches under errors.Is: a POST
// whose outcome is unknown. The apply engine resolves it by looking the name
// up, never by sending the POST again.
var ErrAmbiguous = errors.New("outcome unknown")

// ErrNoAPIKey means neither HEROKU_API_KEY nor ~/.netrc gave a key; the
// sandbox needs none, so callers branch on it.
var ErrNoAPIKey = errors.New("no Heroku API key")

// maxErrorBody caps how much of an error answer is read, so a hostile or
// broken server cannot make the client buffer without bound.
const maxErrorBody = 64 << 10

// APIError is a non-2xx answer. Path never has a query string and no field
// ever holds a secret: Message is scrubbed of every secret the client knows.
// RequestID is the Request-Id the client sent with the request that got this
// answer: Heroku support finds the request by it.
type APIError struct {
	Method    string
	Path      string
	Status    int
	ID        string // the body's "id", e.g. record_not_found
	Message   string // the body's "message" (or "detail"), scrubbed
	RequestID string
}

// Error reads like "GET /addons/…/connections/x: 404 record_not_found: …
// (request id 0f6c…)".
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %d", e.Method, e.Path, e.Status)
	if e.ID != "" {
		b.WriteString(" " + e.ID)
	} else if t := http.StatusText(e.Status); t != "" {
		b.WriteString(" " + strings.ToLower(t))
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	b.WriteString(requestIDSuffix(e.RequestID))
	return b.String()
}

// requestIDSuffix is " (request id X)", or "" when there is no id.
func requestIDSuffix(id string) string {
	if id == "" {
		return ""
	}
	return " (request id " + id + ")"
}

// RequestID is the Request-Id of the request behind err (an *APIError or an
// *AmbiguousError, possibly wrapped), "" when err holds none.
func RequestID(err error) string {
	var amb *AmbiguousError
	if errors.As(err, &amb) && amb.RequestID != "" {
		return amb.RequestID
	}
	var api *APIError
	if errors.As(err, &api) {
		return api.RequestID
	}
	return ""
}

// Is lets errors.Is(err, ErrNotFound) and errors.Is(err, ErrUnauthorized)
// match by status.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized
	}
	return false
}

// ConflictError is a 409: the name is taken. Callers resolve it by looking
// the name up (docs/api.md, "Answers applinkctl accepts").
type ConflictError struct{ *APIError }

// Unwrap gives the *APIError to errors.As.
func (e *ConflictError) Unwrap() error { return e.APIError }

// ValidationError is a 422: the server refused the request's content. It is
// never retried.
type ValidationError struct{ *APIError }

// Unwrap gives the *APIError to errors.As.
func (e *ValidationError) Unwrap() error { return e.APIError }

// RateLimitError is a 429 that the retry budget could not wait out.
// RetryAfter is the server's Retry-After, zero when it sent none.
type RateLimitError struct {
	*APIError
	RetryAfter time.Duration
}

// Unwrap gives the *APIError to errors.As.
func (e *RateLimitError) Unwrap() error { return e.APIError }

// AmbiguousError is a POST whose outcome is unknown: the connection dropped
// or timed out after the request was sent, or the server answered 5xx. The
// resource may or may not exist; look it up by name. RequestID is the
// Request-Id of the request whose outcome is unknown.
type AmbiguousError struct {
	Method, Path string
	RequestID    string
	Err          error // the transport error or the *APIError of the 5xx
}

// Error names the request, what made it ambiguous and its request id.
func (e *AmbiguousError) Error() string {
	s := fmt.Sprintf("%s %s: outcome unknown: %v", e.Method, e.Path, e.Err)
	if e.RequestID != "" && !strings.Contains(s, e.RequestID) {
		s += requestIDSuffix(e.RequestID)
	}
	return s
}

// Unwrap gives the cause.
func (e *AmbiguousError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrAmbiguous) true.
func (e *AmbiguousError) Is(target error) bool { return target == ErrAmbiguous }

// RedirectError is a redirect the client refused: any 3xx of a POST, PUT,
// PATCH or DELETE, a GET's redirect to another scheme, host or port (or
// past the hop bound), and a 3xx net/http does not follow (300, 304, no
// Location). Nothing was sent to the Location; it is never retried and
// never ambiguous: the server answered, with a redirect.
type RedirectError = safehttp.RedirectError

// ProxyError is a proxy the client refused: a plaintext http:// request
// (loopback only) would have gone through a proxy that is not loopback.
// Nothing was sent.
type ProxyError = safehttp.ProxyError

// IsNotFound reports whether err is (or wraps) a 404.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// ResolveKind says which of the resolution failures (docs/api.md, "Where
// requests go") a *ResolveError is, for callers that branch (the sandbox seeds
// a missing app).
type ResolveKind int

// Resolution failures.
const (
	ResolveOther          ResolveKind = iota // another API error, wrapped in Err
	ResolveAppNotFound                       // GET /apps/{app} answered 404
	ResolveUnauthorized                      // the Platform API refused the key (401)
	ResolveNoAddon                           // the app has no AppLink add-on
	ResolveAddonNotFound                     // the named add-on is not an AppLink add-on of the app
	ResolveAmbiguousAddon                    // several AppLink add-ons and none chosen
	ResolveNotProvisioned                    // attachment, *_API_URL or *_TOKEN missing
)

// ResolveError is why an app's AppLink API could not be found. Reason is the
// one-line cause; Hint, when set, says what to do about it.
type ResolveError struct {
	App    string
	Kind   ResolveKind
	Reason string
	Hint   string
	Err    error // the underlying API error, if any
}

// Error reads like "app acme-api: AppLink add-on isn't present; hint", with
// the request id of the API error behind it, if any.
func (e *ResolveError) Error() string {
	s := "app " + e.App + ": " + e.Reason
	if e.Hint != "" {
		s += "; " + e.Hint
	}
	if id := RequestID(e.Err); id != "" && !strings.Contains(s, id) {
		s += requestIDSuffix(id)
	}
	return s
}

// Unwrap gives the underlying API error, if any.
func (e *ResolveError) Unwrap() error { return e.Err }

// TimeoutError is a Wait that ran out of time while the resource was still
// pending; the apply engine reports it with exit code 3.
type TimeoutError struct {
	LastStatus string
	Waited     time.Duration
}

// Error names the status the resource was stuck in.
func (e *TimeoutError) Error() string {
	return fmt.Sprintf("wait: still %q after %s", e.LastStatus, e.Waited.Round(time.Millisecond))
}
