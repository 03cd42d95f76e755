package emulator

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestValidName(t *testing.T) {
	for name, want := range map[string]bool{
		"abc": true, "prod_org": true, "A1_b2_C3": true, "a23456789012345678901234567890": true,
		"ab": false, "a234567890123456789012345678901": false, "1abc": false, "_abc": false,
		"abc_": false, "ab__c": false, "ab-c": false, "ab c": false, "": false, "abç": false,
	} {
		if got := validName(name); got != want {
			t.Errorf("validName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestAppLinkAuth(t *testing.T) {
	f := setup(t, Options{})
	path := "/addons/" + f.addon.ID + "/connections"
	good := f.applinkHeaders()
	with := func(k, v string) map[string]string {
		h := map[string]string{}
		for a, b := range good {
			h[a] = b
		}
		if v == "" {
			delete(h, k)
		} else {
			h[k] = v
		}
		return h
	}
	cases := []struct {
		name   string
		path   string
		hdr    map[string]string
		status int
		id     string
	}{
		{"all headers", path, good, 200, ""},
		{"no sso header", path, with("X-Addon-SSO", ""), 200, ""},
		{"no token", path, with("Authorization", ""), 401, "unauthorized"},
		{"wrong token", path, with("Authorization", "Bearer nope"), 401, "unauthorized"},
		{"platform key", path, with("Authorization", "Bearer "+f.srv.APIKey), 401, "unauthorized"},
		{"no app uuid", path, with("X-App-UUID", ""), 401, "unauthorized"},
		{"wrong app uuid", path, with("X-App-UUID", "00000000-0000-4000-8000-000000000000"), 401, "unauthorized"},
		{"malformed sso", path, with("X-Addon-SSO", "%%%not base64"), 401, "unauthorized"},
		{"sso not json", path, with("X-Addon-SSO", "bm90IGpzb24="), 401, "unauthorized"},
		{"unknown add-on", "/addons/00000000-0000-4000-8000-000000000000/connections", good, 404, "record_not_found"},
	}
	for _, c := range cases {
		r := f.send("GET", c.path, nil, c.hdr)
		if r.status != c.status {
			t.Errorf("%s: %d %s, want %d", c.name, r.status, r.body, c.status)
			continue
		}
		if c.id != "" && r.errorID(t) != c.id {
			t.Errorf("%s: error id %s, want %s", c.name, r.errorID(t), c.id)
		}
	}
}

func TestOAuthConnectionLifecycle(t *testing.T) {
	f := setup(t, Options{})
	r := f.applink("POST", "/connections/salesforce", map[string]string{"connection_name": "prod_org", "login_url": "https://test.salesforce.com"})
	c := r.json(t)
	org := c["org"].(map[string]any)
	// Unknown org fields are null (or absent), never "": the CLI prints '' for an empty string.
	_, hasUser := org["username"]
	if r.status != 202 || c["status"] != "connecting" || org["id"] != nil || org["instance_url"] != nil || hasUser ||
		org["type"] != "SalesforceOrg" || org["connection_name"] != "prod_org" || c["addon_id"] != f.addon.ID {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	if !strings.Contains(string(r.body), `"id":null,"instance_url":null`) {
		t.Errorf("create: org id and instance_url not null: %s", r.body)
	}
	redirect, _ := c["redirect_uri"].(string)
	if !strings.HasPrefix(redirect, f.srv.URL+"/_emulator/oauth/") {
		t.Fatalf("redirect_uri %q", redirect)
	}
	for _, field := range []string{"created_at", "last_modified_at"} {
		if _, err := time.Parse("2006-01-02T15:04:05.000000Z", c[field].(string)); err != nil {
			t.Errorf("%s %v: %v", field, c[field], err)
		}
	}
	id := c["id"].(string)
	// Pending until someone approves, however long.
	f.clock.Add(time.Hour)
	if r := f.applink("GET", "/connections/"+id, nil); r.json(t)["status"] != "connecting" {
		t.Fatalf("before approval: %s", r.body)
	}
	f.approve(redirect)
	r = f.applink("GET", "/connections/prod_org", nil)
	c = r.json(t)
	org = c["org"].(map[string]any)
	if c["status"] != "connected" || len(org["id"].(string)) != 18 || c["redirect_uri"] != nil {
		t.Fatalf("after approval: %s", r.body)
	}
	// A test.salesforce.com login reaches a sandbox, whose My Domain is *.sandbox.my.salesforce.com.
	if u := org["instance_url"].(string); !strings.HasPrefix(u, "https://") || !strings.HasSuffix(u, ".sandbox.my.salesforce.com") {
		t.Errorf("instance_url of a test.salesforce.com login %q, want https://….sandbox.my.salesforce.com", u)
	}
	if r := f.applink("GET", "/connections/"+id, nil); r.status != 200 {
		t.Fatalf("GET by id: %d", r.status)
	}
	// Duplicate and invalid names.
	if r := f.applink("POST", "/connections/datacloud", map[string]string{"connection_name": "prod_org"}); r.status != 409 || r.errorID(t) != "conflict" {
		t.Errorf("duplicate: %d %s", r.status, r.body)
	}
	for _, body := range []map[string]string{{"connection_name": "a__b"}, {}, {"connection_name": "okname", "login_url": "http://x"}} {
		if r := f.applink("POST", "/connections/salesforce", body); r.status != 422 || r.errorID(t) != "validation_failed" {
			t.Errorf("invalid %v: %d %s", body, r.status, r.body)
		}
	}
	if r := f.send("POST", "/addons/"+f.addon.ID+"/connections/salesforce", strings.NewReader("{nope"), f.applinkHeaders()); r.status != 422 {
		t.Errorf("bad json: %d", r.status)
	}
	r = f.applink("GET", "/connections", nil)
	if list := r.list(t); r.status != 200 || len(list) != 1 {
		t.Fatalf("list: %s", r.body)
	}
	// Delete: disconnecting, then gone (delete delay 0).
	r = f.applink("DELETE", "/connections/prod_org", nil)
	if r.status != 202 || r.json(t)["status"] != "disconnecting" {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if r := f.applink("GET", "/connections/prod_org", nil); r.status != 404 || r.errorID(t) != "record_not_found" {
		t.Fatalf("after delete: %d %s", r.status, r.body)
	}
	if r := f.applink("DELETE", "/connections/prod_org", nil); r.status != 404 {
		t.Fatalf("delete again: %d", r.status)
	}
	if r := f.applink("DELETE", "/connections/"+id, nil); r.status != 404 {
		t.Errorf("delete by id must not be accepted: %d", r.status)
	}
}

func TestDataCloudConnectionType(t *testing.T) {
	f := setup(t, Options{})
	c := f.connectOAuth("datacloud", "events_dc")
	if c["org"].(map[string]any)["type"] != "DataCloudOrg" {
		t.Fatalf("%v", c)
	}
}

func TestOAuthApprovedByTimer(t *testing.T) {
	f := setup(t, Options{ApproveOAuthAfter: time.Second})
	r := f.applink("POST", "/authorizations/salesforce", map[string]string{"developer_name": "ci_auth"})
	if r.status != 202 || r.json(t)["status"] != "authorizing" || r.json(t)["redirect_uri"] == nil {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	f.clock.Add(999 * time.Millisecond)
	if s := f.applink("GET", "/authorizations/ci_auth", nil).json(t)["status"]; s != "authorizing" {
		t.Fatalf("before the timer: %v", s)
	}
	f.clock.Add(time.Millisecond)
	a := f.applink("GET", "/authorizations/ci_auth", nil).json(t)
	if a["status"] != "authorized" || a["connection_method"] != "OAuth" || a["app_name"] != "acme-api" {
		t.Fatalf("after the timer: %v", a)
	}
	// A GET of the redirect after the fact is harmless.
	page := f.send("GET", "/_emulator/oauth/nope", nil, nil)
	if page.status != 404 {
		t.Errorf("unknown flow: %d", page.status)
	}
}

func TestAsyncDelays(t *testing.T) {
	f := setup(t, Options{AsyncDelay: map[string]time.Duration{"connection": 2 * time.Second, "target": 3 * time.Second, "delete": time.Second}})
	c := f.connectOAuth("datacloud", "events_dc")
	if m := f.applink("GET", "/connections/events_dc", nil).json(t); m["status"] != "connecting" || m["org"].(map[string]any)["id"] != nil {
		t.Fatalf("approved but within delay: %v", m)
	}
	tpath := "/connections/datacloud/events_dc/data_action_targets"
	if r := f.applink("POST", tpath, map[string]string{"label": "Order_Events", "target_endpoint": "/hook"}); r.status != 422 {
		t.Fatalf("target on a connecting connection: %d %s", r.status, r.body)
	}
	f.clock.Add(2 * time.Second)
	if s := f.applink("GET", "/connections/"+c["id"].(string), nil).json(t)["status"]; s != "connected" {
		t.Fatalf("after delay: %v", s)
	}
	r := f.applink("POST", tpath, map[string]string{"label": "Order_Events", "target_endpoint": "/hook"})
	if r.status != 202 || r.json(t)["status"] != "pending" {
		t.Fatalf("target create: %d %s", r.status, r.body)
	}
	var seen []string
	for range 4 {
		seen = append(seen, f.applink("GET", tpath+"/Order_Events", nil).json(t)["status"].(string))
		f.clock.Add(time.Second)
	}
	if got := strings.Join(seen, ","); got != "pending,creating,generating_signing_key,created" {
		t.Fatalf("target statuses %s", got)
	}
	if r := f.applink("DELETE", "/connections/events_dc", nil); r.json(t)["status"] != "disconnecting" {
		t.Fatal(string(r.body))
	}
	f.clock.Add(500 * time.Millisecond)
	if r := f.applink("GET", "/connections/events_dc", nil); r.status != 200 || r.json(t)["status"] != "disconnecting" {
		t.Fatalf("during delete: %d %s", r.status, r.body)
	}
	// A name being deleted is still taken.
	if r := f.applink("POST", "/connections/datacloud", map[string]string{"connection_name": "events_dc"}); r.status != 409 {
		t.Fatalf("recreate while disconnecting: %d", r.status)
	}
	f.clock.Add(500 * time.Millisecond)
	if r := f.applink("GET", "/connections/events_dc", nil); r.status != 404 {
		t.Fatalf("after delete delay: %d", r.status)
	}
	if n := len(f.e.World().Apps[0].Addons[0].Connections); n != 0 {
		t.Fatalf("%d connections left", n)
	}
}

func TestTargets(t *testing.T) {
	f := setup(t, Options{})
	f.connectOAuth("datacloud", "events_dc")
	f.connectOAuth("salesforce", "prod_org")
	tpath := "/connections/datacloud/events_dc/data_action_targets"
	r := f.applink("POST", tpath, map[string]string{"label": "Order_Events", "target_endpoint": "/handleDataCloudDataChangeEvent"})
	tg := r.json(t)
	if r.status != 202 || tg["api_name"] != "Order_Events" || tg["type"] != "webhook" ||
		tg["heroku_app"].(map[string]any)["url"] != "https://acme-api.herokuapp.com/" || tg["org"].(map[string]any)["type"] != "DataCloudOrg" {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	r = f.applink("GET", tpath, nil)
	list := r.list(t)
	if len(list) != 1 || list[0]["status"] != "created" || list[0]["app_id"] != f.app.ID || list[0]["connection_id"] == "" {
		t.Fatalf("list: %s", r.body)
	}
	for name, c := range map[string]struct {
		body   map[string]string
		status int
	}{
		"duplicate":    {map[string]string{"label": "Order_Events", "target_endpoint": "/x"}, 409},
		"bad label":    {map[string]string{"label": "Order Events", "target_endpoint": "/x"}, 422},
		"no endpoint":  {map[string]string{"label": "Other_Events"}, 422},
		"not a path":   {map[string]string{"label": "Other_Events", "target_endpoint": "https://x"}, 422},
		"bad type":     {map[string]string{"label": "Other_Events", "target_endpoint": "/x", "type": "email"}, 422},
		"bad api name": {map[string]string{"label": "Other_Events", "api_name": "9x", "target_endpoint": "/x"}, 422},
	} {
		if r := f.applink("POST", tpath, c.body); r.status != c.status {
			t.Errorf("%s: %d %s, want %d", name, r.status, r.body, c.status)
		}
	}
	if r := f.applink("POST", "/connections/datacloud/prod_org/data_action_targets", map[string]string{"label": "Abc", "target_endpoint": "/x"}); r.status != 404 {
		t.Errorf("target on a salesforce connection: %d", r.status)
	}
	if r := f.applink("GET", tpath+"/Nope_Events", nil); r.status != 404 || r.errorID(t) != "record_not_found" {
		t.Errorf("unknown target: %d", r.status)
	}
	// Deleting the connection takes its targets.
	f.applink("DELETE", "/connections/events_dc", nil)
	f.connectOAuth("datacloud", "events_dc")
	if r := f.applink("GET", tpath, nil); len(r.list(t)) != 0 {
		t.Fatalf("targets survived their connection: %s", r.body)
	}
}

func TestAuthorizations(t *testing.T) {
	f := setup(t, Options{})
	r := f.applink("POST", "/authorizations/datacloud", map[string]string{"developer_name": "dc_auth"})
	if r.status != 202 || r.json(t)["org"].(map[string]any)["type"] != "DataCloudOrg" {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	if r := f.applink("POST", "/authorizations/salesforce", map[string]string{"developer_name": "dc_auth"}); r.status != 409 {
		t.Errorf("duplicate: %d", r.status)
	}
	if r := f.applink("POST", "/authorizations/salesforce", map[string]string{"developer_name": "x"}); r.status != 422 || !strings.Contains(r.json(t)["message"].(string), "developer name") {
		t.Errorf("invalid: %d %s", r.status, r.body)
	}
	if r := f.applink("GET", "/authorizations", nil); len(r.list(t)) != 1 {
		t.Fatal(string(r.body))
	}
	if r := f.applink("DELETE", "/authorizations/dc_auth", nil); r.status != 200 || string(r.body) != "{}\n" {
		t.Fatalf("delete: %d %q", r.status, r.body)
	}
	if r := f.applink("DELETE", "/authorizations/dc_auth", nil); r.status != 404 {
		t.Fatalf("delete again: %d", r.status)
	}
}

func TestRuntimeRoute(t *testing.T) {
	f := setup(t, Options{})
	r := f.applink("POST", "/authorizations/salesforce/jwt", map[string]string{
		"developer_name": "ci_auth", "client_id": "cid-runtime", "jwt_private_key": keyPEM(testKey(t, 0)), "username": "api@acme.com"})
	if r.status != 202 || r.json(t)["status"] != "authorized" || r.json(t)["alias"] != "applink:ci_auth" {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	// Management GET: no credentials.
	if r := f.applink("GET", "/authorizations/ci_auth", nil); strings.Contains(string(r.body), "access_token") {
		t.Fatalf("management GET shows an access token: %s", r.body)
	}
	// Runtime GET (no SSO header), by developer name and by alias.
	h := f.applinkHeaders()
	delete(h, "X-Addon-SSO")
	for _, key := range []string{"ci_auth", "applink:ci_auth"} {
		r := f.send("GET", "/addons/"+f.addon.ID+"/authorizations/"+key, nil, h)
		org := r.json(t)["org"].(map[string]any)
		ua, _ := org["user_auth"].(map[string]any)
		if r.status != 200 || ua == nil || ua["access_token"] == "" || ua["username"] != "api@acme.com" || org["developer_name"] != "ci_auth" || org["api_version"] == nil {
			t.Fatalf("runtime %s: %d %s", key, r.status, r.body)
		}
	}
	delete(h, "X-App-UUID")
	if r := f.send("GET", "/addons/"+f.addon.ID+"/authorizations/ci_auth", nil, h); r.status != http.StatusUnauthorized {
		t.Fatalf("runtime without x-app-uuid: %d", r.status)
	}
}

// An authorization forced to authorized before its flow was approved has
// no org yet; the runtime route must not trip over it.
func TestRuntimeRouteForcedStatus(t *testing.T) {
	f := setup(t, Options{})
	f.applink("POST", "/authorizations/salesforce", map[string]string{"developer_name": "ci_auth"})
	f.admin("POST", "/addons/"+f.addon.ID+"/authorizations/ci_auth/status", map[string]string{"status": "authorized"})
	h := f.applinkHeaders()
	delete(h, "X-Addon-SSO")
	if r := f.send("GET", "/addons/"+f.addon.ID+"/authorizations/ci_auth", nil, h); r.status != 200 || r.json(t)["status"] != "authorized" {
		t.Fatalf("%d %s", r.status, r.body)
	}
}

// Bad input gets a 4xx, never a 5xx or a panic, on every route.
func TestGarbageNeverBreaksRoutes(t *testing.T) {
	f := setup(t, Options{})
	f.connectOAuth("salesforce", "prod_org")
	f.connectOAuth("datacloud", "events_dc")
	routes := []string{
		"POST /connections/salesforce", "POST /connections/datacloud", "POST /connections/salesforce/jwt",
		"POST /authorizations/salesforce", "POST /authorizations/datacloud", "POST /authorizations/salesforce/jwt",
		"POST /authorizations/datacloud/jwt", "POST /connections/datacloud/events_dc/data_action_targets",
		"POST /connections/salesforce/prod_org/apps", "GET /connections/%00", "DELETE /connections/..%2f",
		"GET /authorizations/%ff", "GET /connections/salesforce/prod_org/apps/x",
	}
	bodies := []string{"", "null", "[]", `{"connection_name":1}`, `{"developer_name":"ok_name","client_id":"c","username":"u","jwt_private_key":"` + strings.Repeat("A", 5000) + `"}`, "\x00\xff{", `{"label":"ab__c","target_endpoint":"/x"}`}
	for _, rt := range routes {
		method, path, _ := strings.Cut(rt, " ")
		for _, b := range bodies {
			r := f.send(method, "/addons/"+f.addon.ID+path, strings.NewReader(b), f.applinkHeaders())
			if r.status >= 500 {
				t.Errorf("%s with %.30q: %d %s", rt, b, r.status, r.body)
			}
		}
	}
	for _, p := range []string{"/_emulator/apps", "/_emulator/connected-apps", "/_emulator/addons/x/connections/y/status", "/services/oauth2/token"} {
		for _, b := range bodies {
			r := f.send("POST", p, strings.NewReader(b), nil)
			if r.status >= 500 {
				t.Errorf("POST %s with %.30q: %d %s", p, b, r.status, r.body)
			}
		}
	}
}
