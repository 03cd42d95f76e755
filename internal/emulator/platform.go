package emulator

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// The Heroku Platform API subset that finds an app's AppLink API
// (docs/api.md, "Where requests go").

// DefaultAddonService is the AppLink add-on service slug seeded add-ons have.
const DefaultAddonService = "heroku-applink"

// attachmentColours name the second and later AppLink attachments, as
// Heroku names extra attachments of one service.
var attachmentColours = []string{"COBALT", "AQUA", "AMBER", "BRONZE", "CRIMSON", "GOLD", "JADE", "ONYX", "PURPLE", "TEAL"}

// maxAddons bounds POST /_emulator/apps.
const maxAddons = 1 + 10

// SeededApp is the answer of SeedApp and POST /_emulator/apps.
type SeededApp struct {
	ID     string        `json:"id"`
	Name   string        `json:"name"`
	WebURL string        `json:"web_url"`
	Addons []SeededAddon `json:"addons"`
}

// SeededAddon is one AppLink add-on of a seeded app with its config vars
// (which hold its token: the emulator's own test secret).
type SeededAddon struct {
	ID           string            `json:"id"`
	Name         string            `json:"name"`
	AddonService string            `json:"addon_service"`
	Attachment   string            `json:"attachment"`
	ConfigVars   map[string]string `json:"config_vars"`
}

// SeedApp creates an app with that many AppLink add-ons, as POST
// /_emulator/apps does. A taken name is ErrExists.
func (e *Emulator) SeedApp(name string, addons int) (*SeededApp, error) {
	e.mu.Lock()
	base := e.baseURL
	e.mu.Unlock()
	return e.seedApp(name, addons, DefaultAddonService, base)
}

// EnsureApp creates the app with one AppLink add-on unless an app of that
// name or id exists (the sandbox).
func (e *Emulator) EnsureApp(name string) error {
	_, err := e.SeedApp(name, 1)
	if err == ErrExists {
		return nil
	}
	return err
}

func (e *Emulator) seedApp(name string, addons int, service, base string) (*SeededApp, error) {
	if !validAppName(name) {
		return nil, fmt.Errorf("emulator: app name %q: want 3 to 30 lowercase letters, digits and dashes, starting with a letter", name)
	}
	if addons < 0 || addons > maxAddons {
		return nil, fmt.Errorf("emulator: app %s: %d add-ons: want 0 to %d", name, addons, maxAddons)
	}
	if service == "" {
		service = DefaultAddonService
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.w.appByNameOrID(name) != nil {
		return nil, ErrExists
	}
	now := e.now()
	a := &app{ID: newUUID(), Name: name, CreatedAt: now}
	for i := range addons {
		att := "HEROKU_APPLINK"
		if i > 0 {
			att += "_" + attachmentColours[(i-1)%len(attachmentColours)]
		}
		a.Addons = append(a.Addons, &addon{
			ID: newUUID(), Name: fmt.Sprintf("%s-%s-%05d", service, name, i+1), Service: service,
			Attachment: att, Token: newToken(24), CreatedAt: now,
		})
	}
	e.w.Apps = append(e.w.Apps, a)
	if err := e.persist(); err != nil {
		return nil, err
	}
	return seeded(a, base), nil
}

func seeded(a *app, base string) *SeededApp {
	s := &SeededApp{ID: a.ID, Name: a.Name, WebURL: webURL(a), Addons: []SeededAddon{}}
	for _, ad := range a.Addons {
		s.Addons = append(s.Addons, SeededAddon{ID: ad.ID, Name: ad.Name, AddonService: ad.Service, Attachment: ad.Attachment, ConfigVars: configVars(ad, base)})
	}
	return s
}

func configVars(ad *addon, base string) map[string]string {
	return map[string]string{
		ad.Attachment + "_API_URL": base + "/addons/" + ad.ID,
		ad.Attachment + "_TOKEN":   ad.Token,
	}
}

func webURL(a *app) string { return "https://" + a.Name + ".herokuapp.com/" }

// validAppName is Heroku's app name rule.
func validAppName(s string) bool {
	if len(s) < 3 || len(s) > 30 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func (e *Emulator) platformRoutes() {
	e.handle("GET /apps/{app}", classPlatform, e.getApp)
	e.handle("GET /apps/{app}/addons", classPlatform, e.listAddons)
	e.handle("GET /apps/{app}/addon-attachments", classPlatform, e.listAttachments)
	e.handle("GET /apps/{app}/config-vars", classPlatform, e.getConfigVars)
	e.handle("GET /apps/{app}/addons/{addon_id}/sso", classPlatform, e.getSSO)
	e.accountRoutes()
}

// underApp runs fn under e.mu with the path's app, found by name or id,
// and the request's external URL; a missing app is answered 404.
func (e *Emulator) underApp(w http.ResponseWriter, r *http.Request, fn func(a *app, base string)) {
	base := e.base(r)
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.w.appByNameOrID(r.PathValue("app"))
	if a == nil {
		writeError(w, http.StatusNotFound, "not_found", "Couldn't find that app.")
		return
	}
	fn(a, base)
}

func (e *Emulator) getApp(w http.ResponseWriter, r *http.Request) {
	e.underApp(w, r, func(a *app, _ string) {
		writeJSON(w, http.StatusOK, wApp{
			ID: a.ID, Name: a.Name, WebURL: webURL(a), CreatedAt: stamp(a.CreatedAt), UpdatedAt: stamp(a.CreatedAt),
			Region: wRef{ID: "59accabd-516d-4f0e-83e6-6e3757701145", Name: "us"},
			Stack:  wRef{ID: "ae2a8ad0-8b5c-4a4b-9a62-7e5d8e4bfa84", Name: "heroku-24"},
		})
	})
}

func (e *Emulator) listAddons(w http.ResponseWriter, r *http.Request) {
	e.underApp(w, r, func(a *app, _ string) {
		var items []pageItem
		for _, ad := range a.Addons {
			items = append(items, pageItem{id: ad.ID, name: ad.Name, v: wireAddon(a, ad)})
		}
		e.writeList(w, r, items, "name", "id")
	})
}

func (e *Emulator) listAttachments(w http.ResponseWriter, r *http.Request) {
	e.underApp(w, r, func(a *app, _ string) {
		var items []pageItem
		for _, ad := range a.Addons {
			att := wireAttachment(a, ad)
			items = append(items, pageItem{id: att.ID, name: att.Name, v: att})
		}
		e.writeList(w, r, items, "name", "id")
	})
}

func (e *Emulator) getConfigVars(w http.ResponseWriter, r *http.Request) {
	e.underApp(w, r, func(a *app, base string) {
		out := map[string]string{}
		for _, ad := range a.Addons {
			for k, v := range configVars(ad, base) {
				out[k] = v
			}
		}
		writeJSON(w, http.StatusOK, out)
	})
}

// getSSO answers the add-on SSO payload; it needs the 3.sdk variant.
func (e *Emulator) getSSO(w http.ResponseWriter, r *http.Request) {
	if !strings.Contains(r.Header.Get("Accept"), "version=3.sdk") {
		writeError(w, http.StatusNotAcceptable, "not_acceptable", "The SSO payload needs Accept: application/vnd.heroku+json; version=3.sdk.")
		return
	}
	e.underApp(w, r, func(a *app, base string) {
		var ad *addon
		for _, x := range a.Addons {
			if x.ID == r.PathValue("addon_id") || x.Name == r.PathValue("addon_id") {
				ad = x
			}
		}
		if ad == nil {
			writeError(w, http.StatusNotFound, "not_found", "Couldn't find that add-on.")
			return
		}
		ts := fmt.Sprint(e.now().Unix())
		writeJSON(w, http.StatusOK, wSSO{Action: base + "/addons/" + ad.ID + "/sso", Method: "post", Params: map[string]string{
			"app": a.Name, "context_app": a.Name, "email": userEmail, "id": ad.ID,
			"nav-data": newToken(16), "resource_id": ad.ID, "resource_token": newToken(16),
			"timestamp": ts, "token": ssoToken(ad, ts), "user_id": newUUIDFrom(userEmail),
			"user_scoped_resource_token": newToken(16),
		}})
	})
}

// wireAddon is an add-on as the Platform API shows it.
func wireAddon(a *app, ad *addon) wAddon {
	return wAddon{
		ID: ad.ID, Name: ad.Name, AddonService: wRef{ID: newUUIDFrom(ad.Service), Name: ad.Service},
		Plan:        wPlan{ID: newUUIDFrom(ad.Service + ":base"), Name: ad.Service + ":base", Price: wPrice{Unit: "month"}},
		BilledPrice: wPrice{Unit: "month"},
		App:         wRef{ID: a.ID, Name: a.Name}, ConfigVars: []string{ad.Attachment + "_API_URL", ad.Attachment + "_TOKEN"},
		State:     "provisioned",
		WebURL:    "https://addons-sso.heroku.com/apps/" + a.ID + "/addons/" + ad.ID,
		CreatedAt: stamp(ad.CreatedAt), UpdatedAt: stamp(ad.CreatedAt),
	}
}

// wireAttachment is an add-on's attachment to its app as the Platform API
// shows it.
func wireAttachment(a *app, ad *addon) wAttachment {
	return wAttachment{
		ID: newUUIDFrom("attachment:" + ad.ID), Name: ad.Attachment,
		Addon:     wAttachmentAddon{ID: ad.ID, Name: ad.Name, App: wRef{ID: a.ID, Name: a.Name}},
		App:       wRef{ID: a.ID, Name: a.Name},
		CreatedAt: stamp(ad.CreatedAt), UpdatedAt: stamp(ad.CreatedAt),
	}
}

// userEmail is the Heroku user behind the emulator's API key.
const userEmail = "developer@example.com"

// newUUIDFrom is a stable UUID-shaped id derived from s.
func newUUIDFrom(s string) string {
	h1, h2 := fnv64(s), fnv64(s+"\x00")
	x := fmt.Sprintf("%016x%016x", h1, h2)
	return x[0:8] + "-" + x[8:12] + "-4" + x[13:16] + "-a" + x[17:20] + "-" + x[20:32]
}

// sortedApps is the world's apps by name, for deterministic answers.
func sortedApps(apps []*app) []*app {
	out := append([]*app(nil), apps...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
