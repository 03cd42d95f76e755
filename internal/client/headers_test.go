package client_test

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/applinkctl/applinkctl/internal/client"
)

var uuidRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// requestIDs is the Request-Id of every request f has seen, in order.
func (f *fake) requestIDs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.ids...)
}

// lastRequestID is the Request-Id of the latest request f has seen.
func (f *fake) lastRequestID() string {
	ids := f.requestIDs()
	if len(ids) == 0 {
		return ""
	}
	return ids[len(ids)-1]
}

// Every request, Platform and AppLink, retries included, carries a fresh
// UUID as Request-Id, and the debug log names it.
func TestRequestIDFreshPerRequest(t *testing.T) {
	f := newFake(t)
	var fails int
	f.handle("GET", "/connections", func(w http.ResponseWriter, r *http.Request) {
		if fails++; fails == 1 {
			apiErr(w, http.StatusServiceUnavailable, "unavailable", "try again")
			return
		}
		writeJSON(w, 200, []any{})
	})
	var logs bytes.Buffer
	a, _ := f.link(func(c *client.Config) { c.Logger = debugLogger(&logs) })
	if _, err := a.ListConnections(t.Context()); err != nil {
		t.Fatal(err)
	}
	ids := f.requestIDs()
	if len(ids) != 6 { // 3 resolve reads, SSO, a 503 and its retry
		t.Fatalf("%d requests, want 6: %q", len(ids), ids)
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if !uuidRe.MatchString(id) {
			t.Errorf("Request-Id %q is not a version-4 UUID", id)
		}
		if seen[id] {
			t.Errorf("Request-Id %s sent twice", id)
		}
		seen[id] = true
		if !strings.Contains(logs.String(), "request_id="+id) {
			t.Errorf("debug log does not name request %s:\n%s", id, logs.String())
		}
	}
}

// Every API error, typed or not, names the Request-Id of the request that
// got it, so that a user can quote it to Heroku support.
func TestAPIErrorsCarryRequestID(t *testing.T) {
	f := newFake(t)
	status := map[string]int{"/connections/gone": 404, "/connections/taken": 409, "/connections/bad": 422, "/connections/down": 500}
	f.handle("GET", "/connections/{name}", func(w http.ResponseWriter, r *http.Request) {
		apiErr(w, status[r.URL.Path[len("/addons/"+addonID):]], "some_error", "refused")
	})
	f.handle("POST", "/connections/salesforce", func(w http.ResponseWriter, r *http.Request) {
		apiErr(w, 500, "server_error", "boom")
	})
	a, _ := f.link(func(c *client.Config) { c.Retry.MaxAttempts = 1 })
	check := func(name string, err error, target any) {
		t.Helper()
		id := f.lastRequestID()
		if err == nil {
			t.Fatalf("%s: no error", name)
		}
		if !errors.As(err, target) {
			t.Errorf("%s: %T, want %T", name, err, target)
		}
		if got := client.RequestID(err); got != id {
			t.Errorf("%s: RequestID = %q, want the id sent, %q", name, got, id)
		}
		if want := "(request id " + id + ")"; !strings.Contains(err.Error(), want) || strings.Count(err.Error(), id) != 1 {
			t.Errorf("%s: %q should name %s once", name, err, want)
		}
	}
	_, err := a.GetConnection(t.Context(), "gone")
	check("404", err, new(*client.APIError))
	if !client.IsNotFound(err) {
		t.Errorf("404 no longer matches ErrNotFound: %v", err)
	}
	_, err = a.GetConnection(t.Context(), "taken")
	check("409", err, new(*client.ConflictError))
	_, err = a.GetConnection(t.Context(), "bad")
	check("422", err, new(*client.ValidationError))
	_, err = a.GetConnection(t.Context(), "down")
	check("500", err, new(*client.APIError))
	_, err = a.CreateConnection(t.Context(), "salesforce", client.ConnectRequest{Name: "prod_org"})
	check("POST 500", err, new(*client.AmbiguousError))
}

// A resolve failure that hides the API error's text still names its
// request id.
func TestResolveErrorCarriesRequestID(t *testing.T) {
	f := newFake(t)
	f.mux.HandleFunc("GET /apps/no-such-app/", func(w http.ResponseWriter, r *http.Request) {
		apiErr(w, http.StatusNotFound, "not_found", "Couldn't find that app.")
	})
	p := f.platform()
	_, err := p.Resolve(t.Context(), "no-such-app", "")
	var re *client.ResolveError
	if !errors.As(err, &re) || re.Kind != client.ResolveAppNotFound {
		t.Fatalf("Resolve: %v, want app not found", err)
	}
	id := client.RequestID(err)
	if id == "" || !strings.Contains(err.Error(), "(request id "+id+")") {
		t.Errorf("%q should name its request id %q", err, id)
	}
	found := false
	for _, sent := range f.requestIDs() {
		found = found || sent == id
	}
	if !found {
		t.Errorf("request id %s was never sent (sent %q)", id, f.requestIDs())
	}
}

func TestUserAgent(t *testing.T) {
	plat := " (" + runtime.GOOS + "; " + runtime.GOARCH + ")"
	for in, want := range map[string]string{
		"v1.2.3": "applinkctl/1.2.3" + plat, "1.2.3-rc.1": "applinkctl/1.2.3-rc.1" + plat,
		"(devel)": "applinkctl/dev" + plat, "": "applinkctl/dev" + plat, "1 2": "applinkctl/dev" + plat,
	} {
		if got := client.UserAgent(in); got != want {
			t.Errorf("UserAgent(%q) = %q, want %q", in, got, want)
		}
	}
}

// Without a configured User-Agent the client names itself with its
// version, OS and architecture.
func TestDefaultUserAgent(t *testing.T) {
	var (
		mu  sync.Mutex
		uas []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		uas = append(uas, r.Header.Get("User-Agent"))
		mu.Unlock()
		apiErr(w, http.StatusNotFound, "not_found", "Couldn't find that app.")
	}))
	t.Cleanup(srv.Close)
	p, err := client.New(client.Config{BaseURL: srv.URL, APIKey: secretOf(apiKey)})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = p.Resolve(t.Context(), appName, "")
	want := regexp.MustCompile(`^applinkctl/[^ ()]+ \(` + runtime.GOOS + `; ` + runtime.GOARCH + `\)$`)
	mu.Lock()
	defer mu.Unlock()
	if len(uas) == 0 {
		t.Fatal("no request")
	}
	for _, ua := range uas {
		if !want.MatchString(ua) {
			t.Errorf("User-Agent %q, want %s", ua, want)
		}
	}
}
