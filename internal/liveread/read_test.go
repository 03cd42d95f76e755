package liveread_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/client"
	"github.com/applinkctl/applinkctl/internal/emulator"
	"github.com/applinkctl/applinkctl/internal/live"
	"github.com/applinkctl/applinkctl/internal/liveread"
	"github.com/applinkctl/applinkctl/internal/manifest"
	"github.com/applinkctl/applinkctl/internal/secret"
	"github.com/applinkctl/applinkctl/internal/testkit"
)

func start(t *testing.T) (*emulator.Server, *client.Platform) {
	t.Helper()
	srv := testkit.Emulator(t, emulator.Options{ApproveOAuthAfter: time.Millisecond})
	return srv, testkit.Platform(t, srv)
}

func manifestOf(apps ...*manifest.App) *manifest.Manifest { return &manifest.Manifest{Apps: apps} }

// waitConnected polls until an OAuth connection approved by the emulator's
// timer is connected.
func waitConnected(t *testing.T, link *client.AppLink, name string) {
	t.Helper()
	_, err := client.Wait(context.Background(), func(ctx context.Context) (*client.Connection, error) { return link.GetConnection(ctx, name) },
		func(c *client.Connection) string { return c.Status }, client.ConnectionTerminal,
		client.WaitOptions{Initial: time.Millisecond, Max: 10 * time.Millisecond, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
}

func TestReadListsDeclaredConnectionsChildren(t *testing.T) {
	srv, p := start(t)
	ctx := context.Background()
	testkit.SeedApp(t, srv, "acme-api", 1)
	link, err := p.Resolve(ctx, "acme-api", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"events_dc", "other_dc"} {
		if _, err := link.CreateConnection(ctx, "datacloud", client.ConnectRequest{Name: n}); err != nil {
			t.Fatal(err)
		}
		waitConnected(t, link, n)
		if _, err := link.CreateDataActionTarget(ctx, n, client.TargetRequest{Label: "T_one", APIName: "T_one", TargetEndpoint: "/t", Type: "webhook"}); err != nil {
			t.Fatal(err)
		}
	}
	au, err := link.CreateAuthorization(ctx, "salesforce", client.ConnectRequest{Name: "ci_auth"})
	if err != nil {
		t.Fatal(err)
	}
	// Settled before the first read, so that the two reads below see the
	// same world however slow the machine is.
	if _, err := client.Wait(ctx, func(ctx context.Context) (*client.Authorization, error) { return link.GetAuthorization(ctx, au.ID) },
		func(a *client.Authorization) string { return a.Status }, client.AuthorizationTerminal,
		client.WaitOptions{Initial: time.Millisecond, Max: 10 * time.Millisecond, Timeout: 10 * time.Second}); err != nil {
		t.Fatal(err)
	}
	// Settled before the first read, so the digests below compare one
	// world rather than its statuses moving under load.
	if _, err := client.Wait(ctx, func(ctx context.Context) (*client.Authorization, error) { return link.GetAuthorization(ctx, "ci_auth") },
		func(a *client.Authorization) string { return a.Status }, client.AuthorizationTerminal,
		client.WaitOptions{Initial: time.Millisecond, Max: 10 * time.Millisecond, Timeout: time.Minute}); err != nil {
		t.Fatal(err)
	}

	m := manifestOf(&manifest.App{Name: "acme-api", Connections: []*manifest.Connection{{App: "acme-api", Name: "events_dc", Type: manifest.DataCloud}}})
	w, links, err := liveread.Read(ctx, p, m, 2)
	if err != nil {
		t.Fatal(err)
	}
	a := w.Apps["acme-api"]
	if a == nil || a.AppID == "" || links["acme-api"] == nil || links["acme-api"].AppID != a.AppID || links["acme-api"].AddonID != a.AddonID {
		t.Fatalf("app %+v, links %v", a, links)
	}
	if len(a.Connections) != 2 || a.Authorizations["ci_auth"] == nil {
		t.Fatalf("connections %v, authorizations %v", a.Connections, a.Authorizations)
	}
	if ts, ok := a.Targets["events_dc"]; !ok || len(ts) != 1 || ts[0].Label != "T_one" {
		t.Fatalf("targets of the declared connection: %+v", a.Targets)
	}
	if _, ok := a.Targets["other_dc"]; ok {
		t.Fatal("listed the children of an undeclared connection")
	}

	all, err := liveread.ReadApps(ctx, p, []liveread.AppRef{{Name: "acme-api"}}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Apps["acme-api"].Targets) != 2 {
		t.Fatalf("ReadApps lists every connection's children: %+v", all.Apps["acme-api"].Targets)
	}

	// Digest: stable for the same world, different once it changes.
	again, _, _ := liveread.Read(ctx, p, m, 2)
	if w.Digest() != again.Digest() || !strings.HasPrefix(w.Digest(), "sha256:") {
		t.Fatal("digest of the same world differs")
	}
	if err := link.DeleteAuthorization(ctx, "ci_auth"); err != nil {
		t.Fatal(err)
	}
	changed, _, _ := liveread.Read(ctx, p, m, 2)
	if changed.Digest() == w.Digest() {
		t.Fatal("digest did not change with the world")
	}
}

func TestReadErrorsNameTheAppAndTheFix(t *testing.T) {
	srv, p := start(t)
	testkit.SeedApp(t, srv, "two-addons", 2)
	testkit.SeedApp(t, srv, "no-addon", 0)
	ctx := context.Background()
	for _, tc := range []struct {
		app, addon string
		want       []string
	}{
		{"missing-app", "", []string{"missing-app"}},
		{"two-addons", "", []string{"two-addons", "addon:"}},
		{"two-addons", "nope", []string{"two-addons", "nope"}},
		{"no-addon", "", []string{"no-addon"}},
	} {
		_, _, err := liveread.Read(ctx, p, manifestOf(&manifest.App{Name: tc.app, Addon: tc.addon}), 2)
		if err == nil {
			t.Fatalf("%s: no error", tc.app)
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s/%s: error %q lacks %q", tc.app, tc.addon, err, w)
			}
		}
	}
	// Every app's error is reported, not only the first.
	_, _, err := liveread.Read(ctx, p, manifestOf(&manifest.App{Name: "missing-app"}, &manifest.App{Name: "no-addon"}), 2)
	if err == nil || !strings.Contains(err.Error(), "missing-app") || !strings.Contains(err.Error(), "no-addon") {
		t.Fatalf("joined errors: %v", err)
	}
	// The chosen add-on of two works.
	w, _, err := liveread.Read(ctx, p, manifestOf(&manifest.App{Name: "two-addons", Addon: "heroku-applink-two-addons-00002"}), 2)
	if err != nil || w.Apps["two-addons"].AddonName != "heroku-applink-two-addons-00002" {
		t.Fatalf("chosen add-on: %v", err)
	}
	// A bad API key is an error naming the app.
	bad, _ := client.New(client.Config{BaseURL: srv.URL, APIKey: secret.New("wrong")})
	if _, _, err := liveread.Read(ctx, bad, manifestOf(&manifest.App{Name: "two-addons"}), 2); err == nil || !strings.Contains(err.Error(), "two-addons") {
		t.Fatalf("bad key: %v", err)
	}
}

func TestReadCancelled(t *testing.T) {
	srv, p := start(t)
	testkit.SeedApp(t, srv, "acme-api", 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := liveread.Read(ctx, p, manifestOf(&manifest.App{Name: "acme-api"}), 2); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

// inFlight is an http.RoundTripper that records the most requests it ever
// had in flight at once.
type inFlight struct {
	next      http.RoundTripper
	mu        sync.Mutex
	now, most int
}

func (f *inFlight) RoundTrip(r *http.Request) (*http.Response, error) {
	f.mu.Lock()
	f.now++
	f.most = max(f.most, f.now)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.now--
		f.mu.Unlock()
	}()
	return f.next.RoundTrip(r)
}

// TestReadConcurrency checks the read's bound: by default the apps'
// pipelines overlap (far more than the 3 requests of one resolution in
// flight), and a caller sparing a shared rate limit can hold it to one
// call at a time (a resolution sends at most 3 requests at once).
func TestReadConcurrency(t *testing.T) {
	for _, tc := range []struct {
		concurrency int
		check       func(most int) string
	}{
		{0, func(most int) string {
			if most <= 3 || most > 3*live.DefaultReadConcurrency {
				return fmt.Sprintf("default bound: %d requests in flight at most, want 4..%d", most, 3*live.DefaultReadConcurrency)
			}
			return ""
		}},
		{1, func(most int) string {
			if most > 3 {
				return fmt.Sprintf("concurrency 1: %d requests in flight, want at most 3", most)
			}
			return ""
		}},
	} {
		srv := testkit.Emulator(t, emulator.Options{Latency: 20 * time.Millisecond})
		counter := &inFlight{next: http.DefaultTransport}
		p := testkit.PlatformWith(t, srv, client.Config{HTTPClient: &http.Client{Transport: counter}})
		var apps []*manifest.App
		for i := range 12 {
			name := fmt.Sprintf("app-%02d", i)
			testkit.SeedApp(t, srv, name, 1)
			apps = append(apps, &manifest.App{Name: name})
		}
		w, _, err := liveread.Read(t.Context(), p, manifestOf(apps...), tc.concurrency)
		if err != nil {
			t.Fatal(err)
		}
		if len(w.Apps) != 12 {
			t.Errorf("read %d apps, want 12", len(w.Apps))
		}
		if msg := tc.check(counter.most); msg != "" {
			t.Error(msg)
		}
	}
}

// setStatus forces a connection's status through the emulator's admin
// route, as a failure out of band would.
func setStatus(t *testing.T, srv *emulator.Server, addonID, conn, status string) {
	t.Helper()
	resp, err := http.Post(srv.URL+"/_emulator/addons/"+addonID+"/connections/"+conn+"/status", "application/json",
		strings.NewReader(`{"status":"`+status+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("set status: %s", resp.Status)
	}
}

// When the API refuses to list a connection's children (the
// failed-children variant: a failed connection's), the read goes on: the
// connection is marked unlisted with the refusal, without its request id,
// and its children are not taken for none. Without the variant they are
// listed.
func TestReadRecordsRefusedChildListsAsUnlisted(t *testing.T) {
	for _, refused := range []bool{false, true} {
		variants := testkit.NoVariants
		if refused {
			variants = []string{emulator.VariantFailedChildren}
		}
		srv := testkit.Emulator(t, emulator.Options{ApproveOAuthAfter: time.Millisecond, Variants: variants})
		p := testkit.Platform(t, srv)
		seeded := testkit.SeedApp(t, srv, "acme-api", 1)
		ctx := t.Context()
		link, err := p.Resolve(ctx, "acme-api", "")
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct{ typ, name string }{{"datacloud", "events_dc"}, {"salesforce", "prod_org"}} {
			if _, err := link.CreateConnection(ctx, c.typ, client.ConnectRequest{Name: c.name}); err != nil {
				t.Fatal(err)
			}
			waitConnected(t, link, c.name)
			setStatus(t, srv, seeded.Addons[0].ID, c.name, "failed")
		}
		m := manifestOf(&manifest.App{Name: "acme-api", Connections: []*manifest.Connection{
			{App: "acme-api", Name: "events_dc", Type: manifest.DataCloud}, {App: "acme-api", Name: "prod_org", Type: manifest.Salesforce}}})
		w, _, err := liveread.Read(ctx, p, m, 4)
		if err != nil {
			t.Fatalf("refused %t: %v", refused, err)
		}
		a := w.Apps["acme-api"]
		_, targetsListed := a.Targets["events_dc"]
		_, pubsListed := a.Publications["prod_org"]
		if !refused {
			if !targetsListed || !pubsListed || len(a.Unlisted) != 0 {
				t.Errorf("without the variant: targets listed %t, publications listed %t, unlisted %v", targetsListed, pubsListed, a.Unlisted)
			}
			continue
		}
		if targetsListed || pubsListed {
			t.Errorf("refused lists taken for empty ones: %v %v", a.Targets, a.Publications)
		}
		want := map[string]string{
			"events_dc": "could not list data action targets of acme-api/connection/events_dc (422 validation_failed: ",
			"prod_org":  "could not list publications of acme-api/connection/prod_org (422 validation_failed: ",
		}
		for conn, prefix := range want {
			if got := a.Unlisted[conn]; !strings.HasPrefix(got, prefix) || strings.Contains(got, "request id") {
				t.Errorf("unlisted[%s] = %q, want %q…", conn, got, prefix)
			}
		}
		again, _, err := liveread.Read(ctx, p, m, 4)
		if err != nil || again.Digest() != w.Digest() {
			t.Errorf("the same refusal reads differently: %v", err)
		}
	}
}
