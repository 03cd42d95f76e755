package emulator

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestNewRejectsBadOptions(t *testing.T) {
	for name, o := range map[string]Options{
		"error rate":  {ErrorRate: 1.5},
		"drop rate":   {DropRate: -0.1},
		"delay kind":  {AsyncDelay: map[string]time.Duration{"publication": time.Second}},
		"neg delay":   {AsyncDelay: map[string]time.Duration{"target": -time.Second}},
		"neg latency": {Latency: -time.Second},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, worldFile), []byte("{nope"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Options{Dir: dir}); err == nil || !strings.Contains(err.Error(), "world") {
		t.Errorf("corrupt world: %v", err)
	}
}

func TestPersistenceAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	srv, err := Start(Options{Dir: dir, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, srv: srv, e: srv.Emulator, clock: c}
	app, err := f.e.SeedApp("acme-api", 2)
	if err != nil {
		t.Fatal(err)
	}
	f.app, f.addon = app, app.Addons[0]
	f.connectOAuth("datacloud", "events_dc")
	f.applink("POST", "/connections/datacloud/events_dc/data_action_targets", map[string]string{"label": "Order_Events", "target_endpoint": "/hook"})
	f.jwtConnect("prod_org", "cid-1", "api@acme.com", testKey(t, 0))
	pending := f.applink("POST", "/connections/salesforce", map[string]string{"connection_name": "pending_org"}).json(t)
	before := f.e.World()
	key := srv.APIKey
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil { // idempotent
		t.Fatal(err)
	}

	srv2, err := Start(Options{Dir: dir, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer srv2.Close()
	if srv2.APIKey != key {
		t.Errorf("API key changed across restart")
	}
	if after := srv2.Emulator.World(); !reflect.DeepEqual(before, after) {
		t.Fatalf("world changed across restart:\n%+v\n%+v", before, after)
	}
	// The add-on token survived, and the pending OAuth flow can still be approved.
	f.srv, f.e = srv2, srv2.Emulator
	redirect := strings.Replace(pending["redirect_uri"].(string), srv.URL, srv2.URL, 1)
	f.approve(redirect)
	if s := f.applink("GET", "/connections/pending_org", nil).json(t)["status"]; s != "connected" {
		t.Fatalf("after restart and approval: %v", s)
	}
	// TOFU survived: a different key for cid-1 still fails.
	if c := f.jwtConnect("other_org", "cid-1", "api@acme.com", testKey(t, 1)); c["status"] != "failed" {
		t.Fatalf("TOFU lost across restart: %v", c)
	}
	// No secrets but the emulator's own: never a private key.
	b, err := os.ReadFile(filepath.Join(dir, worldFile))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "PRIVATE KEY") {
		t.Fatal("world.json holds a private key")
	}
	if fi, _ := os.Stat(filepath.Join(dir, worldFile)); fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("world.json mode %v", fi.Mode())
	}
	// An explicit key replaces the persisted one.
	e3, err := New(Options{Dir: dir, APIKey: "given"})
	if err != nil || e3.APIKey() != "given" {
		t.Fatalf("explicit key: %v %v", e3, err)
	}
}

// statuses runs n requests against a fresh emulator with the faults of o
// and returns the status codes (0 for a dropped connection).
func statuses(t *testing.T, o Options, n int) []int {
	t.Helper()
	f := setup(t, o)
	var out []int
	for range n {
		req, _ := http.NewRequest("GET", f.srv.URL+"/apps/acme-api", nil)
		req.Header.Set("Authorization", "Bearer "+f.srv.APIKey)
		res, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
		if err != nil {
			out = append(out, 0)
			continue
		}
		res.Body.Close()
		out = append(out, res.StatusCode)
		if res.StatusCode == 429 && res.Header.Get("Retry-After") != "1" {
			t.Errorf("429 without Retry-After: 1")
		}
	}
	return out
}

func TestFaultsAreReproducible(t *testing.T) {
	o := Options{Seed: 42, ErrorRate: 0.3, DropRate: 0.2, Retry429Rate: 0.2}
	a, b := statuses(t, o, 40), statuses(t, o, 40)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("same seed, different faults:\n%v\n%v", a, b)
	}
	seen := map[int]bool{}
	for _, s := range a {
		seen[s] = true
	}
	for _, want := range []int{0, 200, 429, 503} {
		if !seen[want] {
			t.Errorf("no %d in %v", want, a)
		}
	}
	if c := statuses(t, Options{Seed: 7, ErrorRate: 0.3, DropRate: 0.2, Retry429Rate: 0.2}, 40); reflect.DeepEqual(a, c) {
		t.Errorf("different seeds, same faults")
	}
}

func TestSetFaultsAndLatency(t *testing.T) {
	f := setup(t, Options{})
	f.e.SetFaults(Faults{ErrorRate: 1})
	r := f.platform("/apps/acme-api")
	if r.status != 503 || r.errorID(t) != "service_unavailable" {
		t.Fatalf("error rate 1: %d %s", r.status, r.body)
	}
	// Admin routes are never faulted.
	if r := f.admin("GET", "/requests", nil); r.status != 200 {
		t.Fatalf("admin under faults: %d", r.status)
	}
	f.e.SetFaults(Faults{Latency: 30 * time.Millisecond, Jitter: 10 * time.Millisecond})
	start := time.Now()
	if r := f.platform("/apps/acme-api"); r.status != 200 {
		t.Fatal(r.status)
	}
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Fatalf("latency %v", d)
	}
	// A drop through a handler that cannot hijack aborts it.
	f.e.SetFaults(Faults{DropRate: 1})
	defer func() {
		if v := recover(); v != http.ErrAbortHandler {
			t.Fatalf("recorder drop: %v", v)
		}
	}()
	f.e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/apps/acme-api", nil))
}

func TestRequestCounts(t *testing.T) {
	f := setup(t, Options{})
	f.platform("/apps/acme-api")
	f.platform("/apps/" + f.app.ID)
	f.applink("GET", "/connections", nil)
	f.applink("GET", "/connections/nope", nil)
	f.applink("POST", "/connections/salesforce", map[string]string{"connection_name": "abc"})
	f.send("GET", "/stray/url", nil, nil)
	f.admin("GET", "/world", nil)
	want := map[string]int{
		"GET /apps/{app}":                                 2,
		"GET /addons/{addon_id}/connections":              1,
		"GET /addons/{addon_id}/connections/{connection}": 1,
		"POST /addons/{addon_id}/connections/salesforce":  1,
		"UNMATCHED GET /stray/url":                        1,
	}
	if got := f.e.Requests(); !reflect.DeepEqual(got, want) {
		t.Fatalf("counts %v, want %v", got, want)
	}
	r := f.admin("GET", "/requests", nil)
	if m := r.json(t); r.status != 200 || m["GET /apps/{app}"] != float64(2) {
		t.Fatalf("GET /_emulator/requests: %d %s", r.status, r.body)
	}
	if r := f.admin("DELETE", "/requests", nil); r.status != 204 {
		t.Fatal(r.status)
	}
	if got := f.e.Requests(); len(got) != 0 {
		t.Fatalf("after reset: %v", got)
	}
	f.applink("GET", "/connections", nil)
	f.e.ResetRequests()
	if got := f.e.Requests(); len(got) != 0 {
		t.Fatalf("after ResetRequests: %v", got)
	}
}

func TestAdminSeedApps(t *testing.T) {
	f := setup(t, Options{})
	r := f.admin("POST", "/apps", map[string]any{"name": "billing-api", "addons": 2})
	s := r.json(t)
	addons, _ := s["addons"].([]any)
	if r.status != 201 || len(addons) != 2 {
		t.Fatalf("seed: %d %s", r.status, r.body)
	}
	second := addons[1].(map[string]any)
	vars := second["config_vars"].(map[string]any)
	if second["attachment"] != "HEROKU_APPLINK_COBALT" || vars["HEROKU_APPLINK_COBALT_API_URL"] != f.srv.URL+"/addons/"+second["id"].(string) || vars["HEROKU_APPLINK_COBALT_TOKEN"] == "" {
		t.Fatalf("second add-on: %v", second)
	}
	if r := f.admin("POST", "/apps", map[string]any{"name": "billing-api"}); r.status != 409 || r.errorID(t) != "conflict" {
		t.Errorf("existing: %d %s", r.status, r.body)
	}
	if r := f.admin("POST", "/apps", map[string]any{"name": "Bad_Name"}); r.status != 422 {
		t.Errorf("bad name: %d", r.status)
	}
	if r := f.admin("POST", "/apps", map[string]any{"name": "bare-app", "addons": 0}); r.status != 201 || len(r.json(t)["addons"].([]any)) != 0 {
		t.Errorf("no add-ons: %d %s", r.status, r.body)
	}
	if _, err := f.e.SeedApp("acme-api", 1); !errors.Is(err, ErrExists) {
		t.Errorf("SeedApp existing: %v", err)
	}
	if err := f.e.EnsureApp("acme-api"); err != nil {
		t.Errorf("EnsureApp existing: %v", err)
	}
	if err := f.e.EnsureApp("new-app"); err != nil {
		t.Errorf("EnsureApp new: %v", err)
	}
	if err := f.e.EnsureApp("NOPE"); err == nil {
		t.Errorf("EnsureApp invalid: no error")
	}
	w := f.e.World()
	if len(w.Apps) != 4 || w.Apps[3].Name != "new-app" || len(w.Apps[3].Addons) != 1 {
		t.Fatalf("world apps %+v", w.Apps)
	}
}

func TestAdminBreakage(t *testing.T) {
	f := setup(t, Options{})
	f.connectOAuth("datacloud", "events_dc")
	f.connectOAuth("salesforce", "prod_org")
	f.applink("POST", "/connections/datacloud/events_dc/data_action_targets", map[string]string{"label": "Order_Events", "target_endpoint": "/hook"})
	f.publish("prod_org", zipOf(t, map[string]string{"api-spec.yaml": goodSpec}), `{"client_name":"AcmeAPI"}`)
	f.applink("POST", "/authorizations/salesforce", map[string]string{"developer_name": "ci_auth"})
	base := "/addons/" + f.addon.Name // admin routes take the add-on name or id

	r := f.admin("POST", base+"/connections/prod_org/status", map[string]any{"status": "failed", "error": map[string]string{"id": "org_connection_failed", "message": "boom"}})
	if r.status != 204 {
		t.Fatalf("set status: %d %s", r.status, r.body)
	}
	if c := f.applink("GET", "/connections/prod_org", nil).json(t); c["status"] != "failed" || errorOf(c) != "org_connection_failed" {
		t.Fatalf("forced failure: %v", c)
	}
	f.admin("POST", base+"/connections/prod_org/status", map[string]any{"status": ""})
	if s := f.applink("GET", "/connections/prod_org", nil).json(t)["status"]; s != "connected" {
		t.Fatalf("cleared override: %v", s)
	}
	if r := f.admin("POST", base+"/connections/prod_org/status", map[string]any{"status": "created"}); r.status != 422 {
		t.Errorf("wrong status for a connection: %d", r.status)
	}
	f.admin("POST", base+"/authorizations/ci_auth/status", map[string]any{"status": "disconnected"})
	if s := f.applink("GET", "/authorizations/ci_auth", nil).json(t)["status"]; s != "disconnected" {
		t.Fatalf("authorization status: %v", s)
	}
	f.admin("POST", base+"/connections/events_dc/targets/Order_Events/status", map[string]any{"status": "creation_failed"})
	if s := f.applink("GET", "/connections/datacloud/events_dc/data_action_targets/Order_Events", nil).json(t)["status"]; s != "creation_failed" {
		t.Fatalf("target status: %v", s)
	}
	for _, p := range []string{
		base + "/connections/events_dc/targets/Order_Events",
		base + "/connections/prod_org/publications/AcmeAPI",
		base + "/authorizations/ci_auth",
		base + "/connections/events_dc",
	} {
		if r := f.admin("DELETE", p, nil); r.status != 204 {
			t.Errorf("DELETE %s: %d %s", p, r.status, r.body)
		}
		if r := f.admin("DELETE", p, nil); r.status != 404 {
			t.Errorf("DELETE %s again: %d", p, r.status)
		}
	}
	w := f.e.World().Apps[0].Addons[0]
	if len(w.Connections) != 1 || len(w.Connections[0].Publications) != 0 || len(w.Authorizations) != 0 {
		t.Fatalf("after breakage: %+v", w)
	}
	// Rotating the add-on token revokes the old one.
	if r := f.admin("POST", base+"/rotate-token", nil); r.status != 200 || strings.Contains(string(r.body), "token\"") {
		t.Fatalf("rotate: %d %s", r.status, r.body)
	}
	if r := f.applink("GET", "/connections", nil); r.status != 401 {
		t.Fatalf("old token after rotation: %d", r.status)
	}
	if r := f.admin("GET", "/world", nil); r.status != 200 || strings.Contains(string(r.body), f.addon.ConfigVars["HEROKU_APPLINK_TOKEN"]) {
		t.Fatalf("world: %d", r.status)
	}
	if r := f.admin("DELETE", "/addons/nope/connections/x", nil); r.status != 404 {
		t.Errorf("unknown add-on: %d", r.status)
	}
}

func TestStartServesOnLoopback(t *testing.T) {
	srv, err := Start(Options{APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") || srv.APIKey != "k" {
		t.Fatalf("server %s %s", srv.URL, srv.APIKey)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(srv.URL + "/_emulator/world"); err == nil {
		t.Fatal("still serving after Close")
	}
}

// A world settled under one set of options keeps what happened when it is
// served with others (a sandbox world served later by a plain emulator).
func TestSettledWorldOutlivesOptions(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	e, err := New(Options{Dir: dir, Now: c.Now, ApproveOAuthAfter: time.Second, AsyncDelay: map[string]time.Duration{"target": time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e)
	defer srv.Close()
	e.SetBaseURL(srv.URL)
	f := &fixture{t: t, srv: &Server{URL: srv.URL, APIKey: e.APIKey(), Emulator: e}, e: e, clock: c}
	f.app, _ = e.SeedApp("acme-api", 1)
	f.addon = f.app.Addons[0]
	f.applink("POST", "/connections/datacloud", map[string]string{"connection_name": "events_dc"})
	c.Add(time.Second)
	f.applink("POST", "/connections/datacloud/events_dc/data_action_targets", map[string]string{"label": "Order_Events", "target_endpoint": "/hook"})
	c.Add(time.Second)
	before := e.World()
	if before.Apps[0].Addons[0].Connections[0].Status != "connected" || before.Apps[0].Addons[0].Connections[0].Targets[0].Status != "created" {
		t.Fatalf("before: %+v", before.Apps[0].Addons[0].Connections[0])
	}
	e2, err := New(Options{Dir: dir, Now: c.Now, AsyncDelay: map[string]time.Duration{"target": time.Hour, "connection": time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	if after := e2.World(); !reflect.DeepEqual(before, after) {
		t.Fatalf("world changed under other options:\n%+v\n%+v", before, after)
	}
}

func TestDropAfterDoesTheWork(t *testing.T) {
	f := setup(t, Options{DropAfterRate: 1})
	req, _ := http.NewRequest("POST", f.srv.URL+"/addons/"+f.addon.ID+"/connections/salesforce", strings.NewReader(`{"connection_name":"prod_org"}`))
	for k, v := range f.applinkHeaders() {
		req.Header.Set(k, v)
	}
	if res, err := http.DefaultClient.Do(req); err == nil {
		res.Body.Close()
		t.Fatalf("POST answered %d; want a dropped connection", res.StatusCode)
	}
	// GETs are never dropped after the fact, and the create happened.
	if r := f.applink("GET", "/connections/prod_org", nil); r.status != 200 || r.json(t)["status"] != "connecting" {
		t.Fatalf("after the dropped create: %d %s", r.status, r.body)
	}
	if n := f.e.Requests()["POST /addons/{addon_id}/connections/salesforce"]; n != 1 {
		t.Fatalf("%d creates counted", n)
	}
}
