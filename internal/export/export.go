package export

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/live"
	"github.com/applinkctl/applinkctl/internal/manifest"
	"gopkg.in/yaml.v3"
)

// Options tune Render.
type Options struct {
	// PinAddon writes each app's resolved add-on name as its addon: field.
	// Set it when the add-on was chosen explicitly (--addon): an app with
	// several AppLink add-ons cannot be planned without one, and with one
	// add-on leaving it out keeps the manifest valid across re-provisioning.
	PinAddon bool
}

// Variable is an environment variable the exported manifest references and
// the user must set before plan: the API never returns JWT client ids or
// keys, and not the username of a connection still connecting.
type Variable struct {
	Name    string       // e.g. ACME_API_PROD_ORG_CLIENT_ID
	Address addr.Address // the resource that needs it
	// Purpose says what to put in it, in words.
	Purpose string
	// Secret is set for private keys: pass them from a secret store, never
	// commit or echo them.
	Secret bool
}

// Result is an exported manifest and what its reader must know.
type Result struct {
	// YAML is the manifest text, ending in a newline.
	YAML []byte
	// Variables are the ${VAR} references and private_key_env names the
	// manifest uses, sorted by name.
	Variables []Variable
	// Counts is what the manifest declares; publications are counted
	// although they are written commented out.
	Counts manifest.Counts
	// Notes are per-resource remarks worth showing beside the file (a
	// failed connection that the first plan will replace, a connection
	// whose org type is unknown and was left out), sorted.
	Notes []string
}

// ErrNoApps is returned by Render for a world without apps.
var ErrNoApps = errors.New("export: no apps to export")

// The login URLs applinkctl can infer from an org's instance URL.
const (
	productionLoginURL = "https://login.salesforce.com"
	sandboxLoginURL    = "https://test.salesforce.com"
)

// Render writes the manifest describing w. The same world gives the same
// bytes: apps, connections, authorizations, targets and publications are
// sorted by name, and nothing time-dependent is written.
func Render(w *live.World, opts Options) (*Result, error) {
	if w == nil || len(w.Apps) == 0 {
		return nil, ErrNoApps
	}
	r := &renderer{opts: opts, used: map[string]bool{}}
	names := make([]string, 0, len(w.Apps))
	for name, a := range w.Apps {
		if a == nil {
			return nil, fmt.Errorf("export: app %s: not read", name)
		}
		names = append(names, name)
	}
	slices.Sort(names)

	apps := mapping()
	for i, name := range names {
		k := key(lit(name))
		if i > 0 {
			k.HeadComment = "\n" // a blank line between apps; see tidy
		}
		apps.Content = append(apps.Content, k, r.app(w.Apps[name]))
	}
	root := mapping(key("version"), &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: "1"}, key("apps"), apps)
	doc := &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}}
	slices.SortFunc(r.vars, func(a, b Variable) int { return cmp.Compare(a.Name, b.Name) })
	slices.Sort(r.notes)
	doc.HeadComment = header(names, r.vars, r.counts.Publications > 0)

	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("export: encode: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("export: encode: %w", err)
	}
	return &Result{YAML: tidy(buf.Bytes()), Variables: r.vars, Counts: r.counts, Notes: r.notes}, nil
}

// renderer accumulates the variables, counts and notes of one Render.
type renderer struct {
	opts   Options
	used   map[string]bool // variable names taken
	vars   []Variable
	counts manifest.Counts
	notes  []string
}

func (r *renderer) app(a *live.App) *yaml.Node {
	r.counts.Apps++
	n := mapping()
	if r.opts.PinAddon && a.AddonName != "" {
		v := scalar(lit(a.AddonName))
		if a.Attachment != "" {
			v.LineComment = "attached as " + a.Attachment
		}
		n.Content = append(n.Content, key("addon"), v)
	}

	connNames := slices.Sorted(maps.Keys(a.Connections))
	conns := mapping()
	for _, name := range connNames {
		if k, v := r.connection(a, name, a.Connections[name]); k != nil {
			conns.Content = append(conns.Content, k, v)
		}
	}
	if len(conns.Content) > 0 {
		n.Content = append(n.Content, key("connections"), conns)
	}

	auths := mapping()
	for _, name := range slices.Sorted(maps.Keys(a.Authorizations)) {
		if k, v := r.authorization(a.Name, name, a.Authorizations[name]); k != nil {
			auths.Content = append(auths.Content, k, v)
		}
	}
	if len(auths.Content) > 0 {
		n.Content = append(n.Content, key("authorizations"), auths)
	}
	if len(n.Content) == 0 {
		// An app with nothing under its add-on still names the add-on it
		// was read from, so the manifest stays a valid, adoptable file.
		n.Style = yaml.FlowStyle
		n.LineComment = "no connections or authorizations yet"
	}
	return n
}

// connection renders one live connection, or nil for one whose org type is
// unknown (it would not validate).
func (r *renderer) connection(a *live.App, name string, c *live.Connection) (*yaml.Node, *yaml.Node) {
	address := addr.Connection(a.Name, name)
	typ, ok := orgType(c.Org.Type)
	if !ok {
		r.note(address, fmt.Sprintf("left out: unknown org type %q", c.Org.Type))
		return nil, nil
	}
	r.counts.Connections++
	k := key(lit(name))
	k.LineComment = r.statusComment(address, c.Status, c.Error, connectionPending, connectionBroken)
	n := mapping(key("type"), scalar(string(typ)))
	loginNote := r.loginURL(n, c.Org.InstanceURL)
	if strings.EqualFold(c.ConnectionMethod, "JWT") {
		if typ == manifest.Salesforce {
			n.Content = append(n.Content, r.jwt(address, c.Org.Username)...)
		} else {
			r.note(address, "a JWT Data Cloud connection cannot be declared (the API has no such route): written as browser OAuth, the plan will want to replace it")
		}
	}

	if why := a.Unlisted[name]; why != "" {
		// A failed connection's children, say: the API would not list
		// them, so none is written; the first plan replaces the
		// connection and creates what the file then declares.
		r.note(address, why+": none written")
	}
	switch typ {
	case manifest.DataCloud:
		if targets, listed := a.Targets[name]; listed && len(targets) > 0 {
			n.Content = append(n.Content, key("data_action_targets"), r.targets(a.Name, name, targets))
		}
	case manifest.Salesforce:
		if pubs := a.Publications[name]; len(pubs) > 0 {
			last := n.Content[len(n.Content)-2]
			last.FootComment = r.publications(pubs)
		}
	}
	placeComment(n, 0, loginNote)
	return k, n
}

func (r *renderer) authorization(app, name string, au *live.Authorization) (*yaml.Node, *yaml.Node) {
	address := addr.Authorization(app, name)
	typ, ok := orgType(au.Org.Type)
	if !ok {
		r.note(address, fmt.Sprintf("left out: unknown org type %q", au.Org.Type))
		return nil, nil
	}
	r.counts.Authorizations++
	k := key(lit(name))
	k.LineComment = r.statusComment(address, au.Status, au.Error, authorizationPending, authorizationBroken)
	n := mapping(key("type"), scalar(string(typ)))
	loginNote := r.loginURL(n, au.Org.InstanceURL)
	if strings.EqualFold(au.ConnectionMethod, "JWT") {
		if au.Alias != "" && au.Alias != "applink:"+name {
			n.Content = append(n.Content, key("alias"), scalar(lit(au.Alias)))
		}
		n.Content = append(n.Content, r.jwt(address, au.Org.Username)...)
	}
	placeComment(n, 0, loginNote)
	return k, n
}

// jwt is the jwt: key and block of a JWT resource: the username as the org
// reports it, the client id and key as variables with a comment.
func (r *renderer) jwt(a addr.Address, username string) []*yaml.Node {
	base := envBase(a)
	clientVar := r.variable(base+"_CLIENT_ID", a, "consumer key of the connected app holding the key's certificate", false)
	keyVar := r.variable(base+"_PRIVATE_KEY", a, "PEM private key (a secret)", true)
	k := key("jwt")
	k.HeadComment = "The API returns neither client id nor key: set " + clientVar + " to the connected\n" +
		"app's consumer key and " + keyVar + " to the PEM private key."
	user := scalar(lit(username))
	if username == "" {
		uv := r.variable(base+"_USERNAME", a, "Salesforce username the JWT flow signs in as", false)
		user = scalar("${" + uv + "}")
		user.LineComment = "not reported while the org is not connected"
	}
	n := mapping(
		key("client_id"), scalar("${"+clientVar+"}"),
		key("username"), user,
		key("private_key_env"), scalar(keyVar),
	)
	return []*yaml.Node{k, n}
}

// loginURL adds login_url when the org's instance URL tells which login
// server it uses (a My Domain of a production org or of a sandbox), else a
// comment saying it is unknown, placed above the next field (see
// placeComment).
func (r *renderer) loginURL(n *yaml.Node, instanceURL string) string {
	switch inferLoginURL(instanceURL) {
	case sandboxLoginURL:
		v := scalar(sandboxLoginURL)
		v.LineComment = "inferred: a sandbox org (instance URL *.sandbox.my.salesforce.com)"
		n.Content = append(n.Content, key("login_url"), v)
	case productionLoginURL:
		v := scalar(productionLoginURL)
		v.LineComment = "inferred: a production org (instance URL *.my.salesforce.com)"
		n.Content = append(n.Content, key("login_url"), v)
	default:
		return "login_url: unknown (the API does not return it); without it the default\n" +
			productionLoginURL + " applies. Set " + sandboxLoginURL + " or a My Domain URL for a sandbox."
	}
	return ""
}

// placeComment puts a comment about the field at key index i of mapping n
// where yaml.v3 prints it right below that field: above the next key, or
// after the field when it is the last one.
func placeComment(n *yaml.Node, i int, comment string) {
	if comment == "" {
		return
	}
	if next := 2*i + 2; next < len(n.Content) {
		n.Content[next].HeadComment = joinComments(comment, n.Content[next].HeadComment)
		return
	}
	last := n.Content[len(n.Content)-2]
	last.FootComment = joinComments(comment, last.FootComment)
}

func joinComments(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "\n" + b
}

// inferLoginURL maps an instance URL on Salesforce's My Domain hosts to the
// login server of its org kind; "" when it cannot tell.
func inferLoginURL(instanceURL string) string {
	u, err := url.Parse(instanceURL)
	if err != nil || u.Scheme != "https" {
		return ""
	}
	host := strings.ToLower(u.Hostname())
	switch {
	case strings.HasSuffix(host, ".sandbox.my.salesforce.com"):
		return sandboxLoginURL
	case strings.HasSuffix(host, ".my.salesforce.com"):
		return productionLoginURL
	}
	return ""
}

func (r *renderer) targets(app, conn string, ts []live.Target) *yaml.Node {
	ts = slices.Clone(ts)
	slices.SortFunc(ts, func(a, b live.Target) int { return cmp.Compare(a.Label, b.Label) })
	n := mapping()
	for _, t := range ts {
		r.counts.Targets++
		address := addr.Target(app, conn, t.Label)
		k := key(lit(t.Label))
		k.LineComment = r.statusComment(address, t.Status, nil, targetPending, targetBroken)
		v := mapping(key("api_name"), scalar(lit(t.APIName)), key("target_endpoint"), scalar(lit(t.TargetEndpoint)))
		if t.Type != "" && t.Type != "webhook" {
			v.Content = append(v.Content, key("type"), scalar(lit(t.Type)))
		}
		n.Content = append(n.Content, k, v)
	}
	return n
}

// publications is the commented-out publications: block of a connection.
func (r *renderer) publications(ps []live.Publication) string {
	ps = slices.Clone(ps)
	slices.SortFunc(ps, func(a, b live.Publication) int { return cmp.Compare(a.ESRName, b.ESRName) })
	var b strings.Builder
	b.WriteString("The API does not return published specs: uncomment each publication with the path\n" +
		"of its OpenAPI spec to manage it. Until then the plan lists it as unmanaged and leaves it alone.\n" +
		"Each is named by its registration (esr_name); if it was published under another client name,\n" +
		"use that name instead, or the next apply publishes a second registration.\n")
	b.WriteString("publications:\n")
	for _, p := range ps {
		r.counts.Publications++
		fmt.Fprintf(&b, "  %s:", yamlKey(lit(p.ESRName)))
		if when := p.LastModifiedAt; !when.IsZero() || p.LastModifiedBy != "" {
			b.WriteString("  # published")
			if !when.IsZero() {
				b.WriteString(" " + when.UTC().Format("2006-01-02"))
			}
			if p.LastModifiedBy != "" {
				b.WriteString(" by " + oneLine(p.LastModifiedBy))
			}
		}
		b.WriteString("\n    spec: api/" + fileStem(p.ESRName) + ".yaml\n")
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// Status predicates per kind (docs/api.md, "Answers applinkctl accepts").
var (
	connectionPending    = []string{live.StatusConnecting, live.StatusDisconnecting}
	connectionBroken     = []string{live.StatusFailed, live.StatusDisconnected}
	authorizationPending = []string{live.StatusAuthorizing}
	authorizationBroken  = []string{live.StatusFailed, live.StatusDisconnected}
	targetPending        = []string{live.StatusPending, live.StatusCreating, live.StatusGeneratingSigningKey}
	targetBroken         = []string{live.StatusCreationFailed}
)

// statusComment is the line comment of a resource that is not settled and
// healthy, and records a note for it; "" otherwise.
func (r *renderer) statusComment(a addr.Address, status string, e *live.ErrorInfo, pending, broken []string) string {
	switch {
	case slices.Contains(broken, status):
		s := "status: " + status
		if e != nil && e.ID != "" {
			s += " (" + oneLine(e.ID) + ")"
		}
		r.note(a, s+": the first plan will replace it")
		return s + ": the first plan replaces it"
	case slices.Contains(pending, status):
		r.note(a, "status: "+status+": the first plan waits for it")
		return "status: " + status
	}
	return ""
}

func (r *renderer) note(a addr.Address, s string) { r.notes = append(r.notes, string(a)+": "+s) }

// variable claims a unique variable name built from want and records it.
func (r *renderer) variable(want string, a addr.Address, purpose string, secret bool) string {
	name := want
	for i := 2; r.used[name]; i++ {
		name = want + "_" + strconv.Itoa(i)
	}
	r.used[name] = true
	r.vars = append(r.vars, Variable{Name: name, Address: a, Purpose: purpose, Secret: secret})
	return name
}

// envBase is the variable-name stem of a resource: app and name, upper
// case, every other character an underscore (acme-api/connection/prod_org
// → ACME_API_PROD_ORG).
func envBase(a addr.Address) string {
	p, err := addr.Parse(string(a))
	if err != nil {
		return envName(string(a))
	}
	return envName(p.App + "_" + p.Name)
}

func envName(s string) string {
	var b strings.Builder
	under := false
	for _, r := range strings.ToUpper(s) {
		if (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			under = false
			continue
		}
		if !under && b.Len() > 0 {
			b.WriteByte('_')
			under = true
		}
	}
	out := strings.TrimSuffix(b.String(), "_")
	if out == "" || (out[0] >= '0' && out[0] <= '9') {
		out = "APP_" + out // a variable name cannot start with a digit (an app UUID)
	}
	return out
}

// header is the comment at the top of the file.
func header(apps []string, vars []Variable, pubs bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Written by applinkctl export from the live AppLink state of %s.\n", strings.Join(apps, ", "))
	b.WriteString("The first plan of this file adopts everything below: it records it in state and\n" +
		"changes nothing. Check the comments, then run applinkctl plan.")
	if len(vars) > 0 {
		b.WriteString("\n\nSet these environment variables first (the API never returns JWT client ids or keys):\n")
		width := 0
		for _, v := range vars {
			width = max(width, len(v.Name))
		}
		for _, v := range vars {
			fmt.Fprintf(&b, "  %-*s  %s: %s\n", width, v.Name, v.Address, v.Purpose)
		}
		b.WriteString("Private keys belong in a secret store: pass them through the environment, never commit them.")
	}
	if pubs {
		b.WriteString("\n\nPublications are listed commented out: the API does not return their specs.")
	}
	return b.String()
}

// tidy removes the trailing spaces yaml.v3 writes on the blank lines that
// separate apps.
func tidy(b []byte) []byte {
	lines := bytes.Split(b, []byte("\n"))
	for i, l := range lines {
		lines[i] = bytes.TrimRight(l, " \t")
	}
	return bytes.Join(lines, []byte("\n"))
}

// orgType maps an API org type to the manifest's.
func orgType(t string) (manifest.OrgType, bool) {
	switch {
	case strings.EqualFold(t, live.OrgTypeSalesforce):
		return manifest.Salesforce, true
	case strings.EqualFold(t, live.OrgTypeDataCloud):
		return manifest.DataCloud, true
	}
	return "", false
}

// lit makes a live string literal in the manifest, where ${ starts a
// variable reference: $${ is a literal ${.
func lit(s string) string { return strings.ReplaceAll(s, "${", "$${") }

// oneLine keeps a live value from breaking out of a comment line.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
}

// yamlKey quotes a key for the hand-written commented block when YAML
// would not read it back as the same plain string.
func yamlKey(s string) string {
	s = oneLine(s)
	b, err := yaml.Marshal(s)
	if err != nil {
		return strconv.Quote(s)
	}
	return strings.TrimSuffix(string(b), "\n")
}

// fileStem is a client name as a file name suggestion.
func fileStem(s string) string {
	out := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '_'
	}, s)
	if out == "" {
		return "openapi"
	}
	return out
}

func mapping(content ...*yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: content}
}

func key(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

// scalar is a string value; Tag !!str makes yaml.v3 quote it when it would
// otherwise read back as another type (a label "true", an endpoint "1").
func scalar(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }
