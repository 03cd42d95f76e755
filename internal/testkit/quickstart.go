package testkit

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/applinkctl/applinkctl/internal/emulator"
)

// QuickstartApp is one app of a manifest in the shape of
// examples/quickstart: a JWT Salesforce connection publishing
// api/openapi.yaml (key keys/server.key), a browser-OAuth Data Cloud
// connection with two targets, and a JWT authorization. Its placeholders:
// APP (the app's name), LOGIN_URL (the Data Cloud connection's login URL)
// and AUTH_KEY (the authorization's key line: private_key_file or
// private_key_env).
const QuickstartApp = `  APP:
    connections:
      prod_org:
        type: salesforce
        login_url: https://login.salesforce.com
        jwt:
          client_id: cid
          username: api.user@acme.example
          private_key_file: keys/server.key
        publications:
          AcmeOrders:
            spec: api/openapi.yaml
      events_dc:
        type: datacloud
        login_url: LOGIN_URL
        data_action_targets:
          Order_Events:
            target_endpoint: /handleDataCloudDataChangeEvent
          Customer_Updates:
            target_endpoint: /handleCustomerUpdate
    authorizations:
      ci_auth:
        type: salesforce
        jwt:
          client_id: cid
          username: api.user@acme.example
          AUTH_KEY
`

// Quickstart is a whole manifest of QuickstartApp named acme-api, both
// keys from keys/server.key. LOGIN_URL is left for the test to replace.
var Quickstart = "version: 1\napps:\n" +
	strings.NewReplacer("APP", "acme-api", "AUTH_KEY", "private_key_file: keys/server.key").Replace(QuickstartApp)

// QuickstartAddresses are the addresses QuickstartApp declares for app,
// as the emulator's creates name them.
func QuickstartAddresses(app string) []string {
	return []string{
		app + "/connection/prod_org", app + "/connection/prod_org/publication/AcmeOrders",
		app + "/connection/events_dc", app + "/connection/events_dc/target/Order_Events",
		app + "/connection/events_dc/target/Customer_Updates", app + "/authorization/ci_auth",
	}
}

// AssertCreateCounts checks the emulator's creates over its life: each
// address of want created exactly want[address] times, and nothing else
// created at all.
func AssertCreateCounts(tb testing.TB, srv *emulator.Server, want map[string]int) {
	tb.Helper()
	got := srv.Emulator.Creates()
	keys := maps.Clone(want)
	maps.Copy(keys, got)
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		if got[k] != want[k] {
			tb.Errorf("%s created %d times, want %d", k, got[k], want[k])
		}
	}
}
