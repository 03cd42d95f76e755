package apply

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/client"
	"github.com/applinkctl/applinkctl/internal/manifest"
	"github.com/applinkctl/applinkctl/internal/plan"
)

// linkAPI is the part of *client.AppLink the engine calls: one app's
// AppLink routes (docs/api.md, "Routes").
type linkAPI interface {
	GetConnection(ctx context.Context, nameOrID string) (*client.Connection, error)
	CreateConnection(ctx context.Context, orgType string, req client.ConnectRequest) (*client.Connection, error)
	CreateJWTConnection(ctx context.Context, req client.JWTRequest) (*client.Connection, error)
	DeleteConnection(ctx context.Context, name string) (*client.Connection, error)
	GetAuthorization(ctx context.Context, nameOrID string) (*client.Authorization, error)
	CreateAuthorization(ctx context.Context, orgType string, req client.ConnectRequest) (*client.Authorization, error)
	CreateJWTAuthorization(ctx context.Context, orgType string, req client.JWTRequest) (*client.Authorization, error)
	DeleteAuthorization(ctx context.Context, name string) error
	GetDataActionTarget(ctx context.Context, connection, apiName string) (*client.DataActionTargetDetail, error)
	CreateDataActionTarget(ctx context.Context, connection string, req client.TargetRequest) (*client.DataActionTargetDetail, error)
	Publish(ctx context.Context, connection string, req client.PublishRequest) (*client.Publication, error)
	ListPublications(ctx context.Context, connection string) ([]client.Publication, error)
}

// probe is what one read of a resource says, whatever its kind.
type probe struct {
	id       string
	status   string
	redirect string
	errMsg   string
	// name is the name the API gives the resource where it is not the
	// address's: a publication's esr_name.
	name string
}

// statusGone is the status the engine gives a resource a read no longer
// finds (404): deleting it has finished.
const statusGone = "deleted"

// ops are one resource's routes, shaped alike for every kind so the
// create/wait/delete logic is written once.
type ops struct {
	kind addr.Kind
	// name is what the resource is looked up by: connection_name,
	// developer_name, a target's api_name or a publication's client name.
	name string
	// post is the creating request (publish for publications).
	post func(ctx context.Context) (probe, error)
	// get reads the resource by name or id; a 404 is client.ErrNotFound.
	get func(ctx context.Context, key string) (probe, error)
	// del deletes it; nil for kinds the API cannot delete.
	del func(ctx context.Context) error
	// terminal and ready classify statuses; nil terminal means the kind has
	// no status (publications) and is ready once posted.
	terminal func(string) bool
	ready    func(string) bool
	// browser is set for OAuth creates: a person must approve them.
	browser bool
	// class groups the creates whose provisioning takes alike (see
	// readiness): the kind, with a connection's or authorization's type
	// and method. Empty for kinds without a status.
	class string
}

// opsFor builds the routes of one change.
func (e *engine) opsFor(c *plan.Change) (*ops, error) {
	parts, err := addr.Parse(string(c.Address))
	if err != nil {
		return nil, err
	}
	link, err := e.links(parts.App)
	if err != nil {
		return nil, err
	}
	o := &ops{kind: parts.Kind, name: parts.Name}
	switch parts.Kind {
	case addr.KindConnection:
		o.terminal = client.ConnectionTerminal
		o.ready = func(s string) bool { return s == client.StatusConnected }
		o.get = func(ctx context.Context, key string) (probe, error) {
			v, err := link.GetConnection(ctx, key)
			if err != nil {
				return probe{}, err
			}
			return connProbe(v), nil
		}
		o.del = func(ctx context.Context) error {
			_, err := link.DeleteConnection(ctx, parts.Name)
			return err
		}
		if d, ok := c.Desired.(*manifest.Connection); ok && d != nil {
			o.browser = d.JWT == nil
			o.class = createClass(o.kind, d.Type, o.browser)
			o.post = func(ctx context.Context) (probe, error) {
				var v *client.Connection
				var err error
				if d.JWT != nil {
					if d.Type != manifest.Salesforce {
						return probe{}, fmt.Errorf("the API has no JWT route for %s connections", d.Type)
					}
					v, err = link.CreateJWTConnection(ctx, client.JWTRequest{
						Name: d.Name, ClientID: d.JWT.ClientID, Username: d.JWT.Username,
						PrivateKey: d.JWT.PrivateKey, LoginURL: d.LoginURL,
					})
				} else {
					v, err = link.CreateConnection(ctx, string(d.Type), client.ConnectRequest{Name: d.Name, LoginURL: d.LoginURL})
				}
				if err != nil {
					return probe{}, err
				}
				return connProbe(v), nil
			}
		}
	case addr.KindAuthorization:
		o.terminal = client.AuthorizationTerminal
		o.ready = func(s string) bool { return s == client.StatusAuthorized }
		o.get = func(ctx context.Context, key string) (probe, error) {
			v, err := link.GetAuthorization(ctx, key)
			if err != nil {
				return probe{}, err
			}
			return authProbe(v), nil
		}
		o.del = func(ctx context.Context) error { return link.DeleteAuthorization(ctx, parts.Name) }
		if d, ok := c.Desired.(*manifest.Authorization); ok && d != nil {
			o.browser = d.JWT == nil
			o.class = createClass(o.kind, d.Type, o.browser)
			o.post = func(ctx context.Context) (probe, error) {
				var v *client.Authorization
				var err error
				if d.JWT != nil {
					v, err = link.CreateJWTAuthorization(ctx, string(d.Type), client.JWTRequest{
						Name: d.DeveloperName, ClientID: d.JWT.ClientID, Username: d.JWT.Username,
						PrivateKey: d.JWT.PrivateKey, LoginURL: d.LoginURL, Alias: d.Alias,
					})
				} else {
					v, err = link.CreateAuthorization(ctx, string(d.Type), client.ConnectRequest{Name: d.DeveloperName, LoginURL: d.LoginURL})
				}
				if err != nil {
					return probe{}, err
				}
				return authProbe(v), nil
			}
		}
	case addr.KindTarget:
		o.terminal = client.TargetTerminal
		o.ready = func(s string) bool { return s == client.StatusCreated }
		apiName := parts.Name
		d, _ := c.Desired.(*manifest.Target)
		if d != nil && d.APIName != "" {
			apiName = d.APIName
		} else if c.Before != nil && c.Before.Attrs["api_name"] != "" {
			apiName = c.Before.Attrs["api_name"]
		}
		o.name = apiName
		o.get = func(ctx context.Context, _ string) (probe, error) {
			v, err := link.GetDataActionTarget(ctx, parts.Connection, apiName)
			if err != nil {
				return probe{}, err
			}
			return targetProbe(v), nil
		}
		if d != nil {
			o.class = string(addr.KindTarget)
			o.post = func(ctx context.Context) (probe, error) {
				v, err := link.CreateDataActionTarget(ctx, parts.Connection, client.TargetRequest{
					Label: d.Label, APIName: apiName, TargetEndpoint: d.TargetEndpoint, Type: d.Type,
				})
				if err != nil {
					return probe{}, err
				}
				return targetProbe(v), nil
			}
		}
	case addr.KindPublication:
		f := &pubFinder{clientName: parts.Name, id: c.RemoteID}
		if c.Before != nil {
			f.name = c.Before.Attrs["esr_name"]
		}
		o.get = func(ctx context.Context, _ string) (probe, error) {
			pubs, err := link.ListPublications(ctx, parts.Connection)
			if err != nil {
				return probe{}, err
			}
			if p := f.find(pubs); p != nil {
				return probe{id: p.ESRID, name: p.ESRName}, nil
			}
			return probe{}, fmt.Errorf("publication %s: %w", parts.Name, client.ErrNotFound)
		}
		d, _ := c.Desired.(*manifest.Publication)
		if d != nil && c.Bundle != nil {
			b := c.Bundle
			o.post = func(ctx context.Context) (probe, error) {
				// Alone on the connection from the list before the publish
				// to the list after it, the registration it makes is the
				// one that appears, whatever the answer says.
				release, err := e.publishTurn(ctx, c.Address.Parent())
				if err != nil {
					return probe{}, err
				}
				defer release()
				before, err := link.ListPublications(ctx, parts.Connection)
				if err != nil {
					return probe{}, fmt.Errorf("list the publications before publishing: %w", err)
				}
				f.saw(before)
				made, perr := link.Publish(ctx, parts.Connection, client.PublishRequest{
					ClientName: d.ClientName, Zip: b.Zip, ExternalClientApp: d.ExternalClientApp,
					PermissionSet: d.PermissionSet, ConnectedApp: d.ConnectedApp,
				})
				if perr != nil && !errors.Is(perr, client.ErrAmbiguous) {
					return probe{}, perr
				}
				f.answer = made
				if after, err := link.ListPublications(ctx, parts.Connection); err == nil {
					f.pin(after, perr == nil)
				}
				switch {
				case f.pinned != nil:
					// Even after an unknown outcome: it appeared, so the
					// publish was done.
					return probe{id: f.pinned.ESRID, name: f.pinned.ESRName}, nil
				case perr != nil:
					return probe{}, perr
				case made != nil:
					return probe{id: made.ESRID, name: made.ESRName}, nil
				}
				return probe{}, nil
			}
		}
	}
	return o, nil
}

func connProbe(v *client.Connection) probe {
	if v == nil {
		return probe{}
	}
	return probe{id: v.ID, status: v.Status, redirect: v.RedirectURI, errMsg: errInfo(v.Error)}
}

func authProbe(v *client.Authorization) probe {
	if v == nil {
		return probe{}
	}
	return probe{id: v.ID, status: v.Status, redirect: v.RedirectURI, errMsg: errInfo(v.Error)}
}

func targetProbe(v *client.DataActionTargetDetail) probe {
	if v == nil {
		return probe{}
	}
	return probe{id: v.ID, status: v.Status, errMsg: errInfo(v.Error)}
}

func errInfo(e *client.ErrorInfo) string {
	switch {
	case e == nil:
		return ""
	case e.Message == "":
		return e.ID
	case e.ID == "":
		return e.Message
	}
	return e.ID + ": " + e.Message
}

// pubFinder tells which live publication is a change's. Nothing says how
// a registration's esr_name follows from the client name it was published
// with, so it is found by evidence, strongest first:
//
//  1. what the publish answer named (its esr_id, else its esr_name);
//  2. the one registration that appeared or changed between the lists
//     read just before and just after the publish (publishes to one
//     connection take turns, see engine.publishTurn), when there is
//     exactly one, or the one of them that what follows names;
//  3. what was recorded of it: its esr_id, then its esr_name;
//  4. an esr_name equal to the client name.
//
// Once a publish succeeded, what 1 and 2 (else 3 and 4) found is pinned:
// later reads look for that registration. After a publish whose outcome
// is unknown, only 1 and 2 count: finding the registration that was there
// before would not say that this upload arrived. Before any publish (a
// wait on a publication, a dry run) 3 and 4 decide; 4 is a guess, used
// only for what nothing was recorded of, and one that fails safe (no match
// means publishing again, which replaces the registration of that client
// name).
type pubFinder struct {
	clientName string
	id, name   string // recorded: esr_id and esr_name (the plan's match)
	answer     *client.Publication
	before     map[string]bool // pubKey of each registration listed before the publish; nil before it
	pinned     *client.Publication
}

// saw records the list read before the publish.
func (f *pubFinder) saw(pubs []client.Publication) {
	f.before = map[string]bool{}
	for _, p := range pubs {
		f.before[pubKey(p)] = true
	}
}

// pubKey is what changes when a registration is made or made again.
func pubKey(p client.Publication) string {
	return p.ESRID + "\x00" + p.ESRName + "\x00" + p.LastModifiedAt.UTC().Format(time.RFC3339Nano)
}

// pin settles which registration of the list read after the publish is
// this change's: by evidence (1, 2) or, when done says the publish
// succeeded, by what was recorded (3, 4).
func (f *pubFinder) pin(after []client.Publication, done bool) {
	p := f.evidence(after)
	if p == nil && done {
		p = f.recorded(refs(after))
	}
	if p != nil {
		cp := *p
		f.pinned = &cp
	}
}

func (f *pubFinder) find(pubs []client.Publication) *client.Publication {
	switch {
	case f.pinned != nil:
		return first(refs(pubs),
			func(p *client.Publication) bool { return f.pinned.ESRID != "" && p.ESRID == f.pinned.ESRID },
			func(p *client.Publication) bool { return f.pinned.ESRName != "" && p.ESRName == f.pinned.ESRName })
	case f.before != nil:
		return f.evidence(pubs)
	}
	return f.recorded(refs(pubs))
}

// evidence is what the answer named (1), else what appeared since the
// list before the publish (2).
func (f *pubFinder) evidence(pubs []client.Publication) *client.Publication {
	all := refs(pubs)
	if a := f.answer; a != nil {
		if p := first(all,
			func(p *client.Publication) bool { return a.ESRID != "" && p.ESRID == a.ESRID },
			func(p *client.Publication) bool { return a.ESRName != "" && p.ESRName == a.ESRName }); p != nil {
			return p
		}
	}
	if f.before == nil {
		return nil
	}
	var fresh []*client.Publication
	for _, p := range all {
		if !f.before[pubKey(*p)] {
			fresh = append(fresh, p)
		}
	}
	if len(fresh) == 1 {
		return fresh[0]
	}
	return f.recorded(fresh)
}

// recorded is the registration matching what was recorded (3), else the
// client name (4).
func (f *pubFinder) recorded(pubs []*client.Publication) *client.Publication {
	return first(pubs,
		func(p *client.Publication) bool { return f.id != "" && p.ESRID == f.id },
		func(p *client.Publication) bool { return f.name != "" && p.ESRName == f.name },
		func(p *client.Publication) bool { return p.ESRName == f.clientName })
}

// first is the first of pubs the first match accepts, trying each match in
// turn.
func first(pubs []*client.Publication, matches ...func(*client.Publication) bool) *client.Publication {
	for _, m := range matches {
		for _, p := range pubs {
			if m(p) {
				return p
			}
		}
	}
	return nil
}

func refs(pubs []client.Publication) []*client.Publication {
	out := make([]*client.Publication, len(pubs))
	for i := range pubs {
		out[i] = &pubs[i]
	}
	return out
}

// isConflict reports a 409: the name is taken, so the resource exists.
func isConflict(err error) bool {
	var ce *client.ConflictError
	return errors.As(err, &ce)
}
