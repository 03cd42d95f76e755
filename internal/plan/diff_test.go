package plan_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/apply"
	"github.com/applinkctl/applinkctl/internal/live"
	"github.com/applinkctl/applinkctl/internal/manifest"
	"github.com/applinkctl/applinkctl/internal/plan"
	"github.com/applinkctl/applinkctl/internal/state"
	"github.com/applinkctl/applinkctl/internal/testkit"
)

// fixture builds desired, live and state by hand for one app, "acme".
type fixture struct {
	t   *testing.T
	app *manifest.App
	m   *manifest.Manifest
	w   *live.World
	la  *live.App
	s   *state.State
	dir string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	app := &manifest.App{Name: "acme"}
	la := &live.App{Name: "acme", AppID: "app-uuid", AddonID: "addon-uuid",
		Connections:    map[string]*live.Connection{},
		Authorizations: map[string]*live.Authorization{},
		Targets:        map[string][]live.Target{},
		Publications:   map[string][]live.Publication{},
	}
	return &fixture{
		t:   t,
		app: app,
		m:   &manifest.Manifest{Files: []string{"/x/applink.yaml"}, Apps: []*manifest.App{app}},
		w:   &live.World{Apps: map[string]*live.App{"acme": la}},
		la:  la,
		s:   &state.State{Version: state.Version, Lineage: "l", Resources: map[addr.Address]*state.Resource{}},
		dir: t.TempDir(),
	}
}

func jwt(user, fp string) *manifest.JWT {
	return &manifest.JWT{ClientID: "cid", Username: user, KeyFingerprint: fp}
}

func (f *fixture) sfConn(name string, j *manifest.JWT) *manifest.Connection {
	c := &manifest.Connection{App: "acme", Name: name, Type: manifest.Salesforce, JWT: j}
	f.app.Connections = append(f.app.Connections, c)
	return c
}

func (f *fixture) dcConn(name string) *manifest.Connection {
	c := &manifest.Connection{App: "acme", Name: name, Type: manifest.DataCloud}
	f.app.Connections = append(f.app.Connections, c)
	return c
}

func (f *fixture) target(c *manifest.Connection, label, endpoint string) *manifest.Target {
	t := &manifest.Target{App: "acme", Connection: c.Name, Label: label, APIName: label, TargetEndpoint: endpoint, Type: "webhook"}
	c.Targets = append(c.Targets, t)
	return t
}

const specV1 = `openapi: 3.0.0
info: {title: Acme, version: "1"}
paths:
  /orders:
    get:
      responses: {"200": {description: ok}}
  /legacy:
    get:
      responses: {"200": {description: ok}}
`

const specV2 = `openapi: 3.0.0
info: {title: Acme, version: "2"}
paths:
  /orders:
    get:
      responses: {"200": {description: ok}}
    post:
      responses: {"201": {description: created}}
`

func (f *fixture) pub(c *manifest.Connection, client, spec string) *manifest.Publication {
	path := testkit.WriteFile(f.t, f.dir, client+".yaml", spec)
	p := &manifest.Publication{App: "acme", Connection: c.Name, ClientName: client, SpecFile: path}
	c.Publications = append(c.Publications, p)
	return p
}

func (f *fixture) auth(name string, j *manifest.JWT) *manifest.Authorization {
	a := &manifest.Authorization{App: "acme", DeveloperName: name, Type: manifest.Salesforce, JWT: j}
	if j != nil {
		a.Alias = "applink:" + name
	}
	f.app.Authorizations = append(f.app.Authorizations, a)
	return a
}

func (f *fixture) liveConn(name, orgType, status string) *live.Connection {
	c := &live.Connection{ID: "id-" + name, Status: status, Org: live.Org{ConnectionName: name, Type: orgType}}
	f.la.Connections[name] = c
	// As liveread.Read does: the children of a settled connection are listed.
	if status != live.StatusConnecting && status != live.StatusDisconnecting && status != live.StatusDisconnected {
		if orgType == live.OrgTypeDataCloud {
			f.la.Targets[name] = []live.Target{}
		} else {
			f.la.Publications[name] = []live.Publication{}
		}
	}
	return c
}

func (f *fixture) liveTarget(conn, label, endpoint, status string) {
	f.la.Targets[conn] = append(f.la.Targets[conn], live.Target{ID: "t-" + label, Label: label, APIName: label, TargetEndpoint: endpoint, Type: "webhook", Status: status})
}

func (f *fixture) livePub(conn, client_ string) {
	f.la.Publications[conn] = append(f.la.Publications[conn], live.Publication{ESRName: client_, ESRID: "esr-" + client_, ConnectionName: conn})
}

// applied records desired as applied, as apply would after creating it.
func (f *fixture) applied(desired any, a addr.Address, k addr.Kind, action plan.Action) {
	c := &plan.Change{Address: a, Kind: k, Action: action, Desired: desired}
	if p, ok := desired.(*manifest.Publication); ok {
		b, err := manifest.BuildBundle(p)
		if err != nil {
			f.t.Fatal(err)
		}
		c.Bundle = b
	}
	f.s.Resources[a] = apply.AppliedRecord(c, "id", "connected", nil)
}

func (f *fixture) diff(opts plan.Options) *plan.Plan {
	f.t.Helper()
	p, err := plan.Diff(f.m, f.w, f.s, opts)
	if err != nil {
		f.t.Fatalf("Diff: %v", err)
	}
	return p
}

func change(t *testing.T, p *plan.Plan, a addr.Address) *plan.Change {
	t.Helper()
	c := p.Change(a)
	if c == nil {
		t.Fatalf("no change for %s; have %v", a, addrs(p))
	}
	return c
}

func addrs(p *plan.Plan) []string {
	var out []string
	for _, c := range p.Changes {
		out = append(out, string(c.Address)+":"+string(c.Action))
	}
	return out
}

func wantAction(t *testing.T, c *plan.Change, a plan.Action, reasonPart string) {
	t.Helper()
	if c.Action != a {
		t.Fatalf("%s: action %s, want %s (reasons %q)", c.Address, c.Action, a, c.Reasons)
	}
	if reasonPart != "" && !strings.Contains(strings.Join(c.Reasons, "|"), reasonPart) {
		t.Fatalf("%s: reasons %q, want one containing %q", c.Address, c.Reasons, reasonPart)
	}
}

func TestEmptyWorldCreatesParentFirst(t *testing.T) {
	f := newFixture(t)
	dc := f.dcConn("events_dc")
	f.target(dc, "Order_Events", "/hook")
	sf := f.sfConn("prod_org", jwt("u@acme.com", "sha256:k1"))
	f.pub(sf, "AcmeAPI", specV1)
	f.auth("ci_auth", nil)
	p := f.diff(plan.Options{})
	for _, c := range p.Changes {
		if c.Action != plan.Create {
			t.Errorf("%s: %s, want create", c.Address, c.Action)
		}
		if len(c.Reasons) == 0 {
			t.Errorf("%s: no reasons", c.Address)
		}
	}
	if !p.HasChanges() || p.Counts().Create != 5 {
		t.Fatalf("counts %v", p.Counts())
	}
	gs := p.Graph()
	if gs.Delete.Len() != 0 {
		t.Fatalf("deletes %v in a plan of creates", gs.Delete.Nodes())
	}
	order, err := gs.Create.TopoOrder()
	if err != nil {
		t.Fatal(err)
	}
	tgt := slices.Index(order, addr.Target("acme", "events_dc", "Order_Events"))
	conn := slices.Index(order, addr.Connection("acme", "events_dc"))
	if conn < 0 || tgt < conn {
		t.Fatalf("order %v: connection must precede its target", order)
	}
	if p.Fingerprints.Keys[addr.Connection("acme", "prod_org")] != "sha256:k1" {
		t.Fatalf("key fingerprints %v", p.Fingerprints.Keys)
	}
	if p.Fingerprints.Specs[addr.Publication("acme", "prod_org", "AcmeAPI")] == "" || p.Fingerprints.Live == "" || p.Fingerprints.State == "" {
		t.Fatalf("fingerprints %+v", p.Fingerprints)
	}
}

func TestInSyncIsNoop(t *testing.T) {
	f := newFixture(t)
	dc := f.dcConn("events_dc")
	tg := f.target(dc, "Order_Events", "/hook")
	sf := f.sfConn("prod_org", jwt("u@acme.com", "sha256:k1"))
	pb := f.pub(sf, "AcmeAPI", specV1)
	au := f.auth("ci_auth", jwt("ci@acme.com", "sha256:k2"))
	f.liveConn("events_dc", live.OrgTypeDataCloud, live.StatusConnected)
	lc := f.liveConn("prod_org", live.OrgTypeSalesforce, live.StatusConnected)
	lc.Org.Username, lc.ConnectionMethod = "u@acme.com", "JWT"
	f.liveTarget("events_dc", "Order_Events", "/hook", live.StatusCreated)
	f.livePub("prod_org", "AcmeAPI")
	f.la.Authorizations["ci_auth"] = &live.Authorization{ID: "a1", Status: live.StatusAuthorized, Alias: "applink:ci_auth",
		ConnectionMethod: "JWT", Org: live.Org{DeveloperName: "ci_auth", Type: live.OrgTypeSalesforce, Username: "ci@acme.com"}}
	f.applied(dc, dc.Address(), addr.KindConnection, plan.Create)
	f.applied(tg, tg.Address(), addr.KindTarget, plan.Create)
	f.applied(sf, sf.Address(), addr.KindConnection, plan.Create)
	f.applied(pb, pb.Address(), addr.KindPublication, plan.Create)
	f.applied(au, au.Address(), addr.KindAuthorization, plan.Create)
	p := f.diff(plan.Options{})
	if p.HasChanges() {
		t.Fatalf("want no changes, got %v", addrs(p))
	}
	for _, c := range p.Changes {
		if c.Before == nil || c.After == nil {
			t.Errorf("%s: noop without before/after", c.Address)
		}
	}
	findings, err := plan.Drift(f.m, f.w, f.s, nil)
	if err != nil || len(findings) != 0 {
		t.Fatalf("drift = %v, %v", findings, err)
	}
	// The same inputs give the same plan.
	q := f.diff(plan.Options{})
	if !slices.Equal(addrs(p), addrs(q)) || p.Fingerprints.Live != q.Fingerprints.Live {
		t.Fatal("plan not deterministic")
	}
}

func TestReplacementReasons(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(f *fixture, c *manifest.Connection)
		reason string
		kind   plan.FindingKind
	}{
		{"login_url", func(f *fixture, c *manifest.Connection) { c.LoginURL = "https://test.salesforce.com" }, "login_url changed", plan.Pending},
		{"client_id", func(f *fixture, c *manifest.Connection) { c.JWT.ClientID = "other" }, "jwt client_id changed", plan.Pending},
		{"key", func(f *fixture, c *manifest.Connection) { c.JWT.KeyFingerprint = "sha256:k9" }, "key fingerprint changed", plan.Pending},
		{"username", func(f *fixture, c *manifest.Connection) { c.JWT.Username = "new@acme.com" }, "username changed (u@acme.com → new@acme.com)", plan.Pending},
		{"type", func(f *fixture, c *manifest.Connection) {
			f.la.Connections["prod_org"].Org.Type = live.OrgTypeDataCloud
		}, "type changed (datacloud → salesforce)", plan.Changed},
		{"failed", func(f *fixture, c *manifest.Connection) {
			lc := f.la.Connections["prod_org"]
			lc.Status, lc.Error = live.StatusFailed, &live.ErrorInfo{ID: "org_connection_failed"}
		}, "status is failed (org_connection_failed)", plan.Changed},
		{"method", func(f *fixture, c *manifest.Connection) { c.JWT = nil }, "connection method changed (JWT → OAuth)", plan.Pending},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			c := f.sfConn("prod_org", jwt("u@acme.com", "sha256:k1"))
			lc := f.liveConn("prod_org", live.OrgTypeSalesforce, live.StatusConnected)
			lc.Org.Username, lc.ConnectionMethod = "u@acme.com", "JWT"
			f.applied(c, c.Address(), addr.KindConnection, plan.Create)
			tc.mutate(f, c)
			p := f.diff(plan.Options{})
			ch := change(t, p, c.Address())
			wantAction(t, ch, plan.Replace, tc.reason)
			if ch.RemoteID != "id-prod_org" || ch.Before == nil || ch.After == nil {
				t.Fatalf("change %+v", ch)
			}
			fs, err := plan.Drift(f.m, f.w, f.s, nil)
			if err != nil || len(fs) != 1 || fs[0].Kind != tc.kind {
				t.Fatalf("drift = %+v, %v; want one %s", fs, err, tc.kind)
			}
		})
	}
}

func TestLoginURLDefaultIsNotAChange(t *testing.T) {
	f := newFixture(t)
	c := f.sfConn("prod_org", nil)
	f.liveConn("prod_org", live.OrgTypeSalesforce, live.StatusConnected)
	f.applied(c, c.Address(), addr.KindConnection, plan.Create)
	c.LoginURL = "https://login.salesforce.com/"
	wantAction(t, change(t, f.diff(plan.Options{}), c.Address()), plan.Noop, "")
}

func TestPendingIsWaitedNotReplaced(t *testing.T) {
	f := newFixture(t)
	c := f.sfConn("prod_org", nil)
	f.liveConn("prod_org", live.OrgTypeSalesforce, live.StatusConnecting)
	f.applied(c, c.Address(), addr.KindConnection, plan.Create)
	ch := change(t, f.diff(plan.Options{}), c.Address())
	wantAction(t, ch, plan.Noop, "status is connecting")
	if !ch.Wait {
		t.Fatal("pending connection not waited on")
	}
	fs, _ := plan.Drift(f.m, f.w, f.s, nil)
	if len(fs) != 1 || fs[0].Kind != plan.Pending {
		t.Fatalf("drift %+v", fs)
	}
}

func TestIntentResumes(t *testing.T) {
	f := newFixture(t)
	c := f.sfConn("prod_org", nil)
	a := f.sfConn("other", nil)
	f.s.Resources[c.Address()] = &state.Resource{Kind: addr.KindConnection, Origin: state.Created, Phase: state.Intent, Operation: "create"}
	f.s.Resources[a.Address()] = &state.Resource{Kind: addr.KindConnection, Origin: state.Created, Phase: state.Intent, Operation: "create"}
	f.liveConn("prod_org", live.OrgTypeSalesforce, live.StatusConnecting)
	p := f.diff(plan.Options{})
	ch := change(t, p, c.Address())
	wantAction(t, ch, plan.Adopt, "an earlier run was interrupted during its create")
	if !ch.Wait || !ch.Resumed {
		t.Fatalf("intent with live resource: %+v", ch)
	}
	wantAction(t, change(t, p, a.Address()), plan.Create, "interrupted")
}

func TestAdoptLiveNotInState(t *testing.T) {
	f := newFixture(t)
	c := f.sfConn("prod_org", nil)
	f.liveConn("prod_org", live.OrgTypeSalesforce, live.StatusConnected)
	ch := change(t, f.diff(plan.Options{}), c.Address())
	wantAction(t, ch, plan.Adopt, "not in state")
}

func TestMissingLiveIsRecreated(t *testing.T) {
	f := newFixture(t)
	c := f.sfConn("prod_org", nil)
	f.applied(c, c.Address(), addr.KindConnection, plan.Create)
	wantAction(t, change(t, f.diff(plan.Options{}), c.Address()), plan.Create, "deleted out of band")
	fs, _ := plan.Drift(f.m, f.w, f.s, nil)
	if len(fs) != 1 || fs[0].Kind != plan.Missing {
		t.Fatalf("drift %+v", fs)
	}
	if fs, _ := plan.Drift(f.m, f.w, f.s, []string{"acme/connection/*"}); len(fs) != 0 {
		t.Fatalf("ignored drift still shown: %+v", fs)
	}
}

func TestCascades(t *testing.T) {
	f := newFixture(t)
	dc := f.dcConn("events_dc")
	t1 := f.target(dc, "Order_Events", "/hook")
	t2 := f.target(dc, "New_Events", "/new")
	sf := f.sfConn("prod_org", nil)
	pb := f.pub(sf, "AcmeAPI", specV1)
	f.liveConn("events_dc", live.OrgTypeDataCloud, live.StatusFailed)
	f.liveConn("prod_org", live.OrgTypeSalesforce, live.StatusDisconnected)
	f.liveTarget("events_dc", "Order_Events", "/hook", live.StatusCreated)
	f.livePub("prod_org", "AcmeAPI")
	for _, x := range []struct {
		d any
		a addr.Address
		k addr.Kind
	}{{dc, dc.Address(), addr.KindConnection}, {t1, t1.Address(), addr.KindTarget}, {sf, sf.Address(), addr.KindConnection}, {pb, pb.Address(), addr.KindPublication}} {
		f.applied(x.d, x.a, x.k, plan.Create)
	}
	p := f.diff(plan.Options{})
	wantAction(t, change(t, p, dc.Address()), plan.Replace, "status is failed")
	for _, x := range []struct {
		a      addr.Address
		action plan.Action
		cause  addr.Address
	}{
		{t1.Address(), plan.Replace, dc.Address()},
		{t2.Address(), plan.Create, dc.Address()},
		{pb.Address(), plan.Republish, sf.Address()},
	} {
		c := change(t, p, x.a)
		wantAction(t, c, x.action, "")
		if c.CausedBy != x.cause {
			t.Errorf("%s: caused by %q, want %q", x.a, c.CausedBy, x.cause)
		}
	}
}

func TestTargetChangeBlockedUntilReplace(t *testing.T) {
	f := newFixture(t)
	dc := f.dcConn("events_dc")
	tg := f.target(dc, "Order_Events", "/hook")
	f.liveConn("events_dc", live.OrgTypeDataCloud, live.StatusConnected)
	f.liveTarget("events_dc", "Order_Events", "/hook", live.StatusCreated)
	f.applied(dc, dc.Address(), addr.KindConnection, plan.Create)
	f.applied(tg, tg.Address(), addr.KindTarget, plan.Create)
	tg.TargetEndpoint = "/v2/hook"

	p := f.diff(plan.Options{})
	c := change(t, p, tg.Address())
	wantAction(t, c, plan.Replace, "target_endpoint changed (/hook → /v2/hook)")
	if !strings.Contains(c.Blocked, "--replace acme/connection/events_dc") {
		t.Fatalf("blocked = %q", c.Blocked)
	}
	if !p.HasChanges() {
		t.Fatal("blocked plan reports no changes")
	}

	p = f.diff(plan.Options{Replace: []string{"acme/connection/events_dc"}})
	wantAction(t, change(t, p, dc.Address()), plan.Replace, "replacement requested with --replace")
	c = change(t, p, tg.Address())
	wantAction(t, c, plan.Replace, "recreated with its connection")
	if c.Blocked != "" || c.CausedBy != dc.Address() {
		t.Fatalf("with --replace: %+v", c)
	}
}

func TestProtect(t *testing.T) {
	f := newFixture(t)
	c := f.sfConn("prod_org", nil)
	c.Protect = true
	f.liveConn("prod_org", live.OrgTypeSalesforce, live.StatusFailed)
	f.applied(c, c.Address(), addr.KindConnection, plan.Create)
	_, err := plan.Diff(f.m, f.w, f.s, plan.Options{})
	var pe *plan.ProtectError
	if !errors.As(err, &pe) || pe.Address != c.Address() || pe.Action != plan.Replace {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(err.Error(), "acme/connection/prod_org is protected and would be replaced (status is failed)") {
		t.Fatalf("message %q", err)
	}
	// Drift still reports it.
	if fs, err := plan.Drift(f.m, f.w, f.s, nil); err != nil || len(fs) != 1 {
		t.Fatalf("drift %v %v", fs, err)
	}

	// A protected resource removed from the manifest is not pruned either.
	f.app.Connections = nil
	f.app.Authorizations = []*manifest.Authorization{{App: "acme", DeveloperName: "keep", Type: manifest.Salesforce}}
	_, err = plan.Diff(f.m, f.w, f.s, plan.Options{Prune: true})
	if !errors.As(err, &pe) || pe.Action != plan.Delete {
		t.Fatalf("prune of protected: %v", err)
	}
	// Its block is gone: the way out is the command that releases it in
	// state, not an edit of a block that no longer exists.
	if msg := err.Error(); !strings.HasSuffix(msg, "; to let prune delete it, release it first: applinkctl state unprotect acme/connection/prod_org") || strings.Contains(msg, "remove protect: true") {
		t.Fatalf("message %q", msg)
	}
	fs, _ := plan.Drift(f.m, f.w, f.s, nil)
	i := slices.IndexFunc(fs, func(x plan.Finding) bool { return x.Address == c.Address() })
	if i < 0 || !strings.Contains(fs[i].Detail, "protected: apply --prune refuses to delete it until state unprotect releases it") {
		t.Fatalf("drift %+v", fs)
	}
	// Its repair releases it in state, then prunes it alone.
	if r := fs[i].Repairs; len(r) != 1 || r[0].Action != plan.RepairPrune || len(r[0].Steps) != 2 ||
		r[0].Steps[0].Verb != "state unprotect" || !slices.Equal(r[0].Steps[0].Args, []string{string(c.Address())}) ||
		!r[0].Steps[1].Options.Prune || !slices.Equal(r[0].Steps[1].Options.Targets, []string{string(c.Address())}) {
		t.Fatalf("repair of %s: %+v", c.Address(), r)
	}
	// Released, it is pruned.
	f.s.Resources[c.Address()].Protect = false
	wantAction(t, change(t, f.diff(plan.Options{Prune: true}), c.Address()), plan.Delete, "no longer declared")
}

// The protect flag recorded in state follows the manifest: a noop whose
// only difference is protect is marked for apply to record it (no API
// call), and is no change of the live world.
func TestProtectFlagDifferenceIsAStateOnlyNoop(t *testing.T) {
	f := newFixture(t)
	c := f.sfConn("prod_org", nil)
	au := f.auth("ci_auth", nil)
	other := f.sfConn("other_org", nil)
	fresh := f.sfConn("fresh_org", nil)
	fresh.Protect = true
	for _, n := range []string{"prod_org", "other_org"} {
		f.liveConn(n, live.OrgTypeSalesforce, live.StatusConnected)
	}
	f.la.Authorizations["ci_auth"] = &live.Authorization{ID: "a1", Status: live.StatusAuthorized, Org: live.Org{DeveloperName: "ci_auth", Type: live.OrgTypeSalesforce}}
	f.applied(c, c.Address(), addr.KindConnection, plan.Create)
	f.applied(au, au.Address(), addr.KindAuthorization, plan.Create)
	f.applied(other, other.Address(), addr.KindConnection, plan.Create)
	f.s.Resources[au.Address()].Protect = true

	// protect: true added to prod_org; removed from ci_auth; other_org
	// unchanged; fresh_org is created (which records its flag anyway).
	c.Protect, au.Protect = true, false
	p := f.diff(plan.Options{})
	for a, want := range map[addr.Address]bool{c.Address(): true, au.Address(): true, other.Address(): false, fresh.Address(): false} {
		ch := change(t, p, a)
		if ch.StateOnly != want {
			t.Errorf("%s (%s): StateOnly = %t, want %t", a, ch.Action, ch.StateOnly, want)
		}
	}
	wantAction(t, change(t, p, c.Address()), plan.Noop, "")
	if !p.RecordsState() {
		t.Error("RecordsState = false")
	}
	// Only fresh_org is a change: the protect flags alone are not.
	f.app.Connections = f.app.Connections[:2]
	p = f.diff(plan.Options{})
	if p.HasChanges() || !p.RecordsState() {
		t.Errorf("HasChanges = %t, RecordsState = %t; want false, true (%v)", p.HasChanges(), p.RecordsState(), addrs(p))
	}
	if fs, err := plan.Drift(f.m, f.w, f.s, nil); err != nil || len(fs) != 0 {
		t.Errorf("drift = %v, %v", fs, err)
	}
}

func TestPrune(t *testing.T) {
	f := newFixture(t)
	keep := f.sfConn("keep", nil)
	f.liveConn("keep", live.OrgTypeSalesforce, live.StatusConnected)
	f.applied(keep, keep.Address(), addr.KindConnection, plan.Create)
	gone := &manifest.Connection{App: "acme", Name: "gone", Type: manifest.DataCloud}
	f.liveConn("gone", live.OrgTypeDataCloud, live.StatusConnected)
	f.liveTarget("gone", "T1", "/t", live.StatusCreated)
	f.applied(gone, gone.Address(), addr.KindConnection, plan.Create)
	f.s.Resources[addr.Target("acme", "gone", "T1")] = &state.Resource{Kind: addr.KindTarget, Origin: state.Created, Phase: state.Applied}
	f.liveConn("stranger", live.OrgTypeSalesforce, live.StatusConnected) // unmanaged
	f.s.Resources[addr.Connection("acme", "foreign")] = &state.Resource{Kind: addr.KindConnection, Origin: "imported"}

	p := f.diff(plan.Options{})
	if c := p.Change(gone.Address()); c != nil {
		t.Fatalf("without --prune: %+v", c)
	}
	if !slices.Equal(p.Unmanaged, []addr.Address{"acme/connection/stranger"}) {
		t.Fatalf("unmanaged %v", p.Unmanaged)
	}
	fs, _ := plan.Drift(f.m, f.w, f.s, nil)
	kinds := map[addr.Address]plan.FindingKind{}
	for _, x := range fs {
		kinds[x.Address] = x.Kind
	}
	if kinds["acme/connection/gone"] != plan.Pending || kinds["acme/connection/stranger"] != plan.Unmanaged {
		t.Fatalf("drift %+v", fs)
	}

	p = f.diff(plan.Options{Prune: true})
	wantAction(t, change(t, p, gone.Address()), plan.Delete, "no longer declared")
	tc := change(t, p, addr.Target("acme", "gone", "T1"))
	wantAction(t, tc, plan.Delete, "deleted with its connection")
	if tc.CausedBy != gone.Address() || tc.Blocked != "" {
		t.Fatalf("target delete %+v", tc)
	}
	if p.Change("acme/connection/stranger") != nil || p.Change("acme/connection/foreign") != nil {
		t.Fatalf("pruned what state does not own: %v", addrs(p))
	}
	// The API deletes a connection's targets with it: apply settles a
	// deleted target after its connection is gone, never before.
	gs := p.Graph()
	if gs.Create.Has(tc.Address) || gs.Create.Has(gone.Address()) {
		t.Fatalf("deletes in the create order: %v", gs.Create.Nodes())
	}
	order, err := gs.Delete.TopoOrder()
	if err != nil {
		t.Fatal(err)
	}
	if i, j := slices.Index(order, gone.Address()), slices.Index(order, tc.Address); i < 0 || j < i {
		t.Fatalf("delete order %v: the connection must go before its target", order)
	}
}

func TestPruneOrphanTargetBlocked(t *testing.T) {
	f := newFixture(t)
	dc := f.dcConn("events_dc")
	f.liveConn("events_dc", live.OrgTypeDataCloud, live.StatusConnected)
	f.liveTarget("events_dc", "Old", "/old", live.StatusCreated)
	f.applied(dc, dc.Address(), addr.KindConnection, plan.Create)
	f.s.Resources[addr.Target("acme", "events_dc", "Old")] = &state.Resource{Kind: addr.KindTarget, Origin: state.Created, Phase: state.Applied}
	c := change(t, f.diff(plan.Options{Prune: true}), addr.Target("acme", "events_dc", "Old"))
	if c.Action != plan.Delete || !strings.Contains(c.Blocked, "--replace acme/connection/events_dc") {
		t.Fatalf("%+v", c)
	}
}

func TestEmptyManifestGuard(t *testing.T) {
	f := newFixture(t)
	_, err := plan.Diff(f.m, f.w, f.s, plan.Options{Prune: true})
	if !errors.Is(err, plan.ErrEmptyManifest) {
		t.Fatalf("err = %v", err)
	}
	if _, err := plan.Diff(f.m, f.w, f.s, plan.Options{Prune: true, AllowEmpty: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := plan.Diff(f.m, f.w, f.s, plan.Options{}); err != nil {
		t.Fatal(err)
	}
}

func TestTargetSelection(t *testing.T) {
	f := newFixture(t)
	dc := f.dcConn("events_dc")
	f.target(dc, "A", "/a")
	f.target(dc, "B", "/b")
	f.sfConn("prod_org", nil)
	p := f.diff(plan.Options{Targets: []string{"acme/connection/events_dc/target/A"}})
	got := addrs(p)
	want := []string{"acme/connection/events_dc:create", "acme/connection/events_dc/target/A:create"}
	if !slices.Equal(got, want) {
		t.Fatalf("targeted plan %v, want %v (with its connection)", got, want)
	}
	p = f.diff(plan.Options{Targets: []string{"acme/connection/events_dc"}})
	if len(p.Changes) != 3 {
		t.Fatalf("a connection target includes its children: %v", addrs(p))
	}
	_, err := plan.Diff(f.m, f.w, f.s, plan.Options{Targets: []string{"acme/connection/nope*"}})
	var se *plan.SelectorError
	if !errors.As(err, &se) || se.Flag != "--target" {
		t.Fatalf("err = %v", err)
	}
	if _, err := plan.Diff(f.m, f.w, f.s, plan.Options{Targets: []string{"[bad"}}); !errors.As(err, &se) {
		t.Fatalf("bad glob: %v", err)
	}
}

func TestReplaceUnknown(t *testing.T) {
	f := newFixture(t)
	f.sfConn("prod_org", nil)
	for _, r := range []string{"acme/connection/nope", "not an address"} {
		_, err := plan.Diff(f.m, f.w, f.s, plan.Options{Replace: []string{r}})
		var se *plan.SelectorError
		if !errors.As(err, &se) || se.Flag != "--replace" {
			t.Fatalf("%s: err = %v", r, err)
		}
	}
}

func TestSpecChangeShowsOperationsAndDiff(t *testing.T) {
	f := newFixture(t)
	sf := f.sfConn("prod_org", nil)
	pb := f.pub(sf, "AcmeAPI", specV1)
	f.liveConn("prod_org", live.OrgTypeSalesforce, live.StatusConnected)
	f.livePub("prod_org", "AcmeAPI")
	f.applied(sf, sf.Address(), addr.KindConnection, plan.Create)
	f.applied(pb, pb.Address(), addr.KindPublication, plan.Create)
	if err := os.WriteFile(pb.SpecFile, []byte(specV2), 0o600); err != nil {
		t.Fatal(err)
	}
	p := f.diff(plan.Options{})
	c := change(t, p, pb.Address())
	wantAction(t, c, plan.Republish, "spec changed: +1 −1 operations")
	if c.Spec == nil || !slices.Equal(c.Spec.Added, []string{"POST /orders"}) || !slices.Equal(c.Spec.Removed, []string{"GET /legacy"}) {
		t.Fatalf("spec change %+v", c.Spec)
	}
	for _, line := range []string{"--- published/api-spec.yaml", "+++ manifest/api-spec.yaml", "-  /legacy:", "+    post:", "@@ -1,"} {
		if !strings.Contains(c.Spec.UnifiedDiff, line) {
			t.Fatalf("diff lacks %q:\n%s", line, c.Spec.UnifiedDiff)
		}
	}
	if c.Spec.Truncated {
		t.Fatal("short diff truncated")
	}
}

func TestSpecDiffTruncated(t *testing.T) {
	f := newFixture(t)
	sf := f.sfConn("prod_org", nil)
	var big strings.Builder
	big.WriteString(specV1)
	for i := range 400 {
		big.WriteString("# line " + strings.Repeat("x", i%7) + "\n")
	}
	pb := f.pub(sf, "AcmeAPI", big.String())
	f.liveConn("prod_org", live.OrgTypeSalesforce, live.StatusConnected)
	f.livePub("prod_org", "AcmeAPI")
	f.applied(sf, sf.Address(), addr.KindConnection, plan.Create)
	f.applied(pb, pb.Address(), addr.KindPublication, plan.Create)
	if err := os.WriteFile(pb.SpecFile, []byte(specV1), 0o600); err != nil {
		t.Fatal(err)
	}
	c := change(t, f.diff(plan.Options{}), pb.Address())
	if c.Spec == nil || !c.Spec.Truncated || strings.Count(c.Spec.UnifiedDiff, "\n") > 200 {
		t.Fatalf("spec %+v", c.Spec)
	}
	wantAction(t, c, plan.Republish, "spec changed (same operations)")
}

func TestPublicationMissingLiveOrNotInState(t *testing.T) {
	f := newFixture(t)
	sf := f.sfConn("prod_org", nil)
	pb := f.pub(sf, "AcmeAPI", specV1)
	f.liveConn("prod_org", live.OrgTypeSalesforce, live.StatusConnected)
	f.applied(sf, sf.Address(), addr.KindConnection, plan.Create)
	wantAction(t, change(t, f.diff(plan.Options{}), pb.Address()), plan.Create, "not published yet")
	f.applied(pb, pb.Address(), addr.KindPublication, plan.Create)
	wantAction(t, change(t, f.diff(plan.Options{}), pb.Address()), plan.Republish, "deleted out of band")
	delete(f.s.Resources, pb.Address())
	f.livePub("prod_org", "AcmeAPI")
	wantAction(t, change(t, f.diff(plan.Options{}), pb.Address()), plan.Republish, "not in state")
	f.applied(pb, pb.Address(), addr.KindPublication, plan.Create)
	wantAction(t, change(t, f.diff(plan.Options{Replace: []string{string(pb.Address())}}), pb.Address()), plan.Republish, "--replace")
}

func TestPublicationFileErrorNamesAddress(t *testing.T) {
	f := newFixture(t)
	sf := f.sfConn("prod_org", nil)
	pb := f.pub(sf, "AcmeAPI", specV1)
	pb.SpecFile = filepath.Join(f.dir, "missing.yaml")
	_, err := plan.Diff(f.m, f.w, f.s, plan.Options{})
	if err == nil || !strings.Contains(err.Error(), "acme/connection/prod_org/publication/AcmeAPI") {
		t.Fatalf("err = %v", err)
	}
}

func TestTargetPendingAndFailed(t *testing.T) {
	f := newFixture(t)
	dc := f.dcConn("events_dc")
	tg := f.target(dc, "A", "/a")
	f.liveConn("events_dc", live.OrgTypeDataCloud, live.StatusConnected)
	f.liveTarget("events_dc", "A", "/a", live.StatusGeneratingSigningKey)
	f.applied(dc, dc.Address(), addr.KindConnection, plan.Create)
	f.applied(tg, tg.Address(), addr.KindTarget, plan.Create)
	c := change(t, f.diff(plan.Options{}), tg.Address())
	if c.Action != plan.Noop || !c.Wait {
		t.Fatalf("pending target %+v", c)
	}
	f.la.Targets["events_dc"][0].Status = live.StatusCreationFailed
	c = change(t, f.diff(plan.Options{}), tg.Address())
	wantAction(t, c, plan.Replace, "status is creation_failed")
	if c.Blocked == "" {
		t.Fatal("failed target not blocked")
	}
}

func TestCheckStale(t *testing.T) {
	f := newFixture(t)
	c := f.sfConn("prod_org", jwt("u@acme.com", "sha256:k1"))
	saved := f.diff(plan.Options{})
	if err := plan.CheckStale(saved, f.diff(plan.Options{})); err != nil {
		t.Fatalf("fresh plan judged stale: %v", err)
	}
	check := func(want string) {
		t.Helper()
		err := plan.CheckStale(saved, f.diff(plan.Options{}))
		var se *plan.StaleError
		if !errors.As(err, &se) || !strings.HasPrefix(err.Error(), "stale plan: "+want+" changed") {
			t.Fatalf("err = %v, want stale %s", err, want)
		}
	}
	c.JWT.KeyFingerprint = "sha256:k2"
	check("key of acme/connection/prod_org")
	c.JWT.KeyFingerprint = "sha256:k1"
	f.liveConn("prod_org", live.OrgTypeSalesforce, live.StatusConnecting)
	check("live state")
	delete(f.la.Connections, "prod_org")
	f.s.Serial++
	check("state")
	f.s.Serial--
	f.auth("new", nil)
	check("manifest")
}

// A value edited in the manifest after review that leaves every action the
// same (a connection still to be created gets another login_url) is stale
// too: apply must run what was reviewed.
func TestCheckStaleReviewedValue(t *testing.T) {
	f := newFixture(t)
	c := f.sfConn("prod_org", nil)
	saved := f.diff(plan.Options{})
	c.LoginURL = "https://test.salesforce.com"
	err := plan.CheckStale(saved, f.diff(plan.Options{}))
	if err == nil || !strings.HasPrefix(err.Error(), "stale plan: manifest entry acme/connection/prod_org changed") {
		t.Fatalf("err = %v, want the manifest entry named", err)
	}
}

func TestInputsDigest(t *testing.T) {
	c1 := &manifest.Connection{App: "a", Name: "c", Type: manifest.Salesforce}
	c2 := &manifest.Connection{App: "a", Name: "c", Type: manifest.Salesforce, LoginURL: "https://login.salesforce.com"}
	if plan.InputsDigest(c1) != plan.InputsDigest(c2) || plan.InputsDigest(c1) == "" {
		t.Fatal("default login_url changes the digest")
	}
	c2.LoginURL = "https://test.salesforce.com"
	if plan.InputsDigest(c1) == plan.InputsDigest(c2) {
		t.Fatal("login_url not in the digest")
	}
	if plan.InputsDigest(42) != "" {
		t.Fatal("unknown type digested")
	}
}

func TestPublicationSettingsChange(t *testing.T) {
	f := newFixture(t)
	sf := f.sfConn("prod_org", nil)
	pb := f.pub(sf, "AcmeAPI", specV1)
	f.liveConn("prod_org", live.OrgTypeSalesforce, live.StatusConnected)
	f.livePub("prod_org", "AcmeAPI")
	f.applied(sf, sf.Address(), addr.KindConnection, plan.Create)
	f.applied(pb, pb.Address(), addr.KindPublication, plan.Create)
	pb.PermissionSet = "AcmePerms"
	c := change(t, f.diff(plan.Options{}), pb.Address())
	wantAction(t, c, plan.Republish, "publication settings changed")
	if c.Spec != nil {
		t.Fatalf("spec unchanged but a spec change shown: %+v", c.Spec)
	}
	if c.After.Attrs["permission_set"] != "AcmePerms" {
		t.Fatalf("after %v", c.After.Attrs)
	}
}

func TestUnmanagedChildrenAndAuthorizations(t *testing.T) {
	f := newFixture(t)
	dc := f.dcConn("events_dc")
	f.liveConn("events_dc", live.OrgTypeDataCloud, live.StatusConnected)
	f.liveTarget("events_dc", "Stranger", "/x", live.StatusCreated)
	f.la.Authorizations["someone"] = &live.Authorization{ID: "a", Status: live.StatusAuthorized, Org: live.Org{DeveloperName: "someone"}}
	f.applied(dc, dc.Address(), addr.KindConnection, plan.Create)
	p := f.diff(plan.Options{})
	want := []addr.Address{"acme/authorization/someone", "acme/connection/events_dc/target/Stranger"}
	if !slices.Equal(p.Unmanaged, want) || p.HasChanges() {
		t.Fatalf("unmanaged %v, changes %v", p.Unmanaged, addrs(p))
	}
	// Pruning never touches them.
	if p := f.diff(plan.Options{Prune: true}); p.HasChanges() {
		t.Fatalf("prune touched unmanaged: %v", addrs(p))
	}
}

// Names no address can hold, from a misbehaving server, are skipped rather
// than crashing the planner.
func TestOddLiveNamesDoNotPanic(t *testing.T) {
	f := newFixture(t)
	dc := f.dcConn("events_dc")
	f.liveConn("events_dc", live.OrgTypeDataCloud, live.StatusConnected)
	f.liveConn("a/b", live.OrgTypeSalesforce, live.StatusConnected)
	f.liveTarget("events_dc", "", "/x", live.StatusCreated)
	f.liveTarget("events_dc", "x/y", "/x", live.StatusCreated)
	f.la.Authorizations[""] = &live.Authorization{}
	f.la.Publications["a/b"] = []live.Publication{{ESRName: "p/q"}}
	f.applied(dc, dc.Address(), addr.KindConnection, plan.Create)
	f.s.Resources["not an address"] = &state.Resource{Origin: state.Created}
	p := f.diff(plan.Options{Prune: true, Targets: []string{"acme/connection/*"}})
	if len(p.Unmanaged) != 0 {
		t.Fatalf("unmanaged %v", p.Unmanaged)
	}
	if _, err := plan.Drift(f.m, f.w, f.s, []string{"*"}); err != nil {
		t.Fatal(err)
	}
}

// A publication to create says what it publishes: the spec's operation
// count, and the permission set whichever way it is given (by name, or as
// the label of the permissionset-meta.xml its metadata_dir uploads).
func TestPublicationCreateAttrs(t *testing.T) {
	f := newFixture(t)
	sf := f.sfConn("prod_org", nil)
	named := f.pub(sf, "Named", specV2+"  /items:\n    get:\n      responses: {\"200\": {description: ok}}\n")
	named.PermissionSet = "AcmePerms"
	meta := f.pub(sf, "Meta", specV1)
	meta.MetadataDir = filepath.Join(f.dir, "meta")
	testkit.WriteFile(t, meta.MetadataDir, "permissionset-meta.xml",
		`<?xml version="1.0" encoding="UTF-8"?>
<PermissionSet xmlns="http://soap.sforce.com/2006/04/metadata">
    <label> AcmeInvoicesPerms </label>
</PermissionSet>
`)
	unlabelled := f.pub(sf, "Unlabelled", specV1)
	unlabelled.MetadataDir = filepath.Join(f.dir, "meta2")
	testkit.WriteFile(t, unlabelled.MetadataDir, "permissionset-meta.xml", `<PermissionSet/>`)
	bare := f.pub(sf, "Bare", specV1)
	p := f.diff(plan.Options{})
	for _, tc := range []struct {
		pub                 *manifest.Publication
		ops, named, metaSet string
	}{
		{named, "3", "AcmePerms", ""},
		{meta, "2", "", "AcmeInvoicesPerms"},
		{unlabelled, "2", "", "permissionset-meta.xml"},
		{bare, "2", "", ""},
	} {
		c := change(t, p, tc.pub.Address())
		wantAction(t, c, plan.Create, "")
		a := c.After.Attrs
		if a["operations"] != tc.ops || a["permission_set"] != tc.named || a["metadata_permission_set"] != tc.metaSet {
			t.Errorf("%s: after %v, want operations %s, permission_set %q, metadata_permission_set %q",
				c.Address, a, tc.ops, tc.named, tc.metaSet)
		}
		if _, ok := a["metadata_permission_set"]; ok != (tc.metaSet != "") {
			t.Errorf("%s: metadata_permission_set present %v", c.Address, ok)
		}
	}
}
