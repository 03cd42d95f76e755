package plan_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/apply"
	"github.com/applinkctl/applinkctl/internal/client"
	"github.com/applinkctl/applinkctl/internal/emulator"
	"github.com/applinkctl/applinkctl/internal/liveread"
	"github.com/applinkctl/applinkctl/internal/manifest"
	"github.com/applinkctl/applinkctl/internal/plan"
	"github.com/applinkctl/applinkctl/internal/state"
	"github.com/applinkctl/applinkctl/internal/testkit"
)

// fleet is a generated manifest of apps, each with dc Data Cloud
// connections of targets targets, one Salesforce connection with pubs
// publications, and auths authorizations, applied to an emulator.
type fleet struct {
	srv   *emulator.Server
	p     *client.Platform
	m     *manifest.Manifest
	s     *state.State
	apps  int
	conns int // connections with children
}

func newFleet(tb testing.TB, apps, dc, targets, pubs, auths int) *fleet {
	tb.Helper()
	ctx := context.Background()
	dir := tb.TempDir()
	testkit.WriteFile(tb, dir, "api/openapi.yaml", specV1)
	var y strings.Builder
	y.WriteString("version: 1\napps:\n")
	f := &fleet{apps: apps}
	for a := range apps {
		fmt.Fprintf(&y, "  app-%03d:\n    connections:\n", a)
		for c := range dc {
			fmt.Fprintf(&y, "      dc_%02d:\n        type: datacloud\n        data_action_targets:\n", c)
			for t := range targets {
				fmt.Fprintf(&y, "          T_%03d:\n            target_endpoint: /hook/%d\n", t, t)
			}
			f.conns++
		}
		fmt.Fprintf(&y, "      crm:\n        type: salesforce\n        publications:\n")
		for p := range pubs {
			fmt.Fprintf(&y, "          Api_%02d:\n            spec: api/openapi.yaml\n", p)
		}
		if pubs > 0 {
			f.conns++
		}
		if auths > 0 {
			y.WriteString("    authorizations:\n")
			for i := range auths {
				fmt.Fprintf(&y, "      auth_%02d:\n        type: salesforce\n", i)
			}
		}
	}
	path := testkit.WriteFile(tb, dir, "applink.yaml", y.String())
	m := testkit.LoadManifest(tb, manifest.Options{}, path)
	f.m = m
	// The budget is counted at Heroku's page size, whatever the
	// environment's APPLINKCTL_EMULATOR_PAGE_SIZE says.
	srv := testkit.Emulator(tb, emulator.Options{ApproveOAuthAfter: time.Millisecond, RateLimitPerMinute: 1 << 30, RateLimitBurst: 1 << 30,
		PageSize: emulator.DefaultPageSize})
	f.srv = srv
	for _, a := range m.Apps {
		testkit.SeedApp(tb, srv, a.Name, 1)
	}
	f.p = testkit.Platform(tb, srv)
	// State in memory: the file backend rewrites the whole file twice per
	// resource, which makes setting up 5,000 resources quadratic; what is
	// measured is the plan, not the setup.
	st, err := state.NewStore(ctx, &memBackend{})
	if err != nil {
		tb.Fatal(err)
	}
	w, links, err := liveread.Read(ctx, f.p, m, 16)
	if err != nil {
		tb.Fatal(err)
	}
	pl, err := plan.Diff(m, w, st.Snapshot(), plan.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := apply.Apply(ctx, pl, links, st, nopObserver{}, apply.Options{Parallelism: 16, WaitForBrowser: true, Timeout: time.Minute,
		Poll: client.WaitOptions{Initial: time.Millisecond, Max: 10 * time.Millisecond}}); err != nil {
		tb.Fatal(err)
	}
	f.s = st.Snapshot()
	return f
}

// plan reads and diffs once, returning the plan and the requests it cost.
func (f *fleet) plan(tb testing.TB) (*plan.Plan, map[string]int) {
	tb.Helper()
	f.srv.Emulator.ResetRequests()
	w, _, err := liveread.Read(context.Background(), f.p, f.m, 8)
	if err != nil {
		tb.Fatal(err)
	}
	p, err := plan.Diff(f.m, w, f.s, plan.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return p, f.srv.Emulator.Requests()
}

// The budget: a no-op plan of A apps costs at most 4·A Platform
// requests plus, per add-on, 2 list calls and one call per connection that
// has children, and never a GET of a single resource.
func TestNoopPlanRequestBudget(t *testing.T) {
	f := newFleet(t, 3, 2, 3, 2, 1)
	p, reqs := f.plan(t)
	if p.HasChanges() {
		t.Fatalf("after apply the plan has changes: %v", addrs(p))
	}
	platform, applink := 0, 0
	for route, n := range reqs {
		switch {
		case strings.HasPrefix(route, "GET /apps/"):
			platform += n
		case strings.HasPrefix(route, "GET /addons/"):
			applink += n
			if strings.HasSuffix(route, "{name}") || strings.HasSuffix(route, "{connection}") || strings.HasSuffix(route, "{authorization}") || strings.HasSuffix(route, "{api_name}") {
				t.Errorf("single-resource GET in a plan: %s ×%d", route, n)
			}
		default:
			t.Errorf("unexpected request in a plan: %s ×%d", route, n)
		}
	}
	maxPlatform := 4 * f.apps
	maxAppLink := 2*f.apps + f.conns
	t.Logf("requests: %d Platform (budget %d), %d AppLink (budget %d): %v", platform, maxPlatform, applink, maxAppLink, reqs)
	if platform > maxPlatform { // add-ons, attachments, config vars and the SSO call
		t.Errorf("%d Platform requests for %d apps, budget %d", platform, f.apps, maxPlatform)
	}
	if applink > maxAppLink {
		t.Errorf("%d AppLink requests, budget %d", applink, maxAppLink)
	}
}

// BenchmarkPlan5000 plans 5,000 resources in 100 apps against the
// in-process emulator: each app holds 2 Data Cloud connections with 20
// targets each, a Salesforce connection with 5 publications and 2
// authorizations (50 resources).
func BenchmarkPlan5000(b *testing.B) {
	f := newFleet(b, 100, 2, 20, 5, 2)
	b.ReportAllocs()
	b.ResetTimer()
	total := 0
	for b.Loop() {
		p, reqs := f.plan(b)
		if len(p.Changes) != 5000 || p.HasChanges() {
			b.Fatalf("%d changes, has changes %v", len(p.Changes), p.HasChanges())
		}
		for _, n := range reqs {
			total += n
		}
	}
	b.ReportMetric(float64(total)/float64(b.N), "requests/op")
}

// memBackend is a state.Backend in memory, for setting up large worlds.
type memBackend struct {
	s *state.State
}

func (m *memBackend) Load(context.Context) (*state.State, error) {
	if m.s == nil {
		return &state.State{Version: state.Version, Lineage: "mem", Resources: map[addr.Address]*state.Resource{}}, nil
	}
	return m.s.Clone(), nil
}

func (m *memBackend) Save(_ context.Context, s *state.State) error {
	s.Serial++
	m.s = s.Clone()
	return nil
}

func (m *memBackend) Lock(context.Context, state.LockInfo, time.Duration) (func() error, error) {
	return func() error { return nil }, nil
}
func (m *memBackend) ForceUnlock(context.Context, string) error                   { return nil }
func (m *memBackend) AppendHistory(context.Context, state.HistoryRecord) error    { return nil }
func (m *memBackend) History(context.Context, int) ([]state.HistoryRecord, error) { return nil, nil }
func (m *memBackend) Describe() string                                            { return "mem://" }
func (m *memBackend) Close() error                                                { return nil }
