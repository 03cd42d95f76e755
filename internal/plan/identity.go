package plan

import (
	"slices"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/live"
)

// A publication is addressed by the client name it is published with, but
// the API lists registrations by esr_id and esr_name, and nothing says how
// esr_name follows from the client name. So a live publication is matched
// to an address by what apply recorded of the registration its publish
// made, never by assuming the two names equal:
//
//  1. the esr_id state records (statedata.Resource.RemoteID);
//  2. the esr_name state records (statedata.Resource.RemoteName, kept when it
//     is not the client name: republished by someone else, the id may
//     change while the name stays);
//  3. only then, for a publication state knows nothing of (adopted, or
//     recorded before its identity was), an esr_name equal to the client
//     name: the one guess left, and one that fails safe (no match means a
//     publish, which replaces the registration of the same client name).
//
// Each pass runs over every address before the next, so a weaker match can
// never take a registration a stronger one claims; each registration goes
// to one address at most, each address gets one registration at most.

// matchPublications fills d.pubs for every publication address the
// manifest declares or state records.
func (d *differ) matchPublications() {
	d.pubs = map[addr.Address]*live.Publication{}
	d.claimed = map[*live.Publication]bool{}
	var addrs []addr.Address
	for a := range d.desired {
		if p, err := addr.Parse(string(a)); err == nil && p.Kind == addr.KindPublication {
			addrs = append(addrs, a)
		}
	}
	for a, r := range d.s.Resources {
		if p, err := addr.Parse(string(a)); err == nil && r != nil && p.Kind == addr.KindPublication && !d.desired[a] {
			addrs = append(addrs, a)
		}
	}
	slices.Sort(addrs)
	// Each key is what an address is matched by in one pass, and whether
	// it is an esr_id (else an esr_name); "" skips the address.
	keys := []func(a addr.Address) (key string, byID bool){
		func(a addr.Address) (string, bool) {
			if r := d.record(a); r != nil {
				return r.RemoteID, true
			}
			return "", true
		},
		func(a addr.Address) (string, bool) {
			if r := d.record(a); r != nil {
				return r.RemoteName, false
			}
			return "", false
		},
		func(a addr.Address) (string, bool) { return a.Parts().Name, false },
	}
	for _, key := range keys {
		for _, a := range addrs {
			if d.pubs[a] != nil {
				continue
			}
			k, byID := key(a)
			if k == "" {
				continue
			}
			p := a.Parts()
			live := d.liveApp(p.App).Publications[p.Connection]
			for i := range live {
				lp := &live[i]
				if d.claimed[lp] || (byID && lp.ESRID != k) || (!byID && lp.ESRName != k) {
					continue
				}
				d.pubs[a], d.claimed[lp] = lp, true
				break
			}
		}
	}
}
