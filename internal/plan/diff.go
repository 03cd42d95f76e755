package plan

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/client"
	"github.com/applinkctl/applinkctl/internal/live"
	"github.com/applinkctl/applinkctl/internal/manifest"
	"github.com/applinkctl/applinkctl/internal/state"
)

// Diff compares the manifest m with the live world w and state s (nil means
// empty) and plans the changes of DESIGN.md §3.
//
// Immutable inputs are compared with live where the API returns them (org
// type, username, alias, target fields, status) and with state otherwise
// (login_url, JWT client id, key fingerprint, publication bundle digest).
// Errors: *ProtectError when a protected resource would be replaced or
// deleted, ErrEmptyManifest for a prune of an empty manifest without
// AllowEmpty, *SelectorError for a --target matching nothing or a --replace
// naming an undeclared resource, and errors reading publication files.
func Diff(m *manifest.Manifest, w *live.World, s *state.State, opts Options) (*Plan, error) {
	d, err := newDiffer(m, w, s, opts)
	if err != nil {
		return nil, err
	}
	if opts.Prune && !opts.AllowEmpty && d.declared == 0 {
		return nil, ErrEmptyManifest
	}
	if err := d.run(); err != nil {
		return nil, err
	}
	p, err := d.plan()
	if err != nil {
		return nil, err
	}
	if err := checkProtect(p); err != nil {
		return nil, err
	}
	return p, nil
}

// differ holds one comparison. Changes are built per connection, parent
// before children, because a child's action depends on its parent's
// (cascades); prune decisions come last for the same reason.
type differ struct {
	m    *manifest.Manifest
	w    *live.World
	s    *state.State
	opts Options

	replace  map[addr.Address]bool
	declared int // connections and authorizations in the manifest

	changes   map[addr.Address]*Change
	desired   map[addr.Address]bool
	unmanaged []addr.Address
	// findings classify each difference for Drift, by address.
	findings map[addr.Address]Finding
	// pubs is the live publication matched to each publication address,
	// claimed the ones matched (identity.go).
	pubs    map[addr.Address]*client.Publication
	claimed map[*client.Publication]bool
	// unknowns are the addresses whose live state is unknown (their
	// connection's children could not be listed): drift reports them
	// even where the plan assumes them unchanged.
	unknowns map[addr.Address]bool
}

func newDiffer(m *manifest.Manifest, w *live.World, s *state.State, opts Options) (*differ, error) {
	if m == nil {
		m = &manifest.Manifest{}
	}
	if w == nil {
		w = &live.World{}
	}
	if s == nil {
		s = &state.State{}
	}
	d := &differ{
		m: m, w: w, s: s, opts: opts,
		replace:  map[addr.Address]bool{},
		changes:  map[addr.Address]*Change{},
		desired:  map[addr.Address]bool{},
		findings: map[addr.Address]Finding{},
		unknowns: map[addr.Address]bool{},
	}
	for _, a := range m.Apps {
		for _, c := range a.Connections {
			d.declared++
			d.desired[c.Address()] = true
			for _, t := range c.Targets {
				d.desired[t.Address()] = true
			}
			for _, p := range c.Publications {
				d.desired[p.Address()] = true
			}
		}
		for _, au := range a.Authorizations {
			d.declared++
			d.desired[au.Address()] = true
		}
	}
	for _, r := range opts.Replace {
		if _, err := addr.Parse(r); err != nil {
			return nil, &SelectorError{Flag: "--replace", Value: r, Reason: err.Error()}
		}
		a := addr.Address(r)
		if !d.desired[a] {
			return nil, &SelectorError{Flag: "--replace", Value: r, Reason: "not declared in the manifest (replace recreates a declared resource)"}
		}
		d.replace[a] = true
	}
	for _, t := range opts.Targets {
		if err := addr.ValidPattern(t); err != nil {
			return nil, &SelectorError{Flag: "--target", Value: t, Reason: err.Error()}
		}
	}
	return d, nil
}

func (d *differ) run() error {
	d.matchPublications()
	for _, a := range d.m.Apps {
		for _, c := range a.Connections {
			cc := d.connection(c)
			for _, t := range c.Targets {
				d.target(t, cc)
			}
			for _, p := range c.Publications {
				if err := d.publication(p, cc); err != nil {
					return err
				}
			}
		}
		for _, au := range a.Authorizations {
			d.authorization(au)
		}
	}
	d.prune()
	d.findUnmanaged()
	return nil
}

// plan applies --target, sorts and fingerprints.
func (d *differ) plan() (*Plan, error) {
	changes := make([]*Change, 0, len(d.changes))
	for _, c := range d.changes {
		changes = append(changes, c)
	}
	unmanaged := slices.Clone(d.unmanaged)
	if len(d.opts.Targets) > 0 {
		var err error
		changes, unmanaged, err = d.selectTargets(changes, unmanaged)
		if err != nil {
			return nil, err
		}
	}
	slices.SortFunc(changes, func(a, b *Change) int { return strings.Compare(string(a.Address), string(b.Address)) })
	slices.Sort(unmanaged)

	p := &Plan{
		Changes:       changes,
		Unmanaged:     unmanaged,
		Options:       normOptions(d.opts),
		ManifestFiles: slices.Clone(d.m.Files),
		Fingerprints: Fingerprints{
			Live:  d.w.Digest(),
			State: d.s.Digest(),
			Keys:  map[addr.Address]string{},
			Specs: map[addr.Address]string{},
		},
	}
	for _, c := range changes {
		if fp := keyFingerprint(c.Desired); fp != "" {
			p.Fingerprints.Keys[c.Address] = fp
		}
		if c.Bundle != nil {
			p.Fingerprints.Specs[c.Address] = c.Bundle.Digest
		}
	}
	return p, nil
}

func normOptions(o Options) Options {
	o.Targets = slices.Sorted(slices.Values(o.Targets))
	o.Replace = slices.Sorted(slices.Values(o.Replace))
	o.Targets = slices.Compact(o.Targets)
	o.Replace = slices.Compact(o.Replace)
	return o
}

// selectTargets keeps the changes matching a --target glob, the changes
// they depend on (a child's connection) and the cascades of every kept
// change (the targets a kept replacement recreates), to a fixed point.
func (d *differ) selectTargets(changes []*Change, unmanaged []addr.Address) ([]*Change, []addr.Address, error) {
	byAddr := map[addr.Address]*Change{}
	for _, c := range changes {
		byAddr[c.Address] = c
	}
	matches := func(a addr.Address) (bool, string) {
		for _, t := range d.opts.Targets {
			if ok, _ := addr.Match(t, a); ok { // patterns were validated
				return true, t
			}
		}
		return false, ""
	}
	used := map[string]bool{}
	keep := map[addr.Address]bool{}
	for _, c := range changes {
		if ok, t := matches(c.Address); ok {
			keep[c.Address], used[t] = true, true
		}
	}
	var keptUnmanaged []addr.Address
	for _, u := range unmanaged {
		if ok, t := matches(u); ok {
			keptUnmanaged, used[t] = append(keptUnmanaged, u), true
		}
	}
	for _, t := range d.opts.Targets {
		if !used[t] {
			for _, u := range d.stateAddresses() { // known but unchanged: still a valid target
				if ok, _ := addr.Match(t, u); ok {
					used[t] = true
					break
				}
			}
		}
		if !used[t] {
			return nil, nil, &SelectorError{Flag: "--target", Value: t, Reason: "matches no resource of the manifest, state or live world"}
		}
	}
	for grew := true; grew; {
		grew = false
		for _, c := range changes {
			if keep[c.Address] {
				for _, dep := range c.DependsOn {
					if !keep[dep] && byAddr[dep] != nil {
						keep[dep], grew = true, true
					}
				}
				continue
			}
			if c.CausedBy != "" && keep[c.CausedBy] {
				keep[c.Address], grew = true, true
			}
		}
	}
	var out []*Change
	for _, c := range changes {
		if keep[c.Address] {
			out = append(out, c)
		}
	}
	return out, keptUnmanaged, nil
}

func (d *differ) stateAddresses() []addr.Address {
	out := make([]addr.Address, 0, len(d.s.Resources))
	for a := range d.s.Resources {
		if _, err := addr.Parse(string(a)); err == nil {
			out = append(out, a)
		}
	}
	slices.Sort(out)
	return out
}

// checkProtect refuses a plan that replaces or deletes a protected resource,
// naming every such resource.
func checkProtect(p *Plan) error {
	var errs []error
	for _, c := range p.Changes {
		if c.Protected && (c.Action == Replace || c.Action == Delete) && c.Blocked == "" {
			errs = append(errs, &ProtectError{Address: c.Address, Action: c.Action, Reasons: slices.Clone(c.Reasons)})
		}
	}
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return errors.Join(errs...)
}

// unlisted is why the children of app's connection conn could not be
// listed ("" when they were, or were not read): they are unknown.
func (d *differ) unlisted(app, conn string) string {
	return d.liveApp(app).Unlisted[conn]
}

// unknown notes on c that its live state is unknown because its
// connection's children could not be listed, and reports it to drift.
func (d *differ) unknown(c *Change, why string) {
	c.Reasons = append(c.Reasons, "unknown: "+why)
	d.find(c.Address, Changed, "unknown: %s", why)
	d.unknowns[c.Address] = true
}

// liveApp is the world's record of an app, or an empty one.
func (d *differ) liveApp(app string) *live.App {
	if a := d.w.Apps[app]; a != nil {
		return a
	}
	return &live.App{Name: app}
}

func (d *differ) record(a addr.Address) *state.Resource { return d.s.Resources[a] }

func (d *differ) add(c *Change) *Change {
	d.changes[c.Address] = c
	return c
}

func (d *differ) find(a addr.Address, k FindingKind, format string, args ...any) {
	if _, ok := d.findings[a]; ok {
		return
	}
	d.findings[a] = Finding{Kind: k, Address: a, Detail: fmt.Sprintf(format, args...)}
}

// orgType maps the API's org type to the manifest's.
func orgType(t string) manifest.OrgType {
	switch t {
	case client.OrgTypeSalesforce:
		return manifest.Salesforce
	case client.OrgTypeDataCloud, "DatacloudOrg":
		return manifest.DataCloud
	}
	return manifest.OrgType(strings.ToLower(t))
}

// defaultLoginURL is what the API uses when login_url is not sent.
const defaultLoginURL = "https://login.salesforce.com"

// normLoginURL makes an absent login_url and the API's default compare
// equal, so writing the default out explicitly is not a replacement.
func normLoginURL(u string) string {
	u = strings.TrimRight(strings.TrimSpace(u), "/")
	if u == "" {
		return defaultLoginURL
	}
	return strings.ToLower(u)
}

func failedReason(status string, e *client.ErrorInfo) string {
	if e != nil && e.ID != "" {
		return fmt.Sprintf("status is %s (%s)", status, e.ID)
	}
	return "status is " + status
}
