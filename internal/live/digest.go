package live

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"slices"
)

// Digest is a stable fingerprint of what the planner compares in the world:
// ids, statuses, org types and usernames, target fields and publication
// registrations, but not audit timestamps. A saved plan records it, and
// apply refuses the plan once the digest of a fresh read differs.
func (w *World) Digest() string {
	type conn struct {
		Name, ID, Status, Type, Username, Method, Error string
	}
	type auth struct {
		Name, ID, Status, Type, Username, Method, Alias, Error string
	}
	type target struct {
		Conn, Label, ID, APIName, Endpoint, Type, Status string
	}
	type pub struct {
		Conn, ESRName, ESRID, OrgID string
	}
	type app struct {
		Name, AppID, AddonID string
		Conns                []conn
		Auths                []auth
		Targets              []target
		Pubs                 []pub
		Unlisted             []string `json:",omitempty"` // connections whose children are unknown
	}
	var out []app
	if w != nil {
		for _, name := range slices.Sorted(maps.Keys(w.Apps)) {
			a := w.Apps[name]
			if a == nil {
				continue
			}
			d := app{Name: name, AppID: a.AppID, AddonID: a.AddonID}
			for _, n := range slices.Sorted(maps.Keys(a.Connections)) {
				c := a.Connections[n]
				e := ""
				if c.Error != nil {
					e = c.Error.ID
				}
				d.Conns = append(d.Conns, conn{n, c.ID, c.Status, c.Org.Type, c.Org.Username, c.ConnectionMethod, e})
			}
			for _, n := range slices.Sorted(maps.Keys(a.Authorizations)) {
				c := a.Authorizations[n]
				e := ""
				if c.Error != nil {
					e = c.Error.ID
				}
				d.Auths = append(d.Auths, auth{n, c.ID, c.Status, c.Org.Type, c.Org.Username, c.ConnectionMethod, c.Alias, e})
			}
			for _, n := range slices.Sorted(maps.Keys(a.Targets)) {
				for _, t := range a.Targets[n] {
					d.Targets = append(d.Targets, target{n, t.Label, t.ID, t.APIName, t.TargetEndpoint, t.Type, t.Status})
				}
			}
			for _, n := range slices.Sorted(maps.Keys(a.Publications)) {
				for _, p := range a.Publications[n] {
					d.Pubs = append(d.Pubs, pub{n, p.ESRName, p.ESRID, p.OrgID})
				}
			}
			d.Unlisted = slices.Sorted(maps.Keys(a.Unlisted))
			slices.SortFunc(d.Targets, func(x, y target) int {
				return cmp.Or(cmp.Compare(x.Conn, y.Conn), cmp.Compare(x.Label, y.Label), cmp.Compare(x.ID, y.ID))
			})
			slices.SortFunc(d.Pubs, func(x, y pub) int {
				return cmp.Or(cmp.Compare(x.Conn, y.Conn), cmp.Compare(x.ESRName, y.ESRName), cmp.Compare(x.ESRID, y.ESRID))
			})
			out = append(out, d)
		}
	}
	b, _ := json.Marshal(out) // plain strings and slices: cannot fail
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}
