package client_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/client"
	"github.com/applinkctl/applinkctl/internal/secret"
)

// Known secrets: no test output, error or log may ever contain them.
const (
	apiKey      = "hk-API-KEY-0123456789abcdef"
	addonToken  = "tok-ADDON-TOKEN-abcdef012345"
	ssoToken    = "sso-RESOURCE-TOKEN-9876543210"
	accessToken = "00Dxx!ACCESS-TOKEN-zzzzyyyyxxxx"
	privateKey  = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAPRIVATEKEYLINEONE0123456789\nPRIVATEKEYLINETWOabcdefghijklmnop\n-----END RSA PRIVATE KEY-----\n"

	appName  = "acme-api"
	appID    = "11111111-2222-3333-4444-555555555555"
	addonID  = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
	addonID2 = "ffffffff-bbbb-cccc-dddd-eeeeeeeeeeee"
)

var ssoBody = `{"action":"https://applink.example/sso","method":"post","params":{"app":"acme-api","context_app":"acme-api","email":"dev@acme.com","id":"` + addonID + `","nav-data":"x","resource_id":"r1","resource_token":"` + ssoToken + `","timestamp":"1700000000","token":"` + ssoToken + `-t","user_id":"u1","user_scoped_resource_token":"` + ssoToken + `-u"}}`

// fake is a Platform + AppLink server built from a ServeMux; any route the
// test did not expect fails it loudly.
type fake struct {
	t    *testing.T
	srv  *httptest.Server
	mux  *http.ServeMux
	mu   sync.Mutex
	hits map[string]int
	ids  []string // Request-Id of every request, in order
	uas  []string // User-Agent of every request, in order
	// world
	addons      []map[string]any
	attachments []map[string]any
	vars        map[string]string
}

func newFake(t *testing.T) *fake {
	t.Helper()
	f := &fake{t: t, mux: http.NewServeMux(), hits: map[string]int{}}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.hits[r.Method+" "+r.URL.Path]++
		f.ids = append(f.ids, r.Header.Get("Request-Id"))
		f.uas = append(f.uas, r.Header.Get("User-Agent"))
		f.mu.Unlock()
		f.mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	f.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("unexpected request %s %s", r.Method, r.URL.Path)
		http.Error(w, "unexpected", http.StatusTeapot)
	})
	f.addons = []map[string]any{addon(addonID, "applink-regular-12345", "heroku-applink")}
	f.attachments = []map[string]any{attachment("HEROKU_APPLINK", addonID)}
	f.vars = map[string]string{
		"HEROKU_APPLINK_API_URL": f.srv.URL + "/addons/" + addonID,
		"HEROKU_APPLINK_TOKEN":   addonToken,
		"DATABASE_URL":           "postgres://u:p@h/db",
	}
	f.platformRoutes()
	return f
}

func addon(id, name, svc string) map[string]any {
	return map[string]any{"id": id, "name": name, "addon_service": map[string]any{"name": svc},
		"config_vars": []string{}, "app": map[string]any{"id": appID, "name": appName}}
}

func attachment(name, addonID string) map[string]any {
	return map[string]any{"name": name, "addon": map[string]any{"id": addonID, "name": "x", "app": map[string]any{"id": appID}}}
}

func (f *fake) platformRoutes() {
	check := func(r *http.Request, accept string) {
		f.t.Helper()
		if got := r.Header.Get("Authorization"); got != "Bearer "+apiKey {
			f.t.Errorf("%s: Authorization = %q", r.URL.Path, got)
		}
		if got := r.Header.Get("Accept"); got != accept {
			f.t.Errorf("%s: Accept = %q, want %q", r.URL.Path, got, accept)
		}
		if got := r.Header.Get("User-Agent"); got != "applinkctl/test" {
			f.t.Errorf("%s: User-Agent = %q", r.URL.Path, got)
		}
	}
	const v3 = "application/vnd.heroku+json; version=3"
	f.mux.HandleFunc("GET /apps/acme-api", func(w http.ResponseWriter, r *http.Request) {
		check(r, v3)
		writeJSON(w, 200, map[string]any{"id": appID, "name": appName, "web_url": "https://acme-api.herokuapp.com/"})
	})
	f.mux.HandleFunc("GET /apps/acme-api/addons", func(w http.ResponseWriter, r *http.Request) {
		check(r, v3)
		writeJSON(w, 200, f.addons)
	})
	f.mux.HandleFunc("GET /apps/acme-api/addon-attachments", func(w http.ResponseWriter, r *http.Request) {
		check(r, v3)
		writeJSON(w, 200, f.attachments)
	})
	f.mux.HandleFunc("GET /apps/acme-api/config-vars", func(w http.ResponseWriter, r *http.Request) {
		check(r, v3)
		writeJSON(w, 200, f.vars)
	})
	f.mux.HandleFunc("GET /apps/acme-api/addons/{id}/sso", func(w http.ResponseWriter, r *http.Request) {
		check(r, "application/vnd.heroku+json; version=3.sdk")
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, ssoBody)
	})
}

// hit is how many times method+path was requested.
func (f *fake) hit(methodPath string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[methodPath]
}

// handle registers an AppLink route (pattern relative to /addons/{addonID})
// that also checks the management headers (docs/api.md, "Headers").
func (f *fake) handle(method, path string, h http.HandlerFunc) {
	f.mux.HandleFunc(method+" /addons/"+addonID+path, func(w http.ResponseWriter, r *http.Request) {
		checkAppLinkHeaders(f.t, r, true)
		h(w, r)
	})
}

func checkAppLinkHeaders(t *testing.T, r *http.Request, sso bool) {
	t.Helper()
	want := map[string]string{
		"Authorization": "Bearer " + addonToken,
		"Accept":        "application/json",
		"X-App-Uuid":    appID,
		"User-Agent":    "applinkctl/test",
	}
	for k, v := range want {
		if got := r.Header.Get(k); got != v {
			t.Errorf("%s %s: header %s = %q, want %q", r.Method, r.URL.Path, k, got, v)
		}
	}
	got := r.Header.Get("X-Addon-Sso")
	if !sso {
		if got != "" {
			t.Errorf("%s %s: x-addon-sso sent on the runtime route", r.Method, r.URL.Path)
		}
		return
	}
	dec, err := base64.StdEncoding.DecodeString(got)
	if err != nil {
		t.Errorf("%s %s: x-addon-sso not base64: %v", r.Method, r.URL.Path, err)
		return
	}
	var a, b any
	_ = json.Unmarshal(dec, &a)
	_ = json.Unmarshal([]byte(ssoBody), &b)
	if !jsonEqual(a, b) {
		t.Errorf("%s %s: x-addon-sso decodes to %s", r.Method, r.URL.Path, dec)
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func apiErr(w http.ResponseWriter, status int, id, msg string) {
	writeJSON(w, status, map[string]string{"id": id, "message": msg})
}

// config is a fast test configuration against f.
func (f *fake) config() client.Config {
	return client.Config{
		BaseURL:   f.srv.URL,
		APIKey:    secret.New(apiKey),
		UserAgent: "applinkctl/test",
		Retry:     client.RetryPolicy{MaxAttempts: 4, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, Budget: 5 * time.Second, Rand: func() float64 { return 0.5 }},
	}
}

func (f *fake) platform(mod ...func(*client.Config)) *client.Platform {
	f.t.Helper()
	cfg := f.config()
	for _, m := range mod {
		m(&cfg)
	}
	p, err := client.New(cfg)
	if err != nil {
		f.t.Fatalf("New: %v", err)
	}
	client.SetLimiterRate(p, 1000) // tests that pace set their own rate
	return p
}

// link resolves the default app and returns its AppLink and Platform.
func (f *fake) link(mod ...func(*client.Config)) (*client.AppLink, *client.Platform) {
	f.t.Helper()
	p := f.platform(mod...)
	a, err := p.Resolve(f.t.Context(), appName, "")
	if err != nil {
		f.t.Fatalf("Resolve: %v", err)
	}
	return a, p
}

// readBody decodes a JSON request body into a generic map.
func readBody(t *testing.T, r *http.Request) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
		t.Errorf("%s %s: body: %v", r.Method, r.URL.Path, err)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s %s: Content-Type = %q", r.Method, r.URL.Path, ct)
	}
	return m
}

// discardLogger is a debug logger into w.
func debugLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func secretOf(s string) secret.Value { return secret.New(s) }

// recorder turns a handler's writes into an *http.Response for RoundTrippers.
type recorder struct{ *httptest.ResponseRecorder }

func newRecorder() recorder { return recorder{httptest.NewRecorder()} }

func (r recorder) result(req *http.Request) *http.Response {
	res := r.Result()
	res.Request = req
	return res
}

// fmtAll prints v under every verb a careless caller might use.
func fmtAll(v any) string {
	var b strings.Builder
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		fmt.Fprintf(&b, verb+"\n", v)
	}
	return b.String()
}
