package apply

import (
	"context"
	"errors"
	"fmt"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/client"
	"github.com/applinkctl/applinkctl/internal/manifest"
	"github.com/applinkctl/applinkctl/internal/plan"
)

// linkAPI is the part of *client.AppLink the engine calls: one app's
// AppLink routes (applink-api.md §2).
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
	Publish(ctx context.Context, connection string, req client.PublishRequest) error
	ListPublications(ctx context.Context, connection string) ([]client.Publication, error)
}

// probe is what one read of a resource says, whatever its kind.
type probe struct {
	id       string
	status   string
	redirect string
	errMsg   string
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
		o.get = func(ctx context.Context, _ string) (probe, error) {
			pubs, err := link.ListPublications(ctx, parts.Connection)
			if err != nil {
				return probe{}, err
			}
			for _, p := range pubs {
				if p.ESRName == parts.Name {
					return probe{id: p.ESRID}, nil
				}
			}
			return probe{}, fmt.Errorf("publication %s: %w", parts.Name, client.ErrNotFound)
		}
		d, _ := c.Desired.(*manifest.Publication)
		if d != nil && c.Bundle != nil {
			b := c.Bundle
			o.post = func(ctx context.Context) (probe, error) {
				err := link.Publish(ctx, parts.Connection, client.PublishRequest{
					ClientName: d.ClientName, Zip: b.Zip, ExternalClientApp: d.ExternalClientApp,
					PermissionSet: d.PermissionSet, ConnectedApp: d.ConnectedApp,
				})
				return probe{}, err
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

// isConflict reports a 409: the name is taken, so the resource exists.
func isConflict(err error) bool {
	var ce *client.ConflictError
	return errors.As(err, &ce)
}
