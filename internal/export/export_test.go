package export_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/client"
	"github.com/applinkctl/applinkctl/internal/emulator"
	"github.com/applinkctl/applinkctl/internal/export"
	"github.com/applinkctl/applinkctl/internal/live"
	"github.com/applinkctl/applinkctl/internal/liveread"
	"github.com/applinkctl/applinkctl/internal/manifest"
	"github.com/applinkctl/applinkctl/internal/plan"
	"github.com/applinkctl/applinkctl/internal/secret"
	"github.com/applinkctl/applinkctl/internal/state"
	"github.com/applinkctl/applinkctl/internal/testkit"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// fixedNow is the emulator's clock, so that exported dates are stable.
var fixedNow = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)

// handMade is an emulator holding what a person made with the Heroku CLI:
// on acme-api's second add-on a JWT and an OAuth Salesforce connection, a
// Data Cloud connection with two targets, a publication, and JWT (both org
// types) and OAuth authorizations; on its first add-on another connection;
// on billing (one add-on) one OAuth connection.
type handMade struct {
	srv     *emulator.Server
	p       *client.Platform
	addon   string // the name of acme-api's second add-on
	clients map[string]string
}

func newHandMade(t *testing.T) *handMade {
	t.Helper()
	ctx := context.Background()
	srv := testkit.Emulator(t, emulator.Options{Now: func() time.Time { return fixedNow }})
	acme := testkit.SeedApp(t, srv, "acme-api", 2)
	testkit.SeedApp(t, srv, "billing", 1)
	p := testkit.Platform(t, srv)
	h := &handMade{srv: srv, p: p, addon: acme.Addons[1].Name,
		clients: map[string]string{"prod_org": "3MVG9prodConsumerKey", "ci_auth": "3MVG9ciConsumerKey", "dc_auth": "3MVG9dcConsumerKey"}}
	key := secret.New(testkit.RSAKeyPEM(t, 2048, 0))

	link := h.resolve(t, "acme-api", h.addon)
	if _, err := link.CreateJWTConnection(ctx, client.JWTRequest{Name: "prod_org", ClientID: h.clients["prod_org"],
		Username: "api.user@acme.example", PrivateKey: key, LoginURL: "https://login.salesforce.com"}); err != nil {
		t.Fatal(err)
	}
	h.oauthConnection(t, link, "salesforce", "sandbox_org", "https://test.salesforce.com")
	h.oauthConnection(t, link, "datacloud", "events_dc", "")
	for _, tr := range []client.TargetRequest{
		{Label: "Order_Events", APIName: "Order_Events", TargetEndpoint: "/handleDataCloudDataChangeEvent", Type: "webhook"},
		{Label: "Refunds", APIName: "Refunds_V2", TargetEndpoint: "/refunds", Type: "webhook"},
	} {
		if _, err := link.CreateDataActionTarget(ctx, "events_dc", tr); err != nil {
			t.Fatal(err)
		}
	}
	specFile := testkit.WriteFile(t, t.TempDir(), "openapi.yaml", testkit.OrdersSpec)
	b, err := manifest.BuildBundle(&manifest.Publication{App: "acme-api", Connection: "prod_org", ClientName: "AcmeOrders", SpecFile: specFile})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := link.Publish(ctx, "prod_org", client.PublishRequest{ClientName: "AcmeOrders", Zip: b.Zip, PermissionSet: "AcmeOrdersPerms"}); err != nil {
		t.Fatal(err)
	}
	if _, err := link.CreateJWTAuthorization(ctx, "salesforce", client.JWTRequest{Name: "ci_auth", ClientID: h.clients["ci_auth"],
		Username: "ci@acme.example", PrivateKey: key}); err != nil {
		t.Fatal(err)
	}
	if _, err := link.CreateJWTAuthorization(ctx, "datacloud", client.JWTRequest{Name: "dc_auth", ClientID: h.clients["dc_auth"],
		Username: "dc@acme.example", PrivateKey: key, Alias: "applink:dc"}); err != nil {
		t.Fatal(err)
	}
	au, err := link.CreateAuthorization(ctx, "salesforce", client.ConnectRequest{Name: "ops_auth"})
	if err != nil {
		t.Fatal(err)
	}
	approve(t, au.RedirectURI)

	h.oauthConnection(t, h.resolve(t, "acme-api", acme.Addons[0].Name), "salesforce", "other_org", "")
	h.oauthConnection(t, h.resolve(t, "billing", ""), "salesforce", "billing_org", "")
	return h
}

// esrName is the esr_name the emulator lists the publication of
// clientName under.
func (h *handMade) esrName(t *testing.T, clientName string) string {
	t.Helper()
	for _, a := range h.srv.Emulator.World().Apps {
		for _, ad := range a.Addons {
			for _, c := range ad.Connections {
				for _, p := range c.Publications {
					if p.ClientName == clientName {
						return p.ESRName
					}
				}
			}
		}
	}
	t.Fatalf("no publication of %s", clientName)
	return ""
}

func (h *handMade) resolve(t *testing.T, app, addon string) *client.AppLink {
	t.Helper()
	link, err := h.p.Resolve(context.Background(), app, addon)
	if err != nil {
		t.Fatal(err)
	}
	return link
}

func (h *handMade) oauthConnection(t *testing.T, link *client.AppLink, orgType, name, loginURL string) {
	t.Helper()
	c, err := link.CreateConnection(context.Background(), orgType, client.ConnectRequest{Name: name, LoginURL: loginURL})
	if err != nil {
		t.Fatal(err)
	}
	approve(t, c.RedirectURI)
}

// approve is the person's browser reaching a redirect_uri.
func approve(t *testing.T, uri string) {
	t.Helper()
	resp, err := http.Get(uri)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("approve %s: %s", uri, resp.Status)
	}
}

func (h *handMade) read(t *testing.T, refs ...liveread.AppRef) *live.World {
	t.Helper()
	w, err := liveread.ReadApps(context.Background(), h.p, refs, 4)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// golden compares got with testdata/name, rewriting it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	testkit.Golden(t, filepath.Join("testdata", name), got, *update, "go test ./internal/export -update")
}

func TestRoundTripAdoptsEverything(t *testing.T) {
	h := newHandMade(t)
	w := h.read(t, liveread.AppRef{Name: "acme-api", Addon: h.addon}, liveread.AppRef{Name: "billing", Addon: ""})
	res, err := export.Render(w, export.Options{PinAddon: true})
	if err != nil {
		t.Fatal(err)
	}
	// The publication is written under its registration's name, which a
	// variant of the emulator makes other than its client name: the
	// golden file holds the default, the client name.
	esrName := h.esrName(t, "AcmeOrders")
	if !bytes.Contains(res.YAML, []byte("#   "+esrName+":")) {
		t.Errorf("the publication is not written under its esr_name %s:\n%s", esrName, res.YAML)
	}
	golden(t, "roundtrip.yaml", bytes.ReplaceAll(res.YAML, []byte(esrName), []byte("AcmeOrders")))

	again, err := export.Render(h.read(t, liveread.AppRef{Name: "billing"}, liveread.AppRef{Name: "acme-api", Addon: h.addon}), export.Options{PinAddon: true})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.YAML, res.YAML) {
		t.Errorf("a second export differs:\n%s", again.YAML)
	}

	// The variables the file names, set as the user would.
	env := map[string]string{}
	wantVars := map[string]bool{
		"ACME_API_PROD_ORG_CLIENT_ID": true, "ACME_API_PROD_ORG_PRIVATE_KEY": true,
		"ACME_API_CI_AUTH_CLIENT_ID": true, "ACME_API_CI_AUTH_PRIVATE_KEY": true,
		"ACME_API_DC_AUTH_CLIENT_ID": true, "ACME_API_DC_AUTH_PRIVATE_KEY": true,
	}
	for _, v := range res.Variables {
		if !wantVars[v.Name] {
			t.Errorf("unexpected variable %s (%s)", v.Name, v.Address)
		}
		delete(wantVars, v.Name)
		p, _ := addr.Parse(string(v.Address))
		if strings.HasSuffix(v.Name, "_PRIVATE_KEY") {
			if !v.Secret {
				t.Errorf("%s is not marked secret", v.Name)
			}
			env[v.Name] = testkit.RSAKeyPEM(t, 2048, 0)
		} else {
			env[v.Name] = h.clients[p.Name]
		}
	}
	for v := range wantVars {
		t.Errorf("variable %s missing", v)
	}
	want := manifest.Counts{Apps: 2, Connections: 4, Authorizations: 3, Targets: 2, Publications: 1}
	if res.Counts != want {
		t.Errorf("counts %+v, want %+v", res.Counts, want)
	}

	path := testkit.WriteFile(t, t.TempDir(), "applink.yaml", string(res.YAML))
	m, problems, err := manifest.Load([]string{path}, manifest.Options{LookupEnv: testkit.Env(env)})
	if err != nil {
		t.Fatalf("exported manifest does not load: %v\n%v", err, problems)
	}
	if len(problems) > 0 {
		t.Errorf("warnings: %v", problems)
	}
	if got := m.Counts(); got != (manifest.Counts{Apps: 2, Connections: 4, Authorizations: 3, Targets: 2}) {
		t.Errorf("loaded counts %+v", got)
	}

	world, _, err := liveread.Read(context.Background(), h.p, m, 4)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := plan.Diff(m, world, &state.State{Version: 1, Resources: map[addr.Address]*state.Resource{}}, plan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	adopted := 0
	for _, c := range pl.Changes {
		switch c.Action {
		case plan.Adopt:
			adopted++
		case plan.Noop:
		default:
			t.Errorf("%s: %s %v, want adopt or noop", c.Address, c.Action, c.Reasons)
		}
	}
	if adopted != 9 {
		t.Errorf("%d adopted, want 9 (4 connections, 3 authorizations, 2 targets)", adopted)
	}
	if len(pl.Unmanaged) != 1 || pl.Unmanaged[0] != addr.Publication("acme-api", "prod_org", esrName) {
		t.Errorf("unmanaged %v, want the commented publication only", pl.Unmanaged)
	}
}

func TestRenderWithoutAddonLeavesItOut(t *testing.T) {
	h := newHandMade(t)
	res, err := export.Render(h.read(t, liveread.AppRef{Name: "billing"}), export.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Apps map[string]map[string]any `yaml:"apps"`
	}
	if err := yaml.Unmarshal(res.YAML, &doc); err != nil {
		t.Fatal(err)
	}
	if _, ok := doc.Apps["billing"]["addon"]; ok {
		t.Errorf("addon written without PinAddon:\n%s", res.YAML)
	}
	if len(res.Variables) != 0 {
		t.Errorf("variables for an OAuth-only app: %v", res.Variables)
	}
}

func TestRenderNothing(t *testing.T) {
	if _, err := export.Render(nil, export.Options{}); !errors.Is(err, export.ErrNoApps) {
		t.Errorf("nil world: %v", err)
	}
	if _, err := export.Render(&live.World{Apps: map[string]*live.App{}}, export.Options{}); !errors.Is(err, export.ErrNoApps) {
		t.Errorf("empty world: %v", err)
	}
}

// TestRenderOddLiveStates covers what an emulator seeded through the API
// does not easily show: a connection still connecting (no username, no
// instance URL), failed and pending resources, a ${ in a live string, an
// org type the manifest cannot hold, colliding variable names, an app with
// nothing under its add-on.
func TestRenderOddLiveStates(t *testing.T) {
	w := &live.World{Apps: map[string]*live.App{
		"acme-api": {
			Name: "acme-api",
			Connections: map[string]*live.Connection{
				"new_org": {ID: "c1", Status: live.StatusConnecting, ConnectionMethod: "JWT",
					Org: live.Org{Type: live.OrgTypeSalesforce, ConnectionName: "new_org"}},
				"broken_org": {ID: "c2", Status: live.StatusFailed, Error: &live.ErrorInfo{ID: "org_connection_failed", Message: "boom"},
					Org: live.Org{Type: live.OrgTypeSalesforce, ConnectionName: "broken_org", InstanceURL: "https://acme--uat.sandbox.my.salesforce.com"}},
				"weird_org": {ID: "c3", Status: live.StatusConnected, Org: live.Org{Type: "MarsOrg", ConnectionName: "weird_org"}},
				"events_dc": {ID: "c4", Status: live.StatusConnected, Org: live.Org{Type: "DatacloudOrg", ConnectionName: "events_dc", InstanceURL: "https://x.c360a.salesforce.com"}},
			},
			Authorizations: map[string]*live.Authorization{
				"new_org": {ID: "a1", Status: live.StatusAuthorized, ConnectionMethod: "JWT", Alias: "applink:new_org",
					Org: live.Org{Type: live.OrgTypeSalesforce, DeveloperName: "new_org", Username: "u@acme.example", InstanceURL: "https://acme.my.salesforce.com"}},
			},
			Targets: map[string][]live.Target{
				"events_dc": {
					{Label: "Zeta", APIName: "Zeta", TargetEndpoint: "/z/${id}", Type: "webhook", Status: live.StatusCreating},
					{Label: "Alpha", APIName: "Alpha", TargetEndpoint: "/a", Type: "webhook", Status: live.StatusCreationFailed},
				},
			},
		},
		"empty-app": {Name: "empty-app"},
	}}
	res, err := export.Render(w, export.Options{})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "odd.yaml", res.YAML)
	wantNotes := []string{
		"acme-api/connection/broken_org: status: failed (org_connection_failed): the first plan will replace it",
		"acme-api/connection/events_dc/target/Alpha: status: creation_failed: the first plan will replace it",
		"acme-api/connection/events_dc/target/Zeta: status: creating: the first plan waits for it",
		"acme-api/connection/new_org: status: connecting: the first plan waits for it",
		"acme-api/connection/weird_org: left out: unknown org type \"MarsOrg\"",
	}
	if strings.Join(res.Notes, "\n") != strings.Join(wantNotes, "\n") {
		t.Errorf("notes:\n%s", strings.Join(res.Notes, "\n"))
	}
	names := []string{}
	for _, v := range res.Variables {
		names = append(names, v.Name)
	}
	if got := strings.Join(names, " "); got != "ACME_API_NEW_ORG_CLIENT_ID ACME_API_NEW_ORG_CLIENT_ID_2 ACME_API_NEW_ORG_PRIVATE_KEY ACME_API_NEW_ORG_PRIVATE_KEY_2 ACME_API_NEW_ORG_USERNAME" {
		t.Errorf("variables: %s", got)
	}

	env := map[string]string{"ACME_API_NEW_ORG_CLIENT_ID": "a", "ACME_API_NEW_ORG_CLIENT_ID_2": "b", "ACME_API_NEW_ORG_USERNAME": "u@acme.example",
		"ACME_API_NEW_ORG_PRIVATE_KEY": testkit.RSAKeyPEM(t, 2048, 0), "ACME_API_NEW_ORG_PRIVATE_KEY_2": testkit.RSAKeyPEM(t, 2048, 0)}
	path := testkit.WriteFile(t, t.TempDir(), "applink.yaml", string(res.YAML))
	m, problems, err := manifest.Load([]string{path}, manifest.Options{LookupEnv: testkit.Env(env)})
	if err != nil {
		t.Fatalf("does not load: %v\n%v", err, problems)
	}
	for _, a := range m.Apps {
		for _, c := range a.Connections {
			for _, tg := range c.Targets {
				if tg.Label == "Zeta" && tg.TargetEndpoint != "/z/${id}" {
					t.Errorf("a live ${ did not survive: %q", tg.TargetEndpoint)
				}
			}
		}
	}
}

// When the API refuses to list a connection's children (the
// failed-children variant: a failed connection's), export still writes the
// connection, writes none of its children, and says why in a note.
func TestExportNotesChildrenThatCouldNotBeListed(t *testing.T) {
	srv := testkit.Emulator(t, emulator.Options{Variants: []string{emulator.VariantFailedChildren}})
	seeded := testkit.SeedApp(t, srv, "acme-api", 1)
	p := testkit.Platform(t, srv)
	h := &handMade{srv: srv, p: p}
	link := h.resolve(t, "acme-api", "")
	h.oauthConnection(t, link, "datacloud", "events_dc", "")
	if _, err := link.CreateDataActionTarget(t.Context(), "events_dc", client.TargetRequest{Label: "Order_Events", TargetEndpoint: "/hook"}); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(srv.URL+"/_emulator/addons/"+seeded.Addons[0].ID+"/connections/events_dc/status", "application/json",
		strings.NewReader(`{"status":"failed"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	res, err := export.Render(h.read(t, liveread.AppRef{Name: "acme-api"}), export.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(res.YAML, []byte("Order_Events")) || !bytes.Contains(res.YAML, []byte("events_dc:")) {
		t.Errorf("export:\n%s", res.YAML)
	}
	want := "acme-api/connection/events_dc: could not list data action targets of acme-api/connection/events_dc (422 validation_failed: "
	found := false
	for _, n := range res.Notes {
		found = found || strings.HasPrefix(n, want) && strings.HasSuffix(n, "): none written")
	}
	if !found {
		t.Errorf("notes %q, want one starting %q", res.Notes, want)
	}
}
