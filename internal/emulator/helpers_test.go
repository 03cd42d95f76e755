package emulator

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"sync"
	"testing"
	"time"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 6, 18, 20, 42, 226577000, time.UTC)} }
func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fixture is a started emulator with one seeded app.
type fixture struct {
	t     *testing.T
	srv   *Server
	e     *Emulator
	clock *clock
	app   *SeededApp
	addon SeededAddon
	sso   string
}

func setup(t *testing.T, opts Options) *fixture {
	t.Helper()
	c := newClock()
	if opts.Now == nil {
		opts.Now = c.Now
	}
	srv, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	})
	f := &fixture{t: t, srv: srv, e: srv.Emulator, clock: c}
	app, err := f.e.SeedApp("acme-api", 1)
	if err != nil {
		t.Fatal(err)
	}
	f.app, f.addon = app, app.Addons[0]
	f.sso = base64.StdEncoding.EncodeToString([]byte(`{"action":"x","params":{"app":"acme-api"}}`))
	return f
}

// resp is a decoded answer.
type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %s: %v", r.body, err)
	}
	return m
}

func (r resp) list(t *testing.T) []map[string]any {
	t.Helper()
	var m []map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %s: %v", r.body, err)
	}
	return m
}

// errorID asserts an {"id", "message"} error body and returns its id.
func (r resp) errorID(t *testing.T) string {
	t.Helper()
	m := r.json(t)
	if _, ok := m["message"].(string); !ok {
		t.Errorf("error body %s has no message", r.body)
	}
	id, _ := m["id"].(string)
	return id
}

// send does one raw HTTP request.
func (f *fixture) send(method, path string, body io.Reader, hdr map[string]string) resp {
	f.t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, body)
	if err != nil {
		f.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

func jsonBody(v any) io.Reader {
	if v == nil {
		return nil
	}
	b, _ := json.Marshal(v)
	return bytes.NewReader(b)
}

// platform calls a Platform route with the API key.
func (f *fixture) platform(path string) resp {
	return f.send("GET", path, nil, map[string]string{
		"Authorization": "Bearer " + f.srv.APIKey, "Accept": "application/vnd.heroku+json; version=3"})
}

// applinkHeaders are the headers (docs/api.md, "Headers") of a management
// request.
func (f *fixture) applinkHeaders() map[string]string {
	return map[string]string{
		"Authorization": "Bearer " + f.addon.ConfigVars["HEROKU_APPLINK_TOKEN"],
		"Accept":        "application/json", "Content-Type": "application/json",
		"X-App-UUID": f.app.ID, "X-Addon-SSO": f.sso, "User-Agent": "emulator-test",
	}
}

// applink calls /addons/{addon_id}/<route> with the management headers.
func (f *fixture) applink(method, route string, body any) resp {
	f.t.Helper()
	return f.send(method, "/addons/"+f.addon.ID+route, jsonBody(body), f.applinkHeaders())
}

func (f *fixture) admin(method, path string, body any) resp {
	f.t.Helper()
	return f.send(method, "/_emulator"+path, jsonBody(body), map[string]string{"Content-Type": "application/json"})
}

// approve GETs a redirect_uri as a browser would.
func (f *fixture) approve(redirectURI string) {
	f.t.Helper()
	res, err := http.Get(redirectURI)
	if err != nil {
		f.t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		f.t.Fatalf("GET %s: %d", redirectURI, res.StatusCode)
	}
}

// connectOAuth creates an OAuth connection of type typ and approves it.
func (f *fixture) connectOAuth(typ, name string) map[string]any {
	f.t.Helper()
	r := f.applink("POST", "/connections/"+typ, map[string]string{"connection_name": name})
	if r.status != 202 {
		f.t.Fatalf("create %s: %d %s", name, r.status, r.body)
	}
	m := r.json(f.t)
	f.approve(m["redirect_uri"].(string))
	return m
}

var (
	keysOnce sync.Once
	keys     [3]*rsa.PrivateKey
)

// testKey returns one of three fixed-per-run RSA keys (1024 bits: the
// emulator does not judge key size, and tests must be fast).
func testKey(t *testing.T, i int) *rsa.PrivateKey {
	t.Helper()
	keysOnce.Do(func() {
		for j := range keys {
			k, err := rsa.GenerateKey(rand.Reader, 1024)
			if err != nil {
				panic(err)
			}
			keys[j] = k
		}
	})
	return keys[i]
}

func keyPEM(k *rsa.PrivateKey) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
}

func certPEM(t *testing.T, k *rsa.PrivateKey) string {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "applink"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}
