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
	"gopkg.in/yaml.v3"
)

// The fast way to load a spec.
//
// kin-openapi's LoadFromData parses any document, JSON too, into a YAML node
// tree of the whole spec and decodes the document from it; with origins (for
// the lines of problems) it also builds an index over the tree and keeps both
// with the document. For a 10 MB spec that was 600 to 900 MB at peak, and
// Load paid it once for every publication that named the spec.
//
// fastSpec gets the same document for less. A JSON spec is read as it is; a
// YAML spec in block style is cut into pieces by indentation (yamlLines) and
// each piece parsed and converted to JSON on its own, so no node tree of the
// whole spec exists (any other YAML is parsed whole and its tree released
// part by part as it is converted). The two members that hold nearly all of
// a big spec, paths and the sections of components, are decoded one entry at
// a time, each entry exactly as kin-openapi's own JSON decoding decodes it;
// the rest of the document goes through kin-openapi's decoder as it is.
//
// It only ever answers for a spec it can read without doubt: anything unusual
// (YAML anchors, tags, duplicate keys, numbers JSON does not write the same,
// several documents, ...) and any failure makes it decline, and the caller
// loads the spec the slow way, which gives the messages, with lines, that it
// always gave. A valid spec of the usual kind never takes the slow way.

// maxFastDepth bounds the nesting the converter recurses into; deeper
// documents are left to the slow way, which has its own limits.
const maxFastDepth = 1000

// errDecline says the fast way does not answer for this spec.
var errDecline = errors.New("spec: not for the fast path")

// fastSpec loads an OpenAPI 3 document whose header is fine (an openapi field
// of 3.x and no swagger field), with external references refused, or reports
// false.
func fastSpec(data []byte) (*openapi3.T, bool) {
	if len(data) > math.MaxInt32 || !utf8.Valid(data) || bytes.ContainsRune(data, '\u0085') {
		return nil, false // (the two parsers read U+0085 differently)
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
	doc, err := sd.finish()
	if err != nil {
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
	rest       bytes.Buffer // the other top-level members, as a JSON object
	keys       map[string]bool
	paths      *openapi3.Paths
	components *openapi3.Components
	sections   map[string]bool // of components, decoded
	openapi    string          // the openapi field
}

func newSpecDecoder() *specDecoder {
	sd := &specDecoder{keys: map[string]bool{}, sections: map[string]bool{}}
	sd.rest.WriteByte('{')
	return sd
}

// begin starts the top-level member key, refusing a duplicate.
func (sd *specDecoder) begin(key string) error {
	if sd.keys[key] {
		return errDecline // the slow way says what a duplicate means
	}
	sd.keys[key] = true
	switch key {
	case "paths":
		sd.paths = openapi3.NewPaths()
		sd.paths.Extensions = map[string]any{}
	case "components":
		sd.components = &openapi3.Components{}
	}
	return nil
}

// member records a top-level member other than paths and components, its
// value as JSON.
func (sd *specDecoder) member(key string, raw []byte) error {
	if err := sd.begin(key); err != nil {
		return err
	}
	if strings.EqualFold(key, "paths") || strings.EqualFold(key, "components") || key == "swagger" {
		// A different case would also match the field in kin-openapi's
		// decoding; a swagger field is refused, with its line, by the
		// slow way.
		return errDecline
	}
	if key == "openapi" {
		var s string
		if json.Unmarshal(raw, &s) != nil || bytes.IndexByte(raw, '\\') >= 0 {
			return errDecline // not a plain string: the slow way reads it as YAML text
		}
		sd.openapi = s
	}
	if sd.rest.Len() > 1 {
		sd.rest.WriteByte(',')
	}
	writeJSONString(&sd.rest, key)
	sd.rest.WriteByte(':')
	sd.rest.Write(raw)
	return nil
}

// path decodes one entry of paths as openapi3.Paths.UnmarshalJSON does: an
// x- key is an extension, any other a path item decoded from the JSON of its
// generic value.
func (sd *specDecoder) path(key string, raw []byte) error {
	_, dupExt := sd.paths.Extensions[key]
	if sd.paths.Value(key) != nil || dupExt { // (Map would copy the map)
		return errDecline
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return err
	}
	if strings.HasPrefix(key, "x-") {
		sd.paths.Extensions[key] = v
		return nil
	}
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var item openapi3.PathItem
	if err := item.UnmarshalJSON(data); err != nil {
		return err
	}
	sd.paths.Set(key, &item)
	return nil
}

// componentSection is the field of c that the member name of components
// decodes into, as a pointer to its map, or nil for an extension (as
// openapi3.Components.UnmarshalJSON has it). A name that matches a field
// but for case is refused: kin-openapi's decoding would match it too.
func componentSection(c *openapi3.Components, name string) (any, error) {
	fields := []struct {
		name  string
		field any
	}{
		{"schemas", &c.Schemas}, {"parameters", &c.Parameters}, {"headers", &c.Headers},
		{"requestBodies", &c.RequestBodies}, {"responses", &c.Responses},
		{"securitySchemes", &c.SecuritySchemes}, {"examples", &c.Examples},
		{"links", &c.Links}, {"callbacks", &c.Callbacks},
	}
	for _, f := range fields {
		switch {
		case name == f.name:
			return f.field, nil
		case strings.EqualFold(name, f.name):
			return nil, errDecline
		}
	}
	return nil, nil
}

// component decodes one member of components whose value is raw JSON: a
// section whole, by its field's type, or an extension.
func (sd *specDecoder) component(name string, raw []byte) error {
	c := sd.components
	field, err := componentSection(c, name)
	if err != nil {
		return err
	}
	if field != nil {
		if sd.sections[name] {
			return errDecline
		}
		sd.sections[name] = true
		return json.Unmarshal(raw, field)
	}
	if _, dup := c.Extensions[name]; dup {
		return errDecline
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return err
	}
	if c.Extensions == nil {
		c.Extensions = map[string]any{}
	}
	c.Extensions[name] = v
	return nil
}

// section starts the section name of components, to be decoded entry by
// entry with entry; an empty one is an empty map, as encoding/json makes it.
func (sd *specDecoder) section(name string) (func(entry string, raw []byte) error, error) {
	field, err := componentSection(sd.components, name)
	if err != nil || field == nil || sd.sections[name] {
		return nil, errDecline
	}
	sd.sections[name] = true
	if err := json.Unmarshal([]byte("{}"), field); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	return func(entry string, raw []byte) error {
		if seen[entry] {
			return errDecline
		}
		seen[entry] = true
		return decodeEntry(field, entry, raw)
	}, nil
}

// decodeEntry decodes raw into a new element of the map field points to, as
// encoding/json does for an element of that map.
func decodeEntry(field any, name string, raw []byte) error {
	switch m := field.(type) {
	case *openapi3.Schemas:
		return setEntry(*m, name, raw)
	case *openapi3.ParametersMap:
		return setEntry(*m, name, raw)
	case *openapi3.Headers:
		return setEntry(*m, name, raw)
	case *openapi3.RequestBodies:
		return setEntry(*m, name, raw)
	case *openapi3.ResponseBodies:
		return setEntry(*m, name, raw)
	case *openapi3.SecuritySchemes:
		return setEntry(*m, name, raw)
	case *openapi3.Examples:
		return setEntry(*m, name, raw)
	case *openapi3.Links:
		return setEntry(*m, name, raw)
	case *openapi3.Callbacks:
		return setEntry(*m, name, raw)
	}
	return errDecline
}

func setEntry[M ~map[string]V, V any](m M, name string, raw []byte) error {
	var v V
	if err := json.Unmarshal(raw, &v); err != nil {
		return err
	}
	m[name] = v
	return nil
}

// finish decodes the other members with kin-openapi's decoder and puts
// paths and components in.
func (sd *specDecoder) finish() (*openapi3.T, error) {
	if !strings.HasPrefix(sd.openapi, "3.") {
		return nil, errDecline // the slow way says what is wrong with it
	}
	sd.rest.WriteByte('}')
	doc := &openapi3.T{}
	if err := doc.UnmarshalJSON(sd.rest.Bytes()); err != nil {
		return nil, err
	}
	doc.Paths, doc.Components = sd.paths, sd.components
	return doc, nil
}

// fromJSON reads a JSON spec, streaming paths and components.
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
	err := object(func(key string) error {
		switch key {
		case "paths":
			if err := sd.begin(key); err != nil {
				return err
			}
			return object(func(name string) error {
				r, err := raw()
				if err != nil {
					return err
				}
				return sd.path(name, r)
			})
		case "components":
			if err := sd.begin(key); err != nil {
				return err
			}
			return object(func(name string) error {
				if field, _ := componentSection(sd.components, name); field == nil || !nextIsObject(dec, data) {
					r, err := raw()
					if err != nil {
						return err
					}
					return sd.component(name, r)
				}
				entry, err := sd.section(name)
				if err != nil {
					return err
				}
				return object(func(e string) error {
					r, err := raw()
					if err != nil {
						return err
					}
					return entry(e, r)
				})
			})
		}
		r, err := raw()
		if err != nil {
			return err
		}
		return sd.member(key, r)
	})
	if err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errDecline
	}
	return nil
}

// nextIsObject reports whether the decoder's next value is a JSON object.
func nextIsObject(dec *json.Decoder, data []byte) bool {
	rest := bytes.TrimLeft(data[dec.InputOffset():], " \t\r\n:")
	return len(rest) > 0 && rest[0] == '{'
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

// yamlReader converts the YAML of a spec into the members of a specDecoder.
type yamlReader struct {
	sd  *specDecoder
	buf bytes.Buffer
}

// fromYAML reads a YAML spec. A spec in block style, as specs are written,
// is read a piece at a time (splitYAML): the top-level members, and the
// entries of paths and of the sections of components, each parsed on its
// own, so that no tree of the whole spec is ever in memory. Any other is
// parsed whole, and each part of its tree released once converted.
func (sd *specDecoder) fromYAML(data []byte) error {
	r := &yamlReader{sd: sd}
	t := newYAMLLines(data)
	top, ok := t.entries(t.documentStart(), t.len())
	if !ok || len(top) == 0 {
		v, err := r.parse(data)
		if err != nil {
			return err
		}
		return r.mapping(v, r.member)
	}
	for _, e := range top {
		name, bare := t.bareKey(e[0])
		if body, ok := t.entries(e[0]+1, e[1]); bare && ok && len(body) > 0 && (name == "paths" || name == "components") {
			if err := sd.begin(name); err != nil {
				return err
			}
			for _, b := range body {
				if err := r.chunkEntry(t, name, b); err != nil {
					return err
				}
			}
			continue
		}
		key, v, err := r.pair(t.text(e))
		if err != nil {
			return err
		}
		if err := r.member(key, v); err != nil {
			return err
		}
	}
	return nil
}

// chunkEntry reads the entry e of paths or components (parent).
func (r *yamlReader) chunkEntry(t yamlLines, parent string, e [2]int) error {
	if parent == "components" {
		name, bare := t.bareKey(e[0])
		field, _ := componentSection(r.sd.components, name)
		if body, ok := t.entries(e[0]+1, e[1]); bare && field != nil && ok && len(body) > 0 {
			entry, err := r.sd.section(name)
			if err != nil {
				return err
			}
			for _, b := range body {
				key, v, err := r.pair(t.text(b))
				if err != nil {
					return err
				}
				j, err := r.json(v)
				if err != nil {
					return err
				}
				if err := entry(key, j); err != nil {
					return err
				}
			}
			return nil
		}
	}
	key, v, err := r.pair(t.text(e))
	if err != nil {
		return err
	}
	if parent == "paths" {
		return r.path(key, v)
	}
	return r.component(key, v)
}

// parsedYAML, when set (by tests), is told the size of every piece of YAML
// parsed into a tree.
var parsedYAML func(n int)

// parse parses one YAML document and returns its top value.
func (r *yamlReader) parse(data []byte) (*yaml.Node, error) {
	if parsedYAML != nil {
		parsedYAML(len(data))
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := safeDecode(dec, &root); err != nil {
		return nil, err
	}
	var extra yaml.Node
	if err := safeDecode(dec, &extra); err != io.EOF {
		return nil, errDecline // a second document, or an error after the first
	}
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		return root.Content[0], nil
	}
	return &root, nil
}

// pair parses a piece of YAML that must be a mapping of one member, and
// returns its key and value.
func (r *yamlReader) pair(data []byte) (string, *yaml.Node, error) {
	top, err := r.parse(data)
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

// json converts n to JSON, in a buffer reused by the next call.
func (r *yamlReader) json(n *yaml.Node) ([]byte, error) {
	r.buf.Reset()
	if !yamlToJSON(&r.buf, n, 0) {
		return nil, errDecline
	}
	return r.buf.Bytes(), nil
}

// mapping calls member for each pair of the mapping n, releasing it.
func (r *yamlReader) mapping(n *yaml.Node, member func(key string, v *yaml.Node) error) error {
	if !plainMapping(n) {
		return errDecline
	}
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

// member reads one top-level member from its tree.
func (r *yamlReader) member(key string, v *yaml.Node) error {
	switch key {
	case "paths":
		if err := r.sd.begin(key); err != nil {
			return err
		}
		return r.mapping(v, r.path)
	case "components":
		if err := r.sd.begin(key); err != nil {
			return err
		}
		return r.mapping(v, r.component)
	}
	j, err := r.json(v)
	if err != nil {
		return err
	}
	return r.sd.member(key, j)
}

// path reads one entry of paths from its tree.
func (r *yamlReader) path(name string, v *yaml.Node) error {
	j, err := r.json(v)
	if err != nil {
		return err
	}
	return r.sd.path(name, j)
}

// component reads one member of components from its tree: a section entry
// by entry, or an extension.
func (r *yamlReader) component(name string, v *yaml.Node) error {
	if field, _ := componentSection(r.sd.components, name); field == nil || !plainMapping(v) {
		j, err := r.json(v)
		if err != nil {
			return err
		}
		return r.sd.component(name, j)
	}
	entry, err := r.sd.section(name)
	if err != nil {
		return err
	}
	return r.mapping(v, func(e string, ev *yaml.Node) error {
		j, err := r.json(ev)
		if err != nil {
			return err
		}
		return entry(e, j)
	})
}

// plainMapping reports whether n is a mapping with no anchor or tag.
func plainMapping(n *yaml.Node) bool {
	return n.Kind == yaml.MappingNode && n.Anchor == "" && n.Style&yaml.TaggedStyle == 0
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

// yamlKey is the name a mapping key gives its member: its text, as
// kin-openapi reads a key whatever it resolves to, for a plain or quoted
// scalar with no tag, anchor, null or merge.
func yamlKey(k *yaml.Node) (string, bool) {
	if k.Kind != yaml.ScalarNode || k.Anchor != "" || k.Style&yaml.TaggedStyle != 0 {
		return "", false
	}
	switch k.ShortTag() {
	case "!!null", "!!merge", "!!binary":
		return "", false
	}
	return k.Value, true
}

// yamlToJSON writes n as JSON, releasing its children as it goes. It
// returns false, having written part of it, for anything whose reading
// could differ between the YAML libraries and JSON: aliases, anchors,
// explicit tags, duplicate keys, and scalars that resolve to a value JSON
// would not spell the same (0x1F, 1_000, .5, True, .inf, ...).
func yamlToJSON(b *bytes.Buffer, n *yaml.Node, depth int) bool {
	if depth > maxFastDepth || n.Anchor != "" || n.Style&yaml.TaggedStyle != 0 {
		return false
	}
	switch n.Kind {
	case yaml.MappingNode:
		var seen map[string]bool
		if len(n.Content) > 16 {
			seen = make(map[string]bool, len(n.Content)/2)
		}
		b.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			key, ok := yamlKey(k)
			if !ok {
				return false
			}
			if seen != nil {
				if seen[key] {
					return false
				}
				seen[key] = true
			} else {
				for j := 0; j < i; j += 2 {
					if n.Content[j].Value == key {
						return false
					}
				}
			}
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONString(b, key)
			b.WriteByte(':')
			if !yamlToJSON(b, v, depth+1) {
				return false
			}
			n.Content[i+1] = nil // the key stays for the duplicate check
		}
		b.WriteByte('}')
		return true
	case yaml.SequenceNode:
		b.WriteByte('[')
		for i, item := range n.Content {
			if i > 0 {
				b.WriteByte(',')
			}
			if !yamlToJSON(b, item, depth+1) {
				return false
			}
			n.Content[i] = nil
		}
		b.WriteByte(']')
		return true
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str", "!!timestamp": // kin-openapi reads a timestamp as its text
			writeJSONString(b, n.Value)
			return true
		case "!!null":
			b.WriteString("null")
			return true
		case "!!bool":
			if n.Value == "true" || n.Value == "false" {
				b.WriteString(n.Value)
				return true
			}
		case "!!int", "!!float":
			if isJSONNumber(n.Value) {
				b.WriteString(n.Value)
				return true
			}
		}
	}
	return false
}

// isJSONNumber reports whether s is a number as JSON writes it.
func isJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() int {
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i - j
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

// writeJSONString writes s (valid UTF-8) as a JSON string.
func writeJSONString(b *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b.WriteString(s[start:i])
		switch c {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteString(`\u00`)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
		}
		start = i + 1
	}
	b.WriteString(s[start:])
	b.WriteByte('"')
}
