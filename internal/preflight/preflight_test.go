package preflight_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/emulator"
	"github.com/applinkctl/applinkctl/internal/manifest"
	"github.com/applinkctl/applinkctl/internal/preflight"
	"github.com/applinkctl/applinkctl/internal/secret"
	"github.com/applinkctl/applinkctl/internal/testkit"
)

// keyPair is a test key with its self-signed certificate, as a developer
// makes them for a connected app.
type keyPair struct {
	keyPEM  string
	certPEM []byte
}

var (
	pairsOnce sync.Once
	pairs     [2]keyPair
)

func testPairs(t *testing.T) [2]keyPair {
	t.Helper()
	pairsOnce.Do(func() {
		for i := range pairs {
			tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(i + 1)), Subject: pkix.Name{CommonName: "applinkctl test"},
				NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
			pairs[i] = keyPair{
				keyPEM:  testkit.RSAKeyPEM(t, 2048, i),
				certPEM: testkit.SelfSignedCertPEM(t, testkit.RSAKey(t, 2048, i), tmpl),
			}
		}
	})
	return pairs
}

const (
	goodClient = "3MVG9goodConsumerKey"
	approved   = "api.user@acme.example"
)

// salesforce is an emulator whose connected app goodClient holds the
// certificate of the first test key and pre-authorizes approved.
func salesforce(t *testing.T) *emulator.Server {
	t.Helper()
	srv := testkit.Emulator(t, emulator.Options{})
	body, _ := json.Marshal(map[string]any{"client_id": goodClient, "certificate": string(testPairs(t)[0].certPEM), "usernames": []string{approved}})
	resp, err := http.Post(srv.URL+"/_emulator/connected-apps", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("register connected app: %s", resp.Status)
	}
	return srv
}

// toEmulator maps every login URL to the emulator, as the sandbox does.
func toEmulator(srv *emulator.Server) func(string) string {
	return func(string) string { return srv.URL + "/services/oauth2/token" }
}

func check(name, client, user, key string) preflight.Check {
	return preflight.Check{Address: addr.Connection("acme-api", name), ClientID: client, Username: user, Key: secret.New(key)}
}

// assertNoSecret fails when any result text holds the key or a marker.
func assertNoSecret(t *testing.T, rs []preflight.Result, secrets ...string) {
	t.Helper()
	for _, r := range rs {
		text := r.String() + r.Detail + r.Fix + r.Endpoint
		for _, s := range secrets {
			if s != "" && strings.Contains(text, strings.TrimSpace(s)) {
				t.Errorf("%s: result shows a secret: %s", r.Address, text)
			}
		}
		if strings.Contains(text, "PRIVATE KEY") || strings.Contains(text, "eyJ") {
			t.Errorf("%s: result shows a key or an assertion: %s", r.Address, text)
		}
	}
}

func TestAgainstTheEmulatorTokenEndpoint(t *testing.T) {
	srv := salesforce(t)
	p := testPairs(t)
	checks := []preflight.Check{
		check("good", goodClient, approved, p[0].keyPEM),
		check("other_key", goodClient, approved, p[1].keyPEM),
		check("unknown_client", "3MVG9nobody", approved, p[0].keyPEM),
		check("not_approved", goodClient, "someone@acme.example", p[0].keyPEM),
	}
	rs := preflight.Run(context.Background(), checks, preflight.Options{Endpoint: toEmulator(srv)})
	want := []struct {
		status  preflight.Status
		problem preflight.Problem
		detail  string
		fix     string
	}{
		{preflight.StatusOK, preflight.ProblemNone, "JWT accepted by " + srv.URL + "/services/oauth2/token", ""},
		{preflight.StatusFailed, preflight.ProblemBadSignature, "invalid_grant: invalid assertion", "upload the certificate of this key"},
		{preflight.StatusFailed, preflight.ProblemInvalidClientID, "invalid_client_id: client identifier invalid", "consumer key"},
		{preflight.StatusFailed, preflight.ProblemNotApproved, "invalid_grant: user hasn't approved this consumer", "pre-authorize someone@acme.example"},
	}
	for i, w := range want {
		r := rs[i]
		if r.Address != checks[i].Address || r.Status != w.status || r.Problem != w.problem || !strings.Contains(r.Detail, w.detail) || !strings.Contains(r.Fix, w.fix) {
			t.Errorf("%s: got %s %q %q (fix %q), want %s %q %q (fix ~%q)", checks[i].Address, r.Status, r.Problem, r.Detail, r.Fix, w.status, w.problem, w.detail, w.fix)
		}
	}
	if !preflight.Failed(rs) || preflight.Failed(rs[:1]) {
		t.Error("Failed does not follow the results")
	}
	if got := rs[0].String(); got != "ok    acme-api/connection/good: JWT accepted by "+srv.URL+"/services/oauth2/token" {
		t.Errorf("ok line: %q", got)
	}
	if got := rs[3].String(); !strings.HasPrefix(got, "FAIL  acme-api/connection/not_approved: invalid_grant: user hasn't approved this consumer (from ") || !strings.Contains(got, "\n      fix: pre-authorize") {
		t.Errorf("failure lines: %q", got)
	}
	assertNoSecret(t, rs, p[0].keyPEM, p[1].keyPEM)
}

func TestSandboxTrustsUnknownClientOnFirstUse(t *testing.T) {
	srv := salesforce(t)
	rs := preflight.Run(context.Background(), []preflight.Check{check("fresh", "3MVG9new", approved, testPairs(t)[1].keyPEM)},
		preflight.Options{Endpoint: toEmulator(srv), TrustOnFirstUse: true})
	if rs[0].Status != preflight.StatusNew || preflight.Failed(rs) || !strings.Contains(rs[0].String(), "new   acme-api/connection/fresh: client id 3MVG9new is new to the sandbox") {
		t.Errorf("got %+v", rs[0])
	}
}

func TestWrongLoginURLIsAnAudienceProblem(t *testing.T) {
	srv := salesforce(t)
	c := check("wrong_login", goodClient, approved, testPairs(t)[0].keyPEM)
	c.LoginURL = "https://login.example.com"
	rs := preflight.Run(context.Background(), []preflight.Check{c}, preflight.Options{Endpoint: toEmulator(srv)})
	if rs[0].Problem != preflight.ProblemAudience || !strings.Contains(rs[0].Fix, "https://test.salesforce.com (sandbox)") {
		t.Errorf("got %+v", rs[0])
	}
}

func TestCertificateComparedLocally(t *testing.T) {
	srv := salesforce(t)
	p := testPairs(t)
	dir := t.TempDir()
	certFile := testkit.WriteFile(t, dir, "server.crt", string(p[0].certPEM))
	cert, err := preflight.LoadCertificate(certFile)
	if err != nil {
		t.Fatal(err)
	}
	srv.Emulator.ResetRequests()
	rs := preflight.Run(context.Background(), []preflight.Check{
		check("matching", goodClient, approved, p[0].keyPEM),
		check("mismatched", goodClient, approved, p[1].keyPEM),
	}, preflight.Options{Endpoint: toEmulator(srv), Certificate: cert})
	if rs[0].Status != preflight.StatusOK {
		t.Errorf("matching key: %+v", rs[0])
	}
	r := rs[1]
	if r.Problem != preflight.ProblemKeyMismatch || r.Endpoint != "" || !strings.Contains(r.Detail, "does not match certificate "+certFile) ||
		!strings.Contains(r.Detail, cert.Fingerprint) || !strings.Contains(r.Fix, "upload the certificate of this key") {
		t.Errorf("mismatched key: %+v", r)
	}
	if n := srv.Emulator.Requests()["POST /services/oauth2/token"]; n != 1 {
		t.Errorf("%d token requests, want 1: a mismatched key is not posted (%v)", n, srv.Emulator.Requests())
	}
	assertNoSecret(t, rs, p[0].keyPEM, p[1].keyPEM)
}

func TestUnreachableLoginURLFailsFast(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	_ = ln.Close()
	c := check("unreachable", goodClient, approved, testPairs(t)[0].keyPEM)
	c.LoginURL = closed
	start := time.Now()
	// Refused at once: far sooner than the timeout, however loaded the
	// machine.
	rs := preflight.Run(context.Background(), []preflight.Check{c}, preflight.Options{Timeout: 2 * time.Minute})
	if time.Since(start) > time.Minute {
		t.Errorf("a closed port took %s", time.Since(start))
	}
	r := rs[0]
	if r.Problem != preflight.ProblemUnreachable || r.Endpoint != closed+"/services/oauth2/token" ||
		!strings.Contains(r.Detail, "cannot reach "+closed+"/services/oauth2/token: ") || !strings.Contains(r.Detail, "refused") ||
		!strings.Contains(r.Fix, "check login_url ("+closed+")") {
		t.Errorf("got %+v", r)
	}
}

func TestHangingServerIsBoundedByTimeout(t *testing.T) {
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(hang.Close)
	t.Cleanup(func() { close(release) })
	c := check("hanging", goodClient, approved, testPairs(t)[0].keyPEM)
	c.LoginURL = hang.URL
	start := time.Now()
	rs := preflight.Run(context.Background(), []preflight.Check{c}, preflight.Options{Timeout: 300 * time.Millisecond})
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("took %s with a 300ms timeout", d)
	}
	if rs[0].Problem != preflight.ProblemTimeout || !strings.Contains(rs[0].Detail, "no answer from "+hang.URL+"/services/oauth2/token within 300ms") {
		t.Errorf("got %+v", rs[0])
	}
}

func TestCancelledContextStopsWaiting(t *testing.T) {
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // then the server notices the client leaving
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(hang.Close)
	t.Cleanup(func() { close(release) })
	c := check("cancelled", goodClient, approved, testPairs(t)[0].keyPEM)
	c.LoginURL = hang.URL
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	rs := preflight.Run(ctx, []preflight.Check{c}, preflight.Options{Timeout: time.Minute})
	if !preflight.Failed(rs) {
		t.Errorf("got %+v", rs[0])
	}
}

// TestAnswersNeverShowSecrets: a server that echoes the assertion in its
// error, or returns an access token, leaves neither in the result.
func TestAnswersNeverShowSecrets(t *testing.T) {
	const token = "00Dxx0000001gPL!AccessTokenThatMustNotShow"
	var mu sync.Mutex
	var seen []string
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		a := r.PostForm.Get("assertion")
		mu.Lock()
		seen = append(seen, a)
		mu.Unlock()
		if r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
			http.Error(w, "bad grant", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/ok/services/oauth2/token") {
			_ = json.NewEncoder(w).Encode(map[string]string{"access_token": token, "instance_url": "https://x.my.salesforce.com"})
			return
		}
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_grant", "error_description": "bad assertion " + a + "\nsecond line"})
	}))
	t.Cleanup(echo.Close)
	key := testPairs(t)[0].keyPEM
	a, b := check("echo", goodClient, approved, key), check("token", goodClient, approved, key)
	a.LoginURL, b.LoginURL = echo.URL+"/echo", echo.URL+"/ok"
	rs := preflight.Run(context.Background(), []preflight.Check{a, b}, preflight.Options{})
	if rs[0].Problem != preflight.ProblemBadSignature || !strings.Contains(rs[0].Detail, "bad assertion "+secret.Redacted+" second line") {
		t.Errorf("echo: %+v", rs[0])
	}
	if rs[1].Status != preflight.StatusOK {
		t.Errorf("token: %+v", rs[1])
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 || seen[0] == "" {
		t.Fatalf("assertions seen: %d", len(seen))
	}
	assertNoSecret(t, rs, append([]string{key, token}, seen...)...)
}

func TestNotASalesforceServer(t *testing.T) {
	web := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(web.Close)
	a := check("web", goodClient, approved, testPairs(t)[0].keyPEM)
	a.LoginURL = web.URL
	rs := preflight.Run(context.Background(), []preflight.Check{a}, preflight.Options{})
	if rs[0].Problem != preflight.ProblemNotSalesforce || !strings.Contains(rs[0].Detail, "HTTP 404") {
		t.Errorf("404: %+v", rs[0])
	}
}

// tokenRedirector is a token endpoint that keeps every assertion posted to
// it and answers with a redirect to target.
func tokenRedirector(target string, status int, seen *[]string, mu *sync.Mutex) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		mu.Lock()
		*seen = append(*seen, r.PostForm.Get("assertion"))
		mu.Unlock()
		testkit.Redirect(target, status)(w, r)
	}
}

// TestRedirectedTokenRequestSendsNothingElsewhere: a token endpoint that
// redirects the POST (its body is the signed assertion) to another host,
// another port or from https to http: the target gets nothing, the POST is
// sent once, and the result names both URLs.
func TestRedirectedTokenRequestSendsNothingElsewhere(t *testing.T) {
	for _, tc := range []struct {
		name, sinkAddr string
		tls            bool
	}{
		{"other host", "127.0.0.2:0", false},
		{"other port", "127.0.0.1:0", false},
		{"https to http", "127.0.0.1:0", true},
	} {
		for _, status := range []int{http.StatusMultipleChoices, http.StatusFound, http.StatusTemporaryRedirect} {
			t.Run(fmt.Sprintf("%s/%d", tc.name, status), func(t *testing.T) {
				sink := testkit.NewSink(t, tc.sinkAddr)
				var (
					mu   sync.Mutex
					seen []string
				)
				target := sink.URL + "/services/oauth2/token?code=querysecret"
				h := tokenRedirector(target, status, &seen, &mu)
				var opts preflight.Options
				var srv *httptest.Server
				if tc.tls {
					srv = httptest.NewTLSServer(h)
					opts.HTTPClient = srv.Client()
				} else {
					srv = httptest.NewServer(h)
				}
				t.Cleanup(srv.Close)
				c := check("moved", goodClient, approved, testPairs(t)[0].keyPEM)
				c.LoginURL = srv.URL
				rs := preflight.Run(t.Context(), []preflight.Check{c}, opts)
				if n := sink.Requests(); n != 0 {
					t.Errorf("the redirect target received %d requests", n)
				}
				r := rs[0]
				if r.Status != preflight.StatusFailed || r.Problem != preflight.ProblemRedirect {
					t.Fatalf("got %+v", r)
				}
				for _, want := range []string{"POST " + srv.URL + "/services/oauth2/token", fmt.Sprint(status), sink.URL + "/services/oauth2/token?…", "refused"} {
					if !strings.Contains(r.Detail, want) {
						t.Errorf("detail lacks %q: %s", want, r.Detail)
					}
				}
				mu.Lock()
				defer mu.Unlock()
				if len(seen) != 1 || seen[0] == "" {
					t.Errorf("the token endpoint got %d assertions, want 1", len(seen))
				}
				assertNoSecret(t, rs, append([]string{testPairs(t)[0].keyPEM, "querysecret"}, seen...)...)
			})
		}
	}
}

// TestPlaintextTokenRequestThroughNonLoopbackProxyIsRefused: an http://
// (loopback) login URL with a proxy on another host: nothing is dialled.
// The proxy's name is mapped to a loopback sink, so a broken check still
// contacts only loopback.
func TestPlaintextTokenRequestThroughNonLoopbackProxyIsRefused(t *testing.T) {
	sink := testkit.NewSink(t, "127.0.0.1:0")
	dials := &testkit.Dials{To: sink.Listener.Addr().String()}
	pu, _ := url.Parse("http://user:proxypw@proxy.example:3128")
	c := check("proxied", goodClient, approved, testPairs(t)[0].keyPEM)
	c.LoginURL = sink.URL
	rs := preflight.Run(t.Context(), []preflight.Check{c}, preflight.Options{
		HTTPClient: &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(pu), DialContext: dials.DialContext}},
	})
	r := rs[0]
	if r.Problem != preflight.ProblemInsecure || !strings.Contains(r.Detail, "proxy http://proxy.example:3128 refused for "+sink.URL+"/services/oauth2/token") {
		t.Errorf("got %+v", r)
	}
	if d := dials.Asked(); len(d) != 0 || sink.Requests() != 0 {
		t.Errorf("dialled %v; the sink got %d requests", d, sink.Requests())
	}
	assertNoSecret(t, rs, testPairs(t)[0].keyPEM, "proxypw")
}

// TestNonLoopbackHTTPLoginURLIsRefused: a Check built by hand (not from a
// validated manifest) with a clear-text login URL posts nothing.
func TestNonLoopbackHTTPLoginURLIsRefused(t *testing.T) {
	sink := testkit.NewSink(t, "127.0.0.1:0")
	dials := &testkit.Dials{To: sink.Listener.Addr().String()}
	c := check("clear", goodClient, approved, testPairs(t)[0].keyPEM)
	c.LoginURL = "http://login.example.com"
	rs := preflight.Run(t.Context(), []preflight.Check{c}, preflight.Options{
		HTTPClient: &http.Client{Transport: &http.Transport{DialContext: dials.DialContext}},
	})
	r := rs[0]
	if r.Problem != preflight.ProblemInsecure || r.Endpoint != "" || !strings.Contains(r.Detail, "http is allowed only to loopback") {
		t.Errorf("got %+v", r)
	}
	if d := dials.Asked(); len(d) != 0 || sink.Requests() != 0 {
		t.Errorf("dialled %v; the sink got %d requests", d, sink.Requests())
	}
}

func TestBadKeyIsReportedWithoutEchoingIt(t *testing.T) {
	junk := "-----BEGIN RSA PRIVATE KEY-----\nbm90IGEga2V5\n-----END RSA PRIVATE KEY-----\n"
	rs := preflight.Run(context.Background(), []preflight.Check{check("junk", goodClient, approved, junk)}, preflight.Options{})
	if rs[0].Problem != preflight.ProblemBadKey || rs[0].Endpoint != "" {
		t.Errorf("got %+v", rs[0])
	}
	assertNoSecret(t, rs, "bm90IGEga2V5")
}

func TestChecksListsJWTResourcesOfAManifest(t *testing.T) {
	dir := t.TempDir()
	key := testPairs(t)[0].keyPEM
	const doc = `version: 1
apps:
  zeta-app:
    authorizations:
      ci_auth:
        type: salesforce
        jwt: {client_id: "3MVG9ci", username: ci@acme.example, private_key_env: TEST_KEY}
  acme-api:
    connections:
      prod_org:
        type: salesforce
        login_url: https://test.salesforce.com
        jwt: {client_id: "3MVG9prod", username: api@acme.example, private_key_env: TEST_KEY}
      oauth_org:
        type: salesforce
`
	path := testkit.WriteFile(t, dir, "applink.yaml", doc)
	m, problems, err := manifest.Load([]string{path}, manifest.Options{LookupEnv: func(k string) (string, bool) { return key, k == "TEST_KEY" }})
	if err != nil {
		t.Fatal(err, problems)
	}
	cs := preflight.Checks(m)
	if len(cs) != 2 || cs[0].Address != "acme-api/connection/prod_org" || cs[1].Address != "zeta-app/authorization/ci_auth" {
		t.Fatalf("checks: %v", cs)
	}
	if cs[0].LoginURL != "https://test.salesforce.com" || cs[0].ClientID != "3MVG9prod" || cs[0].Username != "api@acme.example" || cs[0].Key.Reveal() != key {
		t.Errorf("check: %+v", cs[0])
	}
	if preflight.Checks(nil) != nil {
		t.Error("Checks(nil) is not empty")
	}
}

func TestLoadCertificateErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string { return testkit.WriteFile(t, dir, name, body) }
	key := testPairs(t)[0].keyPEM
	for name, tc := range map[string]struct{ body, want string }{
		"key.pem":     {key, "holds a private key, not a certificate"},
		"empty.pem":   {"", "no PEM CERTIFICATE block found"},
		"garbage.pem": {"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "malformed CERTIFICATE block"},
	} {
		_, err := preflight.LoadCertificate(write(name, tc.body))
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "PRIVATE KEY-----") {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
	if _, err := preflight.LoadCertificate(filepath.Join(dir, "missing.pem")); err == nil || !strings.Contains(err.Error(), "missing.pem") {
		t.Errorf("missing file: %v", err)
	}
	// A key followed by its certificate, as some tools write them, is fine.
	c, err := preflight.LoadCertificate(write("both.pem", key+string(testPairs(t)[0].certPEM)))
	if err != nil || !strings.HasPrefix(c.Fingerprint, "sha256:") {
		t.Errorf("key and certificate: %v %+v", err, c)
	}
}

func TestOverrideEndpoint(t *testing.T) {
	for raw, want := range map[string]string{
		"http://127.0.0.1:5000":          "http://127.0.0.1:5000/services/oauth2/token",
		"http://localhost:5000/":         "http://localhost:5000/services/oauth2/token",
		"https://test.salesforce.com":    "https://test.salesforce.com/services/oauth2/token",
		"https://acme.my.salesforce.com": "https://acme.my.salesforce.com/services/oauth2/token",
	} {
		got, err := preflight.OverrideEndpoint(raw)
		if err != nil || got != want {
			t.Errorf("OverrideEndpoint(%q) = %q, %v; want %q", raw, got, err, want)
		}
	}
	for raw, want := range map[string]string{
		"http://login.example.com":                          "http is allowed only to loopback",
		"ftp://127.0.0.1":                                   "scheme must be https",
		"127.0.0.1:5000":                                    "invalid URL",
		"https://user:hunter2@test.salesforce.com":          "must not carry user info",
		"https://test.salesforce.com/services/oauth2/token": "no path",
		"https://test.salesforce.com/?token=s3cret":         "no query or fragment",
		"": "scheme must be https",
	} {
		_, err := preflight.OverrideEndpoint(raw)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "SALESFORCE_LOGIN_URL=") {
			t.Errorf("OverrideEndpoint(%q) = %v; want an error with %q", raw, err, want)
		}
		if err != nil && (strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "s3cret")) {
			t.Errorf("OverrideEndpoint(%q) error shows a secret: %v", raw, err)
		}
	}
}
