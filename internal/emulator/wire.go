package emulator

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"time"
)

// Wire structs of the AppLink API (docs/emulator.md, "AppLink routes") as the
// emulator answers them. They are deliberately separate from internal/client's:
// the emulator is the independent witness the client is tested against.

// apiError is the error body of every management route ({"id", "message"}) and
// the error a failed resource carries.
type apiError struct {
	ID      string `json:"id"`
	Message string `json:"message"`
}

// stamp is a timestamp in RFC 3339, UTC, with microseconds, as the API writes
// them (some SDKs fail to parse a timestamp without a fraction).
type stamp time.Time

const stampLayout = "2006-01-02T15:04:05.000000Z"

func (s stamp) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Time(s).UTC().Format(stampLayout) + `"`), nil
}

// nullable is a string answered as null when empty: an org's id and
// instance URL are unknown until its grant is established, and the Heroku
// CLI shows an empty string (as a pair of quotes) but hides a null. Under
// VariantNulls an unknown value is left out instead (absent, with the
// omitzero tag every nullable field carries). Make one with
// Emulator.unknownOr.
type nullable struct {
	s      string
	absent bool
}

// IsZero makes omitzero leave out an empty value that is to be absent.
func (n nullable) IsZero() bool { return n.s == "" && n.absent }

func (n nullable) MarshalJSON() ([]byte, error) {
	if n.s == "" {
		return []byte("null"), nil
	}
	return json.Marshal(n.s)
}

type wOrg struct {
	ID             nullable   `json:"id,omitzero"`
	InstanceURL    nullable   `json:"instance_url,omitzero"`
	Type           string     `json:"type"`
	ConnectionName string     `json:"connection_name,omitempty"`
	DeveloperName  string     `json:"developer_name,omitempty"`
	Username       string     `json:"username,omitempty"`
	UserID         string     `json:"user_id,omitempty"`
	APIVersion     string     `json:"api_version,omitempty"`
	UserAuth       *wUserAuth `json:"user_auth,omitempty"`
}

type wUserAuth struct {
	Username    string `json:"username"`
	UserID      string `json:"user_id"`
	AccessToken string `json:"access_token"`
}

type wConnection struct {
	ID               string    `json:"id"`
	Status           string    `json:"status"`
	Org              wOrg      `json:"org"`
	AddonID          string    `json:"addon_id"`
	AppID            string    `json:"app_id,omitempty"`
	Alias            string    `json:"alias,omitempty"`
	ConnectionMethod string    `json:"connection_method,omitempty"`
	CreatedAt        stamp     `json:"created_at"`
	CreatedBy        string    `json:"created_by"`
	CreatedViaApp    string    `json:"created_via_app,omitempty"`
	LastModifiedAt   stamp     `json:"last_modified_at"`
	LastModifiedBy   string    `json:"last_modified_by"`
	RedirectURI      string    `json:"redirect_uri,omitempty"`
	Error            *apiError `json:"error,omitempty"`
}

type wAuthorization struct {
	ID               string    `json:"id"`
	Status           string    `json:"status"`
	Org              wOrg      `json:"org"`
	AddonID          string    `json:"addon_id,omitempty"`
	AppName          string    `json:"app_name,omitempty"`
	CreatedViaApp    string    `json:"created_via_app,omitempty"` // VariantNulls only
	Alias            string    `json:"alias,omitempty"`
	ConnectionMethod string    `json:"connection_method,omitempty"`
	CreatedAt        stamp     `json:"created_at"`
	CreatedBy        string    `json:"created_by"`
	LastModifiedAt   stamp     `json:"last_modified_at"`
	LastModifiedBy   string    `json:"last_modified_by"`
	RedirectURI      string    `json:"redirect_uri,omitempty"`
	Error            *apiError `json:"error,omitempty"`
}

// wTargetFields open both answers of a target: the list's (#14) and the
// detail of get and create (#15, #16).
type wTargetFields struct {
	ID             string `json:"id"`
	APIName        string `json:"api_name"`
	Label          string `json:"label"`
	Status         string `json:"status"`
	TargetEndpoint string `json:"target_endpoint"`
	Type           string `json:"type"`
}

type wTarget struct {
	wTargetFields
	ConnectionID string `json:"connection_id"`
	AppID        string `json:"app_id"`
}

type wHerokuApp struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	URL  string `json:"url"`
}

type wTargetDetail struct {
	wTargetFields
	HerokuApp wHerokuApp `json:"heroku_app"`
	Org       wOrg       `json:"org"`
	Error     *apiError  `json:"error,omitempty"`
}

type wPublication struct {
	AppUUID         string   `json:"app_uuid"`
	ConnectionName  string   `json:"connection_name"`
	OrgID           nullable `json:"org_id,omitzero"`
	ESRID           string   `json:"esr_id"`
	ESRName         string   `json:"esr_name"`
	HerokuAppLinkID string   `json:"heroku_applink_id"`
	CreatedAt       stamp    `json:"created_at"`
	CreatedBy       string   `json:"created_by"`
	LastModifiedAt  stamp    `json:"last_modified_at"`
	LastModifiedBy  string   `json:"last_modified_by"`
}

// Platform API (docs/emulator.md, "Platform routes").

type wRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type wApp struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	WebURL    string `json:"web_url"`
	CreatedAt stamp  `json:"created_at"`
	UpdatedAt stamp  `json:"updated_at"`
	Region    wRef   `json:"region"`
	Stack     wRef   `json:"stack"`
}

// wPrice is a plan's price; the emulator's plans are free.
type wPrice struct {
	Cents    int    `json:"cents"`
	Contract bool   `json:"contract"`
	Unit     string `json:"unit"`
}

type wPlan struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Price wPrice `json:"price"`
}

type wAddon struct {
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	AddonService wRef     `json:"addon_service"`
	Plan         wPlan    `json:"plan"`
	BilledPrice  wPrice   `json:"billed_price"`
	App          wRef     `json:"app"`
	ConfigVars   []string `json:"config_vars"`
	State        string   `json:"state"`
	WebURL       string   `json:"web_url"`
	CreatedAt    stamp    `json:"created_at"`
	UpdatedAt    stamp    `json:"updated_at"`
}

type wAttachmentAddon struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	App  wRef   `json:"app"`
}

type wAttachment struct {
	ID        string           `json:"id"`
	Name      string           `json:"name"`
	Addon     wAttachmentAddon `json:"addon"`
	App       wRef             `json:"app"`
	Namespace *string          `json:"namespace"`
	CreatedAt stamp            `json:"created_at"`
	UpdatedAt stamp            `json:"updated_at"`
}

type wSSO struct {
	Action string            `json:"action"`
	Method string            `json:"method"`
	Params map[string]string `json:"params"`
}

// writeJSON answers v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"id":"server_error","message":"encode failed"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// writeError answers the error body {"id", "message"}.
func writeError(w http.ResponseWriter, status int, id, message string) {
	writeJSON(w, status, apiError{ID: id, Message: message})
}

// newUUID returns a random version-4 UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// newToken returns a random opaque secret.
func newToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

const sfAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// sfID returns an 18-character Salesforce-style id with the given 3-char
// key prefix (00D org, 005 user, 0Ci registration), derived from seed so
// that the same input names the same org.
func sfID(prefix, seed string) string {
	h := fnv64(seed)
	out := []byte(prefix)
	for len(out) < 18 {
		out = append(out, sfAlphabet[h%uint64(len(sfAlphabet))])
		h = h/uint64(len(sfAlphabet)) ^ (h * 1099511628211)
	}
	return string(out)
}

func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}
