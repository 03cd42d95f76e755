package plan_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/live"
	"github.com/applinkctl/applinkctl/internal/plan"
	"github.com/applinkctl/applinkctl/internal/state"
)

// selectFixture is an app "acme" with a Data Cloud connection holding two
// targets, a Salesforce connection and an authorization, none live yet.
func selectFixture(t *testing.T) *fixture {
	f := newFixture(t)
	dc := f.dcConn("events_dc")
	f.target(dc, "A", "/a")
	f.target(dc, "B", "/b")
	f.sfConn("prod_org", nil)
	f.auth("ci_auth", nil)
	return f
}

// --target takes the patterns of addr.Pattern, with what the selected
// changes depend on.
func TestTargetPatterns(t *testing.T) {
	f := selectFixture(t)
	all := []string{"acme/authorization/ci_auth:create", "acme/connection/events_dc:create",
		"acme/connection/events_dc/target/A:create", "acme/connection/events_dc/target/B:create", "acme/connection/prod_org:create"}
	for _, tc := range []struct {
		target string
		want   []string
	}{
		{"acme", all},
		{"acme/*", all},
		{"acme/**", all},
		{"**", all},
		{"acme/connection/events_dc", all[1:4]},
		// Children only, plus the connection they depend on.
		{"acme/connection/events_dc/*", all[1:4]},
		{"**/target/B", []string{all[1], all[3]}},
		{"acme/connection/*_org", all[4:]},
		{"*/authorization/*", all[:1]},
	} {
		if got := addrs(f.diff(plan.Options{Targets: []string{tc.target}})); !slices.Equal(got, tc.want) {
			t.Errorf("--target %s: %v; want %v", tc.target, got, tc.want)
		}
	}
}

// A selector that matches nothing is an error naming the closest
// addresses; a segment never matches part of a name.
func TestSelectorMatchingNothingNamesTheClosest(t *testing.T) {
	f := selectFixture(t)
	for _, tc := range []struct {
		opts    plan.Options
		flag    string
		closest addr.Address
	}{
		{plan.Options{Targets: []string{"acme/connection/event_dc"}}, "--target", "acme/connection/events_dc"},
		{plan.Options{Targets: []string{"acm"}}, "--target", "acme/connection/prod_org"}, // every address is 1 edit away: the shortest first
		{plan.Options{Targets: []string{"acme/connection/prod"}}, "--target", "acme/connection/prod_org"},
		{plan.Options{Replace: []string{"acme/connection/prod-org"}}, "--replace", "acme/connection/prod_org"},
		{plan.Options{Replace: []string{"acme/authorization/ci"}}, "--replace", "acme/authorization/ci_auth"},
	} {
		_, err := plan.Diff(f.m, f.w, f.s, tc.opts)
		var se *plan.SelectorError
		if !errors.As(err, &se) || se.Flag != tc.flag || len(se.Closest) == 0 || se.Closest[0] != tc.closest {
			t.Errorf("%+v: err = %v; want a %s error whose closest is %s", tc.opts, err, tc.flag, tc.closest)
			continue
		}
		if !strings.Contains(err.Error(), "closest: "+string(tc.closest)) {
			t.Errorf("error %q does not name %s", err, tc.closest)
		}
	}
	_, err := plan.Drift(f.m, f.w, f.s, []string{"acme/authorisation/*"})
	var se *plan.SelectorError
	if !errors.As(err, &se) || se.Flag != "--ignore" || len(se.Closest) == 0 || se.Closest[0] != "acme/authorization/ci_auth" {
		t.Fatalf("drift --ignore of nothing: %v", err)
	}
	for _, bad := range []string{"acme//x", "acme/a**", "[bad"} {
		if _, err := plan.Drift(f.m, f.w, f.s, []string{bad}); !errors.As(err, &se) {
			t.Errorf("--ignore %s: %v", bad, err)
		}
		if _, err := plan.Diff(f.m, f.w, f.s, plan.Options{Replace: []string{bad}}); !errors.As(err, &se) {
			t.Errorf("--replace %s: %v", bad, err)
		}
	}
}

// --ignore takes the same patterns: a bare app name ignores all of it.
func TestIgnorePatterns(t *testing.T) {
	f := selectFixture(t)
	for ignore, want := range map[string]int{"acme": 0, "acme/*": 0, "acme/connection": 1, "**/target/*": 3, "acme/connection/events_dc": 2} {
		fs, err := plan.Drift(f.m, f.w, f.s, []string{ignore})
		if err != nil || len(fs) != want {
			t.Errorf("--ignore %s: %d findings, %v; want %d", ignore, len(fs), err, want)
		}
	}
}

// --replace takes patterns too, matched against what the manifest declares.
func TestReplacePatterns(t *testing.T) {
	f := newFixture(t)
	dc := f.dcConn("events_dc")
	sf := f.sfConn("prod_org", nil)
	au := f.auth("ci_auth", nil)
	f.liveConn("events_dc", live.OrgTypeDataCloud, live.StatusConnected)
	f.liveConn("prod_org", live.OrgTypeSalesforce, live.StatusConnected)
	f.la.Authorizations["ci_auth"] = &live.Authorization{ID: "a", Status: live.StatusAuthorized, Org: live.Org{DeveloperName: "ci_auth"}}
	f.applied(dc, dc.Address(), addr.KindConnection, plan.Create)
	f.applied(sf, sf.Address(), addr.KindConnection, plan.Create)
	f.applied(au, au.Address(), addr.KindAuthorization, plan.Create)
	for replace, want := range map[string][]string{
		"acme/connection/*":        {"acme/authorization/ci_auth:noop", "acme/connection/events_dc:replace", "acme/connection/prod_org:replace"},
		"acme":                     {"acme/authorization/ci_auth:replace", "acme/connection/events_dc:replace", "acme/connection/prod_org:replace"},
		"acme/connection/prod_org": {"acme/authorization/ci_auth:noop", "acme/connection/events_dc:noop", "acme/connection/prod_org:replace"},
	} {
		if got := addrs(f.diff(plan.Options{Replace: []string{replace}})); !slices.Equal(got, want) {
			t.Errorf("--replace %s: %v; want %v", replace, got, want)
		}
	}
}

// Without --prune, what state owns and the manifest dropped is listed as
// undeclared (with the way out when --prune alone cannot delete it), and
// drift names the apply that deletes it; that apply's plan is unblocked.
func TestUndeclaredWithoutPrune(t *testing.T) {
	f := newFixture(t)
	dc := f.dcConn("events_dc")
	f.liveConn("events_dc", live.OrgTypeDataCloud, live.StatusConnected)
	f.liveTarget("events_dc", "Old", "/old", live.StatusCreated)
	f.applied(dc, dc.Address(), addr.KindConnection, plan.Create)
	old := addr.Target("acme", "events_dc", "Old")
	f.s.Resources[old] = &state.Resource{Kind: addr.KindTarget, Origin: state.Created, Phase: state.Applied}
	gone := addr.Authorization("acme", "gone_auth") // in state, gone live
	f.s.Resources[gone] = &state.Resource{Kind: addr.KindAuthorization, Origin: state.Created, Phase: state.Applied}

	p := f.diff(plan.Options{})
	if p.HasChanges() || p.Change(old) != nil {
		t.Fatalf("without --prune: %v", addrs(p))
	}
	var got []addr.Address
	for _, c := range p.Undeclared {
		got = append(got, c.Address)
	}
	if !slices.Equal(got, []addr.Address{gone, old}) {
		t.Fatalf("undeclared %v", got)
	}
	if u := p.Undeclared[1]; u.Blocked == "" || !slices.Equal(u.Unblock, []addr.Address{dc.Address()}) {
		t.Fatalf("undeclared target %+v", u)
	}
	if u := p.Undeclared[0]; u.Blocked != "" || u.Before != nil {
		t.Fatalf("undeclared authorization %+v", u)
	}
	if p := f.diff(plan.Options{Targets: []string{"acme/authorization"}}); len(p.Undeclared) != 1 || p.Undeclared[0].Address != gone {
		t.Fatalf("--target keeps undeclared %v", p.Undeclared)
	}
	if p := f.diff(plan.Options{Prune: true}); len(p.Undeclared) != 0 {
		t.Fatalf("with --prune they are changes, not undeclared: %v", p.Undeclared)
	}

	fs, err := plan.Drift(f.m, f.w, f.s, nil)
	if err != nil {
		t.Fatal(err)
	}
	fixes := map[addr.Address]plan.Options{}
	for _, x := range fs {
		if x.Fix != nil {
			fixes[x.Address] = *x.Fix
		}
	}
	if o := fixes[old]; !o.Prune || !slices.Equal(o.Replace, []string{"acme/connection/events_dc"}) {
		t.Fatalf("fix of the target %+v", o)
	}
	if o := fixes[gone]; !o.Prune || len(o.Replace) != 0 {
		t.Fatalf("fix of the authorization %+v", o)
	}

	o, ok := plan.Unblocked(plan.Options{Prune: true}, p.Undeclared)
	if !ok || !slices.Equal(o.Replace, []string{"acme/connection/events_dc"}) {
		t.Fatalf("Unblocked = %+v, %v", o, ok)
	}
	q := f.diff(o)
	c := change(t, q, old)
	if c.Action != plan.Delete || c.Blocked != "" || c.CausedBy != dc.Address() {
		t.Fatalf("with the fix: %+v", c)
	}
}

// A blocked target change names the connection whose --replace unblocks
// it, in the plan and as drift's fix.
func TestBlockedTargetNamesItsWayOut(t *testing.T) {
	f := newFixture(t)
	dc := f.dcConn("events_dc")
	tg := f.target(dc, "Order_Events", "/hook")
	f.liveConn("events_dc", live.OrgTypeDataCloud, live.StatusConnected)
	f.liveTarget("events_dc", "Order_Events", "/hook", live.StatusCreated)
	f.applied(dc, dc.Address(), addr.KindConnection, plan.Create)
	f.applied(tg, tg.Address(), addr.KindTarget, plan.Create)
	tg.TargetEndpoint = "/v2/hook"

	p := f.diff(plan.Options{Targets: []string{"acme/connection/events_dc/target/*"}})
	if c := change(t, p, tg.Address()); !slices.Equal(c.Unblock, []addr.Address{dc.Address()}) {
		t.Fatalf("unblock %v", c.Unblock)
	}
	o, ok := plan.Unblocked(p.Options, p.Changes)
	if !ok || !slices.Equal(o.Replace, []string{"acme/connection/events_dc"}) || !slices.Equal(o.Targets, p.Options.Targets) {
		t.Fatalf("Unblocked = %+v, %v", o, ok)
	}
	for _, c := range f.diff(o).Changes {
		if c.Blocked != "" {
			t.Fatalf("still blocked with %+v: %+v", o, c)
		}
	}
	fs, _ := plan.Drift(f.m, f.w, f.s, nil)
	if len(fs) != 1 || fs[0].Fix == nil || !slices.Equal(fs[0].Fix.Replace, []string{"acme/connection/events_dc"}) || fs[0].Fix.Prune {
		t.Fatalf("drift %+v", fs)
	}
}
