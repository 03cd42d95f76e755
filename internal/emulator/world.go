package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/applinkctl/applinkctl/internal/fsutil"
)

// The persisted world. Field names are the on-disk format of world.json;
// timestamps are the moments things happened, from which statuses are
// computed on read (status.go).

const worldFile = "world.json"

// maxWorldFile bounds what load reads: far above any world a test or a
// sandbox builds.
const maxWorldFile = 1 << 30

// worldFormat is bumped when world.json changes incompatibly.
const worldFormat = 1

type world struct {
	Format        int                      `json:"format"`
	APIKey        string                   `json:"api_key"`
	Apps          []*app                   `json:"apps"`
	ConnectedApps map[string]*connectedApp `json:"connected_apps"` // by client id
}

type app struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	Addons    []*addon  `json:"addons"`
}

type addon struct {
	ID             string           `json:"id"`
	Name           string           `json:"name"`
	Service        string           `json:"service"`
	Attachment     string           `json:"attachment"` // HEROKU_APPLINK, HEROKU_APPLINK_COBALT, …
	Token          string           `json:"token"`
	CreatedAt      time.Time        `json:"created_at"`
	Connections    []*connection    `json:"connections"`
	Authorizations []*authorization `json:"authorizations"`
}

// grant is what connections and authorizations share: how they were made
// and where their status stands.
type grant struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`     // connection_name or developer_name
	OrgType    string     `json:"org_type"` // SalesforceOrg | DataCloudOrg
	Method     string     `json:"method"`   // OAuth | JWT
	LoginURL   string     `json:"login_url,omitempty"`
	ClientID   string     `json:"client_id,omitempty"`
	Username   string     `json:"username,omitempty"`
	Alias      string     `json:"alias,omitempty"`
	FlowID     string     `json:"flow_id,omitempty"` // OAuth: the redirect_uri's id
	CreatedAt  time.Time  `json:"created_at"`
	ApprovedAt *time.Time `json:"approved_at,omitempty"` // OAuth: when the browser flow was approved
	ReadyAt    *time.Time `json:"ready_at,omitempty"`    // when it left its pending status, once seen
	Error      *apiError  `json:"error,omitempty"`       // JWT grant failure, decided at create
	Override   *override  `json:"override,omitempty"`    // set out of band by an admin route
	ModifiedAt time.Time  `json:"modified_at"`
}

type connection struct {
	grant
	DeletedAt    *time.Time     `json:"deleted_at,omitempty"`
	Targets      []*target      `json:"targets"`
	Publications []*publication `json:"publications"`
}

type authorization struct {
	grant
	// DeletedAt is set under VariantLinger, which keeps a deleted
	// authorization listed as disconnected for a while; by default a
	// deleted authorization is gone at once.
	DeletedAt *time.Time `json:"deleted_at,omitempty"`
}

// override is a status forced by an admin route (drift tests).
type override struct {
	Status string    `json:"status"`
	Error  *apiError `json:"error,omitempty"`
}

type target struct {
	ID             string     `json:"id"`
	Label          string     `json:"label"`
	APIName        string     `json:"api_name"`
	TargetEndpoint string     `json:"target_endpoint"`
	Type           string     `json:"type"`
	CreatedAt      time.Time  `json:"created_at"`
	ReadyAt        *time.Time `json:"ready_at,omitempty"` // when it became created, once seen
	Override       *override  `json:"override,omitempty"`
}

type publication struct {
	ClientName        string    `json:"client_name"`
	ESRID             string    `json:"esr_id"`
	SpecName          string    `json:"spec_name"`
	SpecSHA256        string    `json:"spec_sha256"`
	Files             []string  `json:"files"`
	ExternalClientApp string    `json:"external_client_app,omitempty"`
	PermissionSet     string    `json:"permission_set,omitempty"`
	ConnectedApp      string    `json:"connected_app,omitempty"`
	Count             int       `json:"count"` // times published
	CreatedAt         time.Time `json:"created_at"`
	ModifiedAt        time.Time `json:"modified_at"`
}

// connectedApp is a Salesforce connected app: the certificate that
// verifies JWT assertions for its client id and the users pre-authorized
// for it. Registered ones come from the admin route; the others were
// trusted on first use (TOFU) and allow any user.
type connectedApp struct {
	ClientID     string   `json:"client_id"`
	PublicKeyPEM string   `json:"public_key_pem"`
	Usernames    []string `json:"usernames,omitempty"`
	LoginURL     string   `json:"login_url,omitempty"`
	Registered   bool     `json:"registered"`
}

// load reads dir/world.json; a missing file is an empty world.
func load(dir string) (*world, error) {
	w := &world{Format: worldFormat, ConnectedApps: map[string]*connectedApp{}}
	if dir == "" {
		return w, nil
	}
	// A named pipe or device in the emulator's directory is refused, not
	// waited on, as every file applinkctl reads.
	b, err := fsutil.ReadFile(filepath.Join(dir, worldFile), maxWorldFile)
	if errors.Is(err, fs.ErrNotExist) {
		return w, nil
	}
	if err != nil {
		return nil, fmt.Errorf("emulator world %s: %w", filepath.Join(dir, worldFile), err)
	}
	if err := json.Unmarshal(b, w); err != nil {
		return nil, fmt.Errorf("emulator world %s: %w", filepath.Join(dir, worldFile), err)
	}
	if w.Format != worldFormat {
		return nil, fmt.Errorf("emulator world %s: format %d, want %d", filepath.Join(dir, worldFile), w.Format, worldFormat)
	}
	if w.ConnectedApps == nil {
		w.ConnectedApps = map[string]*connectedApp{}
	}
	return w, nil
}

// save writes the world atomically (fsutil.WriteFileAtomic), so a killed
// emulator leaves the old world or the new one.
func save(dir string, w *world) error {
	if dir == "" {
		return nil
	}
	b, err := json.MarshalIndent(w, "", "  ")
	if err != nil {
		return fmt.Errorf("emulator world: encode: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("emulator world: %w", err)
	}
	if err := fsutil.WriteFileAtomic(filepath.Join(dir, worldFile), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("emulator world: %w", err)
	}
	return nil
}

// Lookups. Names and ids are both accepted where the API accepts both.

func (w *world) appByNameOrID(s string) *app {
	for _, a := range w.Apps {
		if a.Name == s || a.ID == s {
			return a
		}
	}
	return nil
}

func (w *world) addonByID(id string) (*app, *addon) {
	for _, a := range w.Apps {
		for _, ad := range a.Addons {
			if ad.ID == id {
				return a, ad
			}
		}
	}
	return nil, nil
}

func (w *world) addonByNameOrID(s string) (*app, *addon) {
	for _, a := range w.Apps {
		for _, ad := range a.Addons {
			if ad.ID == s || ad.Name == s {
				return a, ad
			}
		}
	}
	return nil, nil
}

func (ad *addon) connection(nameOrID string, byID bool) *connection {
	for _, c := range ad.Connections {
		if c.Name == nameOrID || (byID && c.ID == nameOrID) {
			return c
		}
	}
	return nil
}

func (ad *addon) authorization(key string, byIDOrAlias bool) *authorization {
	for _, a := range ad.Authorizations {
		if a.Name == key {
			return a
		}
	}
	if byIDOrAlias {
		for _, a := range ad.Authorizations {
			if a.ID == key || (a.Alias != "" && a.Alias == key) {
				return a
			}
		}
	}
	return nil
}

// grants are the add-on's connections and authorizations, for what
// treats both alike.
func (ad *addon) grants() []*grant {
	out := make([]*grant, 0, len(ad.Connections)+len(ad.Authorizations))
	for _, c := range ad.Connections {
		out = append(out, &c.grant)
	}
	for _, au := range ad.Authorizations {
		out = append(out, &au.grant)
	}
	return out
}

func (c *connection) target(apiName string) *target {
	for _, t := range c.Targets {
		if t.APIName == apiName {
			return t
		}
	}
	return nil
}

func (c *connection) publication(clientName string) *publication {
	for _, p := range c.Publications {
		if p.ClientName == clientName {
			return p
		}
	}
	return nil
}
