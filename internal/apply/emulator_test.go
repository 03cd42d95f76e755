package apply_test

import (
	"context"
	"errors"
	"path/filepath"
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

// These tests run the whole pipeline — manifest, live read, diff, apply,
// state — against the in-process emulator over loopback HTTP.

// quickstart is the shape of examples/quickstart: JWT and OAuth
// connections, targets, a publication and an authorization.
var quickstart = testkit.Quickstart

type env struct {
	t    *testing.T
	srv  *emulator.Server
	plat *client.Platform
	dir  string
}

func defaultEmulator() emulator.Options {
	return emulator.Options{
		ApproveOAuthAfter: 30 * time.Millisecond,
		AsyncDelay:        map[string]time.Duration{"connection": 20 * time.Millisecond, "target": 20 * time.Millisecond, "delete": 20 * time.Millisecond},
	}
}

func newEnv(t *testing.T, eo emulator.Options) *env {
	t.Helper()
	return newEnvOn(t, testkit.Emulator(t, eo))
}

// newEnvOn is newEnv on an emulator the test started itself.
func newEnvOn(t *testing.T, srv *emulator.Server) *env {
	t.Helper()
	testkit.SeedApp(t, srv, "acme-api", 1)
	plat := testkit.PlatformWith(t, srv, client.Config{
		Retry: client.RetryPolicy{BaseDelay: 5 * time.Millisecond, MaxDelay: 50 * time.Millisecond}})
	e := &env{t: t, srv: srv, plat: plat, dir: t.TempDir()}
	e.write("keys/server.key", testkit.RSAKeyPEM(t, 2048, 0))
	e.write("api/openapi.yaml", testkit.OrdersSpec)
	e.manifest(quickstart, "https://login.salesforce.com")
	return e
}

func (e *env) write(rel, body string) {
	e.t.Helper()
	testkit.WriteFile(e.t, e.dir, rel, body)
}

func (e *env) manifest(body, dcLoginURL string) {
	e.write("applink.yaml", strings.ReplaceAll(body, "LOGIN_URL", dcLoginURL))
}

// prepared is one planning pass, as `applinkctl plan` makes it.
type prepared struct {
	plan  *plan.Plan
	links liveread.Links
	store *state.Store
}

func (e *env) prepare(opts plan.Options) *prepared {
	e.t.Helper()
	ctx := context.Background()
	m, _, err := manifest.Load([]string{filepath.Join(e.dir, "applink.yaml")}, manifest.Options{})
	if err != nil {
		e.t.Fatalf("load: %v", err)
	}
	w, links, err := liveread.Read(ctx, e.plat, m, 4)
	if err != nil {
		e.t.Fatalf("live: %v", err)
	}
	b, err := state.Open(ctx, "", state.OpenOptions{ManifestDir: e.dir})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = b.Close() })
	st, err := state.NewStore(ctx, b)
	if err != nil {
		e.t.Fatal(err)
	}
	p, err := plan.Diff(m, w, st.Snapshot(), opts)
	if err != nil {
		e.t.Fatalf("diff: %v", err)
	}
	return &prepared{plan: p, links: links, store: st}
}

func opts() apply.Options {
	return apply.Options{Parallelism: 4, Timeout: 20 * time.Second, WaitForBrowser: true,
		Poll: client.WaitOptions{Initial: 5 * time.Millisecond, Max: 20 * time.Millisecond}, Who: "test"}
}

func (e *env) apply(ctx context.Context, po plan.Options, ao apply.Options) (apply.Summary, error) {
	e.t.Helper()
	pr := e.prepare(po)
	return apply.Apply(ctx, pr.plan, pr.links, pr.store, nil, ao)
}

// mutations counts the emulator's non-GET requests so far.
func (e *env) mutations() int {
	n := 0
	for k, v := range e.srv.Emulator.Requests() {
		if !strings.HasPrefix(k, "GET ") && !strings.HasPrefix(k, "/_emulator") {
			n += v
		}
	}
	return n
}

// assertCreates checks the emulator's creates: every quickstart address
// created exactly once, except those in twice, created twice (replaced
// once), and nothing else created.
func (e *env) assertCreates(twice ...string) {
	e.t.Helper()
	want := map[string]int{}
	for _, a := range testkit.QuickstartAddresses("acme-api") {
		want[a] = 1
	}
	for _, a := range twice {
		want[a] = 2
	}
	testkit.AssertCreateCounts(e.t, e.srv, want)
}

// connections are the connections of the world by name, less those that
// are deleted but still listed as disconnected (the linger variant), as
// the plan sees them.
func connections(s emulator.Snapshot) map[string]emulator.ConnectionSnapshot {
	out := map[string]emulator.ConnectionSnapshot{}
	for _, a := range s.Apps {
		for _, ad := range a.Addons {
			for _, c := range ad.Connections {
				if c.Status != "disconnected" {
					out[c.Name] = c
				}
			}
		}
	}
	return out
}

func (e *env) assertConverged() {
	e.t.Helper()
	p := e.prepare(plan.Options{}).plan
	for _, c := range p.Changes {
		if c.Action != plan.Noop || c.Wait {
			e.t.Errorf("not converged: %s %s %v (wait %v)", c.Action, c.Address, c.Reasons, c.Wait)
		}
	}
}

func TestApplyFromEmptyThenSecondPlanIsNoop(t *testing.T) {
	e := newEnv(t, defaultEmulator())
	s, err := e.apply(context.Background(), plan.Options{}, opts())
	if err != nil {
		t.Fatalf("apply: %v\n%+v", err, s)
	}
	if s.Created != 6 {
		t.Errorf("summary = %+v, want 6 created", s)
	}
	e.assertConverged()
	e.assertCreates()
	conns := connections(e.srv.Emulator.World())
	if conns["prod_org"].Status != "connected" || conns["events_dc"].Status != "connected" || len(conns["events_dc"].Targets) != 2 {
		t.Errorf("world = %+v", conns)
	}
	if pubs := conns["prod_org"].Publications; len(pubs) != 1 || pubs[0].Count != 1 {
		t.Errorf("publications = %+v", pubs)
	}
	// A second apply sends no write at all.
	before := e.mutations()
	s, err = e.apply(context.Background(), plan.Options{}, opts())
	if err != nil || s.Unchanged != 6 {
		t.Fatalf("second apply: %v %+v", err, s)
	}
	if n := e.mutations() - before; n != 0 {
		t.Errorf("second apply sent %d writes", n)
	}
}

func TestChangingOneFieldReplacesExactlyWithCascades(t *testing.T) {
	e := newEnv(t, defaultEmulator())
	if s, err := e.apply(context.Background(), plan.Options{}, opts()); err != nil {
		t.Fatalf("apply: %v %+v", err, s)
	}
	old := connections(e.srv.Emulator.World())
	e.manifest(quickstart, "https://test.salesforce.com")
	p := e.prepare(plan.Options{}).plan
	got := map[addr.Address]plan.Action{}
	for _, c := range p.Changes {
		if c.Action != plan.Noop {
			got[c.Address] = c.Action
		}
	}
	dc := addr.Connection("acme-api", "events_dc")
	if got[dc] != plan.Replace || len(got) != 3 {
		t.Fatalf("plan = %v, want the connection and its two targets replaced", got)
	}
	s, err := e.apply(context.Background(), plan.Options{}, opts())
	if err != nil {
		t.Fatalf("apply: %v %+v", err, s)
	}
	if s.Replaced != 3 || s.Unchanged != 3 {
		t.Errorf("summary = %+v", s)
	}
	now := connections(e.srv.Emulator.World())
	if now["events_dc"].ID == old["events_dc"].ID || now["prod_org"].ID != old["prod_org"].ID {
		t.Error("the wrong connection was replaced")
	}
	if len(now["events_dc"].Targets) != 2 || now["events_dc"].LoginURL != "https://test.salesforce.com" {
		t.Errorf("replaced connection = %+v", now["events_dc"])
	}
	e.assertConverged()
	e.assertCreates("acme-api/connection/events_dc", "acme-api/connection/events_dc/target/Order_Events",
		"acme-api/connection/events_dc/target/Customer_Updates")
}

func TestPruneOnlyWithTheFlag(t *testing.T) {
	e := newEnv(t, defaultEmulator())
	if s, err := e.apply(context.Background(), plan.Options{}, opts()); err != nil {
		t.Fatalf("apply: %v %+v", err, s)
	}
	// Drop the Data Cloud connection and the authorization.
	body := quickstart[:strings.Index(quickstart, "      events_dc:")]
	e.manifest(body, "")
	s, err := e.apply(context.Background(), plan.Options{}, opts())
	if err != nil || s.Deleted != 0 {
		t.Fatalf("without --prune: %v %+v", err, s)
	}
	if len(connections(e.srv.Emulator.World())) != 2 {
		t.Fatal("something was deleted without --prune")
	}
	s, err = e.apply(context.Background(), plan.Options{Prune: true}, opts())
	if err != nil {
		t.Fatalf("prune: %v %+v", err, s)
	}
	if s.Deleted != 4 { // connection, its two targets, the authorization
		t.Errorf("summary = %+v", s)
	}
	conns := connections(e.srv.Emulator.World())
	if _, ok := conns["events_dc"]; ok || len(conns) != 1 {
		t.Errorf("connections after prune = %v", conns)
	}
	e.assertConverged()
	e.assertCreates()
}

func TestDryRunSendsNoWrite(t *testing.T) {
	e := newEnv(t, defaultEmulator())
	o := opts()
	o.DryRun = true
	s, err := e.apply(context.Background(), plan.Options{}, o)
	if err != nil || !s.DryRun || s.Created != 6 {
		t.Fatalf("dry run: %v %+v", err, s)
	}
	if n := e.mutations(); n != 0 {
		t.Errorf("dry run sent %d writes: %v", n, e.srv.Emulator.Requests())
	}
	if p := e.prepare(plan.Options{}).plan; p.Counts().Create != 6 {
		t.Errorf("dry run changed something: %v", p.Counts())
	}
}

func TestTimeoutIsPendingAndTheNextRunResumes(t *testing.T) {
	// The targets take far longer than the timeout, which is itself far
	// longer than the connections take, so that a loaded machine changes
	// neither which changes time out nor that they do.
	eo := defaultEmulator()
	// The targets take an hour of the emulator's clock, which the test
	// moves on once the first apply has given up on them: the timeout
	// never races how long the other changes take on a loaded machine,
	// and it is generous for those.
	var clock testkit.Clock
	eo.Now = clock.Now
	eo.AsyncDelay["target"] = time.Hour
	e := newEnv(t, eo)
	o := opts()
	o.Timeout = 2 * time.Second
	s, err := e.apply(context.Background(), plan.Options{}, o)
	var pe *apply.PendingError
	if !errors.As(err, &pe) || len(s.StillPending) != 2 {
		t.Fatalf("err = %v, summary %+v; want the two targets pending", err, s)
	}
	for _, f := range s.StillPending {
		if f.RemoteID == "" || f.Address.Kind() != addr.KindTarget {
			t.Errorf("pending = %+v", f)
		}
	}
	// The next plan waits on them; the next apply, once their hour has
	// passed, finishes without a new POST.
	clock.Advance(time.Hour)
	p := e.prepare(plan.Options{}).plan
	for _, c := range p.Changes {
		if c.Kind == addr.KindTarget && (c.Action == plan.Create || c.Action == plan.Replace) {
			t.Errorf("pending target planned as %s", c.Action)
		}
	}
	s, err = e.apply(context.Background(), plan.Options{}, opts())
	if err != nil {
		t.Fatalf("resume: %v %+v", err, s)
	}
	if n := e.srv.Emulator.Requests()["POST /addons/{addon_id}/connections/datacloud/{connection}/data_action_targets"]; n != 2 {
		t.Errorf("target POSTs = %d, want 2 (%v)", n, e.srv.Emulator.Requests())
	}
	e.assertConverged()
	e.assertCreates()
}

func TestInjectedFaultsConvergeWithoutDuplicates(t *testing.T) {
	eo := defaultEmulator()
	eo.Seed = 7
	e := newEnv(t, eo)
	e.srv.Emulator.SetFaults(emulator.Faults{ErrorRate: 0.15, DropRate: 0.1, Retry429Rate: 0.05})
	var err error
	var s apply.Summary
	for run := 0; run < 8; run++ {
		pr, perr := e.tryPrepare(plan.Options{})
		if perr != nil {
			continue // a read failed under faults; plan again
		}
		s, err = apply.Apply(context.Background(), pr.plan, pr.links, pr.store, nil, opts())
		if err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("did not converge under faults: %v %+v", err, s)
	}
	e.srv.Emulator.SetFaults(emulator.Faults{})
	e.assertConverged()
	e.assertCreates()
}

// tryPrepare is prepare that reports errors instead of failing the test.
func (e *env) tryPrepare(opts plan.Options) (*prepared, error) {
	ctx := context.Background()
	m, _, err := manifest.Load([]string{filepath.Join(e.dir, "applink.yaml")}, manifest.Options{})
	if err != nil {
		return nil, err
	}
	w, links, err := liveread.Read(ctx, e.plat, m, 4)
	if err != nil {
		return nil, err
	}
	b, err := state.Open(ctx, "", state.OpenOptions{ManifestDir: e.dir})
	if err != nil {
		return nil, err
	}
	e.t.Cleanup(func() { _ = b.Close() })
	st, err := state.NewStore(ctx, b)
	if err != nil {
		return nil, err
	}
	p, err := plan.Diff(m, w, st.Snapshot(), opts)
	if err != nil {
		return nil, err
	}
	return &prepared{plan: p, links: links, store: st}, nil
}
