package emulator

import (
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// platformPost POSTs a JSON body to a Platform route with the API key.
func (f *fixture) platformPost(path string, body any) resp {
	f.t.Helper()
	return f.send("POST", path, jsonBody(body), map[string]string{
		"Authorization": "Bearer " + f.srv.APIKey, "Accept": "application/vnd.heroku+json; version=3.sdk", "Content-Type": "application/json"})
}

// The routes `heroku addons` and `heroku addons:info` call: the
// account's add-ons and attachments, one add-on, its attachments, and the
// add-on resolver.
func TestAddonCommandRoutes(t *testing.T) {
	f := setup(t, Options{})
	other, err := f.e.SeedApp("other-api", 2)
	if err != nil {
		t.Fatal(err)
	}
	r := f.platform("/addons")
	var names []string
	for _, ad := range r.list(t) {
		names = append(names, ad["name"].(string))
		plan := ad["plan"].(map[string]any)
		if ad["state"] != "provisioned" || plan["price"].(map[string]any)["unit"] != "month" || ad["billed_price"] == nil {
			t.Errorf("add-on %s: %v", ad["name"], ad)
		}
	}
	if want := []string{f.addon.Name, other.Addons[0].Name, other.Addons[1].Name}; r.status != 200 || !slices.Equal(names, want) {
		t.Errorf("GET /addons: %d %q, want %q", r.status, names, want)
	}
	r = f.platform("/addon-attachments")
	atts := r.list(t)
	if r.status != 200 || len(atts) != 3 {
		t.Fatalf("GET /addon-attachments: %d %s", r.status, r.body)
	}
	for _, at := range atts {
		if at["addon"].(map[string]any)["id"] == f.addon.ID && (at["name"] != "HEROKU_APPLINK" || at["app"].(map[string]any)["name"] != "acme-api") {
			t.Errorf("attachment of acme-api's add-on: %v", at)
		}
	}
	for _, key := range []string{f.addon.ID, f.addon.Name} {
		if r := f.platform("/addons/" + key); r.status != 200 || r.json(t)["id"] != f.addon.ID {
			t.Errorf("GET /addons/%s: %d %s", key, r.status, r.body)
		}
		r := f.platform("/addons/" + key + "/addon-attachments")
		if l := r.list(t); r.status != 200 || len(l) != 1 || l[0]["name"] != "HEROKU_APPLINK" {
			t.Errorf("GET /addons/%s/addon-attachments: %d %s", key, r.status, r.body)
		}
	}
	if r := f.platform("/addons/nope"); r.status != 404 || r.json(t)["resource"] != "add_on" {
		t.Errorf("unknown add-on: %d %s, want 404 with resource add_on", r.status, r.body)
	}

	app := func(s string) *string { return &s }
	for name, c := range map[string]struct {
		body resolveBody
		want string // the add-on id answered, "" for 404
	}{
		"by name in its app":       {resolveBody{Addon: f.addon.Name, App: app("acme-api")}, f.addon.ID},
		"by attachment in its app": {resolveBody{Addon: "HEROKU_APPLINK_COBALT", App: app("other-api")}, other.Addons[1].ID},
		"by id, account-wide":      {resolveBody{Addon: other.Addons[0].ID}, other.Addons[0].ID},
		"APP::ATTACHMENT":          {resolveBody{Addon: "other-api::HEROKU_APPLINK"}, other.Addons[0].ID},
		"attachment, account-wide": {resolveBody{Addon: "HEROKU_APPLINK_COBALT"}, ""},
		"another app's add-on":     {resolveBody{Addon: f.addon.Name, App: app("other-api")}, ""},
		"another service":          {resolveBody{Addon: f.addon.Name, AddonService: "heroku-postgresql"}, ""},
		"the service it is":        {resolveBody{Addon: f.addon.Name, AddonService: "heroku-applink"}, f.addon.ID},
	} {
		r := f.platformPost("/actions/addons/resolve", c.body)
		if c.want == "" {
			if r.status != 404 || r.json(t)["resource"] != "add_on" {
				t.Errorf("%s: %d %s, want 404 with resource add_on", name, r.status, r.body)
			}
			continue
		}
		if l := r.list(t); r.status != 200 || len(l) != 1 || l[0]["id"] != c.want {
			t.Errorf("%s: %d %s, want [%s]", name, r.status, r.body, c.want)
		}
	}
	// The CLI sends "app": null for an account-wide lookup.
	if r := f.send("POST", "/actions/addons/resolve", strings.NewReader(`{"addon":"`+f.addon.Name+`","app":null}`), map[string]string{
		"Authorization": "Bearer " + f.srv.APIKey, "Content-Type": "application/json"}); r.status != 200 {
		t.Errorf("app null: %d %s", r.status, r.body)
	}

	// Platform routes need the API key; the AppLink routes beside them
	// under /addons/{id}/ still need the add-on's credential.
	for _, path := range []string{"/addons", "/addons/" + f.addon.ID, "/addons/" + f.addon.ID + "/addon-attachments", "/addon-attachments"} {
		if r := f.send("GET", path, nil, nil); r.status != 401 {
			t.Errorf("GET %s without the key: %d", path, r.status)
		}
	}
	if r := f.applink("GET", "/connections", nil); r.status != 200 {
		t.Errorf("AppLink connections beside the Platform routes: %d %s", r.status, r.body)
	}
	if r := f.send("GET", "/addons/"+f.addon.ID+"/connections", nil, map[string]string{
		"Authorization": "Bearer " + f.srv.APIKey, "X-App-UUID": f.app.ID}); r.status != 401 {
		t.Errorf("AppLink connections with the Platform key: %d, want 401", r.status)
	}
	if n := f.e.Requests(); n["GET /addons/{addon}"] == 0 || n["POST /actions/addons/resolve"] == 0 || n["GET /addons/{addon_id}/connections"] == 0 {
		t.Errorf("request counts %v", n)
	}
}

// The Heroku CLI sends no Authorization to the AppLink API: its
// x-addon-sso, from the add-on's SSO route, is its credential.
func TestAppLinkAcceptsTheCLIsSSO(t *testing.T) {
	f := setup(t, Options{})
	other, err := f.e.SeedApp("other-api", 1)
	if err != nil {
		t.Fatal(err)
	}
	sso := func(app, addonID string) string {
		r := f.send("GET", "/apps/"+app+"/addons/"+addonID+"/sso", nil, map[string]string{
			"Authorization": "Bearer " + f.srv.APIKey, "Accept": "application/vnd.heroku+json; version=3.sdk"})
		if r.status != 200 {
			t.Fatalf("sso: %d %s", r.status, r.body)
		}
		return base64.StdEncoding.EncodeToString(r.body)
	}
	cli := func(ssoHeader string) int {
		return f.send("GET", "/addons/"+f.addon.ID+"/connections", nil, map[string]string{
			"Accept": "application/json", "X-App-UUID": f.app.ID, "X-Addon-SSO": ssoHeader,
			"User-Agent": "heroku-cli-plugin-applink/2.0.3 linux-x64"}).status
	}
	good := sso("acme-api", f.addon.ID)
	if got := cli(good); got != 200 {
		t.Errorf("the CLI's headers: %d, want 200", got)
	}
	if got := cli(sso("other-api", other.Addons[0].ID)); got != 401 {
		t.Errorf("another add-on's SSO: %d, want 401", got)
	}
	if got := cli(f.sso); got != 401 {
		t.Errorf("an SSO the emulator did not give out: %d, want 401", got)
	}
	if got := cli(""); got != 401 {
		t.Errorf("no credential at all: %d, want 401", got)
	}
	if r := f.admin("POST", "/addons/"+f.addon.ID+"/rotate-token", nil); r.status != http.StatusOK && r.status != http.StatusNoContent {
		t.Fatalf("rotate: %d %s", r.status, r.body)
	}
	if got := cli(good); got != 401 {
		t.Errorf("an SSO from before the token was rotated: %d, want 401", got)
	}
}
