package client_test

import (
	"slices"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/client"
	"github.com/applinkctl/applinkctl/internal/emulator"
	"github.com/applinkctl/applinkctl/internal/testkit"
)

// Against an emulator that answers every list one item at a time, every
// list route, Platform and AppLink, still gives the whole list.
func TestEmulatorEveryListPagedAtPageSizeOne(t *testing.T) {
	e := startEmulator(t, emulator.Options{PageSize: 1, ApproveOAuthAfter: time.Millisecond})
	ctx := t.Context()
	// Three add-ons: the add-on and attachment lists of Resolve are paged,
	// and the one chosen is on the last page.
	seeded := e.seed("paged-api", 3)
	last := seeded.Addons[2]
	a, err := e.p.Resolve(ctx, "paged-api", last.Name)
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	if a.AddonID != last.ID || a.Attachment != last.Attachment {
		t.Fatalf("resolved add-on %s (%s), want %s (%s)", a.AddonID, a.Attachment, last.ID, last.Attachment)
	}

	wantConns := []string{"alpha_org", "bravo_org", "charlie_org", "events_dc"}
	for _, n := range wantConns[:3] {
		if _, err := a.CreateJWTConnection(ctx, client.JWTRequest{Name: n, ClientID: "3MVG9paged", Username: "ci@acme.com", PrivateKey: rsaKey(t, 0)}); err != nil {
			t.Fatal(err)
		}
	}
	dc, err := a.CreateConnection(ctx, "datacloud", client.ConnectRequest{Name: "events_dc"})
	if err != nil {
		t.Fatal(err)
	}
	e.waitConn(a, dc.ID)
	wantAuths := []string{"one_auth", "two_auth", "three_auth"}
	for _, n := range wantAuths {
		if _, err := a.CreateJWTAuthorization(ctx, "salesforce", client.JWTRequest{Name: n, ClientID: "3MVG9paged", Username: "ci@acme.com", PrivateKey: rsaKey(t, 0)}); err != nil {
			t.Fatal(err)
		}
	}
	wantTargets := []string{"First_Events", "Second_Events", "Third_Events"}
	for _, n := range wantTargets {
		if _, err := a.CreateDataActionTarget(ctx, "events_dc", client.TargetRequest{Label: n, TargetEndpoint: "/" + n}); err != nil {
			t.Fatal(err)
		}
	}
	wantPubs := []string{"AcmeAPI", "BillingAPI", "CatalogAPI"}
	zb := makeZip(t, map[string]string{"api-spec.yaml": testkit.OrdersSpec})
	for _, n := range wantPubs {
		if _, err := a.Publish(ctx, "alpha_org", client.PublishRequest{ClientName: n, Zip: zb}); err != nil {
			t.Fatal(err)
		}
	}

	conns, err := a.ListConnections(ctx)
	check(t, "connections", err, conns, func(c client.Connection) string { return c.Org.ConnectionName }, wantConns)
	auths, err := a.ListAuthorizations(ctx)
	check(t, "authorizations", err, auths, func(x client.Authorization) string { return x.Org.DeveloperName }, wantAuths)
	ts, err := a.ListDataActionTargets(ctx, "events_dc")
	check(t, "targets", err, ts, func(x client.DataActionTarget) string { return x.APIName }, wantTargets)
	// The esr_names are the emulator's (a variant derives them from the
	// client names), as its world says.
	var wantESR []string
	for _, app := range e.srv.Emulator.World().Apps {
		for _, ad := range app.Addons {
			for _, c := range ad.Connections {
				for _, p := range c.Publications {
					wantESR = append(wantESR, p.ESRName)
				}
			}
		}
	}
	ps, err := a.ListPublications(ctx, "alpha_org")
	check(t, "publications", err, ps, func(x client.Publication) string { return x.ESRName }, wantESR)
	if len(wantESR) != len(wantPubs) {
		t.Errorf("world publications %q, want %d", wantESR, len(wantPubs))
	}

	// The emulator really paged: one request per item, plus the last, empty-handed or not.
	n := e.srv.Emulator.Requests()
	for route, min := range map[string]int{
		"GET /apps/{app}/addons":                                                        3,
		"GET /apps/{app}/addon-attachments":                                             3,
		"GET /addons/{addon_id}/connections":                                            4,
		"GET /addons/{addon_id}/authorizations":                                         3,
		"GET /addons/{addon_id}/connections/datacloud/{connection}/data_action_targets": 3,
		"GET /addons/{addon_id}/connections/salesforce/{connection}/apps/{app_uuid}":    3,
	} {
		if n[route] < min {
			t.Errorf("%s: %d requests, want at least %d (one page per item)", route, n[route], min)
		}
	}
}

func check[T any](t *testing.T, what string, err error, items []T, name func(T) string, want []string) {
	t.Helper()
	if err != nil {
		t.Errorf("list %s: %v", what, err)
		return
	}
	var got []string
	for _, it := range items {
		got = append(got, name(it))
	}
	slices.Sort(got)
	want = slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) {
		t.Errorf("%s: %q, want %q", what, got, want)
	}
}
