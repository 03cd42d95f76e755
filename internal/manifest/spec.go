package manifest

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

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

// checkSpec validates one spec file and reports what is wrong with it,
// at the spec's own line where kin-openapi knows it, else at ref (the
// manifest's spec field). file is the spec path as shown to the user. It
// returns the document when it is valid, else nil.
func checkSpec(data []byte, file string, ref Pos, field string, ps *problems) *openapi3.T {
	h, err := readSpecHeader(data, file)
	if err != nil {
		ps.errorf(ref, field, "%s is not an OpenAPI document: not a YAML or JSON mapping", file)
		return nil
	}
	if dups := duplicateKeys(h.root, file); len(dups) > 0 {
		// kin-openapi, like every YAML and JSON decoder into a map, keeps
		// the last of two equal keys: a path or operation would vanish
		// from what is published without a word.
		for _, d := range dups {
			ps.errorf(d.at, "", "invalid OpenAPI document: duplicate key %q %s: first at %s", d.key, d.where, d.first)
		}
		return nil
	}
	switch {
	case h.swagger != "":
		ps.errorf(h.pos, "", "swagger: %s is not supported: convert to OpenAPI 3", h.swagger)
		return nil
	case h.openapi == "":
		ps.errorf(ref, field, "%s is not an OpenAPI document: it has no openapi field", file)
		return nil
	case !strings.HasPrefix(h.openapi, "3."):
		ps.errorf(h.pos, "", "openapi %s is not supported: want 3.x", h.openapi)
		return nil
	}
	doc, err := loadSpec(data, true)
	if err != nil {
		var ext *openapi3.DisallowedExternalRefError
		if errors.As(err, &ext) {
			ps.errorf(ref, field, "%s: external $ref %q is not supported: publish a single-file spec", file, ext.Ref)
			return nil
		}
		ps.errorf(ref, field, "%s: cannot load: %v", file, err)
		return nil
	}
	verr := doc.Validate(context.Background(), openapi3.EnableMultiError())
	if verr == nil {
		return doc
	}
	for _, e := range flattenErrors(verr) {
		pos := ref
		fld := field
		if loc, ok := originOf(e); ok && loc.Line > 0 {
			pos, fld = Pos{File: file, Line: loc.Line, Col: max(loc.Column, 1)}, ""
		}
		msg := e.Error()
		if fld != "" {
			msg = file + ": " + msg
		}
		ps.errorf(pos, fld, "invalid OpenAPI 3 document: %s", msg)
	}
	return nil
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

// Operations lists "METHOD /path" of every operation of an OpenAPI 3
// document (JSON or YAML bytes), sorted; the planner diffs two specs by it
// ("spec changed: +2 −1 operations").
func Operations(spec []byte) ([]string, error) {
	if h, err := readSpecHeader(spec, ""); err == nil && h.swagger != "" {
		return nil, errors.New("operations: swagger 2.0 is not supported: convert to OpenAPI 3")
	}
	doc, err := loadSpec(spec, false)
	if err != nil {
		return nil, fmt.Errorf("operations: %w", err)
	}
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
	return out, nil
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
