package live

import "time"

// DefaultReadConcurrency is how many read calls a read of the world keeps
// in flight at most unless told otherwise: reads change nothing, cost one
// rate-limit token each however many run at once (and the client paces
// itself by RateLimit-Remaining), and a plan of 20 apps needs about 60 at
// once to take no more round trips than its dependencies do
// (docs/performance.md, figure 2). A resolution counts as one call; it sends at most
// three requests at once.
const DefaultReadConcurrency = 64

// World is what exists live for the apps of a manifest, read with list
// routes only (never one GET per resource). It is plain data: records and
// the statuses they hold, with no client behind them, so the planner can
// compare it with the manifest without any I/O and a test can build one by
// hand.
type World struct {
	Apps map[string]*App // by the manifest's app name
}

// App is one app's AppLink add-on and everything under it.
type App struct {
	Name string
	// AppID and AddonID identify the add-on the app's AppLink API was
	// resolved to; AddonName and Attachment name it as Heroku does (the
	// attachment is the prefix of its config vars, e.g. HEROKU_APPLINK).
	AppID, AddonID, AddonName, Attachment string

	Connections    map[string]*Connection    // by connection_name (org.connection_name)
	Authorizations map[string]*Authorization // by developer_name
	Targets        map[string][]Target       // by Data Cloud connection name
	Publications   map[string][]Publication  // by Salesforce connection name
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

// Org types as the API spells them (older servers' "DatacloudOrg" is read
// as OrgTypeDataCloud).
const (
	OrgTypeSalesforce = "SalesforceOrg"
	OrgTypeDataCloud  = "DataCloudOrg"
)

// Statuses of live resources, as the API spells them.
const (
	// Connections (and authorizations: failed, disconnected).
	StatusConnecting    = "connecting"
	StatusConnected     = "connected"
	StatusDisconnecting = "disconnecting"
	StatusDisconnected  = "disconnected"
	StatusFailed        = "failed"

	// Authorizations.
	StatusAuthorizing = "authorizing"
	StatusAuthorized  = "authorized"

	// Data action targets.
	StatusPending              = "pending"
	StatusCreating             = "creating"
	StatusGeneratingSigningKey = "generating_signing_key"
	StatusCreated              = "created"
	StatusCreationFailed       = "creation_failed"
)

// TargetTerminal reports whether a data action target status is final:
// created or creation_failed.
func TargetTerminal(s string) bool {
	return s == StatusCreated || s == StatusCreationFailed
}

// Org is the org of a connection or an authorization.
type Org struct {
	ID             string
	InstanceURL    string
	Type           string // OrgTypeSalesforce or OrgTypeDataCloud
	ConnectionName string // connections
	DeveloperName  string // authorizations
	Username       string
}

// ErrorInfo is the error a failed resource carries.
type ErrorInfo struct {
	ID      string
	Message string
}

// Connection is a connection to an org.
type Connection struct {
	ID               string
	Status           string
	Org              Org
	Alias            string
	ConnectionMethod string // JWT or OAuth
	Error            *ErrorInfo
}

// Authorization is a named authorization.
type Authorization struct {
	ID               string
	Status           string
	Org              Org
	Alias            string
	ConnectionMethod string // JWT or OAuth
	Error            *ErrorInfo
}

// Target is a data action target of a Data Cloud connection.
type Target struct {
	ID             string
	APIName        string
	Label          string
	Status         string
	TargetEndpoint string
	Type           string
}

// Publication is the registration of an API published to a Salesforce
// org. Nothing says that ESRName is the client name the API was published
// with: a publication is identified by what was recorded of it (ESRID,
// ESRName), never by assuming the two names equal.
type Publication struct {
	ConnectionName string
	OrgID          string
	ESRID          string
	ESRName        string
	LastModifiedAt time.Time
	LastModifiedBy string
}
