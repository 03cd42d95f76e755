package view

import (
	"fmt"
	"strings"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/plan"
)

// createAttr is one line of what a create will make: `+ name = value`,
// the way terraform shows a resource it creates. Value is already shown
// (quoted, or a bare number or "(known after apply)"); note, when set,
// follows it in parentheses.
type createAttr struct {
	Name, Value, Note string
}

// knownAfterApplyAs stands for a value that apply learns, saying how.
func knownAfterApplyAs(how string) string { return "(known after apply: " + how + ")" }

// createAttrs lists the attributes that matter of a resource the plan
// creates, in the order a reviewer reads them: where and as whom a
// connection logs in (and which key, by fingerprint: never the key), where a
// data action target points, what a publication publishes and to whom. It
// reads only the change's after snapshot, which holds no secret, so a saved
// plan shows the same. It returns nil for any other action.
func createAttrs(c *plan.Change) []createAttr {
	if c.Action != plan.Create || c.After == nil {
		return nil
	}
	a := c.After.Attrs
	var out []createAttr
	str := func(name string) {
		if v, ok := a[name]; ok {
			out = append(out, createAttr{Name: name, Value: fmt.Sprintf("%q", v)})
		}
	}
	switch c.ResourceKind() {
	case addr.KindConnection, addr.KindAuthorization:
		str("type")
		if _, ok := a["login_url"]; ok {
			str("login_url")
		} else {
			out = append(out, createAttr{Name: "login_url", Value: fmt.Sprintf("%q", plan.DefaultLoginURL), Note: "default"})
		}
		if _, jwt := a["client_id"]; jwt {
			str("client_id")
			str("username")
			str("key_fingerprint")
		} else {
			// Without JWT the connection is made by a person logging in
			// (OAuth): the org user is whoever that is.
			out = append(out, createAttr{Name: "username", Value: knownAfterApplyAs("whoever logs in to the org in a browser")})
		}
		str("alias")
	case addr.KindTarget:
		str("api_name")
		str("target_endpoint")
		str("type")
	case addr.KindPublication:
		if n, ok := a["operations"]; ok {
			out = append(out, createAttr{Name: "operations", Value: n})
		}
		switch ps, meta := a["permission_set"], a["metadata_permission_set"]; {
		case ps != "":
			str("permission_set")
		case meta != "":
			out = append(out, createAttr{Name: "permission_set", Value: fmt.Sprintf("%q", meta), Note: "from metadata_dir's permissionset-meta.xml"})
		default:
			out = append(out, createAttr{Name: "permission_set", Value: "(none)"})
		}
		str("external_client_app")
		str("connected_app")
	}
	return out
}

// createLines renders createAttrs, names padded to line up the values
// within one resource.
func createLines(c *plan.Change) []string {
	attrs := createAttrs(c)
	width := 0
	for _, at := range attrs {
		width = max(width, len(at.Name))
	}
	out := make([]string, 0, len(attrs))
	for _, at := range attrs {
		out = append(out, "+ "+at.Name+strings.Repeat(" ", width-len(at.Name))+" = "+at.text())
	}
	return out
}

func (at createAttr) text() string {
	if at.Note == "" {
		return at.Value
	}
	return at.Value + " (" + at.Note + ")"
}
