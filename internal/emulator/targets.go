package emulator

import (
	"net/http"
	"strings"
)

// Data action targets, routes #14–#16.

type targetCreate struct {
	Label          string `json:"label"`
	APIName        string `json:"api_name"`
	TargetEndpoint string `json:"target_endpoint"`
	Type           string `json:"type"`
}

// orgConnectionNames name org types in a missing connection's message.
var orgConnectionNames = map[string]string{orgSalesforce: "Salesforce", orgDataCloud: "Data Cloud"}

// underConnection runs fn as underAddon does, with the path's connection,
// which must be of orgType (targets need Data Cloud, publications
// Salesforce); any other is answered 404.
func (e *Emulator) underConnection(w http.ResponseWriter, r *http.Request, orgType string, fn func(a *app, ad *addon, c *connection)) {
	e.underAddon(w, r, func(a *app, ad *addon, _ string) {
		c := ad.connection(r.PathValue("connection"), true)
		if c == nil || c.OrgType != orgType {
			writeError(w, http.StatusNotFound, "record_not_found", orgConnectionNames[orgType]+" connection not found.")
			return
		}
		fn(a, ad, c)
	})
}

// targetFields are t's fields and status as both its answers show them,
// and the error a failed target carries.
func (e *Emulator) targetFields(t *target) (wTargetFields, *apiError) {
	st, errInfo := e.targetStatus(t)
	return wTargetFields{ID: t.ID, APIName: t.APIName, Label: t.Label, Status: st, TargetEndpoint: t.TargetEndpoint, Type: t.Type}, errInfo
}

func (e *Emulator) wireTarget(a *app, c *connection, t *target) wTarget {
	f, _ := e.targetFields(t)
	return wTarget{wTargetFields: f, ConnectionID: c.ID, AppID: a.ID}
}

func (e *Emulator) wireTargetDetail(a *app, c *connection, t *target) wTargetDetail {
	f, errInfo := e.targetFields(t)
	return wTargetDetail{wTargetFields: f, HerokuApp: wHerokuApp{ID: a.ID, Name: a.Name, URL: webURL(a)}, Org: e.connectionOrg(c), Error: errInfo}
}

func (e *Emulator) listTargets(w http.ResponseWriter, r *http.Request) {
	e.underConnection(w, r, orgDataCloud, func(a *app, _ *addon, c *connection) {
		if e.childrenRefused(func(st int, id, msg string) { writeError(w, st, id, msg) }, c, "data action targets") {
			return
		}
		var items []pageItem
		for _, t := range c.Targets {
			items = append(items, pageItem{id: t.ID, name: t.APIName, v: e.wireTarget(a, c, t)})
		}
		e.writeList(w, r, items, "name", "id")
	})
}

func (e *Emulator) getTarget(w http.ResponseWriter, r *http.Request) {
	e.underConnection(w, r, orgDataCloud, func(a *app, _ *addon, c *connection) {
		t := c.target(r.PathValue("api_name"))
		if t == nil {
			writeError(w, http.StatusNotFound, "record_not_found", "Data action target not found.")
			return
		}
		writeJSON(w, http.StatusOK, e.wireTargetDetail(a, c, t))
	})
}

func (e *Emulator) createTarget(w http.ResponseWriter, r *http.Request) {
	var body targetCreate
	if !decodeStrict(w, r, &body, "api_name", "label", "target_endpoint", "type") {
		return
	}
	e.underConnection(w, r, orgDataCloud, func(a *app, _ *addon, c *connection) {
		if body.APIName == "" {
			body.APIName = strings.ReplaceAll(body.Label, " ", "_")
		}
		if body.Type == "" {
			body.Type = "webhook"
		}
		fail := func(msg string) { writeError(w, http.StatusUnprocessableEntity, "validation_failed", msg) }
		switch {
		case body.Label == "" || body.TargetEndpoint == "":
			fail("label and target_endpoint are required.")
		case !validName(body.Label):
			fail("Invalid label format.")
		case !validName(body.APIName):
			fail("Invalid api_name format.")
		case body.Type != "webhook":
			fail("Invalid type " + body.Type + ": only webhook is supported.")
		case !strings.HasPrefix(body.TargetEndpoint, "/"):
			fail("target_endpoint must be a path on the app, starting with /.")
		case !e.connected(c):
			fail("Connection " + c.Name + " is not connected.")
		case c.target(body.APIName) != nil || labelTaken(c, body.Label):
			writeError(w, http.StatusConflict, "conflict", "Data action target "+body.APIName+" already exists.")
		default:
			now := e.now()
			t := &target{ID: newUUID(), Label: body.Label, APIName: body.APIName, TargetEndpoint: body.TargetEndpoint,
				Type: body.Type, CreatedAt: now}
			c.Targets = append(c.Targets, t)
			if !e.saveOrFail(w) {
				return
			}
			e.created(a.Name + "/connection/" + c.Name + "/target/" + t.APIName)
			out := e.wireTargetDetail(a, c, t)
			out.Status = "pending" // the create answer is always the first status
			writeJSON(w, e.createdStatus(), out)
		}
	})
}

func labelTaken(c *connection, label string) bool {
	for _, t := range c.Targets {
		if t.Label == label {
			return true
		}
	}
	return false
}
