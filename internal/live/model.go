package live

import (
	"github.com/applinkctl/applinkctl/internal/client"
)

// World is what exists live for the apps of a manifest, read with list
// routes only (never one GET per resource).
type World struct {
	Apps map[string]*App // by the manifest's app name
}

// App is one app's AppLink add-on and everything under it.
type App struct {
	Name string
	// Link is the resolved AppLink API of the app's chosen add-on; apply uses
	// it for every write on this app.
	Link           *client.AppLink
	Connections    map[string]*client.Connection        // by connection_name (org.connection_name)
	Authorizations map[string]*client.Authorization     // by developer_name
	Targets        map[string][]client.DataActionTarget // by Data Cloud connection name
	Publications   map[string][]client.Publication      // by Salesforce connection name
	// A connection has a key in Targets or Publications exactly when its
	// children were listed (Read lists them for the connections the manifest
	// declares), so a missing key means "not read", never "none".

	// Unlisted says, by connection name, why the children of a connection
	// could not be listed: the API refused the list (a failed connection's
	// targets, say). Such children are unknown, neither present nor absent;
	// the reason is the refusal without its request id, so that the same
	// refusal reads the same in every plan.
	Unlisted map[string]string
}
