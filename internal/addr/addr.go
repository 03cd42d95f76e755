// Package addr names managed resources. An address is the one identifier a
// resource has everywhere: in plans, in state, in --target and --replace
// flags and in JSON output, so it is a plain string with a fixed grammar:
//
//	APP/connection/NAME
//	APP/connection/NAME/publication/CLIENT
//	APP/connection/NAME/target/LABEL
//	APP/authorization/NAME
package addr

import (
	"fmt"
	"strings"
)

// Kind is the kind of resource an address names.
type Kind string

// The kinds of resource applinkctl manages.
const (
	KindConnection    Kind = "connection"
	KindAuthorization Kind = "authorization"
	KindTarget        Kind = "target"
	KindPublication   Kind = "publication"
)

// Address names one resource. The zero value names nothing.
type Address string

// Connection is the address of a connection.
func Connection(app, name string) Address {
	return Address(app + "/connection/" + name)
}

// Authorization is the address of an authorization.
func Authorization(app, developerName string) Address {
	return Address(app + "/authorization/" + developerName)
}

// Target is the address of a data action target under a Data Cloud connection.
func Target(app, connection, label string) Address {
	return Address(app + "/connection/" + connection + "/target/" + label)
}

// Publication is the address of an API publication under a Salesforce connection.
func Publication(app, connection, clientName string) Address {
	return Address(app + "/connection/" + connection + "/publication/" + clientName)
}

// Parts is an address taken apart.
type Parts struct {
	App        string
	Kind       Kind
	Connection string // connection name, for connections and their children
	Name       string // the resource's own name: connection name, developer name, label or client name
}

// Parse checks an address and takes it apart.
func Parse(s string) (Parts, error) {
	seg := strings.Split(s, "/")
	bad := func() (Parts, error) {
		return Parts{}, fmt.Errorf("address %q: want APP/connection/NAME[/target/LABEL|/publication/CLIENT] or APP/authorization/NAME", s)
	}
	for _, p := range seg {
		if p == "" {
			return bad()
		}
	}
	switch {
	case len(seg) == 3 && seg[1] == "connection":
		return Parts{App: seg[0], Kind: KindConnection, Connection: seg[2], Name: seg[2]}, nil
	case len(seg) == 3 && seg[1] == "authorization":
		return Parts{App: seg[0], Kind: KindAuthorization, Name: seg[2]}, nil
	case len(seg) == 5 && seg[1] == "connection" && seg[3] == "target":
		return Parts{App: seg[0], Kind: KindTarget, Connection: seg[2], Name: seg[4]}, nil
	case len(seg) == 5 && seg[1] == "connection" && seg[3] == "publication":
		return Parts{App: seg[0], Kind: KindPublication, Connection: seg[2], Name: seg[4]}, nil
	}
	return bad()
}

// Parts takes a well-formed address apart; it panics on a malformed one,
// which only code (never input) can produce. Use Parse for input.
func (a Address) Parts() Parts {
	p, err := Parse(string(a))
	if err != nil {
		panic(err)
	}
	return p
}

// Kind is the kind of resource the address names.
func (a Address) Kind() Kind { return a.Parts().Kind }

// App is the Heroku app the resource belongs to.
func (a Address) App() string { return a.Parts().App }

// Parent is the connection that holds a target or publication, and "" for
// connections and authorizations.
func (a Address) Parent() Address {
	p := a.Parts()
	switch p.Kind {
	case KindTarget, KindPublication:
		return Connection(p.App, p.Connection)
	}
	return ""
}

func (a Address) String() string { return string(a) }
