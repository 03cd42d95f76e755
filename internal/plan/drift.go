package plan

import (
	"cmp"
	"slices"
	"time"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/live"
	"github.com/applinkctl/applinkctl/internal/manifest"
	"github.com/applinkctl/applinkctl/internal/statedata"
)

// FindingKind classifies a drift finding (docs/plan-format.md, "The drift
// report"). The string values are stable: they appear in drift JSON and in
// alerting rules.
type FindingKind string

// The kinds of drift.
const (
	// Missing: state records it, but it is gone live (deleted out of band).
	Missing FindingKind = "missing"
	// Changed: live differs from what was applied (a failed or
	// disconnected status, a field changed out of band).
	Changed FindingKind = "changed"
	// Unmanaged: live, but neither the manifest nor state knows it.
	Unmanaged FindingKind = "unmanaged"
	// Pending: the manifest says something not yet applied (a new
	// resource, a changed input, a resource no longer declared), or an
	// earlier run is unfinished, or a live status is still settling.
	Pending FindingKind = "pending"
)

// Finding is one difference drift reports.
type Finding struct {
	Kind    FindingKind
	Address addr.Address
	Detail  string
	// What lists every difference seen at Address, Detail first (a
	// resource can differ in several fields at once).
	What []string
	// Since is when the newest apply that left Address as declared ended
	// (AddSince fills it from the state history); zero when unknown.
	Since time.Time
	// Repairs are the ways to resolve the finding, the usual one first:
	// apply --target ADDR, with --prune for what is no longer declared and
	// the --replace of its connection for a target or publication that
	// cannot change or go alone, state unprotect first for what state
	// protects, adopt or ignore for what is unmanaged, or a step by hand
	// when apply would refuse every command as blocked.
	Repairs []Repair
}

// Drift compares like Diff but read-only and without any apply options: it
// classifies every difference between manifest, live world and state and
// drops the findings whose address an ignore pattern selects (addr.Pattern).
// An ignore pattern that selects no known resource is a *SelectorError, as
// a typo would otherwise hide nothing, silently. Protected resources and an
// empty manifest are reported, not refused. Findings are sorted by address.
func Drift(m *manifest.Manifest, w *live.World, s *statedata.State, ignore []string) ([]Finding, error) {
	var patterns []addr.Pattern
	for _, g := range ignore {
		p, err := addr.ParsePattern(g)
		if err != nil {
			return nil, &SelectorError{Flag: "--ignore", Value: g, Reason: err.Error()}
		}
		patterns = append(patterns, p)
	}
	d, err := newDiffer(m, w, s, Options{})
	if err != nil {
		return nil, err
	}
	if err := d.run(); err != nil {
		return nil, err
	}
	known := d.known()
	for _, p := range patterns {
		if !slices.ContainsFunc(known, p.Match) {
			return nil, &SelectorError{Flag: "--ignore", Value: p.String(),
				Reason:  "matches no resource of the manifest, state or live world",
				Closest: addr.Closest(p.String(), known, closestN)}
		}
	}
	undeclared := map[addr.Address]*Change{}
	for _, u := range d.undeclared {
		undeclared[u.Address] = u
	}
	out := []Finding{}
	for _, f := range d.findings {
		c := d.changes[f.Address]
		if c != nil && c.Action == Noop && !c.Wait && !d.unknowns[f.Address] {
			continue
		}
		if !slices.ContainsFunc(patterns, func(p addr.Pattern) bool { return p.Match(f.Address) }) {
			f.What = what(f, c)
			f.Repairs = repairsFor(f, c, undeclared[f.Address])
			out = append(out, f)
		}
	}
	slices.SortFunc(out, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(a.Address, b.Address), cmp.Compare(a.Kind, b.Kind))
	})
	return out, nil
}
