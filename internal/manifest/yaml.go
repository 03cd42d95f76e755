package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// maxDepth bounds nesting. A manifest needs six levels; 32 leaves room for
// anything sane while refusing the deeply nested inputs that exist only to
// exhaust a parser.
const maxDepth = 32

// defaultMaxFileSize is the cap on a manifest or spec file: far above any
// real manifest, far below what would hurt the machine.
const defaultMaxFileSize = 10 << 20

// node is where a value sits in its file: the position of its key (for a
// mapping value) and of the value itself.
type node struct {
	key Pos
	val Pos
}

// at is the position to report for a value: its key when it has one, since
// that is where a person looks first.
func (n node) at() Pos {
	if n.key.Line > 0 {
		return n.key
	}
	return n.val
}

// lineCol is a position inside a doc's own file; the doc holds the name.
type lineCol struct{ line, col int32 }

// posNode is where one value of a file sits, and where its children do, by
// mapping key or by list index (in decimal). It is a tree rather than a map
// keyed by JSON pointer because a pointer spells out every ancestor: in a
// 10 MB manifest the pointers alone were more memory than the values.
type posNode struct {
	key, val lineCol
	kids     []posKid // sorted by name
}

// posKid is a child of a posNode: a mapping key, or a list index in
// decimal. A sorted slice rather than a map: most mappings of a manifest
// have one to three keys, and an empty Go map alone is larger than that.
type posKid struct {
	name string
	node *posNode
}

// kid returns the child called name, or nil.
func (p *posNode) kid(name string) *posNode {
	i, ok := slices.BinarySearchFunc(p.kids, name, func(k posKid, name string) int { return strings.Compare(k.name, name) })
	if !ok {
		return nil
	}
	return p.kids[i].node
}

func (p *posNode) sortKids() {
	slices.SortFunc(p.kids, func(a, b posKid) int { return strings.Compare(a.name, b.name) })
}

// doc is one parsed manifest file: its content as a JSON value (the shape the
// schema validates) and the position of every value.
type doc struct {
	file  string // path as the user gave it (for messages)
	abs   string // absolute path
	dir   string // directory that relative paths in the file resolve against
	value any
	pos   *posNode // the top-level value
}

func (d *doc) at(lc lineCol) Pos {
	if lc.line == 0 {
		return Pos{}
	}
	return Pos{File: d.file, Line: int(lc.line), Col: int(lc.col)}
}

// posOf returns the position of the value at the JSON pointer ptr, falling
// back to the nearest ancestor that has one and finally to the file itself.
func (d *doc) posOf(ptr string) node {
	n := d.pos
	if n == nil {
		return node{val: Pos{File: d.file, Line: 1, Col: 1}}
	}
	for rest := ptr; strings.HasPrefix(rest, "/"); {
		seg := rest[1:]
		rest = ""
		if i := strings.IndexByte(seg, '/'); i >= 0 {
			seg, rest = seg[:i], seg[i:]
		}
		kid := n.kid(unescapePtr(seg))
		if kid == nil {
			break
		}
		n = kid
	}
	return node{key: d.at(n.key), val: d.at(n.val)}
}

var yamlAnchor = regexp.MustCompile(`anchor '[^']*'`)

// parseYAML decodes one manifest file into a doc, reporting structural
// problems (not YAML, not a mapping, duplicate keys, aliases, nesting, bad
// variables) into ps. It returns nil when nothing usable was read.
func parseYAML(data []byte, d *doc, env func(string) (string, bool), ps *problems) *doc {
	filePos := Pos{File: d.file, Line: 1, Col: 1}
	if !utf8.Valid(data) {
		line := 1 + bytes.Count(data[:invalidUTF8Offset(data)], []byte("\n"))
		ps.errorf(Pos{File: d.file, Line: line, Col: 1}, "", "file is not valid UTF-8")
		return nil
	}
	if len(bytes.TrimSpace(data)) == 0 {
		ps.errorf(filePos, "", "file is empty: a manifest needs at least \"version: 1\" and \"apps\"")
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := safeDecode(dec, &root); err != nil {
		if errors.Is(err, io.EOF) {
			ps.errorf(filePos, "", "file is empty: a manifest needs at least \"version: 1\" and \"apps\"")
			return nil
		}
		line, col, msg := syntaxError(data, err)
		// The parser's messages are fixed text except for anchor names:
		// drop those, so that no byte of a file that is not a manifest at
		// all (a key, /etc/shadow) reaches the output.
		ps.errorf(Pos{File: d.file, Line: line, Col: col}, "", "not valid YAML: %s", yamlAnchor.ReplaceAllString(msg, "anchor"))
		return nil
	}
	for {
		var extra yaml.Node
		err := safeDecode(dec, &extra)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			line, col, msg := syntaxError(data, err)
			ps.errorf(Pos{File: d.file, Line: line, Col: col}, "", "not valid YAML after the first document: %s", yamlAnchor.ReplaceAllString(msg, "anchor"))
			return nil
		}
		if !emptyDocument(&extra) {
			ps.errorf(Pos{File: d.file, Line: extra.Line, Col: extra.Column}, "", "file holds more than one YAML document: put each in its own file")
			return nil
		}
	}
	top := &root
	if top.Kind == yaml.DocumentNode {
		if len(top.Content) == 0 {
			ps.errorf(filePos, "", "file is empty: a manifest needs at least \"version: 1\" and \"apps\"")
			return nil
		}
		top = top.Content[0]
	}
	if top.Kind != yaml.MappingNode {
		ps.errorf(Pos{File: d.file, Line: top.Line, Col: top.Column}, "", "top level is %s: a manifest is a mapping with \"version\" and \"apps\"", kindName(top))
		return nil
	}
	if !isManifest(top) {
		// Naming its keys as unknown fields would print the lines of
		// whatever file this is.
		ps.errorf(Pos{File: d.file, Line: top.Line, Col: top.Column}, "", "not an applinkctl manifest: the top level has neither \"version\" nor \"apps\"")
		return nil
	}
	c := converter{d: d, env: env, ps: ps}
	d.pos = c.newPos(lineCol{}, lc(top))
	d.value = c.value(top, d.pos, 0)
	if c.refused {
		return nil
	}
	return d
}

// isManifest reports whether a top-level mapping is meant as a manifest: it
// has a version or an apps key. Only then are its other keys and values
// quoted in messages.
func isManifest(top *yaml.Node) bool {
	for i := 0; i+1 < len(top.Content); i += 2 {
		if k := top.Content[i]; k.Kind == yaml.ScalarNode && (k.Value == "version" || k.Value == "apps") {
			return true
		}
	}
	return false
}

// emptyDocument reports whether a document holds nothing, as after a
// trailing "---".
func emptyDocument(n *yaml.Node) bool {
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	return n.Kind == 0 || n.Kind == yaml.DocumentNode && len(n.Content) == 0 ||
		n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" && n.Value == ""
}

// safeDecode turns a panic inside the YAML library into an error: bad input
// must never crash applinkctl.
func safeDecode(dec *yaml.Decoder, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: %v", r)
		}
	}()
	return dec.Decode(n)
}

func invalidUTF8Offset(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return len(b)
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return "null"
		}
		return "a scalar"
	case yaml.AliasNode:
		return "an alias"
	}
	return "not a mapping"
}

// converter turns a yaml.Node tree into the JSON value the schema validates,
// recording positions and expanding ${VAR} in string values.
//
// It releases each part of the tree once converted, so that the tree and the
// value it becomes are not both whole in memory at once: for a big manifest
// either is several times the size of the file.
type converter struct {
	d   *doc
	env func(string) (string, bool)
	ps  *problems
	// path is the keys (and list indexes) from the top to the value being
	// converted, for the field of a message; a pointer string per value
	// would be built for nothing but the rare problem.
	path []string
	// slab hands out posNodes a block at a time: one allocation per
	// thousand values rather than one each.
	slab []posNode
	// refused is set by an alias or excessive nesting: the file is then
	// reported once and not validated further, so that an input built to
	// explode (billion laughs) costs one message and no work.
	refused bool
}

func (c *converter) pos(n *yaml.Node) Pos { return Pos{File: c.d.file, Line: n.Line, Col: n.Column} }

// field is the dotted path of the value being converted, as fieldOf would
// spell its JSON pointer.
func (c *converter) field() string { return strings.Join(c.path, ".") }

// findKid finds the child called name among kids, by seen when the
// mapping is big enough to have it.
func findKid(kids []posKid, seen map[string]*posNode, name string) *posNode {
	if seen != nil {
		return seen[name]
	}
	for _, k := range kids {
		if k.name == name {
			return k.node
		}
	}
	return nil
}

func lc(n *yaml.Node) lineCol { return lineCol{line: int32(n.Line), col: int32(n.Column)} }

func (c *converter) newPos(key, val lineCol) *posNode {
	if len(c.slab) == 0 {
		c.slab = make([]posNode, 1024)
	}
	p := &c.slab[0]
	c.slab = c.slab[1:]
	p.key, p.val = key, val
	return p
}

// value converts n, whose position p is already recorded, releasing n's
// children as it goes.
func (c *converter) value(n *yaml.Node, p *posNode, depth int) any {
	if c.refused {
		return nil
	}
	if depth > maxDepth {
		c.ps.errorf(c.pos(n), "", "nested deeper than %d levels: a manifest needs at most 7", maxDepth)
		c.refused = true
		return nil
	}
	switch n.Kind {
	case yaml.AliasNode:
		c.ps.errorf(c.pos(n), c.field(), "YAML aliases (*%s) are not supported: write the value out", n.Value)
		c.refused = true
		return nil
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		p.kids = make([]posKid, 0, len(n.Content)/2)
		var seen map[string]*posNode // for a big mapping; a small one is scanned
		if len(n.Content) > 32 {
			seen = make(map[string]*posNode, len(n.Content)/2)
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			n.Content[i], n.Content[i+1] = nil, nil // converted below, or skipped
			if k.Kind != yaml.ScalarNode {
				c.ps.errorf(c.pos(k), c.field(), "keys must be plain strings")
				continue
			}
			if k.ShortTag() == "!!merge" {
				c.ps.errorf(c.pos(k), c.field(), "YAML merge keys (<<) are not supported: write the values out")
				c.refused = true
				return nil
			}
			if first := findKid(p.kids, seen, k.Value); first != nil {
				c.ps.errorf(c.pos(k), c.field(), "duplicate key %q: first at %s", k.Value, c.d.at(first.key))
				continue
			}
			kp := c.newPos(lc(k), lc(v))
			p.kids = append(p.kids, posKid{k.Value, kp})
			if seen != nil {
				seen[k.Value] = kp
			}
			c.path = append(c.path, k.Value)
			out[k.Value] = c.value(v, kp, depth+1)
			c.path = c.path[:len(c.path)-1]
		}
		p.sortKids()
		return out
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		p.kids = make([]posKid, 0, len(n.Content))
		for i, item := range n.Content {
			n.Content[i] = nil
			idx := strconv.Itoa(i)
			kp := c.newPos(lineCol{}, lc(item))
			p.kids = append(p.kids, posKid{idx, kp})
			c.path = append(c.path, idx)
			out = append(out, c.value(item, kp, depth+1))
			c.path = c.path[:len(c.path)-1]
		}
		p.sortKids()
		return out
	case yaml.ScalarNode:
		return c.scalar(n)
	}
	return nil
}

func (c *converter) scalar(n *yaml.Node) any {
	switch n.ShortTag() {
	case "!!null":
		return nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err == nil {
			return b
		}
	case "!!int":
		var i int64
		if err := n.Decode(&i); err == nil {
			return i
		}
		var f float64
		if err := n.Decode(&f); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return f
		}
	case "!!float":
		var f float64
		if err := n.Decode(&f); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return f
		}
	case "!!str":
		s, err := expand(n.Value, c.env)
		if err != nil {
			// Keep the unexpanded text so that no second, derived
			// problem ("must not be empty") hides the real one.
			c.ps.errorf(c.pos(n), c.field(), "%v", err)
			return n.Value
		}
		return s
	}
	return n.Value
}

// escapePtr escapes one JSON-pointer segment (RFC 6901), as the schema
// validator does in its instance locations.
func escapePtr(s string) string {
	s = strings.ReplaceAll(s, "~", "~0")
	return strings.ReplaceAll(s, "/", "~1")
}

func unescapePtr(s string) string {
	s = strings.ReplaceAll(s, "~1", "/")
	return strings.ReplaceAll(s, "~0", "~")
}

// fieldOf turns a JSON pointer into the dotted field path used in messages.
func fieldOf(ptr string) string {
	if ptr == "" {
		return ""
	}
	segs := strings.Split(strings.TrimPrefix(ptr, "/"), "/")
	for i, s := range segs {
		segs[i] = unescapePtr(s)
	}
	return strings.Join(segs, ".")
}

// ptrOf builds a JSON pointer from segments.
func ptrOf(segs ...string) string {
	var b strings.Builder
	for _, s := range segs {
		b.WriteByte('/')
		b.WriteString(escapePtr(s))
	}
	return b.String()
}
