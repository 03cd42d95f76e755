package manifest

import (
	"fmt"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/secret"
)

// This file is the desired-state model that Load returns: typed, with every
// default applied, every path absolute, every ${VAR} expanded and every key
// parsed. Later stages (plan, apply, graph, export) read it and never change
// it. The YAML/JSON-Schema shape of the file lives in schema.go; the two are
// kept apart so the wire format can evolve without touching the planner.

// OrgType is the kind of org a connection or authorization reaches.
type OrgType string

// The org types of the AppLink API.
const (
	Salesforce OrgType = "salesforce"
	DataCloud  OrgType = "datacloud"
)

// Pos is a place in a manifest file. Line and Col are 1-based.
type Pos struct {
	File string
	Line int
	Col  int
}

func (p Pos) String() string { return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col) }

// Manifest is the merged desired state of every file given with -f.
type Manifest struct {
	Files []string // the files loaded, in load order
	Apps  []*App   // sorted by name
}

// App is one Heroku app and what it should hold under one AppLink add-on.
type App struct {
	Name           string // Heroku app name or UUID
	Addon          string // add-on name or id; "" means the app's only AppLink add-on
	Connections    []*Connection
	Authorizations []*Authorization
	Pos            Pos // where the app's key is
}

// JWT is a JWT bearer configuration. The key is loaded at Load time; only its
// fingerprint is ever shown, stored or compared.
type JWT struct {
	ClientID       string
	Username       string
	PrivateKeyFile string       // absolute path, or "" when the key comes from PrivateKeyEnv
	PrivateKeyEnv  string       // environment variable name, or ""
	PrivateKey     secret.Value // PEM text, exactly as read
	KeyFingerprint string       // "sha256:" + hex SHA-256 of the PKIX DER public key
	Pos            Pos
}

// Connection is a connection to a Salesforce or Data Cloud org.
type Connection struct {
	App          string
	Name         string // connection_name
	Type         OrgType
	LoginURL     string // "" when not set: the API's default applies
	JWT          *JWT   // salesforce only; nil means browser OAuth
	Protect      bool
	Publications []*Publication // salesforce only, sorted by client name
	Targets      []*Target      // datacloud only, sorted by label
	Pos          Pos
}

// Address names the connection.
func (c *Connection) Address() addr.Address { return addr.Connection(c.App, c.Name) }

// Authorization is a named authorization (developer_name) the app's code uses
// at run time through the AppLink SDKs.
type Authorization struct {
	App           string
	DeveloperName string
	Type          OrgType
	LoginURL      string
	Alias         string // JWT only; defaults to "applink:" + DeveloperName
	JWT           *JWT   // nil means browser OAuth
	Protect       bool
	Pos           Pos
}

// Address names the authorization.
func (a *Authorization) Address() addr.Address { return addr.Authorization(a.App, a.DeveloperName) }

// Target is a Data Cloud data action target.
type Target struct {
	App            string
	Connection     string
	Label          string
	APIName        string // defaults to Label with spaces replaced by _
	TargetEndpoint string // a path on the app, starting with /
	Type           string // "webhook"
	Pos            Pos
}

// Address names the target.
func (t *Target) Address() addr.Address { return addr.Target(t.App, t.Connection, t.Label) }

// Publication is an OpenAPI spec published to a Salesforce org as an External
// Service Registration named ClientName.
type Publication struct {
	App               string
	Connection        string
	ClientName        string
	SpecFile          string // absolute path
	MetadataDir       string // absolute path, or ""
	PermissionSet     string
	ExternalClientApp string
	ConnectedApp      string // deprecated alternative to ExternalClientApp
	Pos               Pos
}

// Address names the publication.
func (p *Publication) Address() addr.Address {
	return addr.Publication(p.App, p.Connection, p.ClientName)
}
