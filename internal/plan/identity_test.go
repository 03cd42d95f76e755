package plan_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/live"
	"github.com/applinkctl/applinkctl/internal/plan"
)

// finding returns the drift finding of a, or fails.
func finding(t *testing.T, f *fixture, a addr.Address) plan.Finding {
	t.Helper()
	fs, err := plan.Drift(f.m, f.w, f.s, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range fs {
		if x.Address == a {
			return x
		}
	}
	t.Fatalf("no finding for %s in %+v", a, fs)
	return plan.Finding{}
}

// A connection or authorization deleted but still listed (disconnecting,
// or disconnected for as long as the API keeps it) is as good as absent:
// it is created again, waiting for its name, never replaced; what it held
// is created again with it.
func TestDeletedButListedIsCreatedAgain(t *testing.T) {
	for _, status := range []string{live.StatusDisconnecting, live.StatusDisconnected} {
		t.Run(status, func(t *testing.T) {
			f := newFixture(t)
			sf := f.sfConn("prod_org", nil)
			pb := f.pub(sf, "AcmeAPI", specV1)
			dc := f.dcConn("events_dc")
			tg := f.target(dc, "Order_Events", "/hook")
			au := f.auth("ci_auth", nil)
			f.liveConn("prod_org", live.OrgTypeSalesforce, status)
			f.liveConn("events_dc", live.OrgTypeDataCloud, status)
			f.la.Authorizations["ci_auth"] = &live.Authorization{ID: "id-ci_auth", Status: status, Org: live.Org{DeveloperName: "ci_auth", Type: live.OrgTypeSalesforce}}
			for _, r := range []struct {
				d any
				a addr.Address
				k addr.Kind
			}{{sf, sf.Address(), addr.KindConnection}, {pb, pb.Address(), addr.KindPublication}, {dc, dc.Address(), addr.KindConnection},
				{tg, tg.Address(), addr.KindTarget}, {au, au.Address(), addr.KindAuthorization}} {
				f.applied(r.d, r.a, r.k, plan.Create)
			}
			p := f.diff(plan.Options{})
			for _, a := range []addr.Address{sf.Address(), dc.Address(), au.Address()} {
				c := change(t, p, a)
				wantAction(t, c, plan.Create, "status is "+status+": created again once it is gone")
				if !c.Wait || c.RemoteID == "" || c.Before == nil {
					t.Errorf("%s: %+v; want a wait on the old id", a, c)
				}
				if fd := finding(t, f, a); fd.Kind != plan.Missing {
					t.Errorf("%s: drift %+v, want missing", a, fd)
				}
			}
			wantAction(t, change(t, p, tg.Address()), plan.Create, "its connection is created again")
			c := change(t, p, pb.Address())
			wantAction(t, c, plan.Republish, "published again to its connection, created again")
			if c.CausedBy != sf.Address() || c.Wait {
				t.Errorf("publication: %+v", c)
			}
			// Protected, it is still created (nothing live is lost).
			sf.Protect = true
			if _, err := plan.Diff(f.m, f.w, f.s, plan.Options{}); err != nil {
				t.Errorf("protected: %v", err)
			}
		})
	}
}

// A publication is matched to its address by what state recorded of it
// (esr_id, then esr_name), and only failing that by an esr_name equal to
// its client name; each registration goes to one address.
func TestPublicationMatchedByRecordedIdentity(t *testing.T) {
	setup := func(t *testing.T, pubs ...live.Publication) (*fixture, addr.Address) {
		f := newFixture(t)
		sf := f.sfConn("prod_org", nil)
		pb := f.pub(sf, "AcmeAPI", specV1)
		f.liveConn("prod_org", live.OrgTypeSalesforce, live.StatusConnected)
		f.applied(sf, sf.Address(), addr.KindConnection, plan.Create)
		f.applied(pb, pb.Address(), addr.KindPublication, plan.Create)
		r := f.s.Resources[pb.Address()]
		r.RemoteID, r.RemoteName = "esr-1", "AcmeAPI_k3x9q"
		f.la.Publications["prod_org"] = pubs
		return f, pb.Address()
	}
	unmanaged := func(p *plan.Plan) []string {
		var out []string
		for _, u := range p.Unmanaged {
			out = append(out, string(u))
		}
		return out
	}
	t.Run("by recorded id", func(t *testing.T) {
		f, a := setup(t, live.Publication{ESRID: "esr-1", ESRName: "AcmeAPI_k3x9q"}, live.Publication{ESRID: "esr-2", ESRName: "AcmeAPI"})
		p := f.diff(plan.Options{})
		c := change(t, p, a)
		if c.Action != plan.Noop || c.RemoteID != "esr-1" || c.Before.Attrs["esr_name"] != "AcmeAPI_k3x9q" {
			t.Errorf("change %+v %+v", c, c.Before)
		}
		// The registration named like the client name is not ours: the id said which one is.
		if got := unmanaged(p); !slices.Equal(got, []string{"acme/connection/prod_org/publication/AcmeAPI"}) {
			t.Errorf("unmanaged %v", got)
		}
	})
	t.Run("by recorded name once the id changed", func(t *testing.T) {
		f, a := setup(t, live.Publication{ESRID: "esr-7", ESRName: "AcmeAPI_k3x9q"})
		p := f.diff(plan.Options{})
		if c := change(t, p, a); c.Action != plan.Noop || c.RemoteID != "esr-7" || len(p.Unmanaged) != 0 {
			t.Errorf("change %+v, unmanaged %v", c, p.Unmanaged)
		}
	})
	t.Run("by client name when nothing recorded matches", func(t *testing.T) {
		f, a := setup(t, live.Publication{ESRID: "esr-9", ESRName: "AcmeAPI"})
		if c := change(t, f.diff(plan.Options{}), a); c.Action != plan.Noop || c.RemoteID != "esr-9" {
			t.Errorf("change %+v", c)
		}
	})
	t.Run("gone", func(t *testing.T) {
		f, a := setup(t, live.Publication{ESRID: "esr-3", ESRName: "Other"})
		p := f.diff(plan.Options{})
		wantAction(t, change(t, p, a), plan.Republish, "deleted out of band")
		if got := unmanaged(p); !slices.Equal(got, []string{"acme/connection/prod_org/publication/Other"}) {
			t.Errorf("unmanaged %v", got)
		}
	})
}

// A publication state knows nothing of, whose registration's name is not
// its client name, cannot be told from another: it is published (which
// replaces the registration of that client name), and the registration is
// reported unmanaged until then, never silently taken for it.
func TestPublicationNeverSeenWithAnotherName(t *testing.T) {
	f := newFixture(t)
	sf := f.sfConn("prod_org", nil)
	pb := f.pub(sf, "AcmeAPI", specV1)
	f.liveConn("prod_org", live.OrgTypeSalesforce, live.StatusConnected)
	f.applied(sf, sf.Address(), addr.KindConnection, plan.Create)
	f.la.Publications["prod_org"] = []live.Publication{{ESRID: "esr-1", ESRName: "AcmeAPI_k3x9q"}}
	p := f.diff(plan.Options{})
	wantAction(t, change(t, p, pb.Address()), plan.Create, "not published yet")
	if len(p.Unmanaged) != 1 || p.Unmanaged[0] != addr.Publication("acme", "prod_org", "AcmeAPI_k3x9q") {
		t.Errorf("unmanaged %v", p.Unmanaged)
	}
}

// Pruning a publication whose registration has another name finds it by
// its recorded identity: it is still there, so the prune is blocked.
func TestPruneFindsAPublicationByItsRecordedIdentity(t *testing.T) {
	f := newFixture(t)
	sf := f.sfConn("prod_org", nil)
	pb := f.pub(sf, "AcmeAPI", specV1)
	f.liveConn("prod_org", live.OrgTypeSalesforce, live.StatusConnected)
	f.applied(sf, sf.Address(), addr.KindConnection, plan.Create)
	f.applied(pb, pb.Address(), addr.KindPublication, plan.Create)
	f.s.Resources[pb.Address()].RemoteID = "esr-1"
	f.la.Publications["prod_org"] = []live.Publication{{ESRID: "esr-1", ESRName: "AcmeAPI_k3x9q"}}
	sf.Publications = nil
	p := f.diff(plan.Options{Prune: true})
	c := change(t, p, pb.Address())
	if c.Action != plan.Delete || c.Blocked == "" || c.Before == nil || c.Before.Attrs["esr_name"] != "AcmeAPI_k3x9q" {
		t.Errorf("prune %+v (before %+v)", c, c.Before)
	}
}

// When the API refuses to list a connection's children, they are unknown:
// the plan does not abort. Under a failed connection (replaced anyway)
// they are recreated with it; under a healthy one a recorded target is
// read again by apply and a recorded publication assumed unchanged; both
// say why, and drift reports them.
func TestUnlistedChildrenAreUnknown(t *testing.T) {
	const why = "could not list data action targets of acme/connection/events_dc (422 validation_failed: no)"
	const whyPubs = "could not list publications of acme/connection/prod_org (500 server_error: boom)"
	build := func(t *testing.T, status string) (*fixture, addr.Address, addr.Address, addr.Address) {
		f := newFixture(t)
		dc := f.dcConn("events_dc")
		tg := f.target(dc, "Order_Events", "/hook")
		nt := f.target(dc, "New_Events", "/new")
		sf := f.sfConn("prod_org", nil)
		pb := f.pub(sf, "AcmeAPI", specV1)
		f.liveConn("events_dc", live.OrgTypeDataCloud, status)
		f.liveConn("prod_org", live.OrgTypeSalesforce, status)
		delete(f.la.Targets, "events_dc")
		delete(f.la.Publications, "prod_org")
		f.la.Unlisted = map[string]string{"events_dc": why, "prod_org": whyPubs}
		for _, r := range []struct {
			d any
			a addr.Address
			k addr.Kind
		}{{dc, dc.Address(), addr.KindConnection}, {tg, tg.Address(), addr.KindTarget}, {sf, sf.Address(), addr.KindConnection}, {pb, pb.Address(), addr.KindPublication}} {
			f.applied(r.d, r.a, r.k, plan.Create)
		}
		return f, tg.Address(), nt.Address(), pb.Address()
	}
	t.Run("failed connection", func(t *testing.T) {
		f, tg, nt, pb := build(t, live.StatusFailed)
		p := f.diff(plan.Options{})
		for _, a := range []addr.Address{tg, nt} {
			c := change(t, p, a)
			wantAction(t, c, plan.Create, "unknown: "+why)
			if c.CausedBy != addr.Connection("acme", "events_dc") {
				t.Errorf("%s: caused by %q", a, c.CausedBy)
			}
		}
		wantAction(t, change(t, p, pb), plan.Republish, "unknown: "+whyPubs)
		if fd := finding(t, f, tg); fd.Kind != plan.Changed || !strings.Contains(fd.Detail, why) {
			t.Errorf("drift %+v", fd)
		}
	})
	t.Run("healthy connection", func(t *testing.T) {
		f, tg, nt, pb := build(t, live.StatusConnected)
		p := f.diff(plan.Options{})
		c := change(t, p, tg)
		wantAction(t, c, plan.Noop, "unknown: "+why)
		if !c.Wait {
			t.Errorf("recorded target not waited on: %+v", c)
		}
		wantAction(t, change(t, p, nt), plan.Create, "unknown: "+why)
		c = change(t, p, pb)
		wantAction(t, c, plan.Noop, "unknown: "+whyPubs)
		if c.Wait {
			t.Errorf("publication: %+v", c)
		}
		for _, a := range []addr.Address{tg, pb} {
			if fd := finding(t, f, a); fd.Kind != plan.Changed || !strings.HasPrefix(fd.Detail, "unknown: ") {
				t.Errorf("drift of %s: %+v", a, fd)
			}
		}
	})
	t.Run("prune", func(t *testing.T) {
		f, tg, _, _ := build(t, live.StatusConnected)
		f.app.Connections[0].Targets = f.app.Connections[0].Targets[1:]
		c := change(t, f.diff(plan.Options{Prune: true}), tg)
		if c.Action != plan.Delete || c.Blocked == "" || !strings.Contains(strings.Join(c.Reasons, "|"), "unknown: ") {
			t.Errorf("prune of a target whose listing failed: %+v", c)
		}
	})
}

// A connection or authorization deleted but still listed, that neither
// the manifest nor state knows, is not reported as unmanaged: it is going.
func TestDeletedButListedIsNotUnmanaged(t *testing.T) {
	f := newFixture(t)
	f.auth("ci_auth", nil)
	f.liveConn("gone_org", live.OrgTypeSalesforce, live.StatusDisconnected)
	f.liveConn("going_org", live.OrgTypeSalesforce, live.StatusDisconnecting)
	f.liveConn("other_org", live.OrgTypeSalesforce, live.StatusConnected)
	f.la.Authorizations["old_auth"] = &live.Authorization{ID: "a1", Status: live.StatusDisconnected, Org: live.Org{DeveloperName: "old_auth"}}
	p := f.diff(plan.Options{})
	if len(p.Unmanaged) != 1 || p.Unmanaged[0] != addr.Connection("acme", "other_org") {
		t.Errorf("unmanaged %v, want other_org only", p.Unmanaged)
	}
}
