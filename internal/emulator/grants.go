package emulator

import (
	"net/http"
	"strings"
)

// Connections (routes #1–#6) and authorizations (#7–#13) are both grants
// to an org and follow one flow: list, get, create by OAuth or JWT,
// delete, and the admin routes that delete them or force a status. What
// sets them apart is data in a grantKind, so a fix to the flow reaches
// both.

// grantKind is what differs between connections (T connection, answered
// as W wConnection) and authorizations (authorization, wAuthorization).
type grantKind[T, W any] struct {
	param    string                   // the path value that names one
	what     string                   // the name's noun in validation messages
	notFound string                   // the 404 message
	nameOf   func(createNames) string // the create body's name field
	// oauthFields and jwtFields are the fields each create body may
	// hold (sorted), as the Heroku CLI sends them.
	oauthFields, jwtFields []string
	// aliasRequired refuses a JWT create without an alias: the CLI always
	// sends one for connections.
	aliasRequired bool
	items         func(*addon) *[]*T
	// find looks key up by name; loose also matches the other keys the
	// kind's get route accepts (ids, aliases).
	find  func(ad *addon, key string, loose bool) *T
	grant func(*T) *grant
	wrap  func(grant) *T
	wire  func(e *Emulator, a *app, ad *addon, t *T, base string) W
	// jwtDefaults completes a new JWT grant: its org type and alias.
	jwtDefaults func(r *http.Request, g *grant)
	// decorate completes a get's answer; nil leaves it as wired.
	decorate func(r *http.Request, out *W)
	// remove does and answers a delete of t, once it is found.
	remove func(e *Emulator, w http.ResponseWriter, a *app, ad *addon, t *T, base string)
}

var connectionKind = &grantKind[connection, wConnection]{
	param: "connection", what: "connection", notFound: "Connection not found.",
	nameOf:        func(n createNames) string { return n.ConnectionName },
	oauthFields:   []string{"connection_name", "login_url"},
	jwtFields:     []string{"alias", "client_id", "connection_name", "jwt_private_key", "login_url", "username"},
	aliasRequired: true,
	items:         func(ad *addon) *[]*connection { return &ad.Connections },
	find:          (*addon).connection,
	grant:         func(c *connection) *grant { return &c.grant },
	wrap:          func(g grant) *connection { return &connection{grant: g} },
	wire:          (*Emulator).wireConnection,
	jwtDefaults:   func(_ *http.Request, g *grant) { g.OrgType = orgSalesforce },
	// A deleted connection goes through disconnecting (settle removes it);
	// deleting it again changes nothing.
	remove: func(e *Emulator, w http.ResponseWriter, a *app, ad *addon, c *connection, base string) {
		first := c.DeletedAt == nil
		if first {
			now := e.now()
			c.DeletedAt, c.ModifiedAt = &now, now
			if !e.saveOrFail(w) {
				return
			}
		}
		if e.is(VariantStatuses) {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		out := e.wireConnection(a, ad, c, base)
		if first {
			out.Status = "disconnecting" // the delete's answer is always the first status
		}
		writeJSON(w, http.StatusAccepted, out)
	},
}

var authorizationKind = &grantKind[authorization, wAuthorization]{
	param: "authorization", what: "developer", notFound: "Authorization not found.",
	nameOf:      func(n createNames) string { return n.DeveloperName },
	oauthFields: []string{"developer_name", "login_url"},
	jwtFields:   []string{"alias", "client_id", "developer_name", "jwt_private_key", "login_url", "username"},
	items:       func(ad *addon) *[]*authorization { return &ad.Authorizations },
	find:        (*addon).authorization,
	grant:       func(au *authorization) *grant { return &au.grant },
	wrap:        func(g grant) *authorization { return &authorization{grant: g} },
	wire:        (*Emulator).wireAuthorization,
	jwtDefaults: func(r *http.Request, g *grant) {
		g.OrgType = orgTypeOf(r)
		if g.Alias == "" {
			g.Alias = "applink:" + g.Name
		}
	},
	// For a caller without x-addon-sso (a running app), the get is the runtime
	// route (docs/api.md, end of "Routes"), whose answer nests the org's
	// credentials.
	decorate: func(r *http.Request, out *wAuthorization) {
		if id := out.Org.ID.s; r.Header.Get("X-Addon-SSO") == "" && out.Status == "authorized" && len(id) == 18 {
			out.Org.APIVersion = apiVersion
			out.Org.UserAuth = &wUserAuth{Username: out.Org.Username, UserID: out.Org.UserID, AccessToken: id[:15] + "!" + newToken(24)}
		}
	},
	// A deleted authorization is gone at once, or under VariantLinger
	// stays listed as disconnected for a while (settle removes it);
	// deleting it again changes nothing.
	remove: func(e *Emulator, w http.ResponseWriter, _ *app, ad *addon, au *authorization, _ string) {
		switch {
		case e.lingerFor() == 0:
			ad.Authorizations = without(ad.Authorizations, au)
		case au.DeletedAt == nil:
			now := e.now()
			au.DeletedAt, au.ModifiedAt = &now, now
		}
		if !e.saveOrFail(w) {
			return
		}
		if e.is(VariantStatuses) {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		writeJSON(w, http.StatusOK, struct{}{})
	},
}

// without is s less x, filtered in place.
func without[T any](s []*T, x *T) []*T {
	out := s[:0]
	for _, y := range s {
		if y != x {
			out = append(out, y)
		}
	}
	return out
}

// list answers every grant of the kind, by name, a page at a time.
func (k *grantKind[T, W]) list(e *Emulator) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		e.underAddon(w, r, func(a *app, ad *addon, base string) {
			var items []pageItem
			for _, t := range *k.items(ad) {
				g := k.grant(t)
				items = append(items, pageItem{id: g.ID, name: g.Name, v: k.wire(e, a, ad, t, base)})
			}
			e.writeList(w, r, items, "name", "id")
		})
	}
}

// get answers one grant, found by any key the kind accepts.
func (k *grantKind[T, W]) get(e *Emulator) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		e.underAddon(w, r, func(a *app, ad *addon, base string) {
			t, ok := k.pathGrant(w, r, ad, true)
			if !ok {
				return
			}
			out := k.wire(e, a, ad, t, base)
			if k.decorate != nil {
				k.decorate(r, &out)
			}
			writeJSON(w, http.StatusOK, out)
		})
	}
}

// createOAuth starts a browser flow for a new grant of the org type the
// path names.
func (k *grantKind[T, W]) createOAuth(e *Emulator) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var body oauthCreate
		if !decodeStrict(w, r, &body, k.oauthFields...) {
			return
		}
		name := k.nameOf(body.createNames)
		e.underAddon(w, r, func(a *app, ad *addon, base string) {
			if !checkNew(w, k.what, name, body.LoginURL, k.find(ad, name, false) != nil) {
				return
			}
			now := e.now()
			t := k.wrap(grant{
				ID: newUUID(), Name: name, OrgType: orgTypeOf(r), Method: methodOAuth,
				LoginURL: body.LoginURL, FlowID: newToken(12), CreatedAt: now, ModifiedAt: now,
			})
			k.add(e, w, a, ad, t, base)
		})
	}
}

// createJWT makes a new grant by the JWT bearer flow, decided at once.
func (k *grantKind[T, W]) createJWT(e *Emulator) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var body jwtCreate
		if !decodeStrict(w, r, &body, k.jwtFields...) {
			return
		}
		if k.aliasRequired && strings.TrimSpace(body.Alias) == "" {
			writeError(w, http.StatusBadRequest, "bad_request", "alias is required in the body of "+routeOf(r)+" (the Heroku CLI sends a random UUID).")
			return
		}
		name := k.nameOf(body.createNames)
		signed := e.signJWT(&body)
		e.underAddon(w, r, func(a *app, ad *addon, base string) {
			g, ok := e.newJWTGrant(w, k.what, name, &body, k.find(ad, name, false) != nil, signed)
			if !ok {
				return
			}
			k.jwtDefaults(r, g)
			k.add(e, w, a, ad, k.wrap(*g), base)
		})
	}
}

// add records a new grant and answers it. Callers hold e.mu.
func (k *grantKind[T, W]) add(e *Emulator, w http.ResponseWriter, a *app, ad *addon, t *T, base string) {
	items := k.items(ad)
	*items = append(*items, t)
	if !e.saveOrFail(w) {
		return
	}
	e.created(a.Name + "/" + k.param + "/" + k.grant(t).Name)
	writeJSON(w, e.createdStatus(), k.wire(e, a, ad, t, base))
}

// delete deletes a grant found by name.
func (k *grantKind[T, W]) delete(e *Emulator) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		e.underAddon(w, r, func(a *app, ad *addon, base string) {
			if t, ok := k.pathGrant(w, r, ad, false); ok {
				k.remove(e, w, a, ad, t, base)
			}
		})
	}
}

// pathGrant finds the grant the path names (loose: as find); false means
// a 404 was answered. Callers hold e.mu.
func (k *grantKind[T, W]) pathGrant(w http.ResponseWriter, r *http.Request, ad *addon, loose bool) (*T, bool) {
	t := k.find(ad, r.PathValue(k.param), loose)
	if t == nil {
		writeError(w, http.StatusNotFound, "record_not_found", k.notFound)
		return nil, false
	}
	return t, true
}

// adminDelete removes a grant at once, out of band (drift tests).
func (k *grantKind[T, W]) adminDelete(e *Emulator) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		e.underAdminAddon(w, r, func(ad *addon) {
			t, ok := k.pathGrant(w, r, ad, true)
			if !ok {
				return
			}
			items := k.items(ad)
			*items = without(*items, t)
			if e.saveOrFail(w) {
				w.WriteHeader(http.StatusNoContent)
			}
		})
	}
}
