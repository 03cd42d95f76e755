package emulator

import (
	"net/http"
	"strings"
	"testing"
)

func TestPlatformRoutes(t *testing.T) {
	f := setup(t, Options{})
	for _, key := range []string{f.app.Name, f.app.ID} {
		r := f.platform("/apps/" + key)
		if r.status != 200 || r.json(t)["id"] != f.app.ID || r.json(t)["name"] != "acme-api" {
			t.Fatalf("GET /apps/%s: %d %s", key, r.status, r.body)
		}
		if r.header.Get("RateLimit-Remaining") == "" {
			t.Errorf("GET /apps/%s: no RateLimit-Remaining", key)
		}
	}
	r := f.platform("/apps/acme-api/addons")
	addons := r.list(t)
	if r.status != 200 || len(addons) != 1 || addons[0]["id"] != f.addon.ID ||
		addons[0]["addon_service"].(map[string]any)["name"] != "heroku-applink" ||
		addons[0]["app"].(map[string]any)["id"] != f.app.ID {
		t.Fatalf("addons: %d %s", r.status, r.body)
	}
	r = f.platform("/apps/acme-api/addon-attachments")
	atts := r.list(t)
	if r.status != 200 || len(atts) != 1 || atts[0]["name"] != "HEROKU_APPLINK" || atts[0]["addon"].(map[string]any)["id"] != f.addon.ID {
		t.Fatalf("attachments: %d %s", r.status, r.body)
	}
	r = f.platform("/apps/acme-api/config-vars")
	vars := r.json(t)
	if vars["HEROKU_APPLINK_API_URL"] != f.srv.URL+"/addons/"+f.addon.ID || vars["HEROKU_APPLINK_TOKEN"] == "" {
		t.Fatalf("config vars: %s", r.body)
	}

	sso := f.send("GET", "/apps/acme-api/addons/"+f.addon.ID+"/sso", nil, map[string]string{
		"Authorization": "Bearer " + f.srv.APIKey, "Accept": "application/vnd.heroku+json; version=3.sdk"})
	m := sso.json(t)
	params, _ := m["params"].(map[string]any)
	if sso.status != 200 || m["method"] != "post" || params["resource_id"] != f.addon.ID || params["app"] != "acme-api" {
		t.Fatalf("sso: %d %s", sso.status, sso.body)
	}
	for _, k := range []string{"context_app", "email", "id", "nav-data", "resource_token", "timestamp", "token", "user_id", "user_scoped_resource_token"} {
		if params[k] == "" || params[k] == nil {
			t.Errorf("sso params lack %s", k)
		}
	}
	if r := f.platform("/apps/acme-api/addons/" + f.addon.ID + "/sso"); r.status != http.StatusNotAcceptable {
		t.Errorf("sso without 3.sdk: %d", r.status)
	}
}

func TestPlatformFailures(t *testing.T) {
	f := setup(t, Options{})
	if r := f.platform("/apps/nope-app"); r.status != 404 || r.errorID(t) != "not_found" {
		t.Errorf("unknown app: %d %s", r.status, r.body)
	}
	for name, hdr := range map[string]map[string]string{
		"no key":    {},
		"wrong key": {"Authorization": "Bearer nope"},
		"basic":     {"Authorization": "Basic " + f.srv.APIKey},
	} {
		r := f.send("GET", "/apps/acme-api", nil, hdr)
		if r.status != 401 || r.errorID(t) != "unauthorized" {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
		if strings.Contains(string(r.body), f.srv.APIKey) {
			t.Errorf("%s: the answer leaks the key", name)
		}
	}
	if r := f.platform("/apps/acme-api/addons/nope/sso"); r.status != http.StatusNotAcceptable {
		t.Errorf("sso: %d", r.status)
	}
}

func TestRateLimitBucket(t *testing.T) {
	f := setup(t, Options{RateLimitPerMinute: 60, RateLimitBurst: 2})
	if r := f.platform("/apps/acme-api"); r.status != 200 || r.header.Get("RateLimit-Remaining") != "1" {
		t.Fatalf("first: %d remaining %q", r.status, r.header.Get("RateLimit-Remaining"))
	}
	// AppLink routes share the account budget.
	if r := f.applink("GET", "/connections", nil); r.status != 200 || r.header.Get("RateLimit-Remaining") != "0" {
		t.Fatalf("second: %d remaining %q", r.status, r.header.Get("RateLimit-Remaining"))
	}
	r := f.platform("/apps/acme-api")
	if r.status != 429 || r.errorID(t) != "rate_limit" || r.header.Get("Retry-After") == "" || r.header.Get("RateLimit-Remaining") != "0" {
		t.Fatalf("empty bucket: %d %s %v", r.status, r.body, r.header)
	}
	f.clock.Add(1100 * 1e6) // 1.1 s refills one token at 60/min
	if r := f.platform("/apps/acme-api"); r.status != 200 {
		t.Fatalf("after refill: %d", r.status)
	}
}
