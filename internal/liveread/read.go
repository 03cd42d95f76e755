// Package liveread reads what exists in Heroku AppLink for the apps of a
// manifest into a live.World: one add-on per app, its connections and
// authorizations, the targets of each Data Cloud connection and the
// publications of each Salesforce connection. It uses list routes only,
// never one GET per resource, so that a plan of a hundred apps stays inside
// the Platform API's hourly budget, and runs every call under one
// concurrency bound.
//
// The World is plain records; the AppLink clients resolved on the way are
// returned beside it (Links), for apply to write through.
package liveread

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/client"
	"github.com/applinkctl/applinkctl/internal/live"
	"github.com/applinkctl/applinkctl/internal/manifest"
	"golang.org/x/sync/errgroup"
)

// Links are the resolved AppLink APIs of the apps read, by the manifest's
// app name: apply writes through them.
type Links map[string]*client.AppLink

// AppRef names an app to read and, optionally, which of its AppLink
// add-ons ("" = its only one).
type AppRef struct {
	Name  string
	Addon string
}

// readConcurrency is the bound on read calls in flight: the caller's, or
// live.DefaultReadConcurrency when it gives none (< 1). A user who must spare a
// shared rate limit can still go lower.
func readConcurrency(concurrency int) int {
	if concurrency < 1 {
		return live.DefaultReadConcurrency
	}
	return concurrency
}

// Read resolves every app of the manifest (its add-on per App.Addon) and
// lists its connections and authorizations, then the targets of each Data
// Cloud connection and the publications of each Salesforce connection that
// the manifest declares. Each app runs as its own pipeline (resolve, then
// its two lists, then its children), so a slow app holds up no other; at
// most concurrency calls (live.DefaultReadConcurrency when < 1) are in flight
// at once. Children of connections the manifest does not declare are not
// read: those connections are reported as unmanaged as a whole. Errors
// name the app and, where one exists, the fix (such as the addon: field);
// every app's error is reported, not just the first. Beside the world it
// returns the AppLink API each app was resolved to.
func Read(ctx context.Context, p *client.Platform, m *manifest.Manifest, concurrency int) (*live.World, Links, error) {
	refs := make([]AppRef, 0, len(m.Apps))
	declared := map[string]map[string]bool{} // app → connection names
	for _, a := range m.Apps {
		refs = append(refs, AppRef{Name: a.Name, Addon: a.Addon})
		declared[a.Name] = map[string]bool{}
		for _, c := range a.Connections {
			declared[a.Name][c.Name] = true
		}
	}
	return read(ctx, p, refs, concurrency, func(app, conn string) bool { return declared[app][conn] })
}

// ReadApps is Read for apps named without a manifest (export): it lists the
// children of every connection, and keeps no client: export writes nothing.
func ReadApps(ctx context.Context, p *client.Platform, apps []AppRef, parallelism int) (*live.World, error) {
	w, _, err := read(ctx, p, apps, parallelism, func(string, string) bool { return true })
	return w, err
}

// appRead is what one app's pipeline found: the app, or the error of the
// first stage that failed (errors of one stage are reported before those
// of the next, as the stages happen in that order for every app).
type appRead struct {
	app                 *live.App
	link                *client.AppLink
	resolveErr          error
	listErrs, childErrs []error
}

// read runs one pipeline per app, at most limit apps at once, with every
// call taking a slot of a semaphore of the same size. Each pipeline writes
// only its own appRead, so no locking is needed; the result is built in
// app order, so it does not depend on which pipeline finished first.
func read(ctx context.Context, p *client.Platform, refs []AppRef, parallelism int, wantChildren func(app, conn string) bool) (*live.World, Links, error) {
	limit := readConcurrency(parallelism)
	refs = slices.Clone(refs)
	slices.SortFunc(refs, func(a, b AppRef) int { return cmp.Compare(a.Name, b.Name) })
	refs = slices.CompactFunc(refs, func(a, b AppRef) bool { return a.Name == b.Name })

	r := &reader{p: p, slots: make(chan struct{}, limit), wantChildren: wantChildren}
	out := make([]appRead, len(refs))
	run(ctx, limit, len(refs), func(ctx context.Context, i int) {
		out[i] = r.app(ctx, refs[i])
	})
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	var resolveErrs, listErrs, childErrs []error
	for _, o := range out {
		resolveErrs = append(resolveErrs, o.resolveErr)
		listErrs = append(listErrs, o.listErrs...)
		childErrs = append(childErrs, o.childErrs...)
	}
	for _, errs := range [][]error{resolveErrs, listErrs, childErrs} {
		if err := joinErrors(errs); err != nil {
			return nil, nil, err
		}
	}
	w := &live.World{Apps: make(map[string]*live.App, len(out))}
	links := make(Links, len(out))
	for _, o := range out {
		w.Apps[o.app.Name] = o.app
		links[o.app.Name] = o.link
	}
	return w, links, nil
}

// reader is one Read: the slots bound the calls in flight across all the
// apps' pipelines.
type reader struct {
	p            *client.Platform
	slots        chan struct{}
	wantChildren func(app, conn string) bool
}

// call runs fn holding a slot; a cancelled ctx while waiting for one is
// fn's error.
func (r *reader) call(ctx context.Context, fn func(ctx context.Context) error) error {
	select {
	case r.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-r.slots }()
	return fn(ctx)
}

// app is one app's pipeline: resolve, list its connections and
// authorizations side by side, then list the children of the wanted
// connections side by side.
func (r *reader) app(ctx context.Context, ref AppRef) appRead {
	var link *client.AppLink
	if err := r.call(ctx, func(ctx context.Context) error {
		var err error
		link, err = r.p.Resolve(ctx, ref.Name, ref.Addon)
		return err
	}); err != nil {
		return appRead{resolveErr: resolveError(ref.Name, err)}
	}
	a := &live.App{
		Name:           ref.Name,
		AppID:          link.AppID,
		AddonID:        link.AddonID,
		AddonName:      link.AddonName,
		Attachment:     link.Attachment,
		Connections:    map[string]*live.Connection{},
		Authorizations: map[string]*live.Authorization{},
		Targets:        map[string][]live.Target{},
		Publications:   map[string][]live.Publication{},
		Unlisted:       map[string]string{},
	}

	var (
		conns []client.Connection
		auths []client.Authorization
	)
	listErrs := make([]error, 2)
	run(ctx, 2, 2, func(ctx context.Context, i int) {
		if i == 0 {
			if err := r.call(ctx, func(ctx context.Context) (err error) { conns, err = link.ListConnections(ctx); return err }); err != nil {
				listErrs[0] = fmt.Errorf("app %s: list connections: %w", a.Name, err)
			}
			return
		}
		if err := r.call(ctx, func(ctx context.Context) (err error) { auths, err = link.ListAuthorizations(ctx); return err }); err != nil {
			listErrs[1] = fmt.Errorf("app %s: list authorizations: %w", a.Name, err)
		}
	})
	if joinErrors(listErrs) != nil || ctx.Err() != nil {
		return appRead{app: a, link: link, listErrs: listErrs}
	}

	var jobs []*client.Connection
	for j := range conns {
		c := &conns[j]
		name := c.Org.ConnectionName
		if name == "" {
			continue // not addressable; a server never sends this
		}
		a.Connections[name] = connectionOf(c)
		if r.wantChildren(a.Name, name) && hasChildren(c) {
			jobs = append(jobs, c)
		}
	}
	for j := range auths {
		au := &auths[j]
		if au.Org.DeveloperName != "" {
			a.Authorizations[au.Org.DeveloperName] = authorizationOf(au)
		}
	}

	targets := make([][]client.DataActionTarget, len(jobs))
	pubs := make([][]client.Publication, len(jobs))
	childErrs := make([]error, len(jobs))
	unlisted := make([]string, len(jobs))
	run(ctx, max(len(jobs), 1), len(jobs), func(ctx context.Context, i int) {
		c := jobs[i]
		name := c.Org.ConnectionName
		what := "publications"
		err := r.call(ctx, func(ctx context.Context) (err error) {
			if c.Org.Type == client.OrgTypeDataCloud {
				what = "data action targets"
				targets[i], err = link.ListDataActionTargets(ctx, name)
				return err
			}
			pubs[i], err = link.ListPublications(ctx, name)
			return err
		})
		switch {
		case err == nil || client.IsNotFound(err):
		case refusal(err) != "":
			unlisted[i] = fmt.Sprintf("could not list %s of %s (%s)", what, addr.Connection(a.Name, name), refusal(err))
		default:
			childErrs[i] = fmt.Errorf("app %s: connection %s: list %s: %w", a.Name, name, what, err)
		}
	})
	for i, c := range jobs {
		name := c.Org.ConnectionName
		switch {
		case unlisted[i] != "":
			a.Unlisted[name] = unlisted[i]
		case c.Org.Type == client.OrgTypeDataCloud:
			a.Targets[name] = targetsOf(targets[i])
		default:
			a.Publications[name] = publicationsOf(pubs[i])
		}
	}
	return appRead{app: a, link: link, childErrs: childErrs}
}

// refusal is how an API's refusal to list a connection's children reads
// in a plan: its status, error id and message, without the request id
// (which changes on every call). It is "" for an error that is not such a
// refusal and must fail the read: no answer at all (network, cancel), a
// refused credential (401, 403), or a rate limit the retries could not
// wait out (429): those say nothing about the connection, everything
// about the read.
func refusal(err error) string {
	var ae *client.APIError
	if !errors.As(err, &ae) {
		return ""
	}
	switch ae.Status {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests:
		return ""
	}
	s := strconv.Itoa(ae.Status)
	if ae.ID != "" {
		s += " " + ae.ID
	}
	if ae.Message != "" {
		s += ": " + ae.Message
	}
	return s
}

// hasChildren says whether a connection can hold targets or publications
// that a list call would show: one still connecting or being deleted
// (disconnecting, or disconnected: deleted but still listed) has none yet
// or no more, and the API may refuse to list them.
func hasChildren(c *client.Connection) bool {
	switch c.Status {
	case client.StatusConnecting, client.StatusDisconnecting, client.StatusDisconnected:
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

// The records of the world are copied from the wire types of the client,
// so that the world holds no client type.

func orgOf(o client.Org) live.Org {
	return live.Org{ID: o.ID, InstanceURL: o.InstanceURL, Type: o.Type, ConnectionName: o.ConnectionName,
		DeveloperName: o.DeveloperName, Username: o.Username}
}

func errorOf(e *client.ErrorInfo) *live.ErrorInfo {
	if e == nil {
		return nil
	}
	return &live.ErrorInfo{ID: e.ID, Message: e.Message}
}

func connectionOf(c *client.Connection) *live.Connection {
	return &live.Connection{ID: c.ID, Status: c.Status, Org: orgOf(c.Org), Alias: c.Alias,
		ConnectionMethod: c.ConnectionMethod, Error: errorOf(c.Error)}
}

func authorizationOf(a *client.Authorization) *live.Authorization {
	return &live.Authorization{ID: a.ID, Status: a.Status, Org: orgOf(a.Org), Alias: a.Alias,
		ConnectionMethod: a.ConnectionMethod, Error: errorOf(a.Error)}
}

// targetsOf copies a list; none listed is an empty list, not nil.
func targetsOf(ts []client.DataActionTarget) []live.Target {
	out := make([]live.Target, 0, len(ts))
	for _, t := range ts {
		out = append(out, live.Target{ID: t.ID, APIName: t.APIName, Label: t.Label, Status: t.Status,
			TargetEndpoint: t.TargetEndpoint, Type: t.Type})
	}
	return out
}

// publicationsOf copies a list; none listed is an empty list, not nil.
func publicationsOf(ps []client.Publication) []live.Publication {
	out := make([]live.Publication, 0, len(ps))
	for _, p := range ps {
		out = append(out, live.Publication{ConnectionName: p.ConnectionName, OrgID: p.OrgID, ESRID: p.ESRID,
			ESRName: p.ESRName, LastModifiedAt: p.LastModifiedAt.Time, LastModifiedBy: p.LastModifiedBy})
	}
	return out
}
