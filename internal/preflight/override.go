package preflight

import (
	"fmt"
	"strings"

	"github.com/applinkctl/applinkctl/internal/safehttp"
)

// LoginURLEnv names the environment variable that sends every token
// request of a preflight to one login server instead of each resource's
// login URL: the standalone emulator prints it, so that a preflight reaches
// the emulator's token endpoint and nothing else. The assertions still
// carry each resource's own login URL as their audience (what AppLink will
// sign on apply); --sandbox ignores it, having its own emulator.
const LoginURLEnv = "SALESFORCE_LOGIN_URL"

// OverrideEndpoint checks the value of LoginURLEnv and returns the token
// endpoint it names. It must be the base URL of a login server: https, or
// http to loopback only (a signed assertion is never sent in clear text off
// this machine), with no user info, query, fragment or path.
func OverrideEndpoint(raw string) (string, error) {
	shown := safehttp.Redact(raw)
	u, err := safehttp.CheckURL(raw)
	if err != nil {
		return "", fmt.Errorf("%s=%s: %w", LoginURLEnv, shown, err)
	}
	want := "want a login server's base URL such as https://test.salesforce.com or the emulator's http://127.0.0.1:PORT"
	switch {
	case u.User != nil:
		return "", fmt.Errorf("%s=%s: must not carry user info", LoginURLEnv, shown)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "", fmt.Errorf("%s=%s: no query or fragment: %s", LoginURLEnv, shown, want)
	case strings.Trim(u.Path, "/") != "":
		return "", fmt.Errorf("%s=%s: no path (/services/oauth2/token is added): %s", LoginURLEnv, shown, want)
	}
	u.Path, u.RawPath = "/services/oauth2/token", ""
	return u.String(), nil
}
