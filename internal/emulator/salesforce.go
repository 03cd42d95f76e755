package emulator

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// The Salesforce side: connected apps, the JWT bearer token endpoint and the
// OAuth authorize page behind every redirect_uri.

const (
	jwtBearerGrant  = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	defaultLoginURL = "https://login.salesforce.com"
	apiVersion      = "62.0"
)

// sfError is Salesforce's OAuth error body.
type sfError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

func (s *sfError) String() string { return s.Error + ": " + s.Description }

// parsePrivateKey reads an RSA private key from PEM (PKCS #1 or #8).
func parsePrivateKey(pemText string) (*rsa.PrivateKey, error) {
	blk, _ := pem.Decode([]byte(pemText))
	if blk == nil {
		return nil, errors.New("no PEM block")
	}
	if k, err := x509.ParsePKCS1PrivateKey(blk.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, errors.New("not an RSA private key")
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("not an RSA private key")
	}
	return rk, nil
}

// parsePublicKey reads the RSA public key of a certificate or a PUBLIC KEY
// PEM block.
func parsePublicKey(pemText string) (*rsa.PublicKey, error) {
	blk, _ := pem.Decode([]byte(pemText))
	if blk == nil {
		return nil, errors.New("no PEM block")
	}
	var pub any
	switch blk.Type {
	case "CERTIFICATE":
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate: %w", err)
		}
		pub = c.PublicKey
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("public key: %w", err)
		}
		pub = k
	case "RSA PUBLIC KEY":
		k, err := x509.ParsePKCS1PublicKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("public key: %w", err)
		}
		pub = k
	default:
		return nil, fmt.Errorf("PEM block %q: want CERTIFICATE or PUBLIC KEY", blk.Type)
	}
	rk, ok := pub.(*rsa.PublicKey)
	if !ok {
		return nil, errors.New("not an RSA key")
	}
	return rk, nil
}

func publicKeyPEM(k *rsa.PublicKey) string {
	der, _ := x509.MarshalPKIXPublicKey(k) // cannot fail for an RSA key
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// jwtAssertion is the private key of a JWT create and the JWT bearer
// assertion the AppLink server signs with it (see signJWT).
type jwtAssertion struct {
	key       *rsa.PrivateKey
	keyErr    error // the key does not parse
	loginURL  string
	assertion string
	signErr   error
}

// signJWT parses the key of a JWT create and signs the assertion of its
// grant. It takes no lock: an RSA signature takes milliseconds, and made
// under e.mu it held up every other request meanwhile, which a server
// answering many clients does not do.
func (e *Emulator) signJWT(body *jwtCreate) *jwtAssertion {
	a := &jwtAssertion{loginURL: body.LoginURL}
	if a.loginURL == "" {
		a.loginURL = defaultLoginURL
	}
	if a.key, a.keyErr = parsePrivateKey(body.PrivateKey); a.keyErr != nil {
		return a
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.RegisteredClaims{
		Issuer: body.ClientID, Subject: body.Username, Audience: jwt.ClaimStrings{a.loginURL},
		ExpiresAt: jwt.NewNumericDate(e.now().Add(3 * time.Minute)),
	})
	a.assertion, a.signErr = tok.SignedString(a.key)
	return a
}

// jwtGrant runs the JWT bearer flow the AppLink server runs on a JWT
// create: trust the key on first use for an unknown client id, and present
// the assertion signed with it (signJWT) to the token endpoint. A
// rejection is the resource's authentication_failed error. Callers hold
// e.mu.
func (e *Emulator) jwtGrant(clientID, username string, signed *jwtAssertion) *apiError {
	if _, ok := e.w.ConnectedApps[clientID]; !ok {
		e.w.ConnectedApps[clientID] = &connectedApp{ClientID: clientID, PublicKeyPEM: publicKeyPEM(&signed.key.PublicKey)}
	}
	if signed.signErr != nil {
		return &apiError{ID: "authentication_failed", Message: "could not sign the JWT assertion"}
	}
	if _, sfe := e.verifyAssertion(signed.assertion, signed.loginURL); sfe != nil {
		return &apiError{ID: "authentication_failed", Message: "JWT bearer grant for " + username + " failed: " + sfe.String()}
	}
	return nil
}

// verifyAssertion checks a JWT bearer assertion as Salesforce does: the
// client id (iss) names a connected app, the RS256 signature verifies with
// its certificate, aud is a login URL, exp is in the future and the user
// (sub) is pre-authorized. It returns the username. Callers hold e.mu.
func (e *Emulator) verifyAssertion(assertion, extraAudience string) (string, *sfError) {
	invalid := &sfError{Error: "invalid_grant", Description: "invalid assertion"}
	unverified, _, err := jwt.NewParser().ParseUnverified(assertion, &jwt.RegisteredClaims{})
	if err != nil {
		return "", invalid
	}
	iss, _ := unverified.Claims.GetIssuer()
	ca := e.w.ConnectedApps[iss]
	if iss == "" || ca == nil {
		return "", &sfError{Error: "invalid_client_id", Description: "client identifier invalid"}
	}
	pub, err := parsePublicKey(ca.PublicKeyPEM)
	if err != nil {
		return "", invalid
	}
	claims := &jwt.RegisteredClaims{}
	_, err = jwt.ParseWithClaims(assertion, claims, func(*jwt.Token) (any, error) { return pub, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithExpirationRequired(), jwt.WithTimeFunc(e.now))
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return "", &sfError{Error: "invalid_grant", Description: "expired authorization code"}
	case err != nil:
		return "", invalid
	}
	if !validAudience(claims.Audience, ca.LoginURL, extraAudience) {
		return "", &sfError{Error: "invalid_grant", Description: "audience is invalid"}
	}
	if claims.Subject == "" || (ca.Registered && !slices.Contains(ca.Usernames, claims.Subject)) {
		return "", &sfError{Error: "invalid_grant", Description: "user hasn't approved this consumer"}
	}
	return claims.Subject, nil
}

// validAudience accepts the production and sandbox login URLs, My Domain
// URLs, the connected app's own login URL and extra (the emulator's URL).
func validAudience(aud jwt.ClaimStrings, own, extra string) bool {
	for _, a := range aud {
		a = strings.TrimRight(a, "/")
		if a == "" {
			continue
		}
		if a == defaultLoginURL || a == "https://test.salesforce.com" || a == strings.TrimRight(own, "/") || a == strings.TrimRight(extra, "/") {
			return true
		}
		if u, err := url.Parse(a); err == nil && u.Scheme == "https" && (strings.HasSuffix(u.Host, ".salesforce.com") || strings.HasSuffix(u.Host, ".force.com")) {
			return true
		}
	}
	return false
}

// tokenEndpoint is POST /services/oauth2/token (JWT bearer grant only).
func (e *Emulator) tokenEndpoint(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, sfError{Error: "invalid_request", Description: "malformed request body"})
		return
	}
	if r.PostForm.Get("grant_type") != jwtBearerGrant {
		writeJSON(w, http.StatusBadRequest, sfError{Error: "unsupported_grant_type", Description: "grant type not supported"})
		return
	}
	assertion := r.PostForm.Get("assertion")
	base := e.base(r)
	e.mu.Lock()
	defer e.mu.Unlock()
	user, sfe := e.verifyAssertion(assertion, base)
	if sfe != nil {
		writeJSON(w, http.StatusBadRequest, sfe)
		return
	}
	// The assertion verified, so its audience is the login server used.
	var claims jwt.RegisteredClaims
	login := ""
	if _, _, err := jwt.NewParser().ParseUnverified(assertion, &claims); err == nil && len(claims.Audience) > 0 {
		login = claims.Audience[0]
	}
	orgID := sfID("00D", "jwt|"+domainOf(user))
	writeJSON(w, http.StatusOK, map[string]string{
		"access_token": orgID[:15] + "!" + newToken(24),
		"scope":        "api",
		"instance_url": instanceURL(orgID, login),
		"id":           defaultLoginURL + "/id/" + orgID + "/" + sfID("005", orgID+user),
		"token_type":   "Bearer",
	})
}

// oauthPage is GET /_emulator/oauth/{flow}: the person's browser reaching
// the redirect_uri approves the flow.
func (e *Emulator) oauthPage(w http.ResponseWriter, r *http.Request) {
	flow := r.PathValue("flow")
	e.mu.Lock()
	defer e.mu.Unlock()
	g, what := e.findFlow(flow)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if g == nil {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, "<!doctype html><title>Not found</title><p>No such authorization flow.</p>\n")
		return
	}
	if _, ok := e.approvedAt(g); !ok {
		now := e.now()
		g.ApprovedAt = &now
		g.ModifiedAt = now
		if err := e.persist(); err != nil {
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, "<!doctype html><title>Error</title><p>Could not save the approval.</p>\n")
			return
		}
	}
	fmt.Fprintf(w, "<!doctype html><title>Approved</title><p>Access approved for %s %s. You can close this window.</p>\n",
		what, html.EscapeString(g.Name))
}

// findFlow finds the grant whose redirect_uri ends in flow. Callers hold e.mu.
func (e *Emulator) findFlow(flow string) (*grant, string) {
	if flow == "" {
		return nil, ""
	}
	for _, a := range e.w.Apps {
		for _, ad := range a.Addons {
			for _, c := range ad.Connections {
				if c.FlowID == flow {
					return &c.grant, "connection"
				}
			}
			for _, au := range ad.Authorizations {
				if au.FlowID == flow {
					return &au.grant, "authorization"
				}
			}
		}
	}
	return nil, ""
}

func domainOf(user string) string {
	if i := strings.LastIndexByte(user, '@'); i >= 0 {
		return strings.ToLower(user[i+1:])
	}
	return user
}

// instanceURL is the instance URL of the org orgID reached through the
// login server loginURL ("" is production's): a My Domain login URL is the
// org's own instance; test.salesforce.com logs in to a sandbox, whose My
// Domain ends .sandbox.my.salesforce.com; anything else is a production
// org's *.my.salesforce.com.
func instanceURL(orgID, loginURL string) string {
	host := ""
	if u, err := url.Parse(loginURL); err == nil {
		host = strings.ToLower(u.Hostname())
	}
	sub := strings.ToLower(orgID[3:13])
	switch {
	case strings.HasSuffix(host, ".my.salesforce.com"):
		return "https://" + host
	case host == "test.salesforce.com":
		return "https://" + sub + ".sandbox.my.salesforce.com"
	}
	return "https://" + sub + ".my.salesforce.com"
}
