package client_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/applinkctl/applinkctl/internal/client"
)

// syncBuffer is a log sink safe for the parallel reads of Resolve.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestNoSecretAnywhere runs calls that succeed and fail, with a server that
// echoes secrets in its error messages, at debug level, and looks for every
// known secret in the logs, the errors and every printed form of the values
// that hold them.
func TestNoSecretAnywhere(t *testing.T) {
	var compact bytes.Buffer
	_ = json.Compact(&compact, []byte(ssoBody))
	secrets := map[string]string{
		"api key":     apiKey,
		"add-on tok":  addonToken,
		"sso token":   ssoToken,
		"sso json":    compact.String(),
		"sso base64":  base64.StdEncoding.EncodeToString(compact.Bytes()),
		"key line 1":  "MIIEowIBAAKCAQEAPRIVATEKEYLINEONE0123456789",
		"key line 2":  "PRIVATEKEYLINETWOabcdefghijklmnop",
		"access tok":  accessToken,
		"sso token t": ssoToken + "-t",
	}
	f := newFake(t)
	echo := func(code int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			var b map[string]any
			_ = json.NewDecoder(r.Body).Decode(&b)
			apiErr(w, code, "validation_failed", fmt.Sprintf("bad key %v; token %s; sso %s; also %s",
				b["jwt_private_key"], strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "), r.Header.Get("X-Addon-Sso"), ssoToken))
		}
	}
	f.handle("POST", "/connections/salesforce/jwt", echo(422))
	f.handle("POST", "/authorizations/salesforce/jwt", echo(500))
	f.handle("GET", "/connections/{name}", echo(404))
	f.handle("GET", "/connections", drop)
	f.mux.HandleFunc("GET /addons/"+addonID+"/authorizations/{name}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"id":"a","status":"authorized","org":{"user_auth":{"access_token":%q}}}`, accessToken)
	})
	logs := &syncBuffer{}
	cfgMod := func(c *client.Config) { c.Logger = debugLogger(logs); c.Retry.MaxAttempts = 2 }
	a, p := f.link(cfgMod)
	ctx := t.Context()
	req := client.JWTRequest{Name: "ci_org", ClientID: "3MVG9", Username: "u@acme.com", PrivateKey: secretOf(privateKey)}

	var outputs []string
	add := func(err error) {
		if err == nil {
			t.Errorf("expected an error")
			return
		}
		outputs = append(outputs, err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err))
	}
	_, err := a.CreateJWTConnection(ctx, req)
	add(err)
	_, err = a.CreateJWTAuthorization(ctx, "salesforce", req)
	add(err)
	_, err = a.GetConnection(ctx, "x")
	add(err)
	_, err = a.ListConnections(ctx)
	add(err)
	ra, err := a.RuntimeAuthorization(ctx, "ops_auth")
	if err != nil {
		t.Fatal(err)
	}
	// A Platform that the server refuses.
	bad := f.platform(cfgMod, func(c *client.Config) { c.HTTPClient = &http.Client{Transport: rewrite401{}} })
	_, err = bad.Resolve(ctx, appName, "")
	add(err)

	cfg := f.config()
	cfg.Logger = debugLogger(logs)
	slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})).Debug("values", "applink", a, "cfg", cfg, "req", req, "ra", ra)
	jsonOf := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	outputs = append(outputs, logs.String(),
		fmtAll(a), fmtAll(*a), fmtAll(p), fmtAll(*p), fmtAll(cfg), fmtAll(&cfg), fmtAll(req), fmtAll(&req), fmtAll(ra), fmtAll(*ra),
		jsonOf(a), jsonOf(cfg), jsonOf(req), jsonOf(ra))
	all := strings.Join(outputs, "\n")
	for name, s := range secrets {
		if strings.Contains(all, s) {
			i := strings.Index(all, s)
			t.Errorf("%s leaked: …%s…", name, all[max(0, i-80):min(len(all), i+len(s)+20)])
		}
	}
	if !strings.Contains(logs.String(), "method=POST") || !strings.Contains(logs.String(), "status=422") || !strings.Contains(logs.String(), "duration=") {
		t.Errorf("debug log lacks method/status/duration:\n%s", logs.String())
	}
	if !strings.Contains(all, "[redacted]") {
		t.Errorf("echoed secrets were not replaced by [redacted]")
	}
}
