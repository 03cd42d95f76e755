package emulator

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseVariants(t *testing.T) {
	got, err := ParseVariants(" linger, nulls,linger,,")
	if err != nil || !slices.Equal(got, []string{"linger", "nulls"}) {
		t.Fatalf("ParseVariants = %v, %v", got, err)
	}
	if _, err := ParseVariants("linger,slow"); err == nil || !strings.Contains(err.Error(), `"slow"`) || !strings.Contains(err.Error(), "failed-children") {
		t.Errorf("unknown variant: %v", err)
	}
	env := func(v string) func(string) (string, bool) {
		return func(k string) (string, bool) { return v, k == VariantsEnv }
	}
	if got, err := VariantsFromEnv(env("")); err != nil || got != nil {
		t.Errorf("unset: %v, %v", got, err)
	}
	if _, err := VariantsFromEnv(env("nope")); err == nil || !strings.Contains(err.Error(), VariantsEnv) {
		t.Errorf("bad env: %v", err)
	}
	if _, err := New(Options{Variants: []string{"nope"}}); err == nil {
		t.Error("New accepted an unknown variant")
	}
	e, err := New(Options{Variants: []string{"statuses,linger"}})
	if err != nil || !slices.Equal(e.Variants(), []string{"linger", "statuses"}) {
		t.Errorf("Variants() = %v, %v", e.Variants(), err)
	}
}

// Under linger, a deleted connection is disconnecting for the delete
// delay, then listed as disconnected for the linger time, its name taken
// all along; a deleted authorization is disconnected at once. Both go in
// the end and their names are free again. Deleting one again changes
// nothing.
func TestLingerKeepsDeletedGrantsListedAndTheirNamesTaken(t *testing.T) {
	f := setup(t, Options{Variants: []string{VariantLinger}, Linger: 10 * time.Second,
		AsyncDelay: map[string]time.Duration{KindDelete: time.Second}})
	f.connectOAuth("salesforce", "prod_org")
	r := f.applink("POST", "/authorizations/salesforce", map[string]string{"developer_name": "ci_auth"})
	f.approve(r.json(t)["redirect_uri"].(string))

	if r := f.applink("DELETE", "/connections/prod_org", nil); r.status != 202 || r.json(t)["status"] != "disconnecting" {
		t.Fatalf("delete connection: %d %s", r.status, r.body)
	}
	if r := f.applink("DELETE", "/authorizations/ci_auth", nil); r.status != 200 {
		t.Fatalf("delete authorization: %d %s", r.status, r.body)
	}
	f.clock.Add(2 * time.Second)
	status := func(route string) (int, string) {
		r := f.applink("GET", route, nil)
		if r.status != 200 {
			return r.status, ""
		}
		return r.status, r.json(t)["status"].(string)
	}
	listed := func(route, name string) string {
		for _, it := range f.applink("GET", route, nil).list(t) {
			org, _ := it["org"].(map[string]any)
			if org["connection_name"] == name || org["developer_name"] == name {
				return it["status"].(string)
			}
		}
		return ""
	}
	if _, s := status("/connections/prod_org"); s != "disconnected" || listed("/connections", "prod_org") != "disconnected" {
		t.Errorf("connection after its delete: %s / listed %q", s, listed("/connections", "prod_org"))
	}
	if _, s := status("/authorizations/ci_auth"); s != "disconnected" || listed("/authorizations", "ci_auth") != "disconnected" {
		t.Errorf("authorization after its delete: %s", s)
	}
	if r := f.applink("POST", "/connections/salesforce", map[string]string{"connection_name": "prod_org"}); r.status != 409 || r.errorID(t) != "conflict" {
		t.Errorf("create over a lingering connection: %d %s", r.status, r.body)
	}
	if r := f.applink("POST", "/authorizations/salesforce", map[string]string{"developer_name": "ci_auth"}); r.status != 409 {
		t.Errorf("create over a lingering authorization: %d %s", r.status, r.body)
	}
	if r := f.applink("DELETE", "/authorizations/ci_auth", nil); r.status != 200 {
		t.Errorf("second delete: %d %s", r.status, r.body)
	}
	if s := f.e.World().Apps[0].Addons[0].Authorizations; len(s) != 1 || s[0].Status != "disconnected" {
		t.Errorf("world: %+v", s)
	}
	f.clock.Add(10 * time.Second)
	if code, _ := status("/connections/prod_org"); code != 404 {
		t.Errorf("connection after lingering: %d", code)
	}
	if code, _ := status("/authorizations/ci_auth"); code != 404 {
		t.Errorf("authorization after lingering: %d", code)
	}
	if r := f.applink("POST", "/connections/salesforce", map[string]string{"connection_name": "prod_org"}); r.status != 202 {
		t.Errorf("create once gone: %d %s", r.status, r.body)
	}
}

// Without linger a deleted authorization is gone at once and a deleted
// connection once disconnecting ends: the default the variant departs from.
func TestWithoutLingerDeletedGrantsGo(t *testing.T) {
	f := setup(t, Options{AsyncDelay: map[string]time.Duration{KindDelete: time.Second}})
	f.connectOAuth("salesforce", "prod_org")
	r := f.applink("POST", "/authorizations/salesforce", map[string]string{"developer_name": "ci_auth"})
	f.approve(r.json(t)["redirect_uri"].(string))
	f.applink("DELETE", "/connections/prod_org", nil)
	f.applink("DELETE", "/authorizations/ci_auth", nil)
	if r := f.applink("GET", "/authorizations/ci_auth", nil); r.status != 404 {
		t.Errorf("authorization: %d %s", r.status, r.body)
	}
	f.clock.Add(time.Second)
	if r := f.applink("GET", "/connections/prod_org", nil); r.status != 404 {
		t.Errorf("connection: %d %s", r.status, r.body)
	}
}

// Under esr-name a publication's esr_name is not its client name, in the
// publish answer and the list alike; republishing the same client name
// keeps the registration's name.
func TestESRNameDiffersFromTheClientName(t *testing.T) {
	f := setup(t, Options{Variants: []string{VariantESRName}})
	f.connectOAuth("salesforce", "prod_org")
	z := zipOf(t, map[string]string{"api-spec.yaml": goodSpec})
	r := f.publish("prod_org", z, `{"client_name":"Acme-API"}`)
	name, _ := r.json(t)["esr_name"].(string)
	if r.status != 201 || name == "" || name == "Acme-API" || !strings.HasPrefix(name, "Acme_API_") || !validName(name) {
		t.Fatalf("publish: %d %s", r.status, r.body)
	}
	if r := f.publish("prod_org", z, `{"client_name":"Acme-API"}`); r.json(t)["esr_name"] != name {
		t.Errorf("republish renamed it: %s", r.body)
	}
	list := f.applink("GET", "/connections/salesforce/prod_org/apps/"+f.app.ID, nil).list(t)
	if len(list) != 1 || list[0]["esr_name"] != name {
		t.Errorf("list: %v", list)
	}
	if p := f.e.World().Apps[0].Addons[0].Connections[0].Publications[0]; p.ClientName != "Acme-API" || p.ESRName != name {
		t.Errorf("world: %+v", p)
	}
}

// Under nulls an org field that is not known yet is absent rather than
// null, and authorizations carry created_via_app.
func TestNullsLeavesUnknownOrgFieldsOut(t *testing.T) {
	for _, tc := range []struct {
		variants []string
		present  bool
	}{{nil, true}, {[]string{VariantNulls}, false}} {
		f := setup(t, Options{Variants: tc.variants})
		org := f.applink("POST", "/connections/salesforce", map[string]string{"connection_name": "prod_org"}).json(t)["org"].(map[string]any)
		for _, k := range []string{"id", "instance_url"} {
			v, ok := org[k]
			if ok != tc.present || v != nil {
				t.Errorf("%v: org.%s = %v (present %t)", tc.variants, k, v, ok)
			}
		}
		au := f.applink("POST", "/authorizations/salesforce", map[string]string{"developer_name": "ci_auth"}).json(t)
		if _, ok := au["created_via_app"]; ok == tc.present {
			t.Errorf("%v: created_via_app present %t", tc.variants, ok)
		}
	}
}

// Under statuses creates answer 201, deletes 204 with no body, and a
// publish 202 with no body.
func TestStatusesVariant(t *testing.T) {
	f := setup(t, Options{Variants: []string{VariantStatuses}})
	r := f.applink("POST", "/connections/datacloud", map[string]string{"connection_name": "events_dc"})
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	f.approve(r.json(t)["redirect_uri"].(string))
	if r := f.applink("POST", "/connections/datacloud/events_dc/data_action_targets",
		map[string]string{"label": "Order_Events", "target_endpoint": "/hook"}); r.status != 201 {
		t.Errorf("target create: %d %s", r.status, r.body)
	}
	r = f.applink("POST", "/connections/salesforce", map[string]string{"connection_name": "prod_org"})
	f.approve(r.json(t)["redirect_uri"].(string))
	if r := f.publish("prod_org", zipOf(t, map[string]string{"api-spec.yaml": goodSpec}), `{"client_name":"AcmeAPI"}`); r.status != 202 || len(r.body) != 0 {
		t.Errorf("publish: %d %q", r.status, r.body)
	}
	if r := f.applink("POST", "/authorizations/salesforce", map[string]string{"developer_name": "ci_auth"}); r.status != 201 {
		t.Errorf("authorization create: %d %s", r.status, r.body)
	}
	for _, route := range []string{"/connections/events_dc", "/authorizations/ci_auth"} {
		if r := f.applink("DELETE", route, nil); r.status != 204 || len(r.body) != 0 {
			t.Errorf("DELETE %s: %d %q", route, r.status, r.body)
		}
	}
}

// Under failed-children the children of a failed connection cannot be
// listed (422), nor those of one being deleted (500); a connected one's
// can, and without the variant every one's can.
func TestFailedChildrenVariant(t *testing.T) {
	for _, on := range []bool{false, true} {
		var v []string
		if on {
			v = []string{VariantFailedChildren}
		}
		f := setup(t, Options{Variants: v, AsyncDelay: map[string]time.Duration{KindDelete: time.Minute}})
		f.connectOAuth("salesforce", "prod_org")
		f.connectOAuth("salesforce", "gone_org")
		f.connectOAuth("datacloud", "events_dc")
		pubs := func(conn string) int {
			return f.applink("GET", "/connections/salesforce/"+conn+"/apps/"+f.app.ID, nil).status
		}
		targets := func(conn string) int {
			return f.applink("GET", "/connections/datacloud/"+conn+"/data_action_targets", nil).status
		}
		if pubs("prod_org") != 200 || targets("events_dc") != 200 {
			t.Fatalf("variant %t: connected children not listed", on)
		}
		for _, c := range []string{"prod_org", "events_dc"} {
			f.admin("POST", "/addons/"+f.addon.ID+"/connections/"+c+"/status", map[string]any{"status": "failed"})
		}
		f.applink("DELETE", "/connections/gone_org", nil)
		want := func(code int) int {
			if on {
				return code
			}
			return 200
		}
		if got := pubs("prod_org"); got != want(422) {
			t.Errorf("variant %t: publications of a failed connection: %d", on, got)
		}
		if got := targets("events_dc"); got != want(422) {
			t.Errorf("variant %t: targets of a failed connection: %d", on, got)
		}
		if got := pubs("gone_org"); got != want(500) {
			t.Errorf("variant %t: publications of a disconnecting connection: %d", on, got)
		}
	}
}
