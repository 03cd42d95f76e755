package preflight

import (
	"cmp"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/sync/errgroup"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/manifest"
	"github.com/applinkctl/applinkctl/internal/safehttp"
	"github.com/applinkctl/applinkctl/internal/secret"
)

// DefaultLoginURL is Salesforce's login server, used when a resource sets
// no login_url (as the AppLink API does).
const DefaultLoginURL = "https://login.salesforce.com"

// Defaults of Options.
const (
	DefaultTimeout     = 10 * time.Second
	DefaultParallelism = 4
	// assertionLifetime is the exp of an assertion: Salesforce allows at
	// most three minutes; one is plenty for a single request.
	assertionLifetime = time.Minute
	// maxBody caps how much of a token endpoint's answer is read.
	maxBody        = 64 << 10
	jwtBearerGrant = "urn:ietf:params:oauth:grant-type:jwt-bearer"
)

// Check is one JWT resource to try.
type Check struct {
	Address  addr.Address
	LoginURL string // "" means DefaultLoginURL
	ClientID string
	Username string
	Key      secret.Value // PEM private key
}

// Checks lists the JWT connections and authorizations of m, sorted by
// address.
func Checks(m *manifest.Manifest) []Check {
	var out []Check
	if m == nil {
		return nil
	}
	for _, a := range m.Apps {
		for _, c := range a.Connections {
			if c.JWT != nil {
				out = append(out, Check{Address: c.Address(), LoginURL: c.LoginURL, ClientID: c.JWT.ClientID, Username: c.JWT.Username, Key: c.JWT.PrivateKey})
			}
		}
		for _, au := range a.Authorizations {
			if au.JWT != nil {
				out = append(out, Check{Address: au.Address(), LoginURL: au.LoginURL, ClientID: au.JWT.ClientID, Username: au.JWT.Username, Key: au.JWT.PrivateKey})
			}
		}
	}
	slices.SortFunc(out, func(a, b Check) int { return cmp.Compare(a.Address, b.Address) })
	return out
}

// Options tune Run. The zero value posts to each resource's own login URL.
type Options struct {
	// Endpoint maps a login URL to the token endpoint posted to; nil is
	// {login_url}/services/oauth2/token. The sandbox maps every login URL
	// to the emulator's own token endpoint.
	Endpoint func(loginURL string) string
	// Certificate, when set, is the PEM certificate (or public key) uploaded
	// to the connected app: each key is first compared with it locally.
	Certificate *Certificate
	// TrustOnFirstUse reports an unknown client id as StatusNew instead of
	// a failure: the sandbox's emulator trusts a client id's first key.
	TrustOnFirstUse bool
	// HTTPClient sends the token requests; nil is a client with the proxy
	// of HTTPS_PROXY/HTTP_PROXY/NO_PROXY. Run uses a copy that follows no
	// redirect (a token request is a POST) and, when its Transport is an
	// *http.Transport, uses no non-loopback proxy for a plaintext http://
	// token URL. Timeout bounds each request whatever the client.
	HTTPClient  *http.Client
	Timeout     time.Duration // per request; 0 is DefaultTimeout
	Parallelism int           // requests at once; < 1 is DefaultParallelism
	Now         func() time.Time
}

// Status is the verdict on one resource.
type Status string

// The verdicts.
const (
	StatusOK     Status = "ok"   // the token endpoint accepted the assertion
	StatusFailed Status = "fail" // rejected, unreachable, or the key does not match the certificate
	// StatusNew: the sandbox does not know the client id yet; its first
	// apply trusts this key for it.
	StatusNew Status = "new"
)

// Problem classifies a failure, for callers that branch on it.
type Problem string

// The problems preflight recognises.
const (
	ProblemNone            Problem = ""
	ProblemKeyMismatch     Problem = "key_mismatch"      // key is not the certificate's (local check)
	ProblemBadKey          Problem = "bad_key"           // the key cannot sign
	ProblemInvalidClientID Problem = "invalid_client_id" // no connected app with this consumer key at this login URL
	ProblemNotApproved     Problem = "not_approved"      // user not pre-authorized for the connected app
	ProblemBadSignature    Problem = "bad_signature"     // invalid_grant: the certificate is not this key's
	ProblemAudience        Problem = "audience"          // aud rejected: wrong login URL
	ProblemExpired         Problem = "expired"           // exp rejected: this machine's clock is off
	ProblemUnreachable     Problem = "unreachable"       // no connection to the login URL
	ProblemTimeout         Problem = "timeout"           // no answer in time
	ProblemNotSalesforce   Problem = "not_salesforce"    // answered, but not like a token endpoint
	ProblemRedirect        Problem = "redirect"          // answered with a redirect, which is never followed
	ProblemInsecure        Problem = "insecure"          // http:// to a host or through a proxy that is not loopback
	ProblemOther           Problem = "other"             // any other Salesforce error
)

// Result is the verdict on one resource. It holds no secret.
type Result struct {
	Address  addr.Address
	Status   Status
	Problem  Problem
	Endpoint string // the token URL posted to, "" when nothing was posted
	// Detail is what was seen: Salesforce's error code and description,
	// the transport error, or the fingerprints that differ.
	Detail string
	// Fix is the likely fix, in words.
	Fix string
}

// Failed reports whether any result is a failure.
func Failed(rs []Result) bool {
	return slices.ContainsFunc(rs, func(r Result) bool { return r.Status == StatusFailed })
}

// Run checks every resource, at most Parallelism at once, and returns one
// result per check in the order of checks. Each request is bounded by
// Timeout, so an unreachable or hanging login server costs that long at
// most; ctx cancels everything.
func Run(ctx context.Context, checks []Check, opts Options) []Result {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Parallelism < 1 {
		opts.Parallelism = DefaultParallelism
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	// A token request carries a signed assertion: it is never redirected
	// and never sent in clear text off this machine.
	opts.HTTPClient = safehttp.Client(opts.HTTPClient)
	out := make([]Result, len(checks))
	var g errgroup.Group
	g.SetLimit(opts.Parallelism)
	for i := range checks {
		g.Go(func() error {
			out[i] = check(ctx, checks[i], opts)
			return nil
		})
	}
	_ = g.Wait() // check never returns an error: every outcome is a Result
	return out
}

// check runs one resource: the local certificate comparison, then the
// token request.
func check(ctx context.Context, c Check, opts Options) Result {
	login := c.LoginURL
	if login == "" {
		login = DefaultLoginURL
	}
	r := Result{Address: c.Address}
	key, err := jwt.ParseRSAPrivateKeyFromPEM([]byte(c.Key.Reveal()))
	if err != nil {
		// The parser's error is generic and never quotes the key, but
		// wrapping it would be one refactor away from doing so.
		return r.fail(ProblemBadKey, "the private key does not parse as an RSA PEM key", "point private_key_file or private_key_env at the PEM private key (validate checks it)")
	}
	if opts.Certificate != nil {
		if !opts.Certificate.matches(&key.PublicKey) {
			kfp, _ := manifest.KeyFingerprint(&key.PublicKey)
			return r.fail(ProblemKeyMismatch,
				fmt.Sprintf("the key does not match certificate %s (key %s, certificate %s)", opts.Certificate.Name, kfp, opts.Certificate.Fingerprint),
				"upload the certificate of this key to the connected app, or use the key of this certificate")
		}
	}
	endpoint := strings.TrimRight(login, "/") + "/services/oauth2/token"
	if opts.Endpoint != nil {
		endpoint = opts.Endpoint(login)
	}
	if _, err := safehttp.CheckURL(endpoint); err != nil {
		return r.fail(ProblemInsecure, "token URL "+safehttp.Redact(endpoint)+": "+err.Error(),
			"use an https login_url (http only for a loopback test server)")
	}
	r.Endpoint = endpoint
	now := opts.Now()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.RegisteredClaims{
		Issuer:    c.ClientID,
		Subject:   c.Username,
		Audience:  jwt.ClaimStrings{login},
		ExpiresAt: jwt.NewNumericDate(now.Add(assertionLifetime)),
	})
	signed, err := tok.SignedString(key)
	if err != nil {
		return r.fail(ProblemBadKey, "the key cannot sign an RS256 assertion", "use an RSA key of at least 2048 bits")
	}
	assertion := secret.New(signed)
	return post(ctx, r, c, login, assertion, opts)
}

// redirectFix is the fix of a redirected token request.
const redirectFix = "set login_url to the org's login server itself (https://login.salesforce.com, https://test.salesforce.com or its My Domain URL), not an address that redirects"

// tokenAnswer is the part of a token endpoint's answer preflight reads:
// the error fields. The access token of a success is never decoded.
type tokenAnswer struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

func post(ctx context.Context, r Result, c Check, login string, assertion secret.Value, opts Options) Result {
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	form := url.Values{"grant_type": {jwtBearerGrant}, "assertion": {assertion.Reveal()}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.Endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return r.fail(ProblemUnreachable, "the token URL is not a valid URL", "check login_url: "+login)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := opts.HTTPClient.Do(req)
	var (
		redir *safehttp.RedirectError
		proxy *safehttp.ProxyError
	)
	switch {
	case errors.As(err, &redir):
		// net/http has closed the 3xx's body; nothing went to its Location.
		return r.fail(ProblemRedirect, unsecret(redir.Error(), assertion),
			redirectFix)
	case errors.As(err, &proxy):
		return r.fail(ProblemInsecure, unsecret(proxy.Error(), assertion),
			"an http:// login_url is for a loopback test server: do not route it through a proxy (NO_PROXY), or use https")
	case err != nil:
		return r.transportFailure(ctx, err, login, opts.Timeout)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return r.transportFailure(ctx, err, login, opts.Timeout)
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		// A 3xx net/http does not follow itself (300, 304, no Location).
		to := "(no Location)"
		if loc, err := resp.Location(); err == nil {
			to = safehttp.RedactURL(loc)
		}
		e := &safehttp.RedirectError{Method: http.MethodPost, From: safehttp.Redact(r.Endpoint), To: to, Status: resp.StatusCode,
			Reason: "not a redirect the client follows; nothing was sent again"}
		return r.fail(ProblemRedirect, unsecret(e.Error(), assertion), redirectFix)
	}
	if resp.StatusCode == http.StatusOK {
		r.Status = StatusOK
		r.Detail = "JWT accepted by " + r.Endpoint
		return r
	}
	var ans tokenAnswer
	if json.Unmarshal(body, &ans) != nil || ans.Error == "" {
		return r.fail(ProblemNotSalesforce,
			fmt.Sprintf("HTTP %d from %s, not a Salesforce OAuth answer", resp.StatusCode, r.Endpoint),
			"check login_url ("+login+"): it should be https://login.salesforce.com, https://test.salesforce.com for a sandbox, or the org's My Domain URL")
	}
	desc := clean(ans.Description, assertion)
	detail := clean(ans.Error, assertion)
	if desc != "" {
		detail += ": " + desc
	}
	p, fix := classify(ans.Error, ans.Description, c, login)
	if p == ProblemInvalidClientID && opts.TrustOnFirstUse {
		r.Status, r.Problem = StatusNew, ProblemNone
		r.Detail = "client id " + c.ClientID + " is new to the sandbox: its first apply trusts this key for it"
		return r
	}
	return r.fail(p, detail+" (from "+r.Endpoint+")", fix)
}

// classify maps Salesforce's OAuth error to a problem and its likely fix.
// The descriptions are Salesforce's own words (help article 000384497 and
// the OAuth JWT bearer flow documentation).
func classify(code, desc string, c Check, login string) (Problem, string) {
	d := strings.ToLower(desc)
	switch {
	case code == "invalid_client_id" || code == "invalid_client":
		return ProblemInvalidClientID, "set client_id to the consumer key of the connected app that holds this key's certificate " +
			"(Setup → App Manager → View → Consumer Key), and check that login_url (" + login + ") reaches the org that holds the app: " +
			"a sandbox needs https://test.salesforce.com or its My Domain URL"
	case strings.Contains(d, "approve") || strings.Contains(d, "admin approved") || code == "invalid_app_access":
		return ProblemNotApproved, "pre-authorize " + c.Username + " for the connected app: Manage → Edit Policies → Permitted Users: " +
			"\"Admin approved users are pre-authorized\", then add the user's profile or a permission set"
	case strings.Contains(d, "audience"):
		return ProblemAudience, "wrong login URL for this org: set login_url to https://login.salesforce.com (production), " +
			"https://test.salesforce.com (sandbox) or the org's My Domain URL"
	case strings.Contains(d, "expired"):
		return ProblemExpired, "this machine's clock is off: the assertion expires a minute after it is made; sync the clock (NTP)"
	case code == "invalid_grant" && (strings.Contains(d, "user") && (strings.Contains(d, "inactive") || strings.Contains(d, "not found") || strings.Contains(d, "invalid"))):
		return ProblemOther, "check username (" + c.Username + "): it must be an active user of the org at " + login
	case code == "invalid_grant":
		return ProblemBadSignature, "the signature did not verify with the connected app's certificate: upload the certificate of this key " +
			"(Use digital signatures), or point the key at the one whose certificate is uploaded (--certificate FILE checks locally)"
	case code == "unsupported_grant_type" || code == "invalid_request":
		return ProblemNotSalesforce, "check login_url (" + login + "): its token endpoint refused the JWT bearer grant"
	}
	return ProblemOther, "see Salesforce's error above; the connected app must enable OAuth with digital signatures and hold this key's certificate"
}

// transportFailure explains a request that got no answer.
func (r Result) transportFailure(ctx context.Context, err error, login string, timeout time.Duration) Result {
	var nerr net.Error
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || (errors.As(err, &nerr) && nerr.Timeout()):
		return r.fail(ProblemTimeout, fmt.Sprintf("no answer from %s within %s", r.Endpoint, timeout),
			"check login_url ("+login+") and that this machine can reach it (proxy, firewall)")
	case errors.Is(err, context.Canceled):
		return r.fail(ProblemTimeout, "interrupted before "+r.Endpoint+" answered", "run it again")
	}
	return r.fail(ProblemUnreachable, "cannot reach "+r.Endpoint+": "+reason(err),
		"check login_url ("+login+") and that this machine can reach it (DNS, proxy, firewall)")
}

// reason is the innermost error of a failed request, which names the cause
// (connection refused, no such host) without the URL again.
func reason(err error) string {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	var oerr *net.OpError
	if errors.As(err, &oerr) && oerr.Err != nil {
		err = oerr.Err
	}
	return err.Error()
}

func (r Result) fail(p Problem, detail, fix string) Result {
	r.Status, r.Problem, r.Detail, r.Fix = StatusFailed, p, detail, fix
	return r
}

// unsecret replaces the assertion in s, should a server echo it (say in a
// redirect's Location).
func unsecret(s string, assertion secret.Value) string {
	if a := assertion.Reveal(); a != "" {
		s = strings.ReplaceAll(s, a, secret.Redacted)
	}
	return s
}

// clean makes text from a token endpoint safe to print: one line, bounded,
// and never the assertion, even from a server that echoes it.
func clean(s string, assertion secret.Value) string {
	s = unsecret(s, assertion)
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// String is the result as validate prints it: a verdict line, then the fix
// indented below a failure.
func (r Result) String() string {
	switch r.Status {
	case StatusOK:
		return fmt.Sprintf("ok    %s: %s", r.Address, r.Detail)
	case StatusNew:
		return fmt.Sprintf("new   %s: %s", r.Address, r.Detail)
	}
	s := fmt.Sprintf("FAIL  %s: %s", r.Address, r.Detail)
	if r.Fix != "" {
		s += "\n      fix: " + r.Fix
	}
	return s
}

// Certificate is the public half of the connected app's certificate.
type Certificate struct {
	Name        string // the file it came from, for messages
	Fingerprint string // "sha256:…" of its public key, as plan and state show keys
	pub         *rsa.PublicKey
}

func (c *Certificate) matches(pub *rsa.PublicKey) bool { return c.pub.Equal(pub) }
