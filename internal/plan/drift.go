package plan

import (
	"cmp"
	"slices"

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
	// Fix, when set, is the options of the apply that resolves the finding
	// where a plain apply does not: --prune for what is no longer declared,
	// and the --replace of a connection for a target apply cannot change or
	// delete alone. Drift names that exact command.
	Fix *Options
}

// Drift compares like Diff but read-only and without any apply options: it
// classifies every difference between manifest, live world and state and
// drops the findings whose address an ignore pattern selects (addr.Pattern).
// An ignore pattern that selects no known resource is a *SelectorError, as
// a typo would otherwise hide nothing, silently. Protected resources and an
// empty manifest are reported, not refused. Findings are sorted by address.
func Drift(m *manifest.Manifest, w *live.World, s *statedata.State, ignore []string) ([]Finding, error) {
	return DriftWith(m, w, s, ignore, nil)
}

// DriftWith is Drift whose findings name commands with stateArgs
// (Options.StateArgs), so that they use the same state as the run that
// prints them.
func DriftWith(m *manifest.Manifest, w *live.World, s *statedata.State, ignore, stateArgs []string) ([]Finding, error) {
	var patterns []addr.Pattern
	for _, g := range ignore {
		p, err := addr.ParsePattern(g)
		if err != nil {
			return nil, &SelectorError{Flag: "--ignore", Value: g, Reason: err.Error()}
		}
		patterns = append(patterns, p)
	}
	d, err := newDiffer(m, w, s, Options{StateArgs: stateArgs})
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
	out := []Finding{}
	for _, f := range d.findings {
		if c := d.changes[f.Address]; c != nil && c.Action == Noop && !c.Wait && !d.unknowns[f.Address] {
			continue
		}
		if !slices.ContainsFunc(patterns, func(p addr.Pattern) bool { return p.Match(f.Address) }) {
			out = append(out, f)
		}
	}
	slices.SortFunc(out, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(a.Address, b.Address), cmp.Compare(a.Kind, b.Kind))
	})
	return out, nil
}
