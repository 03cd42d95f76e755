package client

import (
	"encoding/json"
	"strings"

	"github.com/applinkctl/applinkctl/internal/secret"
)

// Wire types of the AppLink management API (docs/api.md, "Answers applinkctl
// accepts"). Optional fields are omitted when empty, as the server does.

// Org types as the API spells them.
const (
	OrgTypeSalesforce = "SalesforceOrg"
	OrgTypeDataCloud  = "DataCloudOrg" // older servers send "DatacloudOrg"; UnmarshalJSON normalises it
)

// Statuses (docs/api.md, "Answers applinkctl accepts").
const (
	StatusConnecting    = "connecting"
	StatusConnected     = "connected"
	StatusDisconnecting = "disconnecting"
	StatusDisconnected  = "disconnected"
	StatusFailed        = "failed"

	StatusAuthorizing = "authorizing"
	StatusAuthorized  = "authorized"

	StatusPending              = "pending"
	StatusCreating             = "creating"
	StatusGeneratingSigningKey = "generating_signing_key"
	StatusCreated              = "created"
	StatusCreationFailed       = "creation_failed"
)

// Org is the org of a connection or authorization.
type Org struct {
	ID             string `json:"id"`
	InstanceURL    string `json:"instance_url,omitempty"`
	Type           string `json:"type,omitempty"`
	ConnectionName string `json:"connection_name,omitempty"`
	DeveloperName  string `json:"developer_name,omitempty"`
	Username       string `json:"username,omitempty"`
	UserID         string `json:"user_id,omitempty"`
	APIVersion     string `json:"api_version,omitempty"`
}

// ErrorInfo is the error a failed resource carries.
type ErrorInfo struct {
	ID      string `json:"id"`
	Message string `json:"message"`
}

// Connection is a connection to an org.
type Connection struct {
	ID               string     `json:"id"`
	Status           string     `json:"status"`
	Org              Org        `json:"org"`
	AddonID          string     `json:"addon_id,omitempty"`
	AppID            string     `json:"app_id,omitempty"`
	Alias            string     `json:"alias,omitempty"`
	ConnectionMethod string     `json:"connection_method,omitempty"`
	CreatedAt        Time       `json:"created_at,omitzero"`
	CreatedBy        string     `json:"created_by,omitempty"`
	CreatedViaApp    string     `json:"created_via_app,omitempty"`
	LastModifiedAt   Time       `json:"last_modified_at,omitzero"`
	LastModifiedBy   string     `json:"last_modified_by,omitempty"`
	RedirectURI      string     `json:"redirect_uri,omitempty"`
	Error            *ErrorInfo `json:"error,omitempty"`
}

// Authorization is a named authorization.
type Authorization struct {
	ID               string     `json:"id"`
	Status           string     `json:"status"`
	Org              Org        `json:"org"`
	AppName          string     `json:"app_name,omitempty"`
	CreatedViaApp    string     `json:"created_via_app,omitempty"` // in the plugin's types; not every server sends it
	Alias            string     `json:"alias,omitempty"`
	ConnectionMethod string     `json:"connection_method,omitempty"` // JWT | OAuth
	CreatedAt        Time       `json:"created_at,omitzero"`
	CreatedBy        string     `json:"created_by,omitempty"`
	LastModifiedAt   Time       `json:"last_modified_at,omitzero"`
	LastModifiedBy   string     `json:"last_modified_by,omitempty"`
	RedirectURI      string     `json:"redirect_uri,omitempty"`
	Error            *ErrorInfo `json:"error,omitempty"`
}

// DataActionTarget is an item of the target list route (#14).
type DataActionTarget struct {
	ID             string `json:"id"`
	APIName        string `json:"api_name"`
	Label          string `json:"label"`
	Status         string `json:"status"`
	TargetEndpoint string `json:"target_endpoint"`
	Type           string `json:"type"`
	ConnectionID   string `json:"connection_id,omitempty"`
	AppID          string `json:"app_id,omitempty"`
}

// HerokuAppRef is the app a target calls.
type HerokuAppRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	URL  string `json:"url"`
}

// DataActionTargetDetail is the answer of target create and get (#15, #16).
type DataActionTargetDetail struct {
	ID             string       `json:"id"`
	APIName        string       `json:"api_name"`
	Label          string       `json:"label"`
	Status         string       `json:"status"`
	TargetEndpoint string       `json:"target_endpoint"`
	Type           string       `json:"type"`
	HerokuApp      HerokuAppRef `json:"heroku_app"`
	Org            Org          `json:"org"`
	Error          *ErrorInfo   `json:"error,omitempty"`
}

// Publication is an item of the publication list route (#18), and what
// Publish reads of its answer. Nothing says that ESRName is the client
// name the API was published with: a publication is identified by what
// was recorded of it (ESRID, ESRName), never by assuming the two names
// equal.
type Publication struct {
	AppUUID         string `json:"app_uuid"`
	ConnectionName  string `json:"connection_name"`
	OrgID           string `json:"org_id"`
	ESRID           string `json:"esr_id"`
	ESRName         string `json:"esr_name"`
	HerokuAppLinkID string `json:"heroku_applink_id,omitempty"`
	CreatedAt       Time   `json:"created_at,omitzero"`
	CreatedBy       string `json:"created_by,omitempty"`
	LastModifiedAt  Time   `json:"last_modified_at,omitzero"`
	LastModifiedBy  string `json:"last_modified_by,omitempty"`
}

// ConnectRequest creates an OAuth connection (#3, #4) or authorization (#9, #10).
// Name is sent as connection_name or developer_name.
type ConnectRequest struct {
	Name     string
	LoginURL string
}

// JWTRequest creates a JWT connection (#5) or authorization (#11, #12).
type JWTRequest struct {
	Name       string // connection_name or developer_name
	ClientID   string
	Username   string
	PrivateKey secret.Value // PEM text
	LoginURL   string
	Alias      string
}

// TargetRequest creates a data action target (#15).
type TargetRequest struct {
	Label          string
	APIName        string
	TargetEndpoint string
	Type           string
}

// PublishRequest publishes an API (#17). Zip is the metadata part, built
// by the caller exactly as docs/api.md ("Routes") lays it out.
type PublishRequest struct {
	ClientName        string
	Zip               []byte
	ExternalClientApp string
	PermissionSet     string
	ConnectedApp      string
}

// RuntimeAuthorization is the answer of the runtime route (docs/api.md, end of
// "Routes"). It carries an access token, so its printable forms redact it.
type RuntimeAuthorization struct {
	ID     string     `json:"id"`
	Status string     `json:"status"`
	Org    RuntimeOrg `json:"org"`
}

// RuntimeOrg is the org of a runtime authorization.
type RuntimeOrg struct {
	ID            string   `json:"id"`
	DeveloperName string   `json:"developer_name"`
	InstanceURL   string   `json:"instance_url"`
	Type          string   `json:"type"`
	APIVersion    string   `json:"api_version,omitempty"`
	UserAuth      UserAuth `json:"user_auth"`
}

// UserAuth holds the runtime credentials.
type UserAuth struct {
	Username    string       `json:"username"`
	UserID      string       `json:"user_id"`
	AccessToken secret.Value `json:"-"`
}

// normOrgType reads "DatacloudOrg", which older servers send, as DataCloudOrg.
func normOrgType(t string) string {
	if strings.EqualFold(t, OrgTypeDataCloud) {
		return OrgTypeDataCloud
	}
	if strings.EqualFold(t, OrgTypeSalesforce) {
		return OrgTypeSalesforce
	}
	return t
}

// UnmarshalJSON normalises the org type (docs/api.md, "Answers applinkctl
// accepts").
func (o *Org) UnmarshalJSON(b []byte) error {
	type plain Org
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*o = Org(p)
	o.Type = normOrgType(o.Type)
	return nil
}
