package client

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/applinkctl/applinkctl/internal/secret"
)

// AppLink is one app's resolved AppLink API under one add-on (docs/api.md,
// "Where requests go"): the app's UUID, the add-on, its attachment and the API
// URL and token from the attachment's config vars. Its methods are the routes
// of docs/api.md. Only Platform.Resolve makes a usable one; its printable forms
// name the app and add-on and never the token or SSO payload.
type AppLink struct {
	AppName    string
	AppID      string
	AddonID    string
	AddonName  string
	Attachment string // e.g. HEROKU_APPLINK
	APIURL     string // scheme://host[:port] taken from <ATTACHMENT>_API_URL

	t       *transport
	token   secret.Value   // <ATTACHMENT>_TOKEN
	sso     secret.Value   // base64 of the SSO answer, the x-addon-sso header
	secrets []secret.Value // every secret an error message could echo
}

// String names the app and add-on only. It has a value receiver so that
// printing an AppLink value, not just a pointer, cannot reach the
// unexported secrets (fmt does not call their String methods).
func (a AppLink) String() string { return a.AppName + "/" + a.AddonName }

// GoString keeps %#v as safe as %v.
func (a AppLink) GoString() string { return "client.AppLink{" + a.String() + "}" }

// Format makes every verb, %d and %x included, print String or GoString.
func (a AppLink) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = io.WriteString(f, a.GoString())
		return
	}
	_, _ = io.WriteString(f, a.String())
}

// LogValue keeps slog as safe as %v.
func (a AppLink) LogValue() slog.Value {
	return slog.GroupValue(slog.String("app", a.AppName), slog.String("addon", a.AddonName))
}
