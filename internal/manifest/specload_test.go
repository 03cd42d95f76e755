package manifest

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// equalToKin checks that fastSpec reads data as kin-openapi's loader does:
// the same document (as JSON), the same validity, operations and x-sfdc
// names. It reports whether fastSpec answered.
func equalToKin(t *testing.T, name string, data []byte) bool {
	t.Helper()
	fast, ok := fastSpec(data)
	slow, err := loadSpec(data, false)
	if !ok {
		return false
	}
	if err != nil {
		t.Fatalf("%s: the fast way read a spec kin-openapi refuses (%v)", name, err)
	}
	if h, err := readSpecHeader(data, ""); err != nil || h.swagger != "" || !strings.HasPrefix(h.openapi, "3.") {
		t.Fatalf("%s: the fast way read a spec whose header the slow way refuses: %+v, %v", name, h, err)
	}
	a, errA := json.Marshal(fast)
	b, errB := json.Marshal(slow)
	if errA != nil || errB != nil || string(a) != string(b) {
		t.Fatalf("%s: documents differ (%v, %v):\nfast %s\nkin  %s", name, errA, errB, a, b)
	}
	va := fast.Validate(context.Background(), openapi3.EnableMultiError())
	vb := slow.Validate(context.Background(), openapi3.EnableMultiError())
	if (va == nil) != (vb == nil) || va != nil && va.Error() != vb.Error() {
		t.Fatalf("%s: validation differs: %v / %v", name, va, vb)
	}
	if oa, ob := operationsOf(fast), operationsOf(slow); !reflect.DeepEqual(oa, ob) {
		t.Fatalf("%s: operations differ: %v / %v", name, oa, ob)
	}
	if na, nb := sfdcNames(fast), sfdcNames(slow); !reflect.DeepEqual(na, nb) {
		t.Fatalf("%s: x-sfdc names differ: %v / %v", name, na, nb)
	}
	return true
}

// Every valid spec of the repository, and specs written in the ways people
// write them, are read the fast way, into the document kin-openapi's loader
// gives.
func TestFastSpecReadsWhatKinReads(t *testing.T) {
	specs := map[string]string{"generated": specOf(20)}
	for _, glob := range []string{"../../examples/*/api/*.yaml", "../../testdata/validate/*/api/*.yaml", "../../testdata/validate/*/api/*.json", "../../testdata/plan/_shared/orders_*.yaml"} {
		files, _ := filepath.Glob(glob)
		for _, f := range files {
			if st, err := os.Stat(f); err == nil && !st.Mode().IsRegular() {
				continue // the golden cases of what is not a file
			}
			if strings.Contains(f, "duplicate") {
				continue // invalid: a repeated key, which only the slow way names
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			specs[f] = string(b)
		}
	}
	const head = "openapi: 3.0.3\ninfo: {title: T, version: \"1\"}\n"
	for name, s := range map[string]string{
		// Layout: comments anywhere, a document marker, CRLF, an
		// indented document, blank lines and block scalars (kept
		// trailing lines and all) running up to the next key.
		"layout":   "# a comment\n---\n" + head + "paths:\n# at column 0 inside paths\n  /a:\n    get:\n      description: |+\n        kept\n\n\n      responses:\n        \"200\": {description: ok}\n\n  # indented comment\n  /b: # after a key\n    get:\n      summary: >-\n        folded\n        text\n      responses: {\"200\": {description: ok}}\n",
		"crlf":     strings.ReplaceAll(head+"paths:\n  /a:\n    get:\n      responses:\n        \"200\":\n          description: ok\n", "\n", "\r\n"),
		"indented": "  openapi: 3.0.3\n  info: {title: T, version: \"1\"}\n  paths:\n    /a:\n      get:\n        responses: {\"200\": {description: ok}}\n",
		// Scalars: numbers, booleans, nulls, dates (kin-openapi reads
		// them as text), numeric and quoted keys, unicode, escapes.
		"scalars": head + "x-top: {n: 1, f: 2.5, e: 1e3, neg: -3, b: true, z: null, t: ~, d: 2024-01-02, dt: 2024-01-02T03:04:05Z, s: 'it''s', u: \"caf\\u00e9 \\\"q\\\"\\ttab\", bare: hello world}\npaths:\n  '/a/{id}':\n    parameters: [{name: id, in: path, required: true, schema: {type: integer, minimum: 0, maximum: 10, default: 3, example: 4}}]\n    get:\n      deprecated: false\n      responses:\n        200: {description: ok}\n        \"404\": {description: none}\n        default: {description: other}\n",
		// Every section of components, extensions next to them, and
		// sections that are empty or null.
		"components":     head + "paths:\n  x-paths-ext: {a: 1}\n  /a:\n    get:\n      parameters: [{$ref: '#/components/parameters/P'}]\n      requestBody: {$ref: '#/components/requestBodies/B'}\n      responses:\n        \"200\": {$ref: '#/components/responses/R'}\n      security: [{key: []}]\n      callbacks: {cb: {$ref: '#/components/callbacks/C'}}\ncomponents:\n  x-comp-ext: [1, 2]\n  schemas:\n    S: {type: object, properties: {a: {$ref: '#/components/schemas/T'}}}\n    T: {type: string, enum: [x, y]}\n  parameters:\n    P: {name: q, in: query, schema: {$ref: '#/components/schemas/T'}}\n  headers:\n    H: {schema: {type: string}}\n  requestBodies:\n    B: {content: {application/json: {schema: {$ref: '#/components/schemas/S'}, example: {a: x}}}}\n  responses:\n    R: {description: ok, headers: {X-H: {$ref: '#/components/headers/H'}}, links: {l: {$ref: '#/components/links/L'}}}\n  securitySchemes:\n    key: {type: apiKey, name: k, in: header}\n  examples:\n    E: {value: 1}\n  links:\n    L: {operationId: op}\n  callbacks:\n    C: {'{$request.body#/url}': {post: {responses: {\"200\": {description: ok}}}}}\n  examples2: ~\n",
		"empty-sections": head + "paths: {}\ncomponents:\n  schemas: {}\n  parameters:\n",
		"flow":           "{openapi: 3.0.3, info: {title: T, version: '1'}, paths: {/a: {get: {responses: {'200': {description: ok}}}}}}\n",
		"invalid-valid":  head + "paths:\n  /a/{id}:\n    get:\n      responses: {\"200\": {description: ok}}\n", // kin-openapi's validation refuses it: the same way
		"two documents":  head + "paths: {}\n---\nx: 1\n",                                                        // kin-openapi reads the first
	} {
		specs[name] = s
	}
	// The JSON of each YAML spec reads the same, through the JSON route.
	for name, s := range map[string]string{"generated": specs["generated"], "components": specs["components"], "scalars": specs["scalars"]} {
		doc, ok := fastSpec([]byte(s))
		if !ok {
			t.Fatalf("%s: declined", name)
		}
		j, err := json.MarshalIndent(doc, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		specs[name+".json"] = string(j)
	}
	for name, s := range specs {
		if strings.Contains(name, "swagger") || strings.Contains(name, "spec-not-openapi") || strings.Contains(name, "external-ref") || strings.Contains(name, "bad-ref") {
			if _, ok := fastSpec([]byte(s)); ok {
				t.Errorf("%s: the fast way answered for a spec it should leave to the slow way", name)
			}
			continue
		}
		if !equalToKin(t, name, []byte(s)) {
			t.Errorf("%s: declined: a spec of the usual kind took the slow way", name)
		}
	}
}

// What could read differently in JSON and YAML, or in pieces and whole, is
// left to kin-openapi's loader, which says what a problem means and where.
func TestFastSpecDeclines(t *testing.T) {
	const head = "openapi: 3.0.3\ninfo: {title: T, version: \"1\"}\n"
	const ok = "paths:\n  /a:\n    get:\n      responses: {\"200\": {description: ok}}\n"
	for name, s := range map[string]string{
		"swagger":         "swagger: \"2.0\"\ninfo: {title: T, version: \"1\"}\npaths: {}\n",
		"openapi 2":       "openapi: 2.0.0\ninfo: {title: T, version: \"1\"}\n" + ok,
		"no openapi":      "info: {title: T, version: \"1\"}\n" + ok,
		"anchor":          head + "x-a: &a {b: 1}\nx-c: *a\n" + ok,
		"merge key":       head + "x-a: {<<: {b: 1}}\n" + ok,
		"duplicate key":   head + ok + "  /a:\n    get:\n      responses: {\"200\": {description: ok}}\n",
		"infinity":        head + "x-a: .inf\n" + ok,
		"unterminated":    head + "paths:\n  /a:\n    get:\n      summary: \"runs\n  /b: on\"\n      responses: {\"200\": {description: ok}}\n",
		"flow over lines": head + "paths:\n  /a: {get: {responses: {\"200\": {description: ok}},\n  summary: x}}\n",
		"json duplicate":  `{"openapi": "3.0.3", "info": {"title": "T", "version": "1"}, "paths": {"/a": {}, "/a": {}}}`,
		"nel":             head + "x-a: \"a\u0085b\"\n" + ok,
		"external ref":    head + "paths:\n  /a:\n    get:\n      responses: {\"200\": {$ref: 'other.yaml#/R'}}\n",
	} {
		if doc, ok := fastSpec([]byte(s)); ok {
			b, _ := json.Marshal(doc)
			t.Errorf("%s: the fast way answered (%s)", name, b)
		}
	}
}

// Odd inputs: where the fast way answers, it gives kin-openapi's document.
func TestFastSpecOddInputs(t *testing.T) {
	const head = "openapi: 3.0.3\ninfo: {title: T, version: \"1\"}\n"
	const ok = "paths:\n  /a:\n    get:\n      responses: {\"200\": {description: ok}}\n"
	for name, s := range map[string]string{
		"openapi number": "openapi: 3.0\ninfo: {title: T, version: \"1\"}\n" + ok,
		"tag":            head + "x-a: !!str 1\n" + ok,
		"local tag":      head + "x-a: !md text\n" + ok,
		"duplicate deep": head + "paths:\n  /a:\n    get:\n      summary: a\n      summary: b\n      responses: {\"200\": {description: ok}}\n",
		"hex number":     head + "x-a: 0x1F\n" + ok,
		"octal number":   head + "x-a: 0o17\n" + ok,
		"yaml float":     head + "x-a: .5\n" + ok,
		"True":           head + "x-a: True\n" + ok,
		"tab indent":     head + "paths:\n\t/a: {}\n",
		"case":           head + "paths:\n  /a:\n    GET:\n      responses: {\"200\": {description: ok}}\n    get:\n      pArAmeters: [{name: q, in: query}]\n      responses: {\"200\": {description: ok}}\n",
		"json Paths":     `{"openapi": "3.0.3", "info": {"title": "T", "version": "1"}, "Paths": {}}`,
		"json case":      `{"openapi": "3.0.3", "info": {"title": "T", "version": "1"}, "paths": {"/a": {"GET": {"responses": {"200": {"description": "ok"}}}}}}`,
		"flow colon":     "openapi: 3.0.3\n0000: {00000:} ",
		"tagged paths":   head + "paths: !!map\n  /a: {}\n",
		"null paths":     head + "paths:\ncomponents: {}\n",
	} {
		equalToKin(t, name, []byte(s))
	}
}

// A block-style spec is split into its members and into the entries of
// paths and of components' sections, each parsed on its own.
func TestSplitYAML(t *testing.T) {
	spec := "# c\nopenapi: 3.0.3\ninfo:\n  title: T\npaths:\n  /a:\n    get: {}\n\n  # c\n  /b:\n    get: |\n      x\n\n      y\ncomponents:\n  schemas:\n    A: {}\n    B:\n      type: string\n"
	lines := newYAMLLines([]byte(spec))
	top, ok := lines.entries(lines.documentStart(), lines.len())
	if !ok || len(top) != 4 {
		t.Fatalf("top-level entries %v, %v", top, ok)
	}
	var texts []string
	for _, e := range top {
		texts = append(texts, string(lines.text(e)))
	}
	if texts[0] != "# c\nopenapi: 3.0.3\n" || texts[1] != "info:\n  title: T\n" {
		t.Errorf("members %q", texts)
	}
	paths, ok := lines.entries(top[2][0]+1, top[2][1])
	if name, bare := lines.bareKey(top[2][0]); !ok || !bare || name != "paths" || len(paths) != 2 {
		t.Fatalf("paths %v %v %q", paths, ok, name)
	}
	if got := string(lines.text(paths[1])); got != "  /b:\n    get: |\n      x\n\n      y\n" {
		t.Errorf("second path %q", got)
	}
	sections, ok := lines.entries(top[3][0]+1, top[3][1])
	if !ok || len(sections) != 1 {
		t.Fatalf("sections %v", sections)
	}
	schemas, ok := lines.entries(sections[0][0]+1, sections[0][1])
	if !ok || len(schemas) != 2 || string(lines.text(schemas[1])) != "    B:\n      type: string\n" {
		t.Errorf("schemas %v", schemas)
	}
	for _, l := range []string{"paths: x", "paths:#c", "'paths':", "paths: # c"} {
		lines := newYAMLLines([]byte(l + "\n"))
		if _, bare := lines.bareKey(0); bare != (l == "paths: # c") {
			t.Errorf("bareKey(%q) = %v", l, bare)
		}
	}
}

// A block-style spec is never a YAML tree whole: the largest piece parsed
// at once is one path or one schema, whatever the size of the spec. This is
// what keeps a 10 MB spec's peak near its decoded document's size.
func TestBigSpecParsedInPieces(t *testing.T) {
	spec := []byte(specOf(200))
	largest := 0
	parsedYAML = func(n int) { largest = max(largest, n) }
	defer func() { parsedYAML = nil }()
	doc, err := LoadSpec(spec)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(operationsOf(doc)); n != 800 {
		t.Fatalf("%d operations", n)
	}
	if largest == 0 || largest > len(spec)/100 {
		t.Errorf("largest YAML parsed at once: %d bytes of a %d-byte spec", largest, len(spec))
	}
	if !equalToKin(t, "200 resources", spec) {
		t.Error("declined")
	}
}
