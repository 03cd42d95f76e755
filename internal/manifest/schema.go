package manifest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"

	"github.com/invopop/jsonschema"
	validator "github.com/santhosh-tekuri/jsonschema/v5"
)

// SchemaID is the $id of the manifest schema: where the committed copy is
// published, so editors can fetch it by URL as well as by relative path.
const SchemaID = "https://raw.githubusercontent.com/applinkctl/applinkctl/main/schema/applink.schema.json"

// The wire-shape structs below are the manifest as written, the single
// source of the JSON Schema (through invopop/jsonschema) and of docs/manifest.md's
// field list. They are kept apart from the model in model.go so that the
// file format and the planner's types can change independently.

// fileWire is one manifest file.
type fileWire struct {
	Version int                `json:"version" jsonschema:"enum=1" jsonschema_description:"Manifest format version. Only 1 exists."`
	Apps    map[string]appWire `json:"apps" jsonschema_description:"Heroku apps by name (or UUID), each with what it should hold under one AppLink add-on. An app may be declared in only one file."`
}

// appWire is one Heroku app.
type appWire struct {
	Addon          string                       `json:"addon,omitempty" jsonschema:"minLength=1" jsonschema_description:"Which AppLink add-on of the app, by add-on name or id. Optional when the app has exactly one."`
	Connections    map[string]connectionWire    `json:"connections,omitempty" jsonschema_description:"Connections to Salesforce or Data Cloud orgs, by connection_name (docs/manifest.md, Names: 3-30 letters, digits and single underscores, starting with a letter, not ending with an underscore)."`
	Authorizations map[string]authorizationWire `json:"authorizations,omitempty" jsonschema_description:"Named authorizations the app's code uses at run time through the AppLink SDKs, by developer_name (same name rule as connections)."`
}

// connectionWire is one connection.
type connectionWire struct {
	Type              string                     `json:"type" jsonschema:"enum=salesforce,enum=datacloud" jsonschema_description:"Org type: salesforce or datacloud."`
	LoginURL          string                     `json:"login_url,omitempty" jsonschema:"minLength=1" jsonschema_description:"Salesforce login URL, https only (http only for loopback test servers). Default: the API's, https://login.salesforce.com. Sandboxes use https://test.salesforce.com or a My Domain URL."`
	JWT               *jwtWire                   `json:"jwt,omitempty" jsonschema_description:"JWT bearer flow instead of browser OAuth. Salesforce connections only: the API has no JWT route for Data Cloud connections."`
	Protect           bool                       `json:"protect,omitempty" jsonschema:"default=false" jsonschema_description:"When true applinkctl never deletes or replaces this connection; a plan that would is an error."`
	Publications      map[string]publicationWire `json:"publications,omitempty" jsonschema_description:"OpenAPI specs published to the org as External Service Registrations, by client_name. Salesforce connections only."`
	DataActionTargets map[string]targetWire      `json:"data_action_targets,omitempty" jsonschema_description:"Data Cloud data action targets that call the app, by label (same name rule as connections). Data Cloud connections only."`
}

// jwtWire is a JWT bearer configuration.
type jwtWire struct {
	ClientID       string `json:"client_id" jsonschema:"minLength=1" jsonschema_description:"Consumer key of the connected app or external client app holding the certificate of the key pair."`
	Username       string `json:"username" jsonschema:"minLength=1" jsonschema_description:"Salesforce username pre-authorized for that app."`
	PrivateKeyFile string `json:"private_key_file,omitempty" jsonschema:"minLength=1,oneof_required=private_key_file" jsonschema_description:"Path of the RSA private key (PEM, PKCS#1 or PKCS#8, unencrypted, at least 2048 bits), relative to the manifest. Exactly one of private_key_file and private_key_env."`
	PrivateKeyEnv  string `json:"private_key_env,omitempty" jsonschema:"minLength=1,oneof_required=private_key_env" jsonschema_description:"Name of the environment variable holding the RSA private key PEM text. Exactly one of private_key_file and private_key_env."`
}

// authorizationWire is one named authorization.
type authorizationWire struct {
	Type     string   `json:"type" jsonschema:"enum=salesforce,enum=datacloud" jsonschema_description:"Org type: salesforce or datacloud."`
	LoginURL string   `json:"login_url,omitempty" jsonschema:"minLength=1" jsonschema_description:"Salesforce login URL, https only (http only for loopback test servers). Default: the API's, https://login.salesforce.com."`
	Alias    string   `json:"alias,omitempty" jsonschema:"minLength=1" jsonschema_description:"Alias the SDKs can look the authorization up by. JWT only. Default: applink:<developer_name>."`
	JWT      *jwtWire `json:"jwt,omitempty" jsonschema_description:"JWT bearer flow instead of browser OAuth."`
	Protect  bool     `json:"protect,omitempty" jsonschema:"default=false" jsonschema_description:"When true applinkctl never deletes or replaces this authorization."`
}

// publicationWire is one published API.
type publicationWire struct {
	Spec              string `json:"spec" jsonschema:"minLength=1" jsonschema_description:"OpenAPI 3.x spec file (.json, .yaml or .yml), relative to the manifest. Swagger 2.0 is refused; external $refs are not followed."`
	MetadataDir       string `json:"metadata_dir,omitempty" jsonschema:"minLength=1" jsonschema_description:"Directory, relative to the manifest, whose connectedapp-meta.xml and permissionset-meta.xml are uploaded with the spec."`
	PermissionSet     string `json:"permission_set,omitempty" jsonschema:"minLength=1" jsonschema_description:"Permission set granting access to the API. Not together with a permissionset-meta.xml in metadata_dir."`
	ExternalClientApp string `json:"external_client_app,omitempty" jsonschema:"minLength=1" jsonschema_description:"External client app authorizing the API."`
	ConnectedApp      string `json:"connected_app,omitempty" jsonschema:"minLength=1" jsonschema_description:"Deprecated alternative to external_client_app. Not together with a connectedapp-meta.xml in metadata_dir."`
}

// targetWire is one data action target.
type targetWire struct {
	TargetEndpoint string `json:"target_endpoint" jsonschema:"minLength=1" jsonschema_description:"Path on the app that Data Cloud calls, starting with /."`
	APIName        string `json:"api_name,omitempty" jsonschema:"minLength=1" jsonschema_description:"API name of the target. Default: the label with spaces replaced by _."`
	Type           string `json:"type,omitempty" jsonschema:"enum=webhook,default=webhook" jsonschema_description:"Target type; webhook is the only one."`
}

// namePattern is the API's name rule (docs/manifest.md, "Names") without
// look-ahead: a letter, then letters and digits where each underscore is
// followed by a letter or digit (so no double and no trailing underscore); 3–30
// characters through minLength/maxLength. Load checks the same rule by hand to
// say which part of it a name breaks.
const namePattern = `^[A-Za-z](_?[A-Za-z0-9])*$`

func nameSchema() *jsonschema.Schema {
	minL, maxL := uint64(3), uint64(30)
	return &jsonschema.Schema{Type: "string", Pattern: namePattern, MinLength: &minL, MaxLength: &maxL}
}

// JSONSchemaExtend puts the name rule on the connection and authorization maps.
func (appWire) JSONSchemaExtend(s *jsonschema.Schema) {
	for _, p := range []string{"connections", "authorizations"} {
		if ps, ok := s.Properties.Get(p); ok {
			ps.PropertyNames = nameSchema()
		}
	}
}

// JSONSchemaExtend puts the name rule on target labels.
func (connectionWire) JSONSchemaExtend(s *jsonschema.Schema) {
	if ps, ok := s.Properties.Get("data_action_targets"); ok {
		ps.PropertyNames = nameSchema()
	}
	if ps, ok := s.Properties.Get("publications"); ok {
		one := uint64(1)
		ps.PropertyNames = &jsonschema.Schema{Type: "string", MinLength: &one}
	}
}

// JSONSchemaExtend requires at least one app name character.
func (fileWire) JSONSchemaExtend(s *jsonschema.Schema) {
	if ps, ok := s.Properties.Get("apps"); ok {
		one := uint64(1)
		ps.PropertyNames = &jsonschema.Schema{Type: "string", MinLength: &one}
	}
}

var (
	schemaOnce     sync.Once
	schemaBytes    []byte
	schemaDoc      map[string]any
	schemaCompiled *validator.Schema
	schemaErr      error
)

func buildSchema() {
	r := &jsonschema.Reflector{ExpandedStruct: true, Namer: func(t reflect.Type) string {
		n := strings.TrimSuffix(t.Name(), "Wire")
		if n == "" {
			return t.Name()
		}
		return strings.ToUpper(n[:1]) + n[1:]
	}}
	s := r.Reflect(&fileWire{})
	s.ID = SchemaID
	s.Title = "applinkctl manifest"
	s.Description = "applink.yaml: the Heroku AppLink connections, authorizations, data action targets and publications applinkctl keeps in place. See docs/manifest.md."
	raw, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		schemaErr = fmt.Errorf("schema: marshal: %w", err)
		return
	}
	schemaBytes = append(raw, '\n')
	if err := json.Unmarshal(schemaBytes, &schemaDoc); err != nil {
		schemaErr = fmt.Errorf("schema: reread: %w", err)
		return
	}
	c := validator.NewCompiler()
	if err := c.AddResource(SchemaID, bytes.NewReader(schemaBytes)); err != nil {
		schemaErr = fmt.Errorf("schema: add: %w", err)
		return
	}
	schemaCompiled, schemaErr = c.Compile(SchemaID)
}

// Schema returns the JSON Schema of a manifest file, indented, with a
// trailing newline; `applinkctl schema` prints it and
// schema/applink.schema.json is a copy of it, kept equal by a test.
func Schema() []byte {
	schemaOnce.Do(buildSchema)
	if schemaErr != nil {
		// The schema is built from Go types at compile time; failing here
		// is a programming error caught by every test of this package.
		panic(schemaErr)
	}
	return append([]byte(nil), schemaBytes...)
}

// validateSchema checks one file's JSON value against the schema and maps
// each failure to the YAML position of the offending value.
func validateSchema(d *doc, ps *problems) {
	Schema()
	err := schemaCompiled.Validate(d.value)
	if err == nil {
		return
	}
	ve, ok := err.(*validator.ValidationError)
	if !ok {
		ps.errorf(Pos{File: d.file, Line: 1, Col: 1}, "", "schema validation failed: %v", err)
		return
	}
	schemaLeaves(ve, d, ps)
}

func schemaLeaves(ve *validator.ValidationError, d *doc, ps *problems) {
	kw := lastSeg(ve.KeywordLocation)
	if strings.Contains(ve.KeywordLocation, "/propertyNames") {
		return // names are checked by hand with precise messages (names.go)
	}
	if kw == "oneOf" {
		oneOfProblem(ve, d, ps)
		return
	}
	if len(ve.Causes) > 0 {
		for _, c := range ve.Causes {
			schemaLeaves(c, d, ps)
		}
		return
	}
	n := d.posOf(ve.InstanceLocation)
	field := fieldOf(ve.InstanceLocation)
	switch kw {
	case "additionalProperties":
		obj, _ := valueAt(d.value, ve.InstanceLocation).(map[string]any)
		allowed := schemaProps(ve.AbsoluteKeywordLocation)
		var unknown []string
		for k := range obj {
			if _, ok := allowed[k]; !ok {
				unknown = append(unknown, k)
			}
		}
		sort.Strings(unknown)
		for _, k := range unknown {
			msg := fmt.Sprintf("unknown field %q", k)
			if s := suggest(k, allowed); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			kn := d.posOf(ve.InstanceLocation + "/" + escapePtr(k))
			ps.errorf(kn.at(), field, "%s", msg)
		}
	case "required":
		obj, _ := valueAt(d.value, ve.InstanceLocation).(map[string]any)
		req, _ := schemaAt(strings.TrimSuffix(fragment(ve.AbsoluteKeywordLocation), "/required")).(map[string]any)
		list, _ := req["required"].([]any)
		for _, r := range list {
			name, _ := r.(string)
			if _, ok := obj[name]; !ok {
				ps.errorf(n.at(), field, "missing required field %q", name)
			}
		}
	case "type":
		ps.errorf(n.val, field, "must be %s, not %s", typeWord(schemaTypeAt(ve.AbsoluteKeywordLocation)), jsonTypeWord(valueAt(d.value, ve.InstanceLocation)))
	case "enum":
		ps.errorf(n.val, field, "%s", enumMessage(field, valueAt(d.value, ve.InstanceLocation), schemaAt(fragment(ve.AbsoluteKeywordLocation))))
	case "const":
		ps.errorf(n.val, field, "%s", ve.Message)
	case "minLength":
		ps.errorf(n.val, field, "must not be empty")
	default:
		ps.errorf(n.val, field, "%s", ve.Message)
	}
}

// enumMessage says which values are allowed. It names the offending value
// only when it is a number (the version), never a string, which could have
// come from the environment.
func enumMessage(field string, got, enum any) string {
	list, _ := enum.([]any)
	words := make([]string, len(list))
	for i, v := range list {
		words[i] = fmt.Sprint(v)
	}
	if field == "version" {
		if _, isNum := got.(int64); isNum {
			return fmt.Sprintf("%d is not supported: this applinkctl reads version %s", got, strings.Join(words, ", "))
		}
	}
	switch len(words) {
	case 0:
		return "value not allowed"
	case 1:
		return "must be " + words[0]
	}
	return "must be one of " + strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// oneOfProblem explains a failed oneOf of required-property branches (the
// private_key_file / private_key_env choice) in words.
func oneOfProblem(ve *validator.ValidationError, d *doc, ps *problems) {
	n := d.posOf(ve.InstanceLocation)
	field := fieldOf(ve.InstanceLocation)
	branches, _ := schemaAt(fragment(ve.AbsoluteKeywordLocation)).([]any)
	obj, _ := valueAt(d.value, ve.InstanceLocation).(map[string]any)
	var names, present []string
	for _, b := range branches {
		bm, _ := b.(map[string]any)
		req, _ := bm["required"].([]any)
		for _, r := range req {
			s, _ := r.(string)
			names = append(names, s)
			if _, ok := obj[s]; ok {
				present = append(present, s)
			}
		}
	}
	if len(names) == 0 || obj == nil {
		for _, c := range ve.Causes {
			schemaLeaves(c, d, ps)
		}
		return
	}
	if len(present) > 1 {
		ps.errorf(n.at(), field, "set only one of %s", strings.Join(present, " and "))
		return
	}
	ps.errorf(n.at(), field, "one of %s is required", strings.Join(names, " or "))
}

func lastSeg(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

func fragment(abs string) string {
	if _, f, ok := strings.Cut(abs, "#"); ok {
		return f
	}
	return ""
}

// valueAt resolves a JSON pointer in a decoded value.
func valueAt(v any, ptr string) any {
	if ptr == "" {
		return v
	}
	for _, seg := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		seg = unescapePtr(seg)
		switch t := v.(type) {
		case map[string]any:
			v = t[seg]
		case []any:
			i := 0
			if _, err := fmt.Sscanf(seg, "%d", &i); err != nil || i < 0 || i >= len(t) {
				return nil
			}
			v = t[i]
		default:
			return nil
		}
	}
	return v
}

func schemaAt(frag string) any { return valueAt(schemaDoc, frag) }

// schemaProps lists the properties allowed next to an additionalProperties keyword.
func schemaProps(absKeyword string) map[string]struct{} {
	parent, _ := schemaAt(strings.TrimSuffix(fragment(absKeyword), "/additionalProperties")).(map[string]any)
	props, _ := parent["properties"].(map[string]any)
	out := make(map[string]struct{}, len(props))
	for k := range props {
		out[k] = struct{}{}
	}
	return out
}

func schemaTypeAt(absKeyword string) string {
	s, _ := schemaAt(fragment(absKeyword)).(string)
	return s
}

func typeWord(t string) string {
	switch t {
	case "object":
		return "a mapping"
	case "array":
		return "a list"
	case "string":
		return "a string"
	case "integer":
		return "an integer"
	case "boolean":
		return "true or false"
	case "number":
		return "a number"
	}
	return t
}

func jsonTypeWord(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int64, float64:
		return "a number"
	}
	return "a value"
}

// suggest returns the allowed name closest to s when it is close enough to
// be a typo, else "".
func suggest(s string, allowed map[string]struct{}) string {
	best, bestD := "", 1<<30
	for a := range allowed {
		d := levenshtein(s, a)
		if d < bestD || (d == bestD && a < best) {
			best, bestD = a, d
		}
	}
	if best == "" || bestD > 2 && bestD > len(s)/3 {
		return ""
	}
	return best
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
