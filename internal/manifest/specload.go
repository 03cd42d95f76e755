package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"go.yaml.in/yaml/v4"
)

// The fast way to load a spec.
//
// kin-openapi's LoadFromData parses any document, JSON too, into a YAML node
// tree of the whole spec and decodes the document from it; with origins (for
// the lines of problems) it also builds an index over the tree and keeps both
// with the document. For a 10 MB spec that was 600 to 900 MB at peak, and
// Load paid it once for every publication that named the spec.
//
// fastSpec decodes the same document with kin-openapi's own decoders, a
// piece at a time. A YAML spec in block style (as specs are written) is cut
// into pieces by indentation (yamlLines): each top-level member, and each
// entry of paths and of the sections of components. A JSON spec is cut into
// the same pieces by a JSON tokenizer. Each piece is parsed on its own, with
// the YAML library and call kin-openapi uses (so a piece means to it what it
// means to kin-openapi), prepared as kin-openapi prepares a document, and
// decoded by kin-openapi's native YAML decoders: a path item as
// openapi3.Paths decodes its entries, a schema (or any entry of a section of
// components) as openapi3.Components decodes its sections, the rest as
// openapi3.T decodes a document. So no tree of the whole spec exists, and
// the document is the one kin-openapi's loader gives.
//
// It only ever answers for a spec it can read without doubt: anything unusual
// (YAML anchors, aliases and merge keys, duplicate keys, a swagger field,
// something it cannot cut) and any failure make it decline, and the caller
// loads the spec the slow way, which gives the messages, with lines, that it
// always gave. A valid spec of the usual kind never takes the slow way.

// errDecline says the fast way does not answer for this spec.
var errDecline = errors.New("spec: not for the fast path")

// fastSpec loads an OpenAPI 3 document whose header is fine (an openapi field
// of 3.x and no swagger field), with external references refused, or reports
// false.
func fastSpec(data []byte) (doc *openapi3.T, ok bool) {
	defer func() {
		// kin-openapi's decoders meet pieces of a spec here rather than
		// the whole: a panic declines, and the slow way answers as it
		// always did.
		if recover() != nil {
			doc, ok = nil, false
		}
	}()
	if len(data) > math.MaxInt32 || !utf8.Valid(data) || bytes.ContainsRune(data, '\u0085') {
		return nil, false // (kin-openapi reads a U+0085 in JSON as JSON)
	}
	sd := newSpecDecoder()
	var err error
	if t := bytes.TrimLeft(data, " \t\r\n"); len(t) > 0 && t[0] == '{' && json.Valid(data) {
		err = sd.fromJSON(data)
	} else {
		err = sd.fromYAML(data)
	}
	if err != nil {
		return nil, false
	}
	if doc, err = sd.finish(); err != nil {
		return nil, false
	}
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = false
	if err := loader.ResolveRefsIn(doc, nil); err != nil {
		return nil, false
	}
	return doc, true
}

// specDecoder assembles a document from its top-level members.
type specDecoder struct {
	rest       yaml.Node // the members other than paths and components, a mapping
	keys       map[string]bool
	paths      *openapi3.Paths
	components *openapi3.Components
	sections   map[string]bool // of components, begun
	header     specHeader      // as readSpecHeader reads it
}

func newSpecDecoder() *specDecoder {
	return &specDecoder{rest: yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}, keys: map[string]bool{}, sections: map[string]bool{}}
}

// begin starts the top-level member key, refusing a duplicate.
func (sd *specDecoder) begin(key string) error {
	if sd.keys[key] || key == "swagger" {
		// The slow way says what a duplicate means, and refuses a
		// swagger field with its line.
		return errDecline
	}
	sd.keys[key] = true
	return nil
}

// split starts paths or components (key), to be decoded entry by entry.
func (sd *specDecoder) split(key string) error {
	if err := sd.begin(key); err != nil {
		return err
	}
	if key == "paths" {
		sd.paths = openapi3.NewPaths()
		sd.paths.Extensions = map[string]any{} // as openapi3.Paths decodes it
	} else {
		sd.components = &openapi3.Components{}
	}
	return nil
}

// member records a top-level member whose value is v: its entries when it
// is paths or components, else the whole, decoded with the rest.
func (sd *specDecoder) member(key string, v *yaml.Node) error {
	if (key == "paths" || key == "components") && plainMapping(v) && len(v.Content) > 0 {
		if err := sd.split(key); err != nil {
			return err
		}
		return eachPair(v, func(name string, ev *yaml.Node) error {
			if key == "paths" {
				return sd.path(name, ev)
			}
			return sd.component(name, ev)
		})
	}
	if err := sd.begin(key); err != nil {
		return err
	}
	if err := prepare(v); err != nil {
		return err
	}
	sd.rest.Content = append(sd.rest.Content, keyNode(key), v)
	return nil
}

// path decodes one entry of paths, as openapi3.Paths decodes its entries.
func (sd *specDecoder) path(name string, v *yaml.Node) error {
	if _, dup := sd.paths.Extensions[name]; dup || sd.paths.Value(name) != nil { // (Map would copy the map)
		return errDecline
	}
	if err := prepare(v); err != nil {
		return err
	}
	var one openapi3.Paths
	if err := one.UnmarshalYAML(mapping(name, v)); err != nil {
		return err
	}
	for k, item := range one.Map() {
		sd.paths.Set(k, item)
	}
	for k, x := range one.Extensions {
		sd.paths.Extensions[k] = x
	}
	return nil
}

// component decodes one member of components: a section an entry at a time,
// anything else whole, as openapi3.Components decodes it.
func (sd *specDecoder) component(name string, v *yaml.Node) error {
	if sd.sections[name] {
		return errDecline
	}
	sd.sections[name] = true
	if componentSection(name) && plainMapping(v) {
		if err := mergeComponents(sd.components, name, v, true); err != nil {
			return err // the empty section, as decoding it whole makes it
		}
		seen := map[string]bool{}
		return eachPair(v, func(entry string, ev *yaml.Node) error {
			if seen[entry] {
				return errDecline
			}
			seen[entry] = true
			return mergeComponents(sd.components, name, mapping(entry, ev), false)
		})
	}
	return mergeComponents(sd.components, name, v, false)
}

// componentSections are the members of components with a field of their own.
var componentSections = []string{"schemas", "parameters", "headers", "requestBodies", "responses", "securitySchemes", "examples", "links", "callbacks"}

func componentSection(name string) bool {
	for _, s := range componentSections {
		if s == name {
			return true
		}
	}
	return false
}

// mergeComponents decodes {name: v} as openapi3.Components (with empty, an
// empty mapping for v's entries) and adds what it holds to c.
func mergeComponents(c *openapi3.Components, name string, v *yaml.Node, empty bool) error {
	if empty {
		v = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: v.Line, Column: v.Column}
	} else if err := prepare(v); err != nil {
		return err
	}
	var one openapi3.Components
	if err := one.UnmarshalYAML(mapping(name, v)); err != nil {
		return err
	}
	mergeSection(&c.Schemas, one.Schemas)
	mergeSection(&c.Parameters, one.Parameters)
	mergeSection(&c.Headers, one.Headers)
	mergeSection(&c.RequestBodies, one.RequestBodies)
	mergeSection(&c.Responses, one.Responses)
	mergeSection(&c.SecuritySchemes, one.SecuritySchemes)
	mergeSection(&c.Examples, one.Examples)
	mergeSection(&c.Links, one.Links)
	mergeSection(&c.Callbacks, one.Callbacks)
	for k, x := range one.Extensions {
		if c.Extensions == nil {
			c.Extensions = map[string]any{}
		}
		c.Extensions[k] = x
	}
	return nil
}

func mergeSection[M ~map[string]V, V any](into *M, from M) {
	if from == nil {
		return
	}
	if *into == nil {
		*into = make(M, len(from))
	}
	for k, v := range from {
		(*into)[k] = v
	}
}

// finish decodes the rest of the document and puts paths and components in.
func (sd *specDecoder) finish() (*openapi3.T, error) {
	if !strings.HasPrefix(sd.header.openapi, "3.") || sd.header.swagger != "" {
		return nil, errDecline // the slow way says what is wrong with it
	}
	doc := &openapi3.T{}
	if err := doc.UnmarshalYAML(&sd.rest); err != nil {
		return nil, err
	}
	if sd.paths != nil {
		doc.Paths = sd.paths
	}
	if sd.components != nil {
		doc.Components = sd.components
	}
	return doc, nil
}

// readHeader reads the openapi and swagger fields of a top-level piece as
// readSpecHeader reads them from the whole file (with the YAML library of
// the manifest, which the slow way's check uses), the last one winning.
func (sd *specDecoder) readHeader(piece []byte) error {
	h, err := readSpecHeader(piece, "")
	if err != nil {
		return errDecline
	}
	if h.openapi != "" {
		sd.header.openapi = h.openapi
	}
	if h.swagger != "" {
		sd.header.swagger = h.swagger
	}
	return nil
}

// fromJSON reads a JSON spec, each top-level member, and each entry of paths
// and of the sections of components, parsed on its own.
func (sd *specDecoder) fromJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	raw := func() ([]byte, error) {
		var r json.RawMessage
		err := dec.Decode(&r)
		return r, err
	}
	// object calls member for each member of the object that comes next.
	object := func(member func(key string) error) error {
		if err := expectDelim(dec, '{'); err != nil {
			return err
		}
		for dec.More() {
			key, err := stringToken(dec)
			if err != nil {
				return err
			}
			if err := member(key); err != nil {
				return err
			}
		}
		return expectDelim(dec, '}')
	}
	value := func() (*yaml.Node, error) {
		r, err := raw()
		if err != nil {
			return nil, err
		}
		return parseYAMLPiece(r)
	}
	err := object(func(key string) error {
		if (key == "paths" || key == "components") && nextObject(dec, data) == 1 {
			if err := sd.split(key); err != nil {
				return err
			}
			return object(func(name string) error {
				if key == "paths" {
					v, err := value()
					if err != nil {
						return err
					}
					return sd.path(name, v)
				}
				if !componentSection(name) || nextObject(dec, data) == 0 {
					v, err := value()
					if err != nil {
						return err
					}
					return sd.component(name, v)
				}
				if sd.sections[name] {
					return errDecline
				}
				sd.sections[name] = true
				if err := mergeComponents(sd.components, name, &yaml.Node{}, true); err != nil {
					return err
				}
				seen := map[string]bool{}
				return object(func(entry string) error {
					if seen[entry] {
						return errDecline
					}
					seen[entry] = true
					v, err := value()
					if err != nil {
						return err
					}
					return mergeComponents(sd.components, name, mapping(entry, v), false)
				})
			})
		}
		r, err := raw()
		if err != nil {
			return err
		}
		if err := sd.readHeader(append([]byte("{"+jsonString(key)+":"), append(r, '}')...)); err != nil {
			return err
		}
		v, err := parseYAMLPiece(r)
		if err != nil {
			return err
		}
		return sd.member(key, v)
	})
	if err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errDecline
	}
	return nil
}

func jsonString(s string) string {
	b, _ := json.Marshal(s) // a string: cannot fail
	return string(b)
}

// nextObject says what the decoder's next value is: 0 not an object, -1 an
// empty object, 1 an object with members.
func nextObject(dec *json.Decoder, data []byte) int {
	rest := bytes.TrimLeft(data[dec.InputOffset():], " \t\r\n:")
	if len(rest) == 0 || rest[0] != '{' {
		return 0
	}
	if rest = bytes.TrimLeft(rest[1:], " \t\r\n"); len(rest) > 0 && rest[0] == '}' {
		return -1
	}
	return 1
}

func expectDelim(dec *json.Decoder, d json.Delim) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if t != d {
		return errDecline
	}
	return nil
}

func stringToken(dec *json.Decoder) (string, error) {
	t, err := dec.Token()
	if err != nil {
		return "", err
	}
	s, ok := t.(string)
	if !ok {
		return "", errDecline
	}
	return s, nil
}

// fromYAML reads a YAML spec. A spec in block style is read a piece at a
// time (yamlLines): each top-level member, and each entry of paths and of
// the sections of components, parsed on its own. Any other is parsed whole.
func (sd *specDecoder) fromYAML(data []byte) error {
	t := newYAMLLines(data)
	top, ok := t.entries(t.documentStart(), t.len())
	if !ok || len(top) == 0 {
		if err := sd.readHeader(data); err != nil {
			return err
		}
		v, err := parseYAMLPiece(data)
		if err != nil {
			return err
		}
		if !plainMapping(v) {
			return errDecline
		}
		return eachPair(v, sd.member)
	}
	for _, e := range top {
		name, bare := t.bareKey(e[0])
		if body, ok := t.entries(e[0]+1, e[1]); bare && ok && len(body) > 0 && (name == "paths" || name == "components") {
			if err := sd.split(name); err != nil {
				return err
			}
			for _, b := range body {
				if err := sd.blockEntry(t, name, b); err != nil {
					return err
				}
			}
			continue
		}
		if err := sd.readHeader(t.text(e)); err != nil {
			return err
		}
		key, v, err := pair(t.text(e))
		if err != nil {
			return err
		}
		if err := sd.member(key, v); err != nil {
			return err
		}
	}
	return nil
}

// blockEntry reads the entry e of paths or of components (parent) of a
// block-style spec: a section of components an entry at a time.
func (sd *specDecoder) blockEntry(t yamlLines, parent string, e [2]int) error {
	name, bare := t.bareKey(e[0])
	if body, ok := t.entries(e[0]+1, e[1]); parent == "components" && bare && componentSection(name) && ok && len(body) > 0 {
		if sd.sections[name] {
			return errDecline
		}
		sd.sections[name] = true
		if err := mergeComponents(sd.components, name, &yaml.Node{}, true); err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, b := range body {
			entry, v, err := pair(t.text(b))
			if err != nil {
				return err
			}
			if seen[entry] {
				return errDecline
			}
			seen[entry] = true
			if err := mergeComponents(sd.components, name, mapping(entry, v), false); err != nil {
				return err
			}
		}
		return nil
	}
	key, v, err := pair(t.text(e))
	if err != nil {
		return err
	}
	if parent == "paths" {
		return sd.path(key, v)
	}
	return sd.component(key, v)
}

// parsedYAML, when set (by tests), is told the size of every piece of YAML
// parsed into a tree.
var parsedYAML func(n int)

// parseYAMLPiece parses one piece of a spec and returns its top value, as
// kin-openapi's loader parses a spec: the same library, the same call.
func parseYAMLPiece(data []byte) (*yaml.Node, error) {
	if parsedYAML != nil {
		parsedYAML(len(data))
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, err
	}
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		return root.Content[0], nil
	}
	return &root, nil
}

// pair parses a piece of YAML that must be a mapping of one member, and
// returns its key and value.
func pair(data []byte) (string, *yaml.Node, error) {
	top, err := parseYAMLPiece(data)
	if err != nil {
		return "", nil, err
	}
	if !plainMapping(top) || len(top.Content) != 2 {
		return "", nil, errDecline
	}
	key, ok := yamlKey(top.Content[0])
	if !ok {
		return "", nil, errDecline
	}
	return key, top.Content[1], nil
}

// eachPair calls member for each pair of the mapping n, releasing each once
// read.
func eachPair(n *yaml.Node, member func(key string, v *yaml.Node) error) error {
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		n.Content[i], n.Content[i+1] = nil, nil
		key, ok := yamlKey(k)
		if !ok {
			return errDecline
		}
		if err := member(key, v); err != nil {
			return err
		}
	}
	return nil
}

// keyNode is a mapping key, named as kin-openapi names one (a string).
func keyNode(name string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: name}
}

// mapping is the one-member mapping {name: v}.
func mapping(name string, v *yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{keyNode(name), v}}
}

// plainMapping reports whether n is a mapping with no anchor or tag.
func plainMapping(n *yaml.Node) bool {
	return n.Kind == yaml.MappingNode && n.Anchor == "" && n.Style&yaml.TaggedStyle == 0
}

// yamlKey is the name a mapping key gives its member: its text, as
// kin-openapi reads a key, for a scalar key with no anchor, null or merge.
func yamlKey(k *yaml.Node) (string, bool) {
	if k.Kind != yaml.ScalarNode || k.Anchor != "" || k.Tag == "!!null" || k.Tag == "!!merge" {
		return "", false
	}
	return k.Value, true
}

// prepare does to a piece what kin-openapi does to a whole document before
// decoding it: a scalar with an application's own tag (!md) or a timestamp
// is read as its text, a mapping key as its text (a string), and infinity
// and NaN are refused. It declines what kin-openapi would have to see whole:
// anchors, aliases and merge keys, which may reach across pieces.
func prepare(n *yaml.Node) error {
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		return errDecline
	}
	switch n.Kind {
	case yaml.ScalarNode:
		if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") || n.Tag == "!!timestamp" {
			n.Tag = "!!str"
		}
		if n.Tag == "!!float" {
			switch strings.ToLower(strings.TrimLeft(n.Value, "+-")) {
			case ".inf", ".nan":
				return errDecline
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Tag == "!!merge" || k.Kind == yaml.AliasNode || k.Tag == "!!null" && k.Kind == yaml.ScalarNode {
				return errDecline
			}
			if k.Kind == yaml.ScalarNode && k.Tag != "!!str" {
				k.Tag = "!!str"
			}
		}
	}
	for _, c := range n.Content {
		if err := prepare(c); err != nil {
			return err
		}
	}
	return nil
}

// yamlLines finds the pieces of a block-style YAML text: where each entry of
// a block mapping starts and ends, by indentation alone.
//
// In block style a line indented exactly as a mapping's keys, holding
// neither a comment nor a sequence entry, starts the mapping's next entry:
// whatever came before (deeper block values, a block scalar, whose content is
// indented deeper) has ended. The one way such a line can belong to the
// previous entry is inside a quoted scalar or a flow collection running over
// several lines, and then the previous piece is unterminated and does not
// parse: the read declines and the spec is read the slow way. So a piece that
// parses is the entry the whole document holds.
type yamlLines struct {
	data  []byte
	start []int32 // offset of each line, and len(data) last
}

func newYAMLLines(data []byte) yamlLines {
	t := yamlLines{data: data, start: make([]int32, 1, bytes.Count(data, []byte("\n"))+2)}
	for i, c := range data {
		if c == '\n' && i+1 < len(data) {
			t.start = append(t.start, int32(i+1))
		}
	}
	t.start = append(t.start, int32(len(data)))
	return t
}

func (t yamlLines) len() int { return len(t.start) - 1 }

// line is line i without its line break.
func (t yamlLines) line(i int) []byte {
	return bytes.TrimRight(t.data[t.start[i]:t.start[i+1]], "\r\n")
}

// text is the lines [e[0], e[1]).
func (t yamlLines) text(e [2]int) []byte { return t.data[t.start[e[0]]:t.start[e[1]]] }

// indent is line i's indentation and whether it holds content (neither
// blank nor a comment); ok is false when a tab is part of its indentation.
func (t yamlLines) indent(i int) (n int, content, ok bool) {
	l := t.line(i)
	for n < len(l) && l[n] == ' ' {
		n++
	}
	if n == len(l) {
		return n, false, true
	}
	if l[n] == '\t' || l[n] == '#' {
		// A tab may separate, but not indent: a blank line or a comment
		// after tabs is neither content nor a problem.
		rest := bytes.TrimLeft(l[n:], " \t")
		if len(rest) == 0 || rest[0] == '#' {
			return n, false, true
		}
		return n, false, false
	}
	return n, true, true
}

// documentStart is the first line of the document: after a "---" line
// that opens it, if any.
func (t yamlLines) documentStart() int {
	for i := 0; i < t.len(); i++ {
		if _, content, _ := t.indent(i); !content {
			continue
		}
		if l := t.line(i); bytes.HasPrefix(l, []byte("---")) && len(bytes.TrimSpace(l[3:])) == 0 {
			return i + 1
		}
		return 0
	}
	return 0
}

// entries splits the lines [from, to), which should hold the entries of a
// block mapping, into entries ([first line, end line)). ok is false when
// they are not entries of one block mapping that the rule above can split.
func (t yamlLines) entries(from, to int) (out [][2]int, ok bool) {
	ind := -1
	for i := from; i < to; i++ {
		n, content, ok := t.indent(i)
		if !ok {
			return nil, false
		}
		if !content {
			continue
		}
		if ind < 0 {
			ind = n
		}
		if n < ind {
			return nil, false
		}
		if n > ind {
			continue
		}
		l := t.line(i)[n:]
		switch l[0] {
		case '-', '?', '{', '[', '&', '*', '!', '|', '>', '%', '@', '`':
			return nil, false // not the key of a block mapping entry
		case '.':
			if bytes.HasPrefix(l, []byte("...")) {
				return nil, false
			}
		}
		if len(out) > 0 {
			out[len(out)-1][1] = i
		}
		out = append(out, [2]int{i, to})
	}
	if len(out) > 0 {
		out[0][0] = from // comments and blank lines before the first key
	}
	return out, true
}

// bareKey reads line i as a plain key of letters, digits and underscores
// with no value on its line ("  schemas:"), and returns the key.
func (t yamlLines) bareKey(i int) (string, bool) {
	l := bytes.TrimLeft(t.line(i), " ")
	j := 0
	for j < len(l) && (l[j] == '_' || l[j] >= 'a' && l[j] <= 'z' || l[j] >= 'A' && l[j] <= 'Z' || l[j] >= '0' && l[j] <= '9') {
		j++
	}
	if j == 0 || j >= len(l) || l[j] != ':' {
		return "", false
	}
	rest := bytes.TrimLeft(l[j+1:], " ")
	if len(rest) > 0 && (rest[0] != '#' || j+1 == len(l)-len(rest)) {
		return "", false // a value, or a comment not set off by a space
	}
	return string(l[:j]), true
}
