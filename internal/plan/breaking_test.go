package plan_test

import (
	"os"
	"strings"
	"testing"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/live"
	"github.com/applinkctl/applinkctl/internal/manifest"
	"github.com/applinkctl/applinkctl/internal/plan"
	"github.com/applinkctl/applinkctl/internal/state"
)

// publishedPlan plans a publication applied with spec published, its file
// now holding spec now.
func publishedPlan(t *testing.T, published, now string, opts plan.Options) (*plan.Plan, *plan.Change) {
	t.Helper()
	f := newFixture(t)
	sf := f.sfConn("prod_org", nil)
	pb := f.pub(sf, "AcmeAPI", published)
	f.liveConn("prod_org", live.OrgTypeSalesforce, live.StatusConnected)
	f.livePub("prod_org", "AcmeAPI")
	f.applied(sf, sf.Address(), addr.KindConnection, plan.Create)
	f.applied(pb, pb.Address(), addr.KindPublication, plan.Create)
	if err := os.WriteFile(pb.SpecFile, []byte(now), 0o600); err != nil {
		t.Fatal(err)
	}
	p := f.diff(opts)
	return p, change(t, p, pb.Address())
}

func TestRepublishBreakingSpec(t *testing.T) {
	p, c := publishedPlan(t, specV1, specV2, plan.Options{})
	if !c.Spec.IsBreaking() || len(c.Spec.Breaking) != 1 {
		t.Fatalf("spec change %+v", c.Spec)
	}
	b := c.Spec.Breaking[0]
	// GET /legacy went with its path: the line is that of paths: in specV2.
	if b.ID != "api-path-removed-without-deprecation" || b.Operation != "GET /legacy" || b.Line != 3 || b.Column != 1 {
		t.Errorf("breaking change %+v", b)
	}
	if want := c.Desired.(*manifest.Publication).SpecFile; c.Spec.File != want {
		t.Errorf("spec file %q, want the manifest's %q", c.Spec.File, want)
	}
	if got := p.BreakingChanges(); len(got) != 1 || got[0] != c {
		t.Errorf("BreakingChanges = %v", got)
	}
}

func TestRepublishCompatibleSpec(t *testing.T) {
	grown := specV1 + "  /more:\n    get:\n      responses: {\"200\": {description: ok}}\n"
	p, c := publishedPlan(t, specV1, grown, plan.Options{})
	if c.Spec == nil || c.Spec.IsBreaking() {
		t.Fatalf("spec change %+v", c.Spec)
	}
	if got := p.BreakingChanges(); len(got) != 0 {
		t.Errorf("BreakingChanges = %v", got)
	}
}

// A first publish breaks nobody: there is nothing to compare with.
func TestFirstPublishIsNotBreaking(t *testing.T) {
	f := newFixture(t)
	sf := f.sfConn("prod_org", nil)
	pb := f.pub(sf, "AcmeAPI", specV1)
	f.liveConn("prod_org", live.OrgTypeSalesforce, live.StatusConnected)
	f.applied(sf, sf.Address(), addr.KindConnection, plan.Create)
	p := f.diff(plan.Options{})
	c := change(t, p, pb.Address())
	wantAction(t, c, plan.Create, "not published yet")
	if c.Spec != nil || len(p.BreakingChanges()) != 0 {
		t.Errorf("first publish: spec %+v, breaking %v", c.Spec, p.BreakingChanges())
	}
}

// A republish forced by --replace with the same spec compares equal specs:
// no spec change, nothing breaking.
func TestRepublishSameSpecIsNotBreaking(t *testing.T) {
	f := newFixture(t)
	sf := f.sfConn("prod_org", nil)
	pb := f.pub(sf, "AcmeAPI", specV1)
	f.liveConn("prod_org", live.OrgTypeSalesforce, live.StatusConnected)
	f.livePub("prod_org", "AcmeAPI")
	f.applied(sf, sf.Address(), addr.KindConnection, plan.Create)
	f.applied(pb, pb.Address(), addr.KindPublication, plan.Create)
	p := f.diff(plan.Options{Replace: []string{string(sf.Address())}})
	c := change(t, p, pb.Address())
	wantAction(t, c, plan.Republish, "published again to the new connection")
	if c.Spec != nil || len(p.BreakingChanges()) != 0 {
		t.Errorf("cascade of the same spec: spec %+v, breaking %v", c.Spec, p.BreakingChanges())
	}
}

// A published copy that no longer loads cannot show the change safe: it
// counts as breaking and says why.
func TestUncomparableSpecCountsAsBreaking(t *testing.T) {
	f := newFixture(t)
	sf := f.sfConn("prod_org", nil)
	pb := f.pub(sf, "AcmeAPI", specV2)
	f.liveConn("prod_org", live.OrgTypeSalesforce, live.StatusConnected)
	f.livePub("prod_org", "AcmeAPI")
	f.applied(sf, sf.Address(), addr.KindConnection, plan.Create)
	f.applied(pb, pb.Address(), addr.KindPublication, plan.Create)
	r := f.s.Resources[pb.Address()]
	r.SpecGzip = state.CompressSpec([]byte("openapi: 3.0.0\npaths: [unclosed\n"))
	r.InputsDigest = "sha256:older"
	c := change(t, f.diff(plan.Options{}), pb.Address())
	if !c.Spec.IsBreaking() || c.Spec.Breaking[0].ID != "spec-not-compared" {
		t.Fatalf("spec change %+v", c.Spec)
	}
	if msg := c.Spec.Breaking[0].Message; !strings.HasPrefix(msg, "cannot tell whether callers break: published spec: ") {
		t.Errorf("message %q", msg)
	}
}
