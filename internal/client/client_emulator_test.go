package client_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/client"
	"github.com/applinkctl/applinkctl/internal/emulator"
	"github.com/applinkctl/applinkctl/internal/secret"
	"github.com/applinkctl/applinkctl/internal/testkit"
)

// emu is a client against a real emulator on a loopback port.
type emu struct {
	t   *testing.T
	srv *emulator.Server
	p   *client.Platform
}

func startEmulator(t *testing.T, opts emulator.Options) *emu {
	t.Helper()
	srv := testkit.Emulator(t, opts)
	p := testkit.PlatformWith(t, srv, client.Config{
		UserAgent: "applinkctl/test",
		Retry:     client.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, Budget: 10 * time.Second},
	})
	client.SetLimiterRate(p, 1000)
	return &emu{t: t, srv: srv, p: p}
}

func (e *emu) seed(name string, addons int) *emulator.SeededApp {
	e.t.Helper()
	return testkit.SeedApp(e.t, e.srv, name, addons)
}

func (e *emu) link(app string) *client.AppLink {
	e.t.Helper()
	e.seed(app, 1)
	a, err := e.p.Resolve(e.t.Context(), app, "")
	if err != nil {
		e.t.Fatalf("Resolve(%s): %v", app, err)
	}
	return a
}

// approve opens a redirect_uri as the person's browser would.
func approve(t *testing.T, uri string) {
	t.Helper()
	if uri == "" {
		t.Fatal("no redirect_uri to approve")
	}
	res, err := http.Get(uri)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("GET redirect_uri: %d", res.StatusCode)
	}
}

var fast = client.WaitOptions{Initial: time.Millisecond, Max: 10 * time.Millisecond, Timeout: 5 * time.Second}

// rsaKey returns one of two 1024-bit PEM keys generated once per run.
func rsaKey(t *testing.T, i int) secret.Value {
	t.Helper()
	return secret.New(testkit.RSAKeyPEM(t, 1024, i))
}

func (e *emu) waitConn(a *client.AppLink, id string) *client.Connection {
	e.t.Helper()
	c, err := client.Wait(e.t.Context(), func(ctx context.Context) (*client.Connection, error) { return a.GetConnection(ctx, id) },
		func(c *client.Connection) string { return c.Status }, client.ConnectionTerminal, fast)
	if err != nil {
		e.t.Fatalf("wait for connection %s: %v", id, err)
	}
	return c
}

func TestEmulatorResolve(t *testing.T) {
	e := startEmulator(t, emulator.Options{})
	seeded := e.seed("acme-api", 1)
	a, err := e.p.Resolve(t.Context(), "acme-api", "")
	if err != nil {
		t.Fatal(err)
	}
	if a.AppID != seeded.ID || a.AddonID != seeded.Addons[0].ID || a.Attachment != "HEROKU_APPLINK" || a.APIURL != e.srv.URL {
		t.Errorf("resolved %s: app %s addon %s attachment %s url %s", a, a.AppID, a.AddonID, a.Attachment, a.APIURL)
	}
	if n := e.p.Requests(); n != 4 {
		t.Errorf("Resolve took %d requests, want 4", n)
	}

	two := e.seed("two-addons", 2)
	_, err = e.p.Resolve(t.Context(), "two-addons", "")
	var re *client.ResolveError
	if !errors.As(err, &re) || re.Kind != client.ResolveAmbiguousAddon || !strings.Contains(err.Error(), two.Addons[1].Name) {
		t.Errorf("two add-ons, none chosen: %v", err)
	}
	second := two.Addons[1]
	b, err := e.p.Resolve(t.Context(), "two-addons", second.Name)
	if err != nil || b.AddonID != second.ID || b.Attachment != second.Attachment {
		t.Errorf("Resolve(two-addons, %s) = %v, %v", second.Name, b, err)
	}
	if _, err := e.p.Resolve(t.Context(), "two-addons", "nope"); !errors.As(err, &re) || re.Kind != client.ResolveAddonNotFound {
		t.Errorf("named add-on missing: %v", err)
	}
	if _, err := e.p.Resolve(t.Context(), "no-such-app", ""); !errors.As(err, &re) || re.Kind != client.ResolveAppNotFound {
		t.Errorf("missing app: %v", err)
	}
	bad, _ := client.New(client.Config{BaseURL: e.srv.URL, APIKey: secret.New("wrong-key-123456")})
	if _, err := bad.Resolve(t.Context(), "acme-api", ""); !errors.As(err, &re) || re.Kind != client.ResolveUnauthorized {
		t.Errorf("bad key: %v", err)
	}
}

func TestEmulatorConnections(t *testing.T) {
	e := startEmulator(t, emulator.Options{})
	a := e.link("acme-api")
	ctx := t.Context()

	c, err := a.CreateConnection(ctx, "salesforce", client.ConnectRequest{Name: "prod_org", LoginURL: "https://test.salesforce.com"})
	if err != nil || c.Status != client.StatusConnecting || c.RedirectURI == "" {
		t.Fatalf("CreateConnection = %+v, %v", c, err)
	}
	if _, err := a.CreateConnection(ctx, "salesforce", client.ConnectRequest{Name: "prod_org"}); !errors.As(err, new(*client.ConflictError)) {
		t.Errorf("duplicate create: %v, want ConflictError", err)
	}
	if _, err := a.CreateConnection(ctx, "salesforce", client.ConnectRequest{Name: "bad__name"}); !errors.As(err, new(*client.ValidationError)) {
		t.Errorf("bad name: %v, want ValidationError", err)
	}
	approve(t, c.RedirectURI)
	if got := e.waitConn(a, c.ID); got.Status != client.StatusConnected || got.Org.ID == "" || got.Org.ConnectionName != "prod_org" {
		t.Errorf("after approval: %+v", got)
	}

	dc, err := a.CreateConnection(ctx, "datacloud", client.ConnectRequest{Name: "events_dc"})
	if err != nil || dc.Org.Type != client.OrgTypeDataCloud {
		t.Fatalf("CreateConnection(datacloud) = %+v, %v", dc, err)
	}

	jc, err := a.CreateJWTConnection(ctx, client.JWTRequest{Name: "ci_org", ClientID: "3MVG9ci", Username: "ci@acme.com", PrivateKey: rsaKey(t, 0)})
	if err != nil || jc.Status != client.StatusConnected {
		t.Fatalf("CreateJWTConnection = %+v, %v", jc, err)
	}
	// A different key for a client id already trusted fails like a real connected app.
	jf, err := a.CreateJWTConnection(ctx, client.JWTRequest{Name: "ci_org2", ClientID: "3MVG9ci", Username: "ci@acme.com", PrivateKey: rsaKey(t, 1)})
	if err != nil || jf.Status != client.StatusFailed || jf.Error == nil || jf.Error.ID != "authentication_failed" {
		t.Errorf("JWT with another key = %+v, %v", jf, err)
	}

	list, err := a.ListConnections(ctx)
	if err != nil || len(list) != 4 {
		t.Errorf("ListConnections = %d, %v", len(list), err)
	}
	if _, err := a.GetConnection(ctx, "missing_org"); !client.IsNotFound(err) {
		t.Errorf("GetConnection(missing) = %v", err)
	}
	del, err := a.DeleteConnection(ctx, "ci_org")
	if err != nil {
		t.Fatalf("DeleteConnection: %v", err)
	}
	if del != nil && del.Status != client.StatusDisconnecting && del.Status != client.StatusDisconnected {
		t.Errorf("DeleteConnection answer status %q", del.Status)
	}
	// The connection either disappears or stays disconnected (docs/api.md,
	// "Open questions").
	got, err := a.GetConnection(ctx, "ci_org")
	if err == nil && got.Status != client.StatusDisconnected && got.Status != client.StatusDisconnecting {
		t.Errorf("after delete: %+v", got)
	} else if err != nil && !client.IsNotFound(err) {
		t.Errorf("after delete: %v", err)
	}
	if _, err := a.DeleteConnection(ctx, "never_was"); !client.IsNotFound(err) {
		t.Errorf("DeleteConnection(never_was) = %v", err)
	}
}

func TestEmulatorAuthorizations(t *testing.T) {
	e := startEmulator(t, emulator.Options{})
	a := e.link("acme-api")
	ctx := t.Context()
	oa, err := a.CreateAuthorization(ctx, "datacloud", client.ConnectRequest{Name: "ops_auth"})
	if err != nil || oa.Status != client.StatusAuthorizing || oa.RedirectURI == "" {
		t.Fatalf("CreateAuthorization = %+v, %v", oa, err)
	}
	approve(t, oa.RedirectURI)
	got, err := client.Wait(ctx, func(ctx context.Context) (*client.Authorization, error) { return a.GetAuthorization(ctx, oa.ID) },
		func(x *client.Authorization) string { return x.Status }, client.AuthorizationTerminal, fast)
	if err != nil || got.Status != client.StatusAuthorized {
		t.Fatalf("wait authorization = %+v, %v", got, err)
	}
	for i, kind := range []string{"salesforce", "datacloud"} {
		name := "ci_auth_" + kind
		ja, err := a.CreateJWTAuthorization(ctx, kind, client.JWTRequest{Name: name, ClientID: "3MVG9auth" + kind, Username: "ci@acme.com", PrivateKey: rsaKey(t, i)})
		if err != nil || ja.Status == client.StatusFailed {
			t.Fatalf("CreateJWTAuthorization(%s) = %+v, %v", kind, ja, err)
		}
	}
	list, err := a.ListAuthorizations(ctx)
	if err != nil || len(list) != 3 {
		t.Errorf("ListAuthorizations = %d, %v", len(list), err)
	}
	ra, err := a.RuntimeAuthorization(ctx, "ci_auth_salesforce")
	if err != nil || ra.Status != client.StatusAuthorized || ra.Org.UserAuth.AccessToken.IsZero() || ra.Org.InstanceURL == "" {
		t.Errorf("RuntimeAuthorization = %+v, %v", ra, err)
	}
	if _, err := a.CreateAuthorization(ctx, "salesforce", client.ConnectRequest{Name: "ops_auth"}); !errors.As(err, new(*client.ConflictError)) {
		t.Errorf("duplicate authorization: %v", err)
	}
	if err := a.DeleteAuthorization(ctx, "ops_auth"); err != nil {
		t.Errorf("DeleteAuthorization: %v", err)
	}
	// The authorization either disappears or stays listed as
	// disconnected for a while (the linger variant): either way a second
	// delete is no error beyond a 404.
	if got, err := a.GetAuthorization(ctx, "ops_auth"); err == nil && got.Status != client.StatusDisconnected {
		t.Errorf("after delete: %+v", got)
	} else if err != nil && !client.IsNotFound(err) {
		t.Errorf("after delete: %v", err)
	}
	if err := a.DeleteAuthorization(ctx, "ops_auth"); err != nil && !client.IsNotFound(err) {
		t.Errorf("second delete: %v", err)
	}
	if err := a.DeleteAuthorization(ctx, "never_was"); !client.IsNotFound(err) {
		t.Errorf("DeleteAuthorization(never_was) = %v", err)
	}
}

func TestEmulatorTargetsAndPublish(t *testing.T) {
	e := startEmulator(t, emulator.Options{})
	a := e.link("acme-api")
	ctx := t.Context()
	dc, err := a.CreateConnection(ctx, "datacloud", client.ConnectRequest{Name: "events_dc"})
	if err != nil {
		t.Fatal(err)
	}
	approve(t, dc.RedirectURI)
	e.waitConn(a, dc.ID)
	tg, err := a.CreateDataActionTarget(ctx, "events_dc", client.TargetRequest{Label: "Order_Events", TargetEndpoint: "/handleDataCloudDataChangeEvent"})
	if err != nil || tg.APIName != "Order_Events" {
		t.Fatalf("CreateDataActionTarget = %+v, %v", tg, err)
	}
	d, err := client.Wait(ctx, func(ctx context.Context) (*client.DataActionTargetDetail, error) {
		return a.GetDataActionTarget(ctx, "events_dc", "Order_Events")
	}, func(x *client.DataActionTargetDetail) string { return x.Status }, client.TargetTerminal, fast)
	if err != nil || d.Status != client.StatusCreated || d.HerokuApp.Name != "acme-api" {
		t.Errorf("target = %+v, %v", d, err)
	}
	if l, err := a.ListDataActionTargets(ctx, "events_dc"); err != nil || len(l) != 1 {
		t.Errorf("ListDataActionTargets = %+v, %v", l, err)
	}
	if _, err := a.GetDataActionTarget(ctx, "events_dc", "Nope"); !client.IsNotFound(err) {
		t.Errorf("GetDataActionTarget(Nope) = %v", err)
	}
	if _, err := a.CreateDataActionTarget(ctx, "events_dc", client.TargetRequest{Label: "Order_Events", TargetEndpoint: "/x"}); err == nil {
		t.Errorf("duplicate target accepted")
	}

	sf, err := a.CreateJWTConnection(ctx, client.JWTRequest{Name: "prod_org", ClientID: "3MVG9pub", Username: "ci@acme.com", PrivateKey: rsaKey(t, 0)})
	if err != nil || sf.Status != client.StatusConnected {
		t.Fatalf("JWT connection = %+v, %v", sf, err)
	}
	spec := "openapi: 3.0.0\ninfo: {title: Acme, version: '1'}\npaths:\n  /orders:\n    get:\n      responses:\n        '200': {description: ok}\n"
	zb := makeZip(t, map[string]string{"api-spec.yaml": spec, "permissionset-meta.xml": "<PermissionSet/>"})
	made, err := a.Publish(ctx, "prod_org", client.PublishRequest{ClientName: "AcmeAPI", Zip: zb})
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	pubs, err := a.ListPublications(ctx, "prod_org")
	if err != nil || len(pubs) != 1 || pubs[0].ESRName == "" || pubs[0].AppUUID != a.AppID {
		t.Errorf("ListPublications = %+v, %v", pubs, err)
	}
	// The emulator's answer (unless a variant answers without a body)
	// names the registration the list shows.
	if made != nil && (made.ESRID != pubs[0].ESRID || made.ESRName != pubs[0].ESRName) {
		t.Errorf("Publish answered %+v, the list shows %+v", made, pubs[0])
	}
	broken := makeZip(t, map[string]string{"api-spec.yaml": "swagger: '2.0'\ninfo: {title: x, version: '1'}\npaths: {}\n"})
	_, err = a.Publish(ctx, "prod_org", client.PublishRequest{ClientName: "Broken", Zip: broken})
	var ve *client.ValidationError
	if !errors.As(err, &ve) || !strings.Contains(ve.Message, "OpenAPI") {
		t.Errorf("broken spec: %v, want ValidationError naming OpenAPI", err)
	}
}

func TestEmulatorFaultsRetriesAndNoDuplicateCreates(t *testing.T) {
	e := startEmulator(t, emulator.Options{Seed: 1})
	a := e.link("acme-api")
	ctx := t.Context()
	em := e.srv.Emulator
	const listRoute = "GET /addons/{addon_id}/connections"
	const createRoute = "POST /addons/{addon_id}/connections/salesforce"

	for name, f := range map[string]emulator.Faults{"503": {ErrorRate: 1}, "drop": {DropRate: 1}} {
		em.ResetRequests()
		em.SetFaults(f)
		before := e.p.Requests()
		if _, err := a.ListConnections(ctx); err == nil {
			t.Errorf("%s: ListConnections succeeded under certain faults", name)
		}
		// net/http itself replays a GET once when a reused connection
		// drops, so the server may see more than MaxAttempts; the
		// client's count must match the server's.
		n := em.Requests()[listRoute]
		if n < 3 || int64(n) != e.p.Requests()-before {
			t.Errorf("%s: GET attempts: server saw %d, client counted %d, want >= MaxAttempts=3 and equal", name, n, e.p.Requests()-before)
		}
		_, err := a.CreateConnection(ctx, "salesforce", client.ConnectRequest{Name: "prod_org"})
		if !errors.Is(err, client.ErrAmbiguous) {
			t.Errorf("%s: create err = %v, want ambiguous", name, err)
		}
		if n := em.Requests()[createRoute]; n != 1 {
			t.Errorf("%s: POST sent %d times, want 1", name, n)
		}
	}
	em.SetFaults(emulator.Faults{})
	// The caller resolves the ambiguity by looking the name up: the faults
	// struck before anything was done, so there is nothing, and one create
	// now makes exactly one connection.
	if _, err := a.GetConnection(ctx, "prod_org"); !client.IsNotFound(err) {
		t.Fatalf("lookup after ambiguous create: %v", err)
	}
	if _, err := a.CreateConnection(ctx, "salesforce", client.ConnectRequest{Name: "prod_org"}); err != nil {
		t.Fatal(err)
	}
	if l, _ := a.ListConnections(ctx); len(l) != 1 {
		t.Errorf("%d connections after retries, want 1", len(l))
	}

	// Half the requests fail: reads still succeed through retries.
	em.SetFaults(emulator.Faults{ErrorRate: 0.3, DropRate: 0.1})
	for range 10 {
		if _, err := a.ListConnections(ctx); err != nil && !errors.Is(err, client.ErrAmbiguous) {
			var ae *client.APIError
			if !errors.As(err, &ae) || ae.Status != 503 {
				t.Errorf("flaky read: %v", err)
			}
		}
	}
}

func TestEmulatorRateLimit(t *testing.T) {
	e := startEmulator(t, emulator.Options{RateLimitPerMinute: 600, RateLimitBurst: 8})
	a := e.link("acme-api") // 5 tokens of 8
	client.SetLimiterRate(e.p, 10)
	ctx := t.Context()
	e.srv.Emulator.ResetRequests()
	start := time.Now()
	for range 8 {
		if _, err := a.ListConnections(ctx); err != nil {
			t.Fatalf("ListConnections under a small budget: %v", err)
		}
	}
	// 10 tokens a second refill; the client must have waited for some.
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("8 calls past an 8-token bucket took %v; the client did not slow down", d)
	}
	// Paced by RateLimit-Remaining, the client never ran into a 429 and
	// sent each call once.
	if n := e.srv.Emulator.Requests()["GET /addons/{addon_id}/connections"]; n != 8 {
		t.Errorf("server saw %d list requests, want 8 (no 429 retries)", n)
	}
}
