package plan

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/manifest"
	"github.com/applinkctl/applinkctl/internal/statedata"
)

// publication plans one declared publication. What was published cannot be
// read back from the API, so the comparison is with state: the digest of
// the bundle last uploaded, and the spec kept there for the diff.
func (d *differ) publication(dp *manifest.Publication, parent *Change) error {
	a := dp.Address()
	b, err := manifest.BuildBundle(dp)
	if err != nil {
		return fmt.Errorf("publication %s: %w", a, err)
	}
	c := d.add(&Change{Address: a, Kind: addr.KindPublication, Desired: dp, Bundle: b, DependsOn: []addr.Address{parent.Address}})
	c.After = &Snapshot{Attrs: map[string]string{"client_name": dp.ClientName, "spec_digest": b.Digest, "spec_name": b.SpecName}}
	put(c.After, "metadata_digest", b.MetadataDigest)
	put(c.After, "permission_set", dp.PermissionSet)
	put(c.After, "metadata_permission_set", metadataPermissionSet(b))
	// The count of operations the spec publishes, to say what a publish
	// makes; derived from the spec, which spec_digest already covers.
	c.After.Attrs["operations"] = strconv.Itoa(len(b.Operations))
	put(c.After, "external_client_app", dp.ExternalClientApp)
	put(c.After, "connected_app", dp.ConnectedApp)

	sr := d.record(a)
	lp := d.pubs[a] // matched by recorded identity (identity.go)
	if lp != nil || sr != nil {
		c.Before = &Snapshot{Attrs: map[string]string{"client_name": dp.ClientName}}
		if lp != nil {
			c.RemoteID = lp.ESRID
			put(c.Before, "esr_id", lp.ESRID)
			put(c.Before, "org_id", lp.OrgID)
			if lp.ESRName != dp.ClientName {
				put(c.Before, "esr_name", lp.ESRName)
			}
		}
		if sr != nil {
			if lp == nil {
				put(c.Before, "esr_name", sr.RemoteName)
			}
			put(c.Before, "spec_digest", sr.InputsDigest)
			put(c.Before, "spec_name", sr.SpecName)
			put(c.Before, "metadata_digest", sr.MetadataDigest)
		}
	}
	if sr != nil && len(sr.SpecGzip) > 0 {
		if old, err := statedata.DecompressSpec(sr.SpecGzip); err == nil {
			c.Spec = diffSpecs(old, b.Spec, b.SpecName)
			if c.Spec != nil {
				c.Spec.File = dp.SpecFile
			}
		}
	}

	why := d.unlisted(dp.App, dp.Connection)
	switch {
	case parent.Action == Replace:
		c.Action, c.CausedBy = Republish, parent.Address
		c.Reasons = []string{"published again to the new connection"}
		if sr == nil && lp == nil {
			c.Action = Create
		}
		if why != "" {
			d.unknown(c, why)
		}
	case parent.Action == Create && parent.Before != nil:
		// Its connection is being deleted (disconnecting, or deleted and
		// still listed as disconnected): created again, it is published
		// to again.
		c.Action, c.CausedBy = Republish, parent.Address
		c.Reasons = []string{"published again to its connection, created again"}
		if sr == nil {
			c.Action = Create
		} else if sr.Phase == statedata.Applied {
			d.find(a, Missing, "its connection was deleted out of band")
		}
	case why != "" && lp == nil:
		// The publications could not be listed: whether it is still
		// published is unknown. Recorded, it is assumed to be (publishing
		// again blindly would hide the refusal); not recorded, it is
		// published, which replaces any registration of the client name.
		if sr != nil && sr.Phase == statedata.Applied {
			c.Action = Noop
			c.Reasons = nil
		} else {
			c.Action = Create
			c.Reasons = []string{"not published yet"}
		}
		d.unknown(c, why)
	case lp == nil && sr != nil && sr.Phase == statedata.Applied && parent.Before != nil && !d.listedPubs(dp):
		// The connection exists but its publications could not be listed
		// (it is still connecting): nothing is known against the record.
		c.Action, c.Wait = Noop, true
		c.Reasons = []string{"its connection is " + parent.Before.Attrs["status"] + ": checked once it is connected"}
		d.find(a, Pending, "its connection is %s", parent.Before.Attrs["status"])
	case lp == nil && (sr == nil || sr.Phase == statedata.Intent):
		c.Action = Create
		d.createReasons(c, sr)
		c.Reasons = []string{"not published yet"}
		if sr != nil {
			c.Reasons = []string{"an earlier run was interrupted before publishing it"}
		}
	case lp == nil:
		c.Action = Republish
		c.Reasons = []string{"recorded in state but not published live (deleted out of band)"}
		d.find(a, Missing, "recorded in state but not published live (deleted out of band)")
	case sr == nil:
		c.Action = Republish
		c.Reasons = []string{"published live but not in state: what was published cannot be read back, so it is published again"}
		d.find(a, Pending, "published live but not in state: the next apply publishes it again")
	case sr.InputsDigest != b.Digest:
		c.Action = Republish
		c.Reasons = bundleReasons(sr, b, c.Spec)
		d.find(a, Pending, "%s", c.Reasons[0])
	case d.replace[a]:
		c.Action = Republish
		c.Reasons = []string{"republish requested with --replace"}
	case sr.Phase != statedata.Applied && sr.Phase != "":
		c.Action, c.Resumed = Republish, true
		c.Reasons = []string{fmt.Sprintf("an earlier run left it %s", sr.Phase)}
		d.find(a, Pending, "an earlier run left it %s", sr.Phase)
	default:
		c.Action = Noop
		c.Spec = nil
	}
	if c.Action == Noop || c.Action == Create {
		c.Spec = nil
	}
	return nil
}

func (d *differ) listedPubs(dp *manifest.Publication) bool {
	_, ok := d.liveApp(dp.App).Publications[dp.Connection]
	return ok
}

// bundleReasons says which part of a publication's upload changed.
func bundleReasons(sr *statedata.Resource, b *manifest.Bundle, sc *SpecChange) []string {
	var out []string
	specSame := false
	if len(sr.SpecGzip) > 0 {
		if old, err := statedata.DecompressSpec(sr.SpecGzip); err == nil && string(old) == string(b.Spec) {
			specSame = true
		}
	}
	if sc != nil {
		out = append(out, specReason(sc))
	} else if !specSame {
		out = append(out, "spec changed")
	}
	if sr.SpecName != "" && sr.SpecName != b.SpecName {
		out = append(out, fmt.Sprintf("spec format changed (%s → %s)", sr.SpecName, b.SpecName))
	}
	if sr.MetadataDigest != b.MetadataDigest {
		out = append(out, "metadata files changed")
	}
	if len(out) == 0 {
		out = append(out, "publication settings changed (client name, permission set, external client app or connected app)")
	}
	return out
}

// prune plans what state records as owned but the manifest no longer
// declares. Without --prune nothing is planned: the deletes --prune would
// plan are kept as undeclared (plan lists them) and Drift reports them,
// each naming the apply that deletes it. Targets and publications cannot be
// deleted alone (the API has neither a target delete nor an unpublish):
// they go with their connection, or are blocked.
func (d *differ) prune() {
	var orphans []addr.Address
	for _, a := range d.stateAddresses() {
		r := d.s.Resources[a]
		if d.desired[a] || r == nil || (r.Origin != statedata.Created && r.Origin != statedata.Adopted) {
			continue
		}
		orphans = append(orphans, a)
	}
	// Parents first, so children can see whether theirs goes.
	slices.SortStableFunc(orphans, func(x, y addr.Address) int { return depth(x) - depth(y) })
	goes := map[addr.Address]bool{} // without --prune: what --prune would delete
	for _, a := range orphans {
		r := d.s.Resources[a]
		exists, before := d.liveOf(a)
		c := &Change{Address: a, Kind: a.Kind(), Action: Delete, Protected: r.Protect, RemoteID: r.RemoteID, Before: before}
		if exists {
			c.Reasons = []string{"no longer declared in the manifest"}
		} else {
			c.Reasons = []string{"no longer declared in the manifest; already gone live: only the state record is dropped"}
		}
		if p := a.Parts(); a.Parent() != "" && d.unlisted(p.App, p.Connection) != "" {
			d.unknown(c, d.unlisted(p.App, p.Connection))
		}
		if parent := a.Parent(); parent != "" {
			c.DependsOn = []addr.Address{parent}
			pc := d.changes[parent]
			switch {
			case goes[parent] || pc != nil && (pc.Action == Delete || pc.Action == Replace):
				c.CausedBy = parent
				c.Reasons = []string{"deleted with its connection"}
			case exists && !d.desired[parent]:
				where := "Salesforce"
				if a.Kind() == addr.KindTarget {
					where = "Data Cloud"
				}
				c.Blocked = fmt.Sprintf("a %s cannot be deleted alone (the API has no route for it), and its connection %s is not declared for applinkctl to recreate: remove it in %s", kindWords(a.Kind()), parent, where)
			case exists && a.Kind() == addr.KindTarget:
				c.Blocked = fmt.Sprintf("a data action target cannot be deleted alone (the API has no target delete): run with --replace %s to recreate the connection with only its declared targets", parent)
				c.Unblock = []addr.Address{parent}
			case exists:
				c.Blocked = fmt.Sprintf("a publication cannot be unpublished (the API has no route for it): remove it in Salesforce, or run with --replace %s to recreate the connection", parent)
				c.Unblock = []addr.Address{parent}
			}
		}
		if d.opts.Prune {
			d.add(c)
			continue
		}
		goes[a] = c.Blocked == "" && !r.Protect
		d.undeclared = append(d.undeclared, c)
		fix := Options{Prune: true}
		switch {
		case r.Protect:
			d.find(a, Pending, "no longer declared, but protected: apply --prune refuses to delete it; to allow it: %s", UnprotectCommand(a, d.opts.StateArgs))
			continue
		case c.Blocked != "" && len(c.Unblock) == 0:
			d.find(a, Pending, "no longer declared; %s", c.Blocked)
			continue
		case c.Blocked != "":
			fix.Replace = []string{string(c.Unblock[0])}
			d.find(a, Pending, "no longer declared; a %s cannot be deleted alone (the API has no route for it): --prune deletes it by replacing its connection, recreated with only what is declared", kindWords(a.Kind()))
		case exists:
			d.find(a, Pending, "no longer declared: apply --prune deletes it")
		default:
			d.find(a, Pending, "no longer declared and gone live: apply --prune forgets it")
		}
		d.fix(a, fix)
	}
}

// kindWords names a kind in a sentence.
func kindWords(k addr.Kind) string {
	if k == addr.KindTarget {
		return "data action target"
	}
	return string(k)
}

func depth(a addr.Address) int {
	if a.Parent() == "" {
		return 0
	}
	return 1
}

// liveOf says whether the resource at a exists live and what it looks like.
func (d *differ) liveOf(a addr.Address) (bool, *Snapshot) {
	p := a.Parts()
	la := d.liveApp(p.App)
	switch p.Kind {
	case addr.KindConnection:
		if c := la.Connections[p.Name]; c != nil {
			return true, beforeSnapshot(&orgLive{id: c.ID, status: c.Status, typ: orgType(c.Org.Type), username: c.Org.Username}, d.record(a))
		}
	case addr.KindAuthorization:
		if c := la.Authorizations[p.Name]; c != nil {
			return true, beforeSnapshot(&orgLive{id: c.ID, status: c.Status, typ: orgType(c.Org.Type), username: c.Org.Username, alias: c.Alias}, d.record(a))
		}
	case addr.KindTarget:
		for _, t := range la.Targets[p.Connection] {
			if t.Label == p.Name {
				s := targetSnapshot(t.Label, t.APIName, t.TargetEndpoint, t.Type)
				put(s, "id", t.ID)
				put(s, "status", t.Status)
				return true, s
			}
		}
	case addr.KindPublication:
		if pub := d.pubs[a]; pub != nil {
			s := &Snapshot{Attrs: map[string]string{"client_name": p.Name, "esr_id": pub.ESRID}}
			if pub.ESRName != p.Name {
				put(s, "esr_name", pub.ESRName)
			}
			return true, s
		}
	}
	if p.Kind == addr.KindTarget || p.Kind == addr.KindPublication {
		// Its connection's children could not be listed: it may exist, so
		// it is treated as existing (a prune is then blocked, or goes with
		// its connection) rather than forgotten as gone.
		if d.unlisted(p.App, p.Connection) != "" {
			return true, nil
		}
	}
	return false, nil
}

// findUnmanaged lists live resources that neither the manifest nor state
// knows. They are reported and never touched.
func (d *differ) findUnmanaged() {
	for _, app := range slices.Sorted(maps.Keys(d.w.Apps)) {
		la := d.w.Apps[app]
		if la == nil {
			continue
		}
		known := func(a addr.Address) bool {
			if _, err := addr.Parse(string(a)); err != nil {
				return true // a name no address can hold: nothing to report it as
			}
			return d.desired[a] || d.s.Resources[a] != nil
		}
		// A connection or authorization deleted but still listed is as
		// good as absent: not worth reporting as someone else's.
		for name, c := range la.Connections {
			if a := addr.Connection(app, name); !known(a) && !deleted(c.Status) {
				d.unmanaged = append(d.unmanaged, a)
			}
		}
		for name, au := range la.Authorizations {
			if a := addr.Authorization(app, name); !known(a) && !deleted(au.Status) {
				d.unmanaged = append(d.unmanaged, a)
			}
		}
		for conn, ts := range la.Targets {
			for _, t := range ts {
				if a := addr.Target(app, conn, t.Label); !known(a) {
					d.unmanaged = append(d.unmanaged, a)
				}
			}
		}
		for conn, ps := range la.Publications {
			for i, p := range ps {
				if p.ESRName == "" || d.claimed[&ps[i]] {
					continue
				}
				// Not matched to any address: unmanaged, even when named
				// like a known one whose own registration is another.
				if a := addr.Publication(app, conn, p.ESRName); !known(a) || d.pubs[a] != nil {
					d.unmanaged = append(d.unmanaged, a)
				}
			}
		}
	}
	slices.Sort(d.unmanaged)
	d.unmanaged = slices.Compact(d.unmanaged)
	for _, a := range d.unmanaged {
		d.find(a, Unmanaged, "exists live but neither the manifest nor state knows it: left alone")
	}
}

// permissionSetMeta is the metadata file that defines a permission set
// uploaded with a publication (instead of naming one with permission_set).
const permissionSetMeta = "permissionset-meta.xml"

// metadataPermissionSet is the label of the permission set a publication's
// bundle defines in its permissionset-meta.xml, so a plan names the
// permission set whichever way it is given; "" when the bundle holds none.
// The file is read from the upload itself, so the plan shows what is sent.
// A file without a readable label is named by its file name.
func metadataPermissionSet(b *manifest.Bundle) string {
	if b == nil || b.MetadataDigest == "" {
		return ""
	}
	zr, err := zip.NewReader(bytes.NewReader(b.Zip), int64(len(b.Zip)))
	if err != nil {
		return ""
	}
	for _, f := range zr.File {
		if f.Name != permissionSetMeta {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return permissionSetMeta
		}
		defer rc.Close()
		var ps struct {
			Label string `xml:"label"`
		}
		if err := xml.NewDecoder(io.LimitReader(rc, 1<<20)).Decode(&ps); err != nil || strings.TrimSpace(ps.Label) == "" {
			return permissionSetMeta
		}
		return strings.TrimSpace(ps.Label)
	}
	return ""
}
