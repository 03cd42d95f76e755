package emulator

import (
	"errors"
	"net/http"
	"sort"
	"strings"
)

// Admin routes under /_emulator/ (no key, no faults, not counted): seed
// apps and connected apps, break things out of band for drift tests, read
// request counts and the world.

func (e *Emulator) routes() {
	e.mux = http.NewServeMux()
	e.platformRoutes()
	e.applinkRoutes()
	e.handle("POST /services/oauth2/token", classSalesforce, e.tokenEndpoint)
	e.handle("GET /_emulator/oauth/{flow}", classBrowser, e.oauthPage)

	e.handle("POST /_emulator/apps", classAdmin, e.adminSeedApp)
	e.handle("GET /_emulator/requests", classAdmin, func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, e.Requests()) })
	e.handle("DELETE /_emulator/requests", classAdmin, func(w http.ResponseWriter, _ *http.Request) {
		e.ResetRequests()
		w.WriteHeader(http.StatusNoContent)
	})
	e.handle("GET /_emulator/timeline", classAdmin, func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, e.Timeline()) })
	e.handle("DELETE /_emulator/timeline", classAdmin, func(w http.ResponseWriter, _ *http.Request) {
		e.ResetTimeline()
		w.WriteHeader(http.StatusNoContent)
	})
	e.handle("GET /_emulator/creates", classAdmin, e.adminCreates)
	e.handle("GET /_emulator/world", classAdmin, func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, e.World()) })
	e.handle("POST /_emulator/connected-apps", classAdmin, e.adminConnectedApp)
	e.handle("DELETE /_emulator/connected-apps/{client_id}", classAdmin, e.adminRevokeConnectedApp)
	e.handle("POST /_emulator/addons/{addon}/rotate-token", classAdmin, e.adminRotateToken)
	e.handle("DELETE /_emulator/addons/{addon}/connections/{connection}", classAdmin, connectionKind.adminDelete(e))
	e.handle("DELETE /_emulator/addons/{addon}/authorizations/{authorization}", classAdmin, authorizationKind.adminDelete(e))
	e.handle("DELETE /_emulator/addons/{addon}/connections/{connection}/targets/{api_name}", classAdmin, e.adminDeleteTarget)
	e.handle("DELETE /_emulator/addons/{addon}/connections/{connection}/publications/{client_name}", classAdmin, e.adminDeletePublication)
	e.handle("POST /_emulator/addons/{addon}/connections/{connection}/status", classAdmin, e.adminSetStatus)
	e.handle("POST /_emulator/addons/{addon}/authorizations/{authorization}/status", classAdmin, e.adminSetStatus)
	e.handle("POST /_emulator/addons/{addon}/connections/{connection}/targets/{api_name}/status", classAdmin, e.adminSetStatus)

	// Anything else is a stray URL: say so loudly, and count it so tests see it.
	e.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		e.count("UNMATCHED " + r.Method + " " + r.URL.Path)
		writeError(w, http.StatusNotFound, "not_found", "no route for "+r.Method+" "+r.URL.Path)
	})
}

type seedRequest struct {
	Name         string `json:"name"`
	Addons       *int   `json:"addons"`
	AddonService string `json:"addon_service"`
}

func (e *Emulator) adminSeedApp(w http.ResponseWriter, r *http.Request) {
	var body seedRequest
	if !decodeBody(w, r, &body) {
		return
	}
	n := 1
	if body.Addons != nil {
		n = *body.Addons
	}
	s, err := e.seedApp(body.Name, n, body.AddonService, e.base(r))
	switch {
	case errors.Is(err, ErrExists):
		writeError(w, http.StatusConflict, "conflict", "App "+body.Name+" already exists.")
	case err != nil:
		writeError(w, http.StatusUnprocessableEntity, "validation_failed", err.Error())
	default:
		writeJSON(w, http.StatusCreated, s)
	}
}

type connectedAppRequest struct {
	ClientID    string   `json:"client_id"`
	Certificate string   `json:"certificate"`
	Usernames   []string `json:"usernames"`
	LoginURL    string   `json:"login_url"`
}

// adminConnectedApp registers (or replaces) a connected app: JWT
// assertions for its client id must verify with the certificate, and only
// the listed users may use it (none listed: nobody is pre-authorized).
func (e *Emulator) adminConnectedApp(w http.ResponseWriter, r *http.Request) {
	var body connectedAppRequest
	if !decodeBody(w, r, &body) {
		return
	}
	if body.ClientID == "" {
		writeError(w, http.StatusUnprocessableEntity, "validation_failed", "client_id is required.")
		return
	}
	pub, err := parsePublicKey(body.Certificate)
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, "validation_failed", "certificate: "+err.Error())
		return
	}
	users := append([]string(nil), body.Usernames...)
	sort.Strings(users)
	ca := &connectedApp{ClientID: body.ClientID, PublicKeyPEM: publicKeyPEM(pub), Usernames: users, LoginURL: body.LoginURL, Registered: true}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.w.ConnectedApps[body.ClientID] = ca
	if !e.saveOrFail(w) {
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"client_id": ca.ClientID, "usernames": users, "registered": true})
}

// adminRevokeConnectedApp revokes a client id's key (registered or trusted
// on first use): every JWT connection and authorization that used it fails
// with authentication_failed, and the next JWT create for it trusts anew.
func (e *Emulator) adminRevokeConnectedApp(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("client_id")
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.w.ConnectedApps[id] == nil {
		writeError(w, http.StatusNotFound, "record_not_found", "No connected app for client id "+id+".")
		return
	}
	delete(e.w.ConnectedApps, id)
	now := e.now()
	revoked := &override{Status: "failed", Error: &apiError{ID: "authentication_failed", Message: "The connected app's certificate was revoked."}}
	for _, a := range e.w.Apps {
		for _, ad := range a.Addons {
			for _, g := range ad.grants() {
				if g.Method == methodJWT && g.ClientID == id {
					g.Override, g.ModifiedAt = revoked, now
				}
			}
		}
	}
	if !e.saveOrFail(w) {
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// underAdminAddon runs fn under e.mu with the path's add-on, found by id
// or name once settle has recorded what time did; a missing add-on is
// answered 404.
func (e *Emulator) underAdminAddon(w http.ResponseWriter, r *http.Request, fn func(ad *addon)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.settle()
	_, ad := e.w.addonByNameOrID(r.PathValue("addon"))
	if ad == nil {
		writeError(w, http.StatusNotFound, "record_not_found", "Add-on not found.")
		return
	}
	fn(ad)
}

func (e *Emulator) adminRotateToken(w http.ResponseWriter, r *http.Request) {
	e.underAdminAddon(w, r, func(ad *addon) {
		ad.Token = newToken(24)
		if !e.saveOrFail(w) {
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"addon_id": ad.ID, "attachment": ad.Attachment})
	})
}

func (e *Emulator) adminDeleteTarget(w http.ResponseWriter, r *http.Request) {
	adminDeleteChild(e, w, r, "Data action target not found.",
		func(c *connection) *[]*target { return &c.Targets },
		func(c *connection) *target { return c.target(r.PathValue("api_name")) })
}

func (e *Emulator) adminDeletePublication(w http.ResponseWriter, r *http.Request) {
	adminDeleteChild(e, w, r, "Publication not found.",
		func(c *connection) *[]*publication { return &c.Publications },
		func(c *connection) *publication { return c.publication(r.PathValue("client_name")) })
}

// adminDeleteChild removes, out of band, the child of the path's
// connection that find names from the list items points at; a missing
// connection or child is the same 404.
func adminDeleteChild[T any](e *Emulator, w http.ResponseWriter, r *http.Request, notFound string, items func(*connection) *[]*T, find func(*connection) *T) {
	e.underAdminAddon(w, r, func(ad *addon) {
		c := ad.connection(r.PathValue("connection"), true)
		var t *T
		if c != nil {
			t = find(c)
		}
		if t == nil {
			writeError(w, http.StatusNotFound, "record_not_found", notFound)
			return
		}
		list := items(c)
		*list = without(*list, t)
		if e.saveOrFail(w) {
			w.WriteHeader(http.StatusNoContent)
		}
	})
}

type statusRequest struct {
	Status string    `json:"status"`
	Error  *apiError `json:"error"`
}

// allowedStatuses per kind of resource (docs/emulator.md, "Statuses").
var allowedStatuses = map[string][]string{
	"connection":    {"connecting", "connected", "disconnecting", "disconnected", "failed"},
	"authorization": {"authorizing", "authorized", "disconnected", "failed"},
	"target":        {"pending", "creating", "generating_signing_key", "created", "creation_failed"},
}

// adminSetStatus forces a status (and optional error) on a connection,
// authorization or target; an empty status clears the override so the
// resource follows its own course again.
func (e *Emulator) adminSetStatus(w http.ResponseWriter, r *http.Request) {
	var body statusRequest
	if !decodeBody(w, r, &body) {
		return
	}
	kind := "connection"
	switch {
	case r.PathValue("api_name") != "":
		kind = "target"
	case r.PathValue("authorization") != "":
		kind = "authorization"
	}
	var ov *override
	if body.Status != "" {
		valid := false
		for _, s := range allowedStatuses[kind] {
			valid = valid || s == body.Status
		}
		if !valid {
			writeError(w, http.StatusUnprocessableEntity, "validation_failed",
				"status "+body.Status+": a "+kind+" takes one of "+strings.Join(allowedStatuses[kind], ", "))
			return
		}
		ov = &override{Status: body.Status, Error: body.Error}
	}
	e.underAdminAddon(w, r, func(ad *addon) {
		now := e.now()
		switch kind {
		case "authorization":
			au, ok := authorizationKind.pathGrant(w, r, ad, true)
			if !ok {
				return
			}
			au.Override, au.ModifiedAt = ov, now
		default:
			c, ok := connectionKind.pathGrant(w, r, ad, true)
			if !ok {
				return
			}
			if kind == "connection" {
				c.Override, c.ModifiedAt = ov, now
				break
			}
			t := c.target(r.PathValue("api_name"))
			if t == nil {
				writeError(w, http.StatusNotFound, "record_not_found", "Data action target not found.")
				return
			}
			t.Override = ov
		}
		if e.saveOrFail(w) {
			w.WriteHeader(http.StatusNoContent)
		}
	})
}
