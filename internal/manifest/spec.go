package manifest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"gopkg.in/yaml.v3"
)

// specExt reports whether a spec file name has an extension the publish API
// accepts, and the name it gets inside the bundle.
func specName(path string) (string, bool) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
		return "api-spec.json", true
	case ".yaml", ".yml":
		return "api-spec.yaml", true
	}
	return "", false
}

// specVersion reads the openapi/swagger field of a spec and where it is.
type specHeader struct {
	openapi, swagger string
	pos              Pos
	root             *yaml.Node // the whole document, for duplicateKeys
}

func readSpecHeader(data []byte, file string) (specHeader, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return specHeader{}, err
	}
	h := specHeader{pos: Pos{File: file, Line: 1, Col: 1}, root: &root}
	top := &root
	if top.Kind == yaml.DocumentNode && len(top.Content) > 0 {
		top = top.Content[0]
	}
	if top.Kind != yaml.MappingNode {
		return h, errors.New("not a mapping")
	}
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		switch k.Value {
		case "openapi":
			h.openapi, h.pos = v.Value, Pos{File: file, Line: k.Line, Col: k.Column}
		case "swagger":
			h.swagger, h.pos = v.Value, Pos{File: file, Line: k.Line, Col: k.Column}
		}
	}
	return h, nil
}

// loadSpec parses an OpenAPI 3 document with external references refused,
// recording origins so validation errors can name a line.
func loadSpec(data []byte, includeOrigin bool) (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = false
	loader.IncludeOrigin = includeOrigin
	return loader.LoadFromData(data)
}

// specCheck is the outcome of checking one spec file: what is wrong with it,
// or, when nothing is, the x-sfdc names it declares. Load keeps it by file,
// so that a spec named by many publications is read and checked once, and
// reports it at each publication's spec field.
type specCheck struct {
	readErr  string        // the file could not be read
	findings []specFinding // problems, all errors
	names    map[string][]string
	valid    bool
}

// specFinding is one problem with a spec: at a line of the spec itself, or,
// without one (zero pos), at the manifest's spec field.
type specFinding struct {
	pos Pos
	msg string
}

// report adds the check's problems, those without a line of the spec at
// ref (the manifest's spec field, named field).
func (sc *specCheck) report(ref Pos, field string, ps *problems) {
	for _, f := range sc.findings {
		if f.pos.Line == 0 {
			ps.errorf(ref, field, "%s", f.msg)
		} else {
			ps.errorf(f.pos, "", "%s", f.msg)
		}
	}
}

// checkSpec validates one spec file and says what is wrong with it, at the
// spec's own line where kin-openapi knows it. file is the spec path as shown
// to the user.
//
// A valid spec of the usual kind is loaded and validated the cheap way
// (fastSpec); any other, and any the cheap way does not vouch for, the way
// it always was, which gives each problem its line.
func checkSpec(data []byte, file string) specCheck {
	if doc, ok := fastSpec(data); ok && !jsonHasDuplicateKey(data) && doc.Validate(context.Background(), openapi3.EnableMultiError()) == nil {
		opsMemo.put(sha256.Sum256(data), operationsOf(doc))
		return specCheck{valid: true, names: sfdcNames(doc)}
	}
	var sc specCheck
	atRef := func(format string, a ...any) {
		sc.findings = append(sc.findings, specFinding{msg: fmt.Sprintf(format, a...)})
	}
	h, err := readSpecHeader(data, file)
	if err != nil {
		atRef("%s is not an OpenAPI document: not a YAML or JSON mapping", file)
		return sc
	}
	if dups := duplicateKeys(h.root, file); len(dups) > 0 {
		// kin-openapi, like every YAML and JSON decoder into a map, keeps
		// the last of two equal keys: a path or operation would vanish
		// from what is published without a word.
		for _, d := range dups {
			sc.findings = append(sc.findings, specFinding{pos: d.at, msg: fmt.Sprintf("invalid OpenAPI document: duplicate key %q %s: first at %s", d.key, d.where, d.first)})
		}
		return sc
	}
	switch {
	case h.swagger != "":
		sc.findings = append(sc.findings, specFinding{pos: h.pos, msg: fmt.Sprintf("swagger: %s is not supported: convert to OpenAPI 3", h.swagger)})
		return sc
	case h.openapi == "":
		atRef("%s is not an OpenAPI document: it has no openapi field", file)
		return sc
	case !strings.HasPrefix(h.openapi, "3."):
		sc.findings = append(sc.findings, specFinding{pos: h.pos, msg: fmt.Sprintf("openapi %s is not supported: want 3.x", h.openapi)})
		return sc
	}
	doc, err := loadSpec(data, true)
	if err != nil {
		var ext *openapi3.DisallowedExternalRefError
		if errors.As(err, &ext) {
			atRef("%s: external $ref %q is not supported: publish a single-file spec", file, ext.Ref)
			return sc
		}
		atRef("%s: cannot load: %v", file, err)
		return sc
	}
	verr := doc.Validate(context.Background(), openapi3.EnableMultiError())
	if verr == nil {
		opsMemo.put(sha256.Sum256(data), operationsOf(doc))
		return specCheck{valid: true, names: sfdcNames(doc)}
	}
	for _, e := range flattenErrors(verr) {
		if loc, ok := originOf(e); ok && loc.Line > 0 {
			sc.findings = append(sc.findings, specFinding{
				pos: Pos{File: file, Line: loc.Line, Col: max(loc.Column, 1)},
				msg: "invalid OpenAPI 3 document: " + e.Error(),
			})
			continue
		}
		atRef("invalid OpenAPI 3 document: %s: %s", file, e.Error())
	}
	return sc
}

// flattenErrors splits kin-openapi's MultiError into its members.
func flattenErrors(err error) []error {
	var me openapi3.MultiError
	if errors.As(err, &me) {
		var out []error
		for _, e := range me {
			out = append(out, flattenErrors(e)...)
		}
		return out
	}
	return []error{err}
}

// originOf finds the innermost *openapi3.Origin along an error chain. kin-
// openapi's validation errors carry an Origin field on many wrapper and
// cluster types; reflection finds it without listing them all.
func originOf(err error) (openapi3.Location, bool) {
	var found openapi3.Location
	ok := false
	for e := err; e != nil; e = errors.Unwrap(e) {
		v := reflect.ValueOf(e)
		for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
			if v.IsNil() {
				break
			}
			v = v.Elem()
		}
		if v.Kind() != reflect.Struct {
			continue
		}
		f := v.FieldByName("Origin")
		if !f.IsValid() || f.Kind() != reflect.Pointer || f.IsNil() {
			continue
		}
		o, isOrigin := f.Interface().(*openapi3.Origin)
		if isOrigin && o.Key != nil && o.Key.Line > 0 {
			found, ok = *o.Key, true
		}
	}
	return found, ok
}

// LoadSpec decodes an OpenAPI document (JSON or YAML bytes) as
// kin-openapi's loader does with external references refused, without
// validating it: the cheap way (fastSpec) when it can, else through the
// loader. The planner reads the published and the declared spec with it to
// tell which operations changed.
func LoadSpec(spec []byte) (*openapi3.T, error) {
	if doc, ok := fastSpec(spec); ok {
		return doc, nil
	}
	return loadSpec(spec, false)
}

// Operations lists "METHOD /path" of every operation of an OpenAPI 3
// document (JSON or YAML bytes), sorted; the planner diffs two specs by it
// ("spec changed: +2 −1 operations").
//
// A plan asks it of every publication's spec after Load has checked the
// same bytes, so the lists of the specs this process has loaded are kept by
// digest (opsMemo): a spec is decoded once per run, not once per publication
// and again for the plan.
func Operations(spec []byte) ([]string, error) {
	sum := sha256.Sum256(spec)
	if ops, ok := opsMemo.get(sum); ok {
		return ops, nil
	}
	doc, ok := fastSpec(spec)
	if !ok {
		if h, err := readSpecHeader(spec, ""); err == nil && h.swagger != "" {
			return nil, errors.New("operations: swagger 2.0 is not supported: convert to OpenAPI 3")
		}
		var err error
		if doc, err = loadSpec(spec, false); err != nil {
			return nil, fmt.Errorf("operations: %w", err)
		}
	}
	ops := operationsOf(doc)
	opsMemo.put(sum, ops)
	return ops, nil
}

func operationsOf(doc *openapi3.T) []string {
	var out []string
	if doc.Paths != nil {
		for path, item := range doc.Paths.Map() {
			if item == nil {
				continue
			}
			for method := range item.Operations() {
				out = append(out, strings.ToUpper(method)+" "+path)
			}
		}
	}
	sort.Strings(out)
	return out
}

// opsMemo holds the operations of the specs loaded in this process, by the
// SHA-256 of their bytes. Operations is a function of the bytes alone, so a
// hit is the answer a decode would give. It holds a few dozen specs at
// most: a run names few distinct specs, and a list is small beside its spec.
var opsMemo = &memo{m: map[[32]byte][]string{}}

const memoSize = 64

type memo struct {
	mu sync.Mutex
	m  map[[32]byte][]string
}

func (c *memo) get(sum [32]byte) ([]string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ops, ok := c.m[sum]
	return slices.Clone(ops), ok
}

func (c *memo) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.m)
}

func (c *memo) put(sum [32]byte, ops []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= memoSize {
		clear(c.m)
	}
	c.m[sum] = slices.Clone(ops)
}

// sfdcNames collects the x-sfdc.heroku.authorization names a spec's
// operations declare, by key (externalClientApp, connectedApp,
// permissionSet); publishing under other names gives an API nobody may call.
func sfdcNames(doc *openapi3.T) map[string][]string {
	seen := map[string]map[string]bool{}
	if doc == nil || doc.Paths == nil {
		return nil
	}
	for _, item := range doc.Paths.Map() {
		if item == nil {
			continue
		}
		for _, op := range item.Operations() {
			x, _ := op.Extensions["x-sfdc"].(map[string]any)
			h, _ := x["heroku"].(map[string]any)
			a, _ := h["authorization"].(map[string]any)
			for k, v := range a {
				if name, ok := v.(string); ok && name != "" {
					if seen[k] == nil {
						seen[k] = map[string]bool{}
					}
					seen[k][name] = true
				}
			}
		}
	}
	out := map[string][]string{}
	for k, names := range seen {
		for n := range names {
			out[k] = append(out[k], n)
		}
		sort.Strings(out[k])
	}
	return out
}

// jsonHasDuplicateKey reports whether a JSON document repeats a key within
// one object. encoding/json keeps the last of two equal keys without a word
// (yaml.v3 refuses them), so the cheap way must not vouch for such a spec:
// the slow way names both places. Anything that is not valid JSON is left
// to the parsers and reports false.
func jsonHasDuplicateKey(data []byte) bool {
	if t := bytes.TrimLeft(data, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return false
	}
	type frame struct {
		keys      map[string]bool // nil for an array
		expectKey bool
	}
	var stack []*frame
	valueDone := func() { // a value ended: its object expects a key next
		if n := len(stack); n > 0 && stack[n-1].keys != nil {
			stack[n-1].expectKey = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				stack = append(stack, &frame{keys: map[string]bool{}, expectKey: true})
			case '[':
				stack = append(stack, &frame{})
			default:
				stack = stack[:len(stack)-1]
				if len(stack) == 0 {
					return false
				}
				valueDone()
			}
		case string:
			if top := stack[len(stack)-1]; top.keys != nil && top.expectKey {
				if top.keys[v] {
					return true
				}
				top.keys[v] = true
				top.expectKey = false
				continue
			}
			valueDone()
		default:
			valueDone()
		}
	}
}
