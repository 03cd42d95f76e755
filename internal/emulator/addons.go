package emulator

import (
	"net/http"
	"strings"
)

// The account-wide Platform routes that `heroku addons` and `heroku
// addons:info` call, so that the Heroku CLI can be pointed at the emulator
// to look at what it holds. They share the /addons/{…} prefix with the
// AppLink routes: a path of one segment after the add-on, or
// addon-attachments, is Platform (API key); connections and
// authorizations are AppLink (add-on token or SSO).

func (e *Emulator) accountRoutes() {
	e.handle("GET /addons", classPlatform, e.listAccountAddons)
	e.handle("GET /addons/{addon}", classPlatform, e.getAccountAddon)
	e.handle("GET /addons/{addon}/addon-attachments", classPlatform, e.listAddonAttachments)
	e.handle("GET /addon-attachments", classPlatform, e.listAccountAttachments)
	e.handle("POST /actions/addons/resolve", classPlatform, e.resolveAddon)
}

// listAccountAddons is every add-on of every app (`heroku addons --all`).
func (e *Emulator) listAccountAddons(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var items []pageItem
	for _, a := range e.w.Apps {
		for _, ad := range a.Addons {
			items = append(items, pageItem{id: ad.ID, name: ad.Name, v: wireAddon(a, ad)})
		}
	}
	e.writeList(w, r, items, "name", "id")
}

// listAccountAttachments is every attachment of every app (`heroku addons
// -a APP` reads them all and keeps the app's). Attachment names repeat
// across apps, so this list pages by id only.
func (e *Emulator) listAccountAttachments(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var items []pageItem
	for _, a := range e.w.Apps {
		for _, ad := range a.Addons {
			att := wireAttachment(a, ad)
			items = append(items, pageItem{id: att.ID, name: att.Name, v: att})
		}
	}
	e.writeList(w, r, items, "id")
}

// underAccountAddon runs fn under e.mu with the add-on the path names by
// id or name; a missing one is answered 404.
func (e *Emulator) underAccountAddon(w http.ResponseWriter, r *http.Request, fn func(a *app, ad *addon)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, ad := e.w.addonByNameOrID(r.PathValue("addon"))
	if ad == nil {
		writeAddonNotFound(w)
		return
	}
	fn(a, ad)
}

func (e *Emulator) getAccountAddon(w http.ResponseWriter, r *http.Request) {
	e.underAccountAddon(w, r, func(a *app, ad *addon) { writeJSON(w, http.StatusOK, wireAddon(a, ad)) })
}

// listAddonAttachments is one add-on's attachments (`heroku addons:info`).
func (e *Emulator) listAddonAttachments(w http.ResponseWriter, r *http.Request) {
	e.underAccountAddon(w, r, func(a *app, ad *addon) {
		att := wireAttachment(a, ad)
		e.writeList(w, r, []pageItem{{id: att.ID, name: att.Name, v: att}}, "id")
	})
}

// resolveBody is what the CLI's add-on resolver posts: the add-on's id or
// name (or APP::ATTACHMENT), the app it is looked up in (null: the whole
// account) and an optional add-on service.
type resolveBody struct {
	Addon        string  `json:"addon"`
	App          *string `json:"app"`
	AddonService string  `json:"addon_service"`
}

// resolveAddon answers the add-ons a name could mean, as an array: within
// an app by add-on id, name or attachment name; account-wide by id, name
// or APP::ATTACHMENT. None is 404 with resource add_on, which the CLI
// takes as "try again account-wide".
func (e *Emulator) resolveAddon(w http.ResponseWriter, r *http.Request) {
	var body resolveBody
	if !decodeBody(w, r, &body) {
		return
	}
	if strings.TrimSpace(body.Addon) == "" {
		writeError(w, http.StatusUnprocessableEntity, "invalid_params", "addon is required.")
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var apps []*app
	if body.App != nil && *body.App != "" {
		a := e.w.appByNameOrID(*body.App)
		if a == nil {
			writeError(w, http.StatusNotFound, "not_found", "Couldn't find that app.")
			return
		}
		apps = []*app{a}
	} else {
		apps = e.w.Apps
	}
	appName, attName, qualified := strings.Cut(body.Addon, "::")
	out := []wAddon{}
	for _, a := range apps {
		for _, ad := range a.Addons {
			match := ad.ID == body.Addon || ad.Name == body.Addon
			switch {
			case qualified:
				match = (a.Name == appName || a.ID == appName) && ad.Attachment == attName
			case body.App != nil && *body.App != "":
				match = match || ad.Attachment == body.Addon
			}
			if match && (body.AddonService == "" || ad.Service == body.AddonService) {
				out = append(out, wireAddon(a, ad))
			}
		}
	}
	if len(out) == 0 {
		writeAddonNotFound(w)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// writeAddonNotFound is Heroku's 404 for an add-on, whose resource field
// the CLI's resolver reads.
func writeAddonNotFound(w http.ResponseWriter) {
	writeJSON(w, http.StatusNotFound, struct {
		apiError
		Resource string `json:"resource"`
	}{apiError{ID: "not_found", Message: "Couldn't find that add on."}, "add_on"})
}
