package emulator

import (
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// AppLink management routes #1–#13 of docs/emulator.md ("AppLink routes")
// and the runtime route, at the root of the emulator (/addons/{addon_id}/…).

func (e *Emulator) applinkRoutes() {
	const root = "/addons/{addon_id}"
	e.handle("GET "+root+"/connections", classAppLink, connectionKind.list(e))                                            // #1
	e.handle("GET "+root+"/connections/{connection}", classAppLink, connectionKind.get(e))                                // #2
	e.handle("POST "+root+"/connections/salesforce", classAppLink, connectionKind.createOAuth(e))                         // #3
	e.handle("POST "+root+"/connections/datacloud", classAppLink, connectionKind.createOAuth(e))                          // #4
	e.handle("POST "+root+"/connections/salesforce/jwt", classAppLink, connectionKind.createJWT(e))                       // #5
	e.handle("DELETE "+root+"/connections/{connection}", classAppLink, connectionKind.delete(e))                          // #6
	e.handle("GET "+root+"/authorizations", classAppLink, authorizationKind.list(e))                                      // #7
	e.handle("GET "+root+"/authorizations/{authorization}", classAppLink, authorizationKind.get(e))                       // #8 and the runtime route
	e.handle("POST "+root+"/authorizations/salesforce", classAppLink, authorizationKind.createOAuth(e))                   // #9
	e.handle("POST "+root+"/authorizations/datacloud", classAppLink, authorizationKind.createOAuth(e))                    // #10
	e.handle("POST "+root+"/authorizations/salesforce/jwt", classAppLink, authorizationKind.createJWT(e))                 // #11
	e.handle("POST "+root+"/authorizations/datacloud/jwt", classAppLink, authorizationKind.createJWT(e))                  // #12
	e.handle("DELETE "+root+"/authorizations/{authorization}", classAppLink, authorizationKind.delete(e))                 // #13
	e.handle("GET "+root+"/connections/datacloud/{connection}/data_action_targets", classAppLink, e.listTargets)          // #14
	e.handle("POST "+root+"/connections/datacloud/{connection}/data_action_targets", classAppLink, e.createTarget)        // #15
	e.handle("GET "+root+"/connections/datacloud/{connection}/data_action_targets/{api_name}", classAppLink, e.getTarget) // #16
	e.handle("POST "+root+"/connections/salesforce/{connection}/apps", classAppLink, e.publish)                           // #17
	e.handle("GET "+root+"/connections/salesforce/{connection}/apps/{app_uuid}", classAppLink, e.listPublications)        // #18
}

// authAddon finds the path's add-on and checks its credential, x-app-uuid and,
// when present, x-addon-sso (docs/api.md, "Open questions": whether it is
// required is uncertain, so it is accepted when absent). The credential is the
// add-on token as a Bearer, or, with no Authorization header (the Heroku CLI
// sends none), an x-addon-sso the emulator gave out for the add-on (sso.go). It
// also settles finished deletions. Callers hold e.mu; false means the request
// was answered.
func (e *Emulator) authAddon(w http.ResponseWriter, r *http.Request) (*app, *addon, bool) {
	if e.settle() {
		if err := e.persist(); err != nil {
			writeError(w, http.StatusInternalServerError, "server_error", "could not save the world")
			return nil, nil, false
		}
	}
	a, ad := e.w.addonByID(r.PathValue("addon_id"))
	if ad == nil {
		writeError(w, http.StatusNotFound, "record_not_found", "Add-on not found.")
		return nil, nil, false
	}
	if r.Header.Get("Authorization") == "" {
		if !ssoGrants(r.Header.Get("X-Addon-SSO"), ad) {
			writeError(w, http.StatusUnauthorized, "unauthorized", "No add-on token, and no x-addon-sso from this add-on's SSO.")
			return nil, nil, false
		}
	} else if tok, ok := bearer(r); !ok || subtle.ConstantTimeCompare([]byte(tok), []byte(ad.Token)) != 1 {
		writeError(w, http.StatusUnauthorized, "unauthorized", "Invalid add-on token.")
		return nil, nil, false
	}
	if r.Header.Get("X-App-UUID") != a.ID {
		writeError(w, http.StatusUnauthorized, "unauthorized", "Missing or wrong x-app-uuid header.")
		return nil, nil, false
	}
	if sso := r.Header.Get("X-Addon-SSO"); sso != "" && !wellFormedSSO(sso) {
		writeError(w, http.StatusUnauthorized, "unauthorized", "Malformed x-addon-sso header.")
		return nil, nil, false
	}
	return a, ad, true
}

// underAddon runs fn under e.mu once authAddon has passed the request,
// with the request's external URL.
func (e *Emulator) underAddon(w http.ResponseWriter, r *http.Request, fn func(a *app, ad *addon, base string)) {
	base := e.base(r)
	e.mu.Lock()
	defer e.mu.Unlock()
	if a, ad, ok := e.authAddon(w, r); ok {
		fn(a, ad, base)
	}
}

// wellFormedSSO reports whether s is base64 of a JSON object.
func wellFormedSSO(s string) bool {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			var m map[string]any
			return json.Unmarshal(b, &m) == nil
		}
	}
	return false
}

// maxJSONBody caps management request bodies.
const maxJSONBody = 1 << 20

// decodeBody reads a JSON object body; false means the request was answered.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJSONBody))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "validation_failed", "Request body too large.")
		return false
	}
	if err := json.Unmarshal(b, v); err != nil {
		writeError(w, http.StatusUnprocessableEntity, "validation_failed", "Request body is not a valid JSON object.")
		return false
	}
	return true
}

// decodeStrict reads a create route's JSON object body as decodeBody does,
// and refuses (400 bad_request) a field the route does not take: the Heroku
// CLI sends exactly the route's fields, so anything else is a client bug
// the real API might silently ignore. allowed is sorted, for the message.
// false means the request was answered.
func decodeStrict(w http.ResponseWriter, r *http.Request, v any, allowed ...string) bool {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJSONBody))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "validation_failed", "Request body too large.")
		return false
	}
	if msg := unknownFields(b, allowed); msg != "" {
		writeError(w, http.StatusBadRequest, "bad_request", msg+" in the body of "+routeOf(r)+"; it takes "+strings.Join(allowed, ", ")+".")
		return false
	}
	if err := json.Unmarshal(b, v); err != nil {
		writeError(w, http.StatusUnprocessableEntity, "validation_failed", "Request body is not a valid JSON object.")
		return false
	}
	return true
}

// routeOf names r's route as its template, e.g. "POST
// /addons/{addon_id}/connections/salesforce".
func routeOf(r *http.Request) string {
	_, p, ok := strings.Cut(r.Pattern, " ")
	if !ok {
		p = r.URL.Path
	}
	return r.Method + " " + p
}

// unknownFields names the keys of the JSON object b that are not in
// allowed ("" when all are, or when b is not an object: the caller's
// decode refuses that).
func unknownFields(b []byte, allowed []string) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return ""
	}
	var bad []string
	for k := range m {
		if !slices.Contains(allowed, k) {
			bad = append(bad, strconv.Quote(k))
		}
	}
	switch len(bad) {
	case 0:
		return ""
	case 1:
		return "Unknown field " + bad[0]
	}
	slices.Sort(bad)
	return "Unknown fields " + strings.Join(bad, ", ")
}

// validName is the API's name rule (docs/manifest.md, "Names"):
// ^[A-Za-z](?:[A-Za-z0-9]|_(?!_)){1,28}[A-Za-z0-9]$, written by hand
// because Go's regexp has no look-ahead.
func validName(s string) bool {
	if len(s) < 3 || len(s) > 30 || !isLetter(s[0]) || !isLetter(s[len(s)-1]) && !isDigit(s[len(s)-1]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case isLetter(c) || isDigit(c):
		case c == '_' && s[i-1] != '_':
		default:
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }

// validLoginURL accepts an absent login URL or an https URL with a host.
func validLoginURL(s string) bool {
	if s == "" {
		return true
	}
	u, err := url.Parse(s)
	return err == nil && u.Scheme == "https" && u.Host != ""
}

// orgTypeOf is the org type a create route's path names.
func orgTypeOf(r *http.Request) string {
	if strings.Contains(r.URL.Path, "/datacloud") {
		return orgDataCloud
	}
	return orgSalesforce
}

// orgOf is the org a grant reaches once it is established: derived from
// its login URL (and, for JWT, the user's domain), so that the same inputs
// name the same org.
func orgOf(g *grant) (id, instance, user, userID string) {
	login := g.LoginURL
	if login == "" {
		login = defaultLoginURL
	}
	user = g.Username
	key := "oauth|" + login
	if g.Method == methodJWT {
		key = "jwt|" + domainOf(user)
	} else if user == "" {
		user = "admin@" + strings.ToLower(sfID("00D", key)[3:10]) + ".example.com"
	}
	id = sfID("00D", key)
	return id, instanceURL(id, login), user, sfID("005", id+user)
}

// wireOrg is the org of a grant as the API shows it: id and instance_url
// null (absent under VariantNulls), username and user_id absent, until
// the grant is established.
func (e *Emulator) wireOrg(g *grant, kind string) wOrg {
	o := wOrg{Type: g.OrgType}
	var id, instance string
	if e.established(g, kind) {
		id, instance, o.Username, o.UserID = orgOf(g)
	}
	o.ID, o.InstanceURL = e.unknownOr(id), e.unknownOr(instance)
	return o
}

// unknownOr is s as a field that is null when unknown (""), or absent
// under VariantNulls.
func (e *Emulator) unknownOr(s string) nullable {
	return nullable{s: s, absent: e.is(VariantNulls)}
}

// connectionOrg is a connection's org as the API shows it, named by the
// connection.
func (e *Emulator) connectionOrg(c *connection) wOrg {
	org := e.wireOrg(&c.grant, KindConnection)
	org.ConnectionName = c.Name
	return org
}

// redirectURI is where a pending OAuth grant's browser flow is approved
// (oauthPage); empty for JWT grants and once the grant is no longer pending.
func redirectURI(g *grant, pending bool, base string) string {
	if g.FlowID == "" || !pending {
		return ""
	}
	return base + "/_emulator/oauth/" + g.FlowID
}

func (e *Emulator) wireConnection(a *app, ad *addon, c *connection, base string) wConnection {
	st, errInfo, _ := e.connectionStatus(c)
	return wConnection{
		ID: c.ID, Status: st, Org: e.connectionOrg(c), AddonID: ad.ID, AppID: a.ID, Alias: c.Alias,
		ConnectionMethod: c.Method, CreatedAt: stamp(c.CreatedAt), CreatedBy: userEmail, CreatedViaApp: a.Name,
		LastModifiedAt: stamp(c.ModifiedAt), LastModifiedBy: userEmail, Error: errInfo,
		RedirectURI: redirectURI(&c.grant, st == "connecting", base),
	}
}

func (e *Emulator) wireAuthorization(a *app, ad *addon, au *authorization, base string) wAuthorization {
	st, errInfo, _ := e.authorizationStatus(au)
	org := e.wireOrg(&au.grant, KindAuthorization)
	org.DeveloperName = au.Name
	viaApp := ""
	if e.is(VariantNulls) {
		viaApp = a.Name
	}
	return wAuthorization{
		ID: au.ID, Status: st, Org: org, AddonID: ad.ID, AppName: a.Name, Alias: au.Alias, CreatedViaApp: viaApp,
		ConnectionMethod: au.Method, CreatedAt: stamp(au.CreatedAt), CreatedBy: userEmail,
		LastModifiedAt: stamp(au.ModifiedAt), LastModifiedBy: userEmail, Error: errInfo,
		RedirectURI: redirectURI(&au.grant, st == "authorizing", base),
	}
}

// saveOrFail persists the world; false means a 500 was answered.
func (e *Emulator) saveOrFail(w http.ResponseWriter) bool {
	if err := e.persist(); err != nil {
		writeError(w, http.StatusInternalServerError, "server_error", "could not save the world")
		return false
	}
	return true
}

// createNames are the name fields of a create body: connections are
// named by connection_name, authorizations by developer_name.
type createNames struct {
	ConnectionName string `json:"connection_name"`
	DeveloperName  string `json:"developer_name"`
}

type oauthCreate struct {
	createNames
	LoginURL string `json:"login_url"`
}

type jwtCreate struct {
	createNames
	ClientID   string `json:"client_id"`
	PrivateKey string `json:"jwt_private_key"`
	Username   string `json:"username"`
	LoginURL   string `json:"login_url"`
	Alias      string `json:"alias"`
}

// checkNew validates a new grant's name and login URL and that the name is
// free; false means the request was answered.
func checkNew(w http.ResponseWriter, what, name, loginURL string, taken bool) bool {
	switch {
	case name == "":
		writeError(w, http.StatusUnprocessableEntity, "validation_failed", what+" name is required.")
	case !validName(name):
		writeError(w, http.StatusUnprocessableEntity, "validation_failed", "Invalid "+what+" name format.")
	case !validLoginURL(loginURL):
		writeError(w, http.StatusUnprocessableEntity, "validation_failed", "Invalid login URL.")
	case taken:
		writeError(w, http.StatusConflict, "conflict", strings.ToUpper(what[:1])+what[1:]+" name "+name+" already exists.")
	default:
		return true
	}
	return false
}

// newJWTGrant validates a JWT create body and runs the grant; false means
// the request was answered.
func (e *Emulator) newJWTGrant(w http.ResponseWriter, what, name string, body *jwtCreate, taken bool, signed *jwtAssertion) (*grant, bool) {
	if !checkNew(w, what, name, body.LoginURL, taken) {
		return nil, false
	}
	// A fixed order, so the field a 422 names does not change between runs.
	for _, f := range []struct{ name, value string }{
		{"client_id", body.ClientID}, {"jwt_private_key", body.PrivateKey}, {"username", body.Username},
	} {
		if strings.TrimSpace(f.value) == "" {
			writeError(w, http.StatusUnprocessableEntity, "validation_failed", f.name+" is required.")
			return nil, false
		}
	}
	if signed.keyErr != nil {
		writeError(w, http.StatusUnprocessableEntity, "validation_failed", "Invalid JWT private key: "+signed.keyErr.Error()+".")
		return nil, false
	}
	now := e.now()
	g := &grant{
		ID: newUUID(), Name: name, Method: methodJWT, LoginURL: body.LoginURL, ClientID: body.ClientID,
		Username: body.Username, Alias: body.Alias, CreatedAt: now, ModifiedAt: now,
	}
	g.Error = e.jwtGrant(body.ClientID, body.Username, signed)
	return g, true
}
