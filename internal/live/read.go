package live

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/applinkctl/applinkctl/internal/client"
	"github.com/applinkctl/applinkctl/internal/manifest"
	"golang.org/x/sync/errgroup"
)

// AppRef names an app to read and, optionally, which of its AppLink
// add-ons ("" = its only one).
type AppRef struct {
	Name  string
	Addon string
}

// Read resolves every app of the manifest (its add-on per App.Addon) and
// lists its connections and authorizations, then the targets of each Data
// Cloud connection and the publications of each Salesforce connection that
// the manifest declares; at most parallelism calls run at once (< 1 means
// 4). Children of connections the manifest does not declare are not read:
// those connections are reported as unmanaged as a whole. Errors name the
// app and, where one exists, the fix (such as the addon: field); every
// app's error is reported, not just the first.
func Read(ctx context.Context, p *client.Platform, m *manifest.Manifest, parallelism int) (*World, error) {
	refs := make([]AppRef, 0, len(m.Apps))
	declared := map[string]map[string]bool{} // app → connection names
	for _, a := range m.Apps {
		refs = append(refs, AppRef{Name: a.Name, Addon: a.Addon})
		declared[a.Name] = map[string]bool{}
		for _, c := range a.Connections {
			declared[a.Name][c.Name] = true
		}
	}
	return read(ctx, p, refs, parallelism, func(app, conn string) bool { return declared[app][conn] })
}

// ReadApps is Read for apps named without a manifest (export): it lists the
// children of every connection.
func ReadApps(ctx context.Context, p *client.Platform, apps []AppRef, parallelism int) (*World, error) {
	return read(ctx, p, apps, parallelism, func(string, string) bool { return true })
}

// read runs in three rounds, each bounded by parallelism: resolve the apps,
// list their connections and authorizations, list the children of the
// connections wanted. Each task writes only its own slot, so no locking is
// needed; the rounds are barriers because a round needs the one before.
func read(ctx context.Context, p *client.Platform, refs []AppRef, parallelism int, wantChildren func(app, conn string) bool) (*World, error) {
	if parallelism < 1 {
		parallelism = 4
	}
	refs = slices.Clone(refs)
	slices.SortFunc(refs, func(a, b AppRef) int { return cmp.Compare(a.Name, b.Name) })
	refs = slices.CompactFunc(refs, func(a, b AppRef) bool { return a.Name == b.Name })

	apps := make([]*App, len(refs))
	errs := make([]error, len(refs))

	// Round 1: find each app's AppLink API.
	run(ctx, parallelism, len(refs), func(ctx context.Context, i int) {
		link, err := p.Resolve(ctx, refs[i].Name, refs[i].Addon)
		if err != nil {
			errs[i] = resolveError(refs[i].Name, err)
			return
		}
		apps[i] = &App{
			Name:           refs[i].Name,
			Link:           link,
			Connections:    map[string]*client.Connection{},
			Authorizations: map[string]*client.Authorization{},
			Targets:        map[string][]client.DataActionTarget{},
			Publications:   map[string][]client.Publication{},
		}
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := joinErrors(errs); err != nil {
		return nil, err
	}

	// Round 2: connections and authorizations of every app.
	conns := make([][]client.Connection, len(apps))
	auths := make([][]client.Authorization, len(apps))
	errs2 := make([]error, 2*len(apps))
	run(ctx, parallelism, 2*len(apps), func(ctx context.Context, i int) {
		a := apps[i/2]
		var err error
		if i%2 == 0 {
			conns[i/2], err = a.Link.ListConnections(ctx)
			if err != nil {
				errs2[i] = fmt.Errorf("app %s: list connections: %w", a.Name, err)
			}
			return
		}
		auths[i/2], err = a.Link.ListAuthorizations(ctx)
		if err != nil {
			errs2[i] = fmt.Errorf("app %s: list authorizations: %w", a.Name, err)
		}
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := joinErrors(errs2); err != nil {
		return nil, err
	}

	// Round 3: children of the wanted connections.
	type job struct {
		app  *App
		conn *client.Connection
	}
	var jobs []job
	for i, a := range apps {
		for j := range conns[i] {
			c := &conns[i][j]
			name := c.Org.ConnectionName
			if name == "" {
				continue // not addressable; a server never sends this
			}
			a.Connections[name] = c
			if wantChildren(a.Name, name) && hasChildren(c) {
				jobs = append(jobs, job{app: a, conn: c})
			}
		}
		for j := range auths[i] {
			au := &auths[i][j]
			if au.Org.DeveloperName != "" {
				a.Authorizations[au.Org.DeveloperName] = au
			}
		}
	}
	targets := make([][]client.DataActionTarget, len(jobs))
	pubs := make([][]client.Publication, len(jobs))
	errs3 := make([]error, len(jobs))
	run(ctx, parallelism, len(jobs), func(ctx context.Context, i int) {
		j := jobs[i]
		name := j.conn.Org.ConnectionName
		var err error
		if j.conn.Org.Type == client.OrgTypeDataCloud {
			targets[i], err = j.app.Link.ListDataActionTargets(ctx, name)
			if err != nil && !client.IsNotFound(err) {
				errs3[i] = fmt.Errorf("app %s: connection %s: list data action targets: %w", j.app.Name, name, err)
			}
			return
		}
		pubs[i], err = j.app.Link.ListPublications(ctx, name)
		if err != nil && !client.IsNotFound(err) {
			errs3[i] = fmt.Errorf("app %s: connection %s: list publications: %w", j.app.Name, name, err)
		}
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := joinErrors(errs3); err != nil {
		return nil, err
	}
	for i, j := range jobs {
		name := j.conn.Org.ConnectionName
		if j.conn.Org.Type == client.OrgTypeDataCloud {
			j.app.Targets[name] = nonNil(targets[i])
		} else {
			j.app.Publications[name] = nonNil(pubs[i])
		}
	}

	w := &World{Apps: make(map[string]*App, len(apps))}
	for _, a := range apps {
		w.Apps[a.Name] = a
	}
	return w, nil
}

// hasChildren says whether a connection can hold targets or publications
// that a list call would show: one still connecting or being deleted has
// none yet (or no more), and the API refuses to list them.
func hasChildren(c *client.Connection) bool {
	switch c.Status {
	case client.StatusConnecting, client.StatusDisconnecting:
		return false
	}
	return true
}

// run calls fn(i) for i in [0,n) with at most limit running at once. fn
// records its own outcome in index-addressed slots.
func run(ctx context.Context, limit, n int, fn func(ctx context.Context, i int)) {
	var g errgroup.Group
	g.SetLimit(limit)
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		g.Go(func() error { fn(ctx, i); return nil })
	}
	_ = g.Wait()
}

func resolveError(app string, err error) error {
	var re *client.ResolveError
	if errors.As(err, &re) {
		return err // it names the app and the fix already
	}
	return fmt.Errorf("app %s: %w", app, err)
}

func joinErrors(errs []error) error {
	var out []error
	for _, e := range errs {
		if e != nil {
			out = append(out, e)
		}
	}
	switch len(out) {
	case 0:
		return nil
	case 1:
		return out[0]
	}
	return errors.Join(out...)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
