package safehttp_test

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/applinkctl/applinkctl/internal/safehttp"
)

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestSameOrigin(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"https://api.heroku.com/apps", "https://API.heroku.com:443/x", true},
		{"http://127.0.0.1/a", "http://127.0.0.1:80/b", true},
		{"https://api.heroku.com", "http://api.heroku.com", false},
		{"https://api.heroku.com", "https://api.heroku.com:8443", false},
		{"http://127.0.0.1:5000", "http://127.0.0.2:5000", false},
		{"http://localhost:5000", "http://127.0.0.1:5000", false},
	} {
		if got := safehttp.SameOrigin(mustURL(t, tc.a), mustURL(t, tc.b)); got != tc.same {
			t.Errorf("SameOrigin(%s, %s) = %v", tc.a, tc.b, got)
		}
	}
}

func TestRedactDropsUserinfoQueryAndFragment(t *testing.T) {
	for in, want := range map[string]string{
		"https://u:pw@h.example:8443/p/q?token=s3cret#frag": "https://h.example:8443/p/q?…",
		"http://127.0.0.1:80/a":                             "http://127.0.0.1:80/a",
		"http://tok@h/x?":                                   "http://h/x?…",
		"::not a url?token=s3cret":                          "::not a url…",
	} {
		if got := safehttp.Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCheckURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://api.heroku.com":  "",
		"http://localhost:5000":   "",
		"http://[::1]:5000":       "",
		"http://127.9.9.9":        "",
		"http://api.heroku.com":   "http is allowed only to loopback",
		"http://10.0.0.1:80":      "http is allowed only to loopback",
		"ftp://x?token=s3cret":    "scheme must be https",
		"https://":                "no host",
		"http://u:s3cret@1.2.3.4": "http is allowed only to loopback",
	} {
		_, err := safehttp.CheckURL(in)
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: %v", in, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: %v, want %q", in, err, want)
		case err != nil && strings.Contains(err.Error(), "s3cret"):
			t.Errorf("%s: error shows the secret: %v", in, err)
		}
	}
}

// TestProxyRule: a plaintext request only through a loopback proxy; an
// https one through any.
func TestProxyRule(t *testing.T) {
	if safehttp.Proxy(nil) != nil {
		t.Error("Proxy(nil) is not nil")
	}
	for _, tc := range []struct {
		target, proxy string
		ok            bool
	}{
		{"http://127.0.0.1:5000/x", "http://127.0.0.1:3128", true},
		{"http://127.0.0.1:5000/x", "socks5://localhost:1080", true},
		{"http://127.0.0.1:5000/x", "http://proxy.example:3128", false},
		{"http://127.0.0.1:5000/x", "https://proxy.example:3128", false},
		{"https://api.heroku.com/x", "http://proxy.example:3128", true},
	} {
		p := safehttp.Proxy(http.ProxyURL(mustURL(t, tc.proxy)))
		got, err := p(&http.Request{URL: mustURL(t, tc.target)})
		var pe *safehttp.ProxyError
		switch {
		case tc.ok && (err != nil || got.String() != tc.proxy):
			t.Errorf("%s via %s: %v %v", tc.target, tc.proxy, got, err)
		case !tc.ok && (!errors.As(err, &pe) || got != nil):
			t.Errorf("%s via %s: want a *ProxyError, got %v %v", tc.target, tc.proxy, got, err)
		}
	}
}
