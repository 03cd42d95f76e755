package client_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/applinkctl/applinkctl/internal/client"
)

func TestResolveFindsAddonWithFourRequests(t *testing.T) {
	f := newFake(t)
	a, p := f.link()
	if a.AppID != appID || a.AppName != appName || a.AddonID != addonID || a.AddonName != "applink-regular-12345" ||
		a.Attachment != "HEROKU_APPLINK" || a.APIURL != f.srv.URL {
		t.Errorf("resolved %+v fields: %q %q %q %q %q", a, a.AppID, a.AddonID, a.AddonName, a.Attachment, a.APIURL)
	}
	if got := p.Requests(); got != 4 {
		t.Errorf("Requests() = %d, want 4 (3 parallel reads + SSO)", got)
	}
	if f.hit("GET /apps/acme-api") != 0 {
		t.Errorf("GET /apps/acme-api made although the add-on list names the app")
	}
	if f.hit("GET /apps/acme-api/addons/"+addonID+"/sso") != 1 {
		t.Errorf("SSO call not made for the chosen add-on")
	}
}

func TestResolveChoosesAmongSeveralAddons(t *testing.T) {
	f := newFake(t)
	f.addons = append(f.addons, addon(addonID2, "applink-cobalt-777", "heroku-applink"), addon("pg-id", "postgresql-x", "heroku-postgresql"))
	f.attachments = append(f.attachments, attachment("HEROKU_APPLINK_COBALT", addonID2))
	f.vars["HEROKU_APPLINK_COBALT_API_URL"] = f.srv.URL + "/addons/" + addonID2
	f.vars["HEROKU_APPLINK_COBALT_TOKEN"] = "tok-cobalt-xxxxxxxx"
	p := f.platform()
	for _, want := range []string{"applink-cobalt-777", addonID2} {
		a, err := p.Resolve(t.Context(), appName, want)
		if err != nil {
			t.Fatalf("Resolve(%q): %v", want, err)
		}
		if a.AddonID != addonID2 || a.Attachment != "HEROKU_APPLINK_COBALT" {
			t.Errorf("Resolve(%q) = addon %s attachment %s", want, a.AddonID, a.Attachment)
		}
	}
}

func TestResolveErrors(t *testing.T) {
	tests := []struct {
		name   string
		app    string
		addon  string
		setup  func(f *fake)
		mod    func(*client.Config)
		kind   client.ResolveKind
		substr []string
	}{
		{name: "app not found", app: "nope", kind: client.ResolveAppNotFound, substr: []string{"app nope: app not found"},
			setup: func(f *fake) {
				for _, p := range []string{"", "/addons", "/addon-attachments", "/config-vars"} {
					f.mux.HandleFunc("GET /apps/nope"+p, func(w http.ResponseWriter, r *http.Request) {
						apiErr(w, 404, "not_found", "Couldn't find that app.")
					})
				}
			}},
		{name: "bad key", app: appName, kind: client.ResolveUnauthorized, substr: []string{"401", "HEROKU_API_KEY"},
			mod: func(c *client.Config) {
				c.HTTPClient = &http.Client{Transport: rewrite401{}}
			}},
		{name: "no applink add-on", app: appName, kind: client.ResolveNoAddon,
			substr: []string{"AppLink add-on isn't present", "heroku addons:create heroku-applink -a acme-api"},
			setup: func(f *fake) {
				f.addons = []map[string]any{addon("pg", "postgresql-x", "heroku-postgresql")}
			}},
		{name: "named add-on missing", app: appName, addon: "applink-gone", kind: client.ResolveAddonNotFound,
			substr: []string{"AppLink add-on applink-gone isn't present", "applink-regular-12345 (HEROKU_APPLINK)"}},
		{name: "named add-on of another service", app: appName, addon: "postgresql-x", kind: client.ResolveAddonNotFound,
			substr: []string{"postgresql-x is a heroku-postgresql add-on"},
			setup:  func(f *fake) { f.addons = append(f.addons, addon("pg", "postgresql-x", "heroku-postgresql")) }},
		{name: "several and none chosen", app: appName, kind: client.ResolveAmbiguousAddon,
			substr: []string{"2 AppLink add-ons", "applink-cobalt-777 (HEROKU_APPLINK_COBALT)", "applink-regular-12345 (HEROKU_APPLINK)", "`addon:`"},
			setup: func(f *fake) {
				f.addons = append(f.addons, addon(addonID2, "applink-cobalt-777", "heroku-applink"))
				f.attachments = append(f.attachments, attachment("HEROKU_APPLINK_COBALT", addonID2))
			}},
		{name: "token missing", app: appName, kind: client.ResolveNotProvisioned,
			substr: []string{"isn't fully provisioned", "HEROKU_APPLINK_TOKEN"},
			setup:  func(f *fake) { delete(f.vars, "HEROKU_APPLINK_TOKEN") }},
		{name: "no attachment", app: appName, kind: client.ResolveNotProvisioned,
			substr: []string{"isn't fully provisioned"},
			setup:  func(f *fake) { f.attachments = nil }},
		{name: "clear-text API URL", app: appName, kind: client.ResolveNotProvisioned,
			substr: []string{"HEROKU_APPLINK_API_URL", "loopback"},
			setup:  func(f *fake) { f.vars["HEROKU_APPLINK_API_URL"] = "http://applink.example.com/addons/" + addonID }},
		{name: "staging service via config", app: appName, kind: client.ResolveNoAddon,
			substr: []string{"no heroku-applink-staging add-on"},
			mod:    func(c *client.Config) { c.AddonService = "heroku-applink-staging" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			if tt.setup != nil {
				tt.setup(f)
			}
			var mods []func(*client.Config)
			if tt.mod != nil {
				mods = append(mods, tt.mod)
			}
			p := f.platform(mods...)
			_, err := p.Resolve(t.Context(), tt.app, tt.addon)
			var re *client.ResolveError
			if !errors.As(err, &re) {
				t.Fatalf("Resolve error = %v, want *ResolveError", err)
			}
			if re.Kind != tt.kind {
				t.Errorf("Kind = %v, want %v (%v)", re.Kind, tt.kind, err)
			}
			for _, s := range tt.substr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
			if strings.Contains(err.Error(), apiKey) || strings.Contains(err.Error(), addonToken) {
				t.Errorf("error leaks a secret: %v", err)
			}
		})
	}
}

// rewrite401 answers every request 401 as the Platform API does for a bad key.
type rewrite401 struct{}

func (rewrite401) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := newRecorder()
	apiErr(rec, 401, "unauthorized", "Invalid credentials provided.")
	return rec.result(r), nil
}

func TestNewRefusesClearTextAndMissingKey(t *testing.T) {
	if _, err := client.New(client.Config{BaseURL: "http://api.example.com", APIKey: secretOf(apiKey)}); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("New with http non-loopback: err = %v", err)
	}
	if _, err := client.New(client.Config{BaseURL: "https://api.heroku.com"}); !errors.Is(err, client.ErrNoAPIKey) {
		t.Errorf("New with no key: err = %v, want ErrNoAPIKey", err)
	}
	if _, err := client.New(client.Config{BaseURL: "http://[::1]:5000", APIKey: secretOf(apiKey)}); err != nil {
		t.Errorf("New with http loopback: %v", err)
	}
}

// An add-on owned by another app and attached to this one names its owner in
// the add-on list; the app's own UUID then needs GET /apps/{app}.
func TestResolveAddonOwnedByAnotherApp(t *testing.T) {
	f := newFake(t)
	f.addons[0]["app"] = map[string]any{"id": "11111111-2222-3333-4444-555555555555", "name": "owner-app"}
	a, p := f.link()
	if a.AppID != appID || a.AppName != appName {
		t.Errorf("resolved app %q %q, want this app %q %q", a.AppID, a.AppName, appID, appName)
	}
	if got := p.Requests(); got != 5 {
		t.Errorf("Requests() = %d, want 5 (3 parallel reads + app + SSO)", got)
	}
	if f.hit("GET /apps/acme-api") != 1 {
		t.Errorf("GET /apps/acme-api not made for an add-on owned by another app")
	}
}
