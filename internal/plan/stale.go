package plan

import (
	"maps"
	"slices"

	"github.com/applinkctl/applinkctl/internal/addr"
)

// CheckStale compares a saved plan with a fresh one made now from the same
// manifest files and options. It returns nil when they agree, else a
// *StaleError naming the first difference found, in this order: state,
// live state, a key, a spec, and finally the changes themselves (which,
// with everything else equal, can only differ because the manifest did).
func CheckStale(saved, fresh *Plan) error {
	sf, ff := saved.Fingerprints, fresh.Fingerprints
	if sf.State != ff.State {
		return &StaleError{What: "state"}
	}
	if sf.Live != ff.Live {
		return &StaleError{What: "live state"}
	}
	for _, a := range unionKeys(sf.Keys, ff.Keys) {
		if sf.Keys[a] != ff.Keys[a] {
			return &StaleError{What: "key of " + string(a)}
		}
	}
	for _, a := range unionKeys(sf.Specs, ff.Specs) {
		if sf.Specs[a] != ff.Specs[a] {
			return &StaleError{What: "spec of " + string(a)}
		}
	}
	if !slices.Equal(changeKeys(saved), changeKeys(fresh)) {
		return &StaleError{What: "manifest"}
	}
	// The same actions can carry other values: a login_url edited before
	// its connection was created. Apply must execute what was reviewed.
	now := make(map[addr.Address]*Change, len(fresh.Changes))
	for _, c := range fresh.Changes {
		now[c.Address] = c
	}
	for _, c := range saved.Changes {
		if f := now[c.Address]; f == nil || !maps.Equal(c.After.attrs(), f.After.attrs()) {
			return &StaleError{What: "manifest entry " + string(c.Address)}
		}
	}
	return nil
}

// attrs is a snapshot's attributes, nil for a missing snapshot.
func (s *Snapshot) attrs() map[string]string {
	if s == nil {
		return nil
	}
	return s.Attrs
}

// changeKeys is what of a change must match between saved and fresh plans.
func changeKeys(p *Plan) []string {
	out := make([]string, 0, len(p.Changes))
	for _, c := range p.Changes {
		out = append(out, string(c.Address)+"\x00"+string(c.Action)+"\x00"+string(c.CausedBy)+"\x00"+c.Blocked)
	}
	slices.Sort(out)
	return out
}

func unionKeys(a, b map[addr.Address]string) []addr.Address {
	var out []addr.Address
	for k := range a {
		out = append(out, k)
	}
	for k := range b {
		out = append(out, k)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
