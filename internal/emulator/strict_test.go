package emulator

import (
	"maps"
	"strings"
	"testing"
)

// wantRefused asserts a 400 bad_request whose message holds every one of
// msgs.
func wantRefused(t *testing.T, what string, r resp, msgs ...string) {
	t.Helper()
	if r.status != 400 || r.errorID(t) != "bad_request" {
		t.Errorf("%s: %d %s, want 400 bad_request", what, r.status, r.body)
		return
	}
	for _, m := range msgs {
		if got := r.json(t)["message"].(string); !strings.Contains(got, m) {
			t.Errorf("%s: message %q does not say %q", what, got, m)
		}
	}
}

// Every create route takes exactly the fields the Heroku CLI sends: one
// more (even a field another route takes) is refused with a message that
// names it and the route's fields; the same body without it is accepted.
func TestCreateBodiesRefuseUnknownFields(t *testing.T) {
	f := setup(t, Options{})
	f.connectOAuth("datacloud", "events_dc")
	key := keyPEM(testKey(t, 0))
	for _, c := range []struct {
		route  string
		body   map[string]string
		extra  string
		fields string
	}{
		{"/connections/salesforce", map[string]string{"connection_name": "oauth_org", "login_url": "https://test.salesforce.com"}, "developer_name", "connection_name, login_url"},
		{"/connections/datacloud", map[string]string{"connection_name": "other_dc"}, "label", "connection_name, login_url"},
		{"/connections/salesforce/jwt", map[string]string{"alias": newUUID(), "client_id": "cid", "connection_name": "jwt_org", "jwt_private_key": key,
			"login_url": "https://login.salesforce.com", "username": "api@acme.com"}, "developer_name", "alias, client_id, connection_name, jwt_private_key, login_url, username"},
		{"/authorizations/salesforce", map[string]string{"developer_name": "oauth_auth", "login_url": "https://login.salesforce.com"}, "connection_name", "developer_name, login_url"},
		{"/authorizations/datacloud", map[string]string{"developer_name": "dc_auth"}, "client_id", "developer_name, login_url"},
		{"/authorizations/salesforce/jwt", map[string]string{"alias": "applink:jwt_auth", "client_id": "cid", "developer_name": "jwt_auth",
			"jwt_private_key": key, "username": "api@acme.com"}, "connection_name", "alias, client_id, developer_name, jwt_private_key, login_url, username"},
		{"/authorizations/datacloud/jwt", map[string]string{"alias": "applink:jwt_dc_auth", "client_id": "cid", "developer_name": "jwt_dc_auth",
			"jwt_private_key": key, "username": "api@acme.com"}, "org_type", "alias, client_id, developer_name, jwt_private_key, login_url, username"},
		{"/connections/datacloud/events_dc/data_action_targets", map[string]string{"api_name": "Order_Events", "label": "Order_Events",
			"target_endpoint": "/hook", "type": "webhook"}, "connection_name", "api_name, label, target_endpoint, type"},
	} {
		bad := maps.Clone(c.body)
		bad[c.extra] = "x"
		r := f.applink("POST", c.route, bad)
		wantRefused(t, c.route, r, `Unknown field "`+c.extra+`"`, "POST /addons/{addon_id}"+strings.ReplaceAll(c.route, "events_dc", "{connection}"), "it takes "+c.fields+".")
		if strings.Contains(string(r.body), "PRIVATE KEY") {
			t.Errorf("%s: the refusal echoes the key", c.route)
		}
		if r := f.applink("POST", c.route, c.body); r.status != 202 {
			t.Errorf("%s with the CLI's fields: %d %s, want 202", c.route, r.status, r.body)
		}
	}
	r := f.applink("POST", "/connections/salesforce", map[string]string{"connection_name": "x_org", "b": "1", "a": "2"})
	wantRefused(t, "two unknown fields", r, `Unknown fields "a", "b"`)
	if n := len(f.e.World().Apps[0].Addons[0].Connections); n != 4 {
		t.Errorf("%d connections, want 4: a refused create made one", n)
	}
}

// The CLI always sends an alias with a JWT connection; the emulator
// refuses a create without one. A JWT authorization without one gets the
// CLI's default, applink:<developer_name>.
func TestJWTConnectionNeedsAlias(t *testing.T) {
	f := setup(t, Options{})
	body := map[string]string{"client_id": "cid", "connection_name": "jwt_org", "jwt_private_key": keyPEM(testKey(t, 0)), "username": "api@acme.com"}
	wantRefused(t, "no alias", f.applink("POST", "/connections/salesforce/jwt", body), "alias is required", "POST /addons/{addon_id}/connections/salesforce/jwt")
	body["alias"] = " "
	wantRefused(t, "blank alias", f.applink("POST", "/connections/salesforce/jwt", body), "alias is required")
	body["alias"] = "5b0e9c1e-2f0a-4f7e-9d7e-0c1f2a3b4c5d"
	r := f.applink("POST", "/connections/salesforce/jwt", body)
	if r.status != 202 || r.json(t)["alias"] != body["alias"] {
		t.Errorf("with an alias: %d %s", r.status, r.body)
	}
	delete(body, "connection_name")
	delete(body, "alias")
	body["developer_name"] = "jwt_auth"
	r = f.applink("POST", "/authorizations/salesforce/jwt", body)
	if r.status != 202 || r.json(t)["alias"] != "applink:jwt_auth" {
		t.Errorf("authorization without alias: %d %s, want 202 with alias applink:jwt_auth", r.status, r.body)
	}
}

// A publish is two file parts, metadata and app_request, the latter JSON;
// anything else the CLI would not send is refused, naming the part.
func TestPublishRefusesOtherShapes(t *testing.T) {
	f := setup(t, Options{})
	f.connectOAuth("salesforce", "prod_org")
	good := zipOf(t, map[string]string{"api-spec.yaml": goodSpec})
	req := []byte(`{"client_name":"AcmeAPI"}`)
	meta := blob("metadata", "application/zip", good)
	send := func(parts ...part) resp {
		body, ct := multipartOf(parts...)
		h := f.applinkHeaders()
		h["Content-Type"] = ct
		return f.send("POST", "/addons/"+f.addon.ID+"/connections/salesforce/prod_org/apps", body, h)
	}
	for name, c := range map[string]struct {
		parts []part
		msg   string
	}{
		"app_request as a form field": {[]part{meta, {`form-data; name="app_request"`, "application/json", req}}, "The app_request part must be a file part"},
		"app_request without a type":  {[]part{meta, {`form-data; name="app_request"; filename="blob"`, "", req}}, `The app_request part must have Content-Type application/json, not ""`},
		"app_request as text":         {[]part{meta, blob("app_request", "text/plain", req)}, `Content-Type application/json, not "text/plain"`},
		"metadata as a form field":    {[]part{{`form-data; name="metadata"`, "application/zip", good}, blob("app_request", "application/json", req)}, "The metadata part must be a file part"},
		"an unknown part":             {[]part{meta, blob("app_request", "application/json", req), blob("spec", "application/json", req)}, `Unknown part "spec"`},
		"metadata twice":              {[]part{meta, meta, blob("app_request", "application/json", req)}, "The metadata part appears more than once"},
		"an unknown app_request field": {[]part{meta, blob("app_request", "application/json", []byte(`{"client_name":"A","name":"A"}`))},
			`Unknown field "name" in the app_request part; it takes authorization_connected_app_name, authorization_external_client_app_name, authorization_permission_set_name, client_name.`},
	} {
		wantRefused(t, name, send(c.parts...), c.msg)
	}
	if n := len(f.e.World().Apps[0].Addons[0].Connections[0].Publications); n != 0 {
		t.Fatalf("a refused publish left %d publications", n)
	}
	// The CLI's own shape, with a charset on the JSON type, is accepted.
	if r := send(meta, blob("app_request", "application/json; charset=utf-8", req)); r.status != 201 {
		t.Errorf("the CLI's shape: %d %s", r.status, r.body)
	}
}
