// Package safehttp holds the rules every outbound HTTP client of applinkctl
// follows so that a credential never leaves for another origin:
//
//   - a URL is contacted only over https, or over http to loopback (CheckURL);
//   - a request that changes something (any method but GET and HEAD) never
//     follows a redirect: the 3xx is an error, and nothing is sent again;
//   - a GET or HEAD follows at most MaxRedirects redirects, and only within
//     its own origin (scheme, host and port); any other target is an error
//     and nothing is sent to it;
//   - a plaintext http request goes through a proxy only when the proxy is
//     loopback too; an https request may use any proxy, since the proxy
//     only tunnels TLS (CONNECT) and never sees the request.
//
// The checks run in the hooks net/http calls before it sends a byte to the
// new target: Client.CheckRedirect and Transport.Proxy.
package safehttp

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// MaxRedirects bounds the same-origin redirects a GET or HEAD follows. The
// APIs applinkctl calls do not redirect; a few hops allow a path
// normalisation, a loop fails fast.
const MaxRedirects = 5

// CheckURL parses raw and refuses clear text to anything but loopback: the
// scheme is https, or http with a loopback host (localhost, 127.0.0.0/8,
// ::1).
func CheckURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("invalid URL %q", Redact(raw))
	}
	if err := checkParsed(u); err != nil {
		return nil, err
	}
	return u, nil
}

func checkParsed(u *url.URL) error {
	switch u.Scheme {
	case "https":
	case "http":
		if !IsLoopback(u.Hostname()) {
			return fmt.Errorf("%s: http is allowed only to loopback; use https", u.Host)
		}
	default:
		return fmt.Errorf("%q: scheme must be https (or http to loopback)", RedactURL(u))
	}
	if u.Host == "" {
		return fmt.Errorf("%q: no host", RedactURL(u))
	}
	return nil
}

// IsLoopback reports whether host (no port) is localhost or a loopback IP.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// RedactURL prints u without what may hold a secret: userinfo, query and
// fragment. A dropped query shows as "?…" so the reader knows there was one.
func RedactURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	c.User = nil
	c.Fragment, c.RawFragment = "", ""
	hadQuery := c.RawQuery != "" || c.ForceQuery
	c.RawQuery, c.ForceQuery = "", false
	s := c.String()
	if hadQuery {
		s += "?…"
	}
	return s
}

// Redact is RedactURL of a URL string; an unparsable one is cut at its
// first '?', '#' or '@' after the scheme.
func Redact(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return RedactURL(u)
	}
	if i := strings.IndexAny(raw, "?#@"); i >= 0 {
		return raw[:i] + "…"
	}
	return raw
}

// SameOrigin reports whether a and b share scheme, host and port (a
// missing port is the scheme's default).
func SameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) &&
		strings.EqualFold(a.Hostname(), b.Hostname()) &&
		port(a) == port(b)
}

func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch strings.ToLower(u.Scheme) {
	case "http":
		return "80"
	case "https":
		return "443"
	}
	return ""
}

// RedirectError is a redirect that was not followed. Nothing was sent to
// To. From and To are redacted (no userinfo, query or fragment).
type RedirectError struct {
	Method string // the method of the original request
	From   string // the URL first asked
	To     string // the Location of the refused hop
	Status int    // the 3xx that asked for it
	Reason string
}

// Error reads like "POST https://a/x: 307 redirect to https://b/y refused:
// a request that changes something is never redirected".
func (e *RedirectError) Error() string {
	return fmt.Sprintf("%s %s: %d redirect to %s refused: %s", e.Method, e.From, e.Status, e.To, e.Reason)
}

// ProxyError is a proxy that was not used: it would have carried a
// plaintext request, credentials and all, off this machine. Nothing was
// sent.
type ProxyError struct {
	URL   string // the request's URL, redacted
	Proxy string // the proxy's URL, redacted
}

// Error names both URLs and why.
func (e *ProxyError) Error() string {
	return fmt.Sprintf("proxy %s refused for %s: a plaintext http request may use only a loopback proxy", e.Proxy, e.URL)
}

// CheckRedirect is the redirect policy of the package comment, for
// http.Client.CheckRedirect. via[0] is the request the caller made.
func CheckRedirect(req *http.Request, via []*http.Request) error {
	first := via[0]
	e := &RedirectError{Method: first.Method, From: RedactURL(first.URL), To: RedactURL(req.URL)}
	if req.Response != nil {
		e.Status = req.Response.StatusCode
	}
	switch {
	case first.Method != http.MethodGet && first.Method != http.MethodHead:
		e.Reason = "a request that changes something is never redirected; nothing was sent again"
	case !SameOrigin(first.URL, req.URL):
		e.Reason = "another origin (scheme, host or port); nothing was sent to it"
	case len(via) > MaxRedirects:
		e.Reason = fmt.Sprintf("more than %d redirects", MaxRedirects)
	default:
		if err := checkParsed(req.URL); err != nil {
			e.Reason = err.Error()
			return e
		}
		return nil
	}
	return e
}

// Proxy wraps a proxy choice (such as http.ProxyFromEnvironment) so that a
// plaintext http request is never handed to a proxy that is not loopback.
// net/http calls it before it dials, so a refusal sends nothing. A nil next
// is nil: no proxy.
func Proxy(next func(*http.Request) (*url.URL, error)) func(*http.Request) (*url.URL, error) {
	if next == nil {
		return nil
	}
	return func(req *http.Request) (*url.URL, error) {
		p, err := next(req)
		if err != nil || p == nil {
			return p, err
		}
		if strings.EqualFold(req.URL.Scheme, "https") || IsLoopback(p.Hostname()) {
			return p, nil
		}
		return nil, &ProxyError{URL: RedactURL(req.URL), Proxy: RedactURL(p)}
	}
}

// Client returns a copy of c that obeys the rules: its CheckRedirect runs
// the policy above before c's own (if any), and when its transport is an
// *http.Transport (nil means http.DefaultTransport) it is a clone whose
// proxy choice is wrapped by Proxy. Another RoundTripper is kept as is: it
// picks its own proxy, and the redirect rules still hold. A nil c is a
// client with http.DefaultTransport's settings.
func Client(c *http.Client) *http.Client {
	if c == nil {
		c = &http.Client{}
	}
	out := *c
	own := c.CheckRedirect
	out.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if err := CheckRedirect(req, via); err != nil {
			return err
		}
		if own != nil {
			return own(req, via)
		}
		return nil
	}
	rt := c.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	if t, ok := rt.(*http.Transport); ok {
		t2 := t.Clone()
		t2.Proxy = Proxy(t.Proxy)
		rt = t2
	}
	out.Transport = rt
	return &out
}
