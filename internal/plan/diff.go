package plan

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/live"
	"github.com/applinkctl/applinkctl/internal/manifest"
	"github.com/applinkctl/applinkctl/internal/statedata"
)

// Diff compares the manifest m with the live world w and state s (nil means
// empty) and plans the changes of docs/design.md, "Plan rules".
//
// Immutable inputs are compared with live where the API returns them (org
// type, username, alias, target fields, status) and with state otherwise
// (login_url, JWT client id, key fingerprint, publication bundle digest).
// Errors: *ProtectError when a protected resource would be replaced or
// deleted, ErrEmptyManifest for a prune of an empty manifest without
// AllowEmpty, *SelectorError for a malformed --target or --replace pattern,
// a --target matching nothing known or a --replace matching nothing
// declared, and errors reading publication files.
func Diff(m *manifest.Manifest, w *live.World, s *statedata.State, opts Options) (*Plan, error) {
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
	s    *statedata.State
	opts Options

	replace  map[addr.Address]bool // declared addresses a --replace pattern selects
	targets  []addr.Pattern        // --target
	declared int                   // connections and authorizations in the manifest

	changes   map[addr.Address]*Change
	desired   map[addr.Address]bool
	unmanaged []addr.Address
	// undeclared are the deletes --prune would plan, in a plan without it.
	undeclared []*Change
	// findings classify each difference for Drift, by address.
	findings map[addr.Address]Finding
	// pubs is the live publication matched to each publication address,
	// claimed the ones matched (identity.go).
	pubs    map[addr.Address]*live.Publication
	claimed map[*live.Publication]bool
	// unknowns are the addresses whose live state is unknown (their
	// connection's children could not be listed): drift reports them
	// even where the plan assumes them unchanged.
	unknowns map[addr.Address]bool
}

func newDiffer(m *manifest.Manifest, w *live.World, s *statedata.State, opts Options) (*differ, error) {
	if m == nil {
		m = &manifest.Manifest{}
	}
	if w == nil {
		w = &live.World{}
	}
	if s == nil {
		s = &statedata.State{}
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
	declared := slices.Sorted(maps.Keys(d.desired))
	for _, r := range opts.Replace {
		p, err := addr.ParsePattern(r)
		if err != nil {
			return nil, &SelectorError{Flag: "--replace", Value: r, Reason: err.Error()}
		}
		matched := false
		for _, a := range declared {
			if p.Match(a) {
				d.replace[a], matched = true, true
			}
		}
		if !matched {
			return nil, &SelectorError{Flag: "--replace", Value: r,
				Reason:  "matches no resource the manifest declares (replace recreates a declared resource)",
				Closest: addr.Closest(r, declared, closestN)}
		}
	}
	for _, t := range opts.Targets {
		p, err := addr.ParsePattern(t)
		if err != nil {
			return nil, &SelectorError{Flag: "--target", Value: t, Reason: err.Error()}
		}
		d.targets = append(d.targets, p)
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
	undeclared := slices.Clone(d.undeclared)
	if len(d.targets) > 0 {
		var err error
		changes, unmanaged, undeclared, err = d.selectTargets(changes, unmanaged, undeclared)
		if err != nil {
			return nil, err
		}
	}
	byAddress := func(a, b *Change) int { return strings.Compare(string(a.Address), string(b.Address)) }
	slices.SortFunc(changes, byAddress)
	slices.SortFunc(undeclared, byAddress)
	slices.Sort(unmanaged)

	p := &Plan{
		Changes:       changes,
		Unmanaged:     unmanaged,
		Undeclared:    undeclared,
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

// selectTargets keeps the changes matching a --target pattern, the changes
// they depend on (a child's connection) and the cascades of every kept
// change (the targets a kept replacement recreates), to a fixed point;
// unmanaged and undeclared resources are kept when a pattern matches them.
// A pattern that matches no known resource is an error naming the closest.
func (d *differ) selectTargets(changes []*Change, unmanaged []addr.Address, undeclared []*Change) ([]*Change, []addr.Address, []*Change, error) {
	byAddr := map[addr.Address]*Change{}
	for _, c := range changes {
		byAddr[c.Address] = c
	}
	matches := func(a addr.Address) bool {
		for _, t := range d.targets {
			if t.Match(a) {
				return true
			}
		}
		return false
	}
	known := d.known()
	for _, t := range d.targets {
		if !slices.ContainsFunc(known, t.Match) {
			return nil, nil, nil, &SelectorError{Flag: "--target", Value: t.String(),
				Reason:  "matches no resource of the manifest, state or live world",
				Closest: addr.Closest(t.String(), known, closestN)}
		}
	}
	keep := map[addr.Address]bool{}
	for _, c := range changes {
		if matches(c.Address) {
			keep[c.Address] = true
		}
	}
	var keptUnmanaged []addr.Address
	for _, u := range unmanaged {
		if matches(u) {
			keptUnmanaged = append(keptUnmanaged, u)
		}
	}
	var keptUndeclared []*Change
	for _, u := range undeclared {
		if matches(u.Address) {
			keptUndeclared = append(keptUndeclared, u)
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
	return out, keptUnmanaged, keptUndeclared, nil
}

// closestN is how many addresses a selector that matches nothing suggests.
const closestN = 3

// known is every address the plan knows, sorted: declared, recorded in
// state, or live.
func (d *differ) known() []addr.Address {
	all := slices.Collect(maps.Keys(d.desired))
	all = append(all, d.stateAddresses()...)
	all = append(all, d.unmanaged...)
	slices.Sort(all)
	return slices.Compact(all)
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
			errs = append(errs, &ProtectError{Address: c.Address, Action: c.Action, Reasons: slices.Clone(c.Reasons), StateArgs: p.Options.StateArgs})
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

func (d *differ) record(a addr.Address) *statedata.Resource { return d.s.Resources[a] }

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

// fix attaches to a's finding the options of the apply that resolves it.
func (d *differ) fix(a addr.Address, o Options) {
	if f, ok := d.findings[a]; ok && f.Fix == nil {
		f.Fix = &o
		d.findings[a] = f
	}
}

// orgType maps the API's org type to the manifest's.
func orgType(t string) manifest.OrgType {
	switch t {
	case live.OrgTypeSalesforce:
		return manifest.Salesforce
	case live.OrgTypeDataCloud, "DatacloudOrg":
		return manifest.DataCloud
	}
	return manifest.OrgType(strings.ToLower(t))
}

// DefaultLoginURL is what the API uses when login_url is not sent; the
// plan text shows it for a connection created without one.
const DefaultLoginURL = "https://login.salesforce.com"

// normLoginURL makes an absent login_url and the API's default compare
// equal, so writing the default out explicitly is not a replacement.
func normLoginURL(u string) string {
	u = strings.TrimRight(strings.TrimSpace(u), "/")
	if u == "" {
		return DefaultLoginURL
	}
	return strings.ToLower(u)
}

func failedReason(status string, e *live.ErrorInfo) string {
	if e != nil && e.ID != "" {
		return fmt.Sprintf("status is %s (%s)", status, e.ID)
	}
	return "status is " + status
}
