package client_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/applinkctl/applinkctl/internal/client"
	"github.com/applinkctl/applinkctl/internal/secret"
	"github.com/applinkctl/applinkctl/internal/testkit"
)

// These tests answer credential-carrying requests with redirects to other
// loopback servers (sinks) and check that the sinks get nothing, that the
// original request is not sent again, and that the error names both URLs
// and no secret.

// leakable lists every secret the client holds in these tests.
func leakable() map[string]string {
	var compact bytes.Buffer
	_ = json.Compact(&compact, []byte(ssoBody))
	return map[string]string{
		"api key":    apiKey,
		"add-on tok": addonToken,
		"sso token":  ssoToken,
		"sso json":   compact.String(),
		"sso base64": base64.StdEncoding.EncodeToString(compact.Bytes()),
		"key line 1": "MIIEowIBAAKCAQEAPRIVATEKEYLINEONE0123456789",
		"key line 2": "PRIVATEKEYLINETWOabcdefghijklmnop",
		"location q": "querysecret",
		"location u": "userpw",
	}
}

func assertNoLeak(t *testing.T, text string) {
	t.Helper()
	for name, s := range leakable() {
		if strings.Contains(text, s) {
			t.Errorf("%s leaked: %s", name, text)
		}
	}
}

// stealURL is a Location aimed at sink that carries secrets in its
// userinfo, path and query, as a hostile server would write it; the path
// holds inPath, a secret the client knows.
func stealURL(sink *testkit.Sink, inPath string) string {
	u, _ := url.Parse(sink.URL)
	return "http://user:userpw@" + u.Host + "/steal/" + inPath + "?sig=querysecret"
}

// assertRefused checks err is a refused redirect of method from the URL
// from to the sink, named in the message without its secrets.
func assertRefused(t *testing.T, err error, method, from string, sink *testkit.Sink) {
	t.Helper()
	if n := sink.Requests(); n != 0 {
		t.Errorf("the redirect target received %d requests", n)
	}
	var re *client.RedirectError
	if !errors.As(err, &re) {
		t.Fatalf("want a *client.RedirectError, got %T: %v", err, err)
	}
	if errors.Is(err, client.ErrAmbiguous) {
		t.Errorf("a refused redirect is not ambiguous: %v", err)
	}
	msg := err.Error()
	for _, want := range []string{method + " " + from, "redirect to " + sink.URL + "/steal/" + secret.Redacted + "?…", "refused"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q: %s", want, msg)
		}
	}
	assertNoLeak(t, msg)
}

// privateKeyLine is a line of privateKey, for a Location that echoes it.
const privateKeyLine = "MIIEowIBAAKCAQEAPRIVATEKEYLINEONE0123456789"

var quietLog = log.New(io.Discard, "", 0)

var jwtReq = client.JWTRequest{Name: "ci_org", ClientID: "3MVG9", Username: "u@acme.com", PrivateKey: secret.New(privateKey)}

// TestMutatingRequestNeverFollowsARedirect: a POST (the JWT create, whose
// body is the PEM key) or DELETE answered with any redirect status, to
// another host, another port or the same origin, fails naming both URLs;
// the target gets nothing and the request is sent once.
func TestMutatingRequestNeverFollowsARedirect(t *testing.T) {
	targets := map[string]string{"other host": "127.0.0.2:0", "other port": "127.0.0.1:0"}
	for name, addr := range targets {
		for _, status := range []int{301, 302, 303, 307, 308} {
			t.Run(name+"/"+http.StatusText(status), func(t *testing.T) {
				sink := testkit.NewSink(t, addr)
				f := newFake(t)
				f.handle("POST", "/connections/salesforce/jwt", testkit.Redirect(stealURL(sink, privateKeyLine), status))
				a, _ := f.link()
				_, err := a.CreateJWTConnection(t.Context(), jwtReq)
				assertRefused(t, err, "POST", f.srv.URL+"/addons/"+addonID+"/connections/salesforce/jwt", sink)
				if n := f.hit("POST /addons/" + addonID + "/connections/salesforce/jwt"); n != 1 {
					t.Errorf("the POST was sent %d times, want 1", n)
				}
			})
		}
	}
	t.Run("300 with a Location", func(t *testing.T) {
		// net/http does not follow a 300 itself; the client still reports
		// it as a redirect, and sends nothing again.
		sink := testkit.NewSink(t, "127.0.0.2:0")
		f := newFake(t)
		f.handle("POST", "/connections/salesforce/jwt", testkit.Redirect(stealURL(sink, privateKeyLine), http.StatusMultipleChoices))
		a, _ := f.link()
		_, err := a.CreateJWTConnection(t.Context(), jwtReq)
		assertRefused(t, err, "POST", f.srv.URL+"/addons/"+addonID+"/connections/salesforce/jwt", sink)
		if n := f.hit("POST /addons/" + addonID + "/connections/salesforce/jwt"); n != 1 {
			t.Errorf("the POST was sent %d times, want 1", n)
		}
	})
	t.Run("same origin DELETE", func(t *testing.T) {
		f := newFake(t)
		var moved int
		f.handle("DELETE", "/connections/prod", testkit.Redirect("/addons/"+addonID+"/connections/moved", http.StatusTemporaryRedirect))
		f.handle("DELETE", "/connections/moved", func(w http.ResponseWriter, r *http.Request) { moved++ })
		a, _ := f.link()
		_, err := a.DeleteConnection(t.Context(), "prod")
		var re *client.RedirectError
		if !errors.As(err, &re) || re.Method != "DELETE" || re.Status != 307 ||
			re.To != f.srv.URL+"/addons/"+addonID+"/connections/moved" || !strings.Contains(err.Error(), "never redirected") {
			t.Fatalf("got %v", err)
		}
		if moved != 0 || f.hit("DELETE /addons/"+addonID+"/connections/prod") != 1 {
			t.Errorf("moved got %d, original sent %d times", moved, f.hit("DELETE /addons/"+addonID+"/connections/prod"))
		}
	})
}

// TestCrossOriginGetRedirectIsRefused: a Platform GET (Authorization:
// Bearer API key) and an AppLink GET (add-on token, x-addon-sso,
// x-app-uuid) redirected to another host or port send nothing there.
func TestCrossOriginGetRedirectIsRefused(t *testing.T) {
	for name, addr := range map[string]string{"other host": "127.0.0.2:0", "other port": "127.0.0.1:0"} {
		t.Run("platform/"+name, func(t *testing.T) {
			sink := testkit.NewSink(t, addr)
			var mu sync.Mutex
			var asked int
			redir := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				asked++
				mu.Unlock()
				testkit.Redirect(stealURL(sink, apiKey), http.StatusFound)(w, r)
			}))
			t.Cleanup(redir.Close)
			p, err := client.New(client.Config{BaseURL: redir.URL, APIKey: secret.New(apiKey), UserAgent: "applinkctl/test"})
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.Resolve(t.Context(), appName, "")
			assertRefused(t, err, "GET", redir.URL+"/apps/"+appName+"/", sink)
			mu.Lock()
			defer mu.Unlock()
			if asked < 1 || asked > 3 { // three parallel reads, none retried
				t.Errorf("the Platform got %d requests, want 1 to 3", asked)
			}
		})
		t.Run("applink/"+name, func(t *testing.T) {
			sink := testkit.NewSink(t, addr)
			f := newFake(t)
			f.handle("GET", "/connections", testkit.Redirect(stealURL(sink, addonToken), http.StatusTemporaryRedirect))
			a, _ := f.link()
			_, err := a.ListConnections(t.Context())
			assertRefused(t, err, "GET", f.srv.URL+"/addons/"+addonID+"/connections", sink)
			if n := f.hit("GET /addons/" + addonID + "/connections"); n != 1 {
				t.Errorf("the GET was sent %d times, want 1 (a refused redirect is not retried)", n)
			}
		})
	}
}

// TestHTTPSRedirectToHTTPIsRefused: an https Platform redirecting to an
// http server (loopback, so only the scheme and port differ).
func TestHTTPSRedirectToHTTPIsRefused(t *testing.T) {
	sink := testkit.NewSink(t, "127.0.0.1:0")
	tlsSrv := httptest.NewUnstartedServer(testkit.Redirect(stealURL(sink, apiKey), http.StatusMovedPermanently))
	tlsSrv.Config.ErrorLog = quietLog // the parallel reads left behind end in handshake errors
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	p, err := client.New(client.Config{BaseURL: tlsSrv.URL, APIKey: secret.New(apiKey), HTTPClient: tlsSrv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Resolve(t.Context(), appName, "")
	assertRefused(t, err, "GET", tlsSrv.URL+"/apps/"+appName+"/", sink)
	if !strings.Contains(err.Error(), "another origin") {
		t.Errorf("error does not say why: %v", err)
	}
}

// TestSameOriginGetRedirectIsFollowedUpToFive: a GET may move within its
// own origin, headers and all; a loop stops after five hops.
func TestSameOriginGetRedirectIsFollowedUpToFive(t *testing.T) {
	f := newFake(t)
	f.handle("GET", "/connections", testkit.Redirect("/addons/"+addonID+"/connections-v2", http.StatusMovedPermanently))
	f.handle("GET", "/connections-v2", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, []map[string]any{{"id": "c1", "status": "connected"}})
	})
	f.handle("GET", "/authorizations", testkit.Redirect("/addons/"+addonID+"/authorizations", http.StatusFound))
	a, _ := f.link()
	cs, err := a.ListConnections(t.Context())
	if err != nil || len(cs) != 1 || cs[0].ID != "c1" {
		t.Fatalf("same-origin redirect: %v %+v", err, cs)
	}
	_, err = a.ListAuthorizations(t.Context())
	var re *client.RedirectError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "more than 5 redirects") {
		t.Fatalf("loop: %v", err)
	}
	if n := f.hit("GET /addons/" + addonID + "/authorizations"); n != 6 {
		t.Errorf("the loop was asked %d times, want 6 (the request and five hops)", n)
	}
	assertNoLeak(t, err.Error())
}

// TestProxyRedirectToNonLoopbackHTTPIsRefused: with a (loopback) proxy
// configured, the proxy answers a redirect to a non-loopback http:// host.
// Following it would hand the API key to the proxy for that host, in clear
// text; the proxy must see no such second request.
func TestProxyRedirectToNonLoopbackHTTPIsRefused(t *testing.T) {
	f := newFake(t)
	base, _ := url.Parse(f.srv.URL)
	var mu sync.Mutex
	var asked []string
	proxy := testkit.ServeOn(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked = append(asked, r.URL.String())
		mu.Unlock()
		if r.URL.Host != base.Host {
			http.Error(w, "forwarded elsewhere", http.StatusBadGateway)
			return
		}
		testkit.Redirect("http://203.0.113.7:8080/steal?sig=querysecret", http.StatusTemporaryRedirect)(w, r)
	}))
	pu, _ := url.Parse(proxy.URL)
	p := f.platform(func(c *client.Config) {
		c.HTTPClient = &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(pu)}}
	})
	_, err := p.Resolve(t.Context(), appName, "")
	var re *client.RedirectError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "GET "+f.srv.URL+"/apps/") ||
		!strings.Contains(err.Error(), "http://203.0.113.7:8080/steal?…") {
		t.Fatalf("got %v", err)
	}
	assertNoLeak(t, err.Error())
	mu.Lock()
	defer mu.Unlock()
	if len(asked) == 0 {
		t.Fatal("the proxy was not used")
	}
	for _, u := range asked {
		if !strings.HasPrefix(u, f.srv.URL+"/") {
			t.Errorf("the proxy was asked for %s", u)
		}
	}
	if n := f.hit("GET /apps/acme-api/addons"); n != 0 {
		t.Errorf("the server was reached around the proxy %d times", n)
	}
}

// TestPlaintextThroughNonLoopbackProxyIsRefused: an http:// (loopback)
// URL must not go through a proxy on another host, which would read the
// request in clear; the client dials nothing. The proxy's password is
// not shown.
func TestPlaintextThroughNonLoopbackProxyIsRefused(t *testing.T) {
	f := newFake(t)
	sink := testkit.NewSink(t, "127.0.0.1:0")
	dials := &testkit.Dials{To: sink.Listener.Addr().String()}
	pu, _ := url.Parse("http://user:userpw@proxy.example:3128")
	p := f.platform(func(c *client.Config) {
		c.HTTPClient = &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(pu), DialContext: dials.DialContext}}
	})
	_, err := p.Resolve(t.Context(), appName, "")
	var pe *client.ProxyError
	if !errors.As(err, &pe) {
		t.Fatalf("want a *client.ProxyError, got %T: %v", err, err)
	}
	for _, want := range []string{"proxy http://proxy.example:3128 refused for " + f.srv.URL + "/apps/", "loopback"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	assertNoLeak(t, err.Error())
	if d := dials.Asked(); len(d) != 0 || sink.Requests() != 0 {
		t.Errorf("dialled %v; the sink got %d requests", d, sink.Requests())
	}
	if n := f.hit("GET /apps/acme-api/addons"); n != 0 {
		t.Errorf("the server was reached %d times", n)
	}
}

// TestHTTPSThroughAnyProxyIsAllowed: an https request may use a proxy on
// another host (a corporate proxy): it only tunnels TLS and never sees the
// key. The proxy's name is not loopback; the dialer maps it to a loopback
// CONNECT proxy.
func TestHTTPSThroughAnyProxyIsAllowed(t *testing.T) {
	var keys []string
	var mu sync.Mutex
	tlsSrv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		keys = append(keys, r.Header.Get("Authorization"))
		mu.Unlock()
		http.Error(w, `{"id":"not_found","message":"no app"}`, http.StatusNotFound)
	}))
	tlsSrv.Config.ErrorLog = quietLog
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	proxy, tunnels := testkit.ConnectProxy(t)
	dials := &testkit.Dials{To: proxy.Listener.Addr().String()}
	pu, _ := url.Parse("http://proxy.example:3128")
	tr := &http.Transport{Proxy: http.ProxyURL(pu), DialContext: dials.DialContext,
		TLSClientConfig: tlsSrv.Client().Transport.(*http.Transport).TLSClientConfig}
	t.Cleanup(tr.CloseIdleConnections)
	p, err := client.New(client.Config{BaseURL: tlsSrv.URL, APIKey: secret.New(apiKey), HTTPClient: &http.Client{Transport: tr}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	_, err = p.Resolve(ctx, appName, "")
	if !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("want the server's 404 through the proxy, got %v", err)
	}
	if tunnels.Load() == 0 || len(dials.Asked()) == 0 || dials.Asked()[0] != "proxy.example:3128" {
		t.Errorf("tunnels %d, dials %v", tunnels.Load(), dials.Asked())
	}
	mu.Lock()
	defer mu.Unlock()
	if len(keys) == 0 || keys[0] != "Bearer "+apiKey {
		t.Errorf("the server saw %q", keys)
	}
}
