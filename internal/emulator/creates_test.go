package emulator

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// TestCreatesCountsWhatWasCreated: only creates the emulator carried out
// count, per address; refusals and republishing do not, a delete and a
// create again counts twice, and a create whose answer a drop-after fault
// lost still counts.
func TestCreatesCountsWhatWasCreated(t *testing.T) {
	f := setup(t, Options{})
	app := f.app.Name
	f.connectOAuth("datacloud", "events_dc")
	f.connectOAuth("salesforce", "prod_org")
	f.jwtConnect("jwt_org", "cid-1", "api@acme.com", testKey(t, 0))
	for _, r := range []resp{
		f.applink("POST", "/connections/datacloud", map[string]string{"connection_name": "events_dc"}), // taken: 409
		f.applink("POST", "/connections/salesforce", map[string]string{"connection_name": "x"}),        // invalid: 422
	} {
		if r.status != 409 && r.status != 422 {
			t.Fatalf("a refused create answered %d %s", r.status, r.body)
		}
	}
	if r := f.applink("POST", "/authorizations/salesforce", map[string]string{"developer_name": "ci_auth"}); r.status != 202 {
		t.Fatalf("authorization: %d %s", r.status, r.body)
	}
	target := map[string]string{"label": "Order_Events", "target_endpoint": "/hook"}
	for i, want := range []int{202, 409} {
		if r := f.applink("POST", "/connections/datacloud/events_dc/data_action_targets", target); r.status != want {
			t.Fatalf("target create %d: %d %s, want %d", i, r.status, r.body, want)
		}
	}
	spec := zipOf(t, map[string]string{"api-spec.yaml": goodSpec})
	for range 2 { // the second publish replaces the registration
		if r := f.publish("prod_org", spec, `{"client_name":"AcmeAPI"}`); r.status != 201 {
			t.Fatalf("publish: %d %s", r.status, r.body)
		}
	}
	// Deleted (with its target) and created again: its second create.
	if r := f.applink("DELETE", "/connections/events_dc", nil); r.status != 202 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	f.connectOAuth("datacloud", "events_dc")

	want := map[string]int{
		app + "/connection/events_dc":                     2,
		app + "/connection/prod_org":                      1,
		app + "/connection/jwt_org":                       1,
		app + "/authorization/ci_auth":                    1,
		app + "/connection/events_dc/target/Order_Events": 1,
		app + "/connection/prod_org/publication/AcmeAPI":  1,
	}
	if got := f.e.Creates(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Creates() = %v, want %v", got, want)
	}
	r := f.admin("GET", "/creates", nil)
	if m := r.json(t); r.status != 200 || len(m) != len(want) || m[app+"/connection/events_dc"] != float64(2) {
		t.Fatalf("GET /_emulator/creates: %d %s", r.status, r.body)
	}
	// Admin requests are not counted as API requests.
	if n := f.e.Requests()["GET /_emulator/creates"]; n != 0 {
		t.Errorf("GET /_emulator/creates counted %d times", n)
	}

	// A create whose answer is lost was still made.
	f.e.SetFaults(Faults{DropAfterRate: 1})
	req, _ := http.NewRequest("POST", f.srv.URL+"/addons/"+f.addon.ID+"/connections/salesforce", strings.NewReader(`{"connection_name":"lost_org"}`))
	for k, v := range f.applinkHeaders() {
		req.Header.Set(k, v)
	}
	if res, err := http.DefaultClient.Do(req); err == nil {
		res.Body.Close()
		t.Fatalf("POST answered %d; want a dropped connection", res.StatusCode)
	}
	if n := f.e.Creates()[app+"/connection/lost_org"]; n != 1 {
		t.Errorf("a create whose answer was dropped counted %d times, want 1", n)
	}
	// And one refused before the work by an injected fault was not.
	f.e.SetFaults(Faults{ErrorRate: 1})
	if r := f.applink("POST", "/connections/salesforce", map[string]string{"connection_name": "failed_org"}); r.status != 503 {
		t.Fatalf("with ErrorRate 1: %d %s", r.status, r.body)
	}
	if n, ok := f.e.Creates()[app+"/connection/failed_org"]; ok {
		t.Errorf("a create refused with 503 counted %d times", n)
	}
}
