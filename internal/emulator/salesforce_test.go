package emulator

import (
	"crypto/rsa"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func (f *fixture) jwtConnect(name, clientID, user string, k *rsa.PrivateKey) map[string]any {
	f.t.Helper()
	r := f.applink("POST", "/connections/salesforce/jwt", map[string]string{
		"connection_name": name, "client_id": clientID, "jwt_private_key": keyPEM(k), "username": user, "alias": newUUID()})
	if r.status != 202 {
		f.t.Fatalf("jwt connect %s: %d %s", name, r.status, r.body)
	}
	return r.json(f.t)
}

func errorOf(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	id, _ := e["id"].(string)
	return id
}

func TestJWTTrustOnFirstUse(t *testing.T) {
	f := setup(t, Options{})
	c := f.jwtConnect("prod_org", "cid-1", "api@acme.com", testKey(t, 0))
	if c["status"] != "connected" || c["connection_method"] != "JWT" || c["alias"] == "" || c["app_id"] != f.app.ID {
		t.Fatalf("first use: %v", c)
	}
	// Same key again for the same client id: still trusted.
	if c := f.jwtConnect("other_org", "cid-1", "other@acme.com", testKey(t, 0)); c["status"] != "connected" {
		t.Fatalf("same key: %v", c)
	}
	// A different key for the same client id fails, as a real connected app would.
	c = f.jwtConnect("third_org", "cid-1", "api@acme.com", testKey(t, 1))
	if c["status"] != "failed" || errorOf(c) != "authentication_failed" {
		t.Fatalf("different key: %v", c)
	}
	// It is listed as failed and stays so.
	if r := f.applink("GET", "/connections/third_org", nil); r.json(t)["status"] != "failed" {
		t.Fatal(string(r.body))
	}
	// Another client id is trusted on its own first use.
	if c := f.jwtConnect("fourth_org", "cid-2", "api@acme.com", testKey(t, 1)); c["status"] != "connected" {
		t.Fatalf("second client id: %v", c)
	}
	w := f.e.World()
	if len(w.ConnectedApps) != 2 || w.ConnectedApps[0].Registered {
		t.Fatalf("connected apps %+v", w.ConnectedApps)
	}
}

func TestJWTRegisteredConnectedApp(t *testing.T) {
	f := setup(t, Options{})
	r := f.admin("POST", "/connected-apps", map[string]any{"client_id": "cid-reg", "certificate": certPEM(t, testKey(t, 0)), "usernames": []string{"api@acme.com"}})
	if r.status != 201 {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	if c := f.jwtConnect("good_org", "cid-reg", "api@acme.com", testKey(t, 0)); c["status"] != "connected" {
		t.Fatalf("good key: %v", c)
	}
	if c := f.jwtConnect("wrong_key", "cid-reg", "api@acme.com", testKey(t, 1)); c["status"] != "failed" || errorOf(c) != "authentication_failed" {
		t.Fatalf("wrong key: %v", c)
	}
	c := f.jwtConnect("wrong_user", "cid-reg", "intruder@acme.com", testKey(t, 0))
	if c["status"] != "failed" || errorOf(c) != "authentication_failed" || !strings.Contains(c["error"].(map[string]any)["message"].(string), "approved") {
		t.Fatalf("user not pre-authorized: %v", c)
	}
	// Authorizations go through the same grant.
	r = f.applink("POST", "/authorizations/datacloud/jwt", map[string]string{
		"developer_name": "dc_auth", "client_id": "cid-reg", "jwt_private_key": keyPEM(testKey(t, 1)), "username": "api@acme.com", "alias": "mine"})
	if a := r.json(t); a["status"] != "failed" || errorOf(a) != "authentication_failed" || a["alias"] != "mine" || a["org"].(map[string]any)["type"] != "DataCloudOrg" {
		t.Fatalf("jwt authorization with the wrong key: %s", r.body)
	}
	// Bad input is a 422, never a failed resource.
	for name, body := range map[string]map[string]string{
		"no key":      {"connection_name": "x_org", "client_id": "c", "username": "u", "alias": "a1"},
		"garbage key": {"connection_name": "x_org", "client_id": "c", "username": "u", "alias": "a1", "jwt_private_key": "-----BEGIN NOPE-----\nAAAA\n-----END NOPE-----\n"},
		"no user":     {"connection_name": "x_org", "client_id": "c", "alias": "a1", "jwt_private_key": keyPEM(testKey(t, 0))},
	} {
		r := f.applink("POST", "/connections/salesforce/jwt", body)
		if r.status != 422 || r.errorID(t) != "validation_failed" {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
		if strings.Contains(string(r.body), "PRIVATE KEY") {
			t.Errorf("%s: the answer echoes the key", name)
		}
	}
	// Revoking the key fails every JWT resource that used it.
	if r := f.admin("DELETE", "/connected-apps/cid-reg", nil); r.status != 204 {
		t.Fatalf("revoke: %d", r.status)
	}
	c = f.applink("GET", "/connections/good_org", nil).json(t)
	if c["status"] != "failed" || errorOf(c) != "authentication_failed" {
		t.Fatalf("after revoke: %v", c)
	}
	if r := f.admin("DELETE", "/connected-apps/cid-reg", nil); r.status != 404 {
		t.Fatalf("revoke again: %d", r.status)
	}
	if r := f.admin("POST", "/connected-apps", map[string]any{"client_id": "x", "certificate": "nope"}); r.status != 422 {
		t.Fatalf("bad certificate: %d", r.status)
	}
}

// assertion signs a JWT bearer assertion.
func assertion(t *testing.T, k *rsa.PrivateKey, iss, sub, aud string, exp time.Time) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.RegisteredClaims{Issuer: iss, Subject: sub,
		Audience: jwt.ClaimStrings{aud}, ExpiresAt: jwt.NewNumericDate(exp)}).SignedString(k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestTokenEndpoint(t *testing.T) {
	f := setup(t, Options{})
	f.admin("POST", "/connected-apps", map[string]any{"client_id": "cid-reg", "certificate": certPEM(t, testKey(t, 0)), "usernames": []string{"api@acme.com"}})
	later := f.clock.Now().Add(3 * time.Minute)
	post := func(grant, a string) resp {
		form := url.Values{"grant_type": {grant}, "assertion": {a}}
		return f.send("POST", "/services/oauth2/token", strings.NewReader(form.Encode()), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	}
	r := post(jwtBearerGrant, assertion(t, testKey(t, 0), "cid-reg", "api@acme.com", "https://login.salesforce.com", later))
	if m := r.json(t); r.status != 200 || m["access_token"] == "" || m["token_type"] != "Bearer" || !strings.HasPrefix(m["instance_url"].(string), "https://") {
		t.Fatalf("good: %d %s", r.status, r.body)
	}
	// The emulator's own URL is a valid audience too (a client pointed at it).
	if r := post(jwtBearerGrant, assertion(t, testKey(t, 0), "cid-reg", "api@acme.com", f.srv.URL, later)); r.status != 200 {
		t.Fatalf("emulator audience: %d %s", r.status, r.body)
	}
	cases := []struct {
		name, grant, assertion, err, desc string
	}{
		{"wrong key", jwtBearerGrant, assertion(t, testKey(t, 1), "cid-reg", "api@acme.com", "https://login.salesforce.com", later), "invalid_grant", "invalid assertion"},
		{"expired", jwtBearerGrant, assertion(t, testKey(t, 0), "cid-reg", "api@acme.com", "https://login.salesforce.com", f.clock.Now().Add(-time.Minute)), "invalid_grant", "expired authorization code"},
		{"unknown client id", jwtBearerGrant, assertion(t, testKey(t, 0), "cid-nope", "api@acme.com", "https://login.salesforce.com", later), "invalid_client_id", "client identifier invalid"},
		{"user not pre-authorized", jwtBearerGrant, assertion(t, testKey(t, 0), "cid-reg", "other@acme.com", "https://login.salesforce.com", later), "invalid_grant", "user hasn't approved this consumer"},
		{"wrong audience", jwtBearerGrant, assertion(t, testKey(t, 0), "cid-reg", "api@acme.com", "https://evil.example.com", later), "invalid_grant", "audience is invalid"},
		{"not a jwt", jwtBearerGrant, "abc.def", "invalid_grant", "invalid assertion"},
		{"wrong grant type", "password", "x", "unsupported_grant_type", "grant type not supported"},
	}
	for _, c := range cases {
		r := post(c.grant, c.assertion)
		m := r.json(t)
		if r.status != 400 || m["error"] != c.err || m["error_description"] != c.desc {
			t.Errorf("%s: %d %s, want %s / %s", c.name, r.status, r.body, c.err, c.desc)
		}
	}
	// HS256 with the public key as secret (algorithm confusion) is refused.
	hs, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{Issuer: "cid-reg", Subject: "api@acme.com",
		Audience: jwt.ClaimStrings{"https://login.salesforce.com"}, ExpiresAt: jwt.NewNumericDate(later)}).SignedString([]byte("secret"))
	if r := post(jwtBearerGrant, hs); r.status != 400 {
		t.Errorf("HS256: %d", r.status)
	}
}

// An org's instance URL follows the login server: production's is
// *.my.salesforce.com, test.salesforce.com's a sandbox's
// *.sandbox.my.salesforce.com, and a My Domain login URL is the instance.
func TestInstanceURLFollowsLogin(t *testing.T) {
	id := sfID("00D", "x")
	sub := strings.ToLower(id[3:13])
	for login, want := range map[string]string{
		"":                             "https://" + sub + ".my.salesforce.com",
		"https://login.salesforce.com": "https://" + sub + ".my.salesforce.com",
		"https://test.salesforce.com":  "https://" + sub + ".sandbox.my.salesforce.com",
		"https://acme--dev.sandbox.my.salesforce.com": "https://acme--dev.sandbox.my.salesforce.com",
		"https://acme.my.salesforce.com/":             "https://acme.my.salesforce.com",
	} {
		if got := instanceURL(id, login); got != want {
			t.Errorf("instanceURL(%q) = %q, want %q", login, got, want)
		}
	}
	f := setup(t, Options{})
	r := f.applink("POST", "/connections/salesforce/jwt", map[string]string{"connection_name": "sbx_org", "client_id": "cid-sbx",
		"jwt_private_key": keyPEM(testKey(t, 0)), "username": "api@acme.com.dev", "alias": newUUID(), "login_url": "https://test.salesforce.com"})
	org, _ := r.json(t)["org"].(map[string]any)
	if u, _ := org["instance_url"].(string); r.status != 202 || !strings.HasSuffix(u, ".sandbox.my.salesforce.com") {
		t.Errorf("JWT connection at test.salesforce.com: %d %s", r.status, r.body)
	}
}
