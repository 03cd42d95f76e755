package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/emulator"
	"github.com/applinkctl/applinkctl/internal/testkit"
)

// apiDoc is the contract the test holds the client to: the route table of
// docs/api.md.
const apiDoc = "../../docs/api.md"

// contractRoute is one row of the route table.
type contractRoute struct {
	method, route string
	body          bodyShape
	exercised     bool
	line          int
}

// bodyShape is a request body as the table writes it (and as a recorded
// request is reduced to): none, a JSON object's fields, or multipart parts.
type bodyShape struct {
	kind   string // "", "json" or "multipart"
	fields []field
	parts  []partShape
}

type field struct {
	name     string
	optional bool
}

type partShape struct {
	name, filename, ctype string
	fields                []field // of a JSON part
}

// readContract parses the route table of docs/api.md: the table whose
// header is "| method | route | body | exercised |".
func readContract(t *testing.T, path string) []contractRoute {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []contractRoute
	in := false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		cells := tableCells(line)
		switch {
		case !in && slices.Equal(cells, []string{"method", "route", "body", "exercised"}):
			in = true
		case in && len(cells) == 0:
			if len(out) == 0 {
				continue
			}
			return out
		case in && strings.Trim(line, "|- ") == "":
			// the header's separator
		case in:
			if len(cells) != 4 {
				t.Fatalf("%s:%d: want 4 cells, got %q", path, n, cells)
			}
			b, err := parseBody(cells[2])
			if err != nil {
				t.Fatalf("%s:%d: body %q: %v", path, n, cells[2], err)
			}
			ex := cells[3] == "yes"
			if !ex && !strings.HasPrefix(cells[3], "no:") {
				t.Fatalf("%s:%d: exercised %q: want yes or \"no: why\"", path, n, cells[3])
			}
			out = append(out, contractRoute{method: cells[0], route: cells[1], body: b, exercised: ex, line: n})
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no route table", path)
	}
	return out
}

// tableCells splits a markdown table row; nil for a line that is not one.
func tableCells(line string) []string {
	if !strings.HasPrefix(line, "|") || !strings.HasSuffix(line, "|") {
		return nil
	}
	var out []string
	for _, c := range strings.Split(strings.Trim(line, "|"), "|") {
		out = append(out, strings.TrimSpace(c))
	}
	return out
}

var partRe = regexp.MustCompile(`(\w+)\[([^\]]*)\]`)

// parseBody reads a body cell: "–", "json: a, b?" or
// "multipart: name[filename; content type; a, b?], …".
func parseBody(s string) (bodyShape, error) {
	switch {
	case s == "–" || s == "-":
		return bodyShape{}, nil
	case strings.HasPrefix(s, "json:"):
		return bodyShape{kind: "json", fields: parseFields(strings.TrimPrefix(s, "json:"))}, nil
	case strings.HasPrefix(s, "multipart:"):
		b := bodyShape{kind: "multipart"}
		for _, m := range partRe.FindAllStringSubmatch(s, -1) {
			bits := strings.Split(m[2], ";")
			if len(bits) < 2 {
				return b, fmt.Errorf("part %s: want [filename; content type(; fields)]", m[1])
			}
			p := partShape{name: m[1], filename: strings.TrimSpace(bits[0]), ctype: strings.TrimSpace(bits[1])}
			if len(bits) > 2 {
				p.fields = parseFields(strings.Join(bits[2:], ";"))
			}
			b.parts = append(b.parts, p)
		}
		if len(b.parts) == 0 {
			return b, fmt.Errorf("no parts")
		}
		return b, nil
	}
	return bodyShape{}, fmt.Errorf("want –, json: … or multipart: …")
}

func parseFields(s string) []field {
	var out []field
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, field{name: strings.TrimSuffix(f, "?"), optional: strings.HasSuffix(f, "?")})
		}
	}
	return out
}

// recorded is what one request sent, reduced to its shape.
type recordedRequest struct {
	method, path, pattern string
	ctype                 string   // media type
	jsonFields            []string // of a JSON body, sorted
	parts                 []recordedPart
	bodyLen               int
	err                   string // a body that could not be read as its content type says
}

type recordedPart struct {
	name, filename, ctype string
	jsonFields            []string
}

// recorder passes every request to the emulator after noting its shape;
// routes are matched against the documented ones only.
type recorder struct {
	next http.Handler
	doc  *http.ServeMux
	mu   sync.Mutex
	reqs []recordedRequest
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	_, pattern := rc.doc.Handler(r)
	rec := recordedRequest{method: r.Method, path: r.URL.Path, pattern: pattern, bodyLen: len(body)}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, params, err := mime.ParseMediaType(ct)
		rec.ctype = mt
		switch {
		case err != nil:
			rec.err = err.Error()
		case mt == "application/json":
			rec.jsonFields, rec.err = jsonKeys(body)
		case mt == "multipart/form-data":
			mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
			for {
				p, err := mr.NextPart()
				if err == io.EOF {
					break
				}
				if err != nil {
					rec.err = err.Error()
					break
				}
				rp := recordedPart{name: p.FormName(), filename: p.FileName(), ctype: p.Header.Get("Content-Type")}
				if rp.ctype == "application/json" {
					b, _ := io.ReadAll(p)
					var msg string
					if rp.jsonFields, msg = jsonKeys(b); msg != "" {
						rec.err = "part " + rp.name + ": " + msg
					}
				}
				rec.parts = append(rec.parts, rp)
			}
		}
	}
	rc.mu.Lock()
	rc.reqs = append(rc.reqs, rec)
	rc.mu.Unlock()
	rc.next.ServeHTTP(w, r)
}

// jsonKeys are the keys of the JSON object b, sorted; a key whose value is
// "" or null is an error: a field with no value is left out, as the Heroku
// CLI leaves it out.
func jsonKeys(b []byte) ([]string, string) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, "not a JSON object: " + err.Error()
	}
	out := make([]string, 0, len(m))
	var empty []string
	for k, v := range m {
		out = append(out, k)
		if s := string(bytes.TrimSpace(v)); s == `""` || s == "null" {
			empty = append(empty, k)
		}
	}
	slices.Sort(out)
	if len(empty) > 0 {
		slices.Sort(empty)
		return out, "sends " + strings.Join(empty, ", ") + " with no value (left out when empty)"
	}
	return out, ""
}

// checkFields reports the sent fields the documented ones do not list and
// the documented required ones not sent.
func checkFields(sent []string, doc []field) []string {
	var bad []string
	for _, s := range sent {
		if !slices.ContainsFunc(doc, func(f field) bool { return f.name == s }) {
			bad = append(bad, "sends field "+s+", which the table does not list")
		}
	}
	for _, f := range doc {
		if !f.optional && !slices.Contains(sent, f.name) {
			bad = append(bad, "does not send the required field "+f.name)
		}
	}
	return bad
}

// mismatches says how a recorded request differs from its documented
// route, nil when it does not.
func (rr recordedRequest) mismatches(c contractRoute) []string {
	if rr.err != "" {
		return []string{"body: " + rr.err}
	}
	switch c.body.kind {
	case "":
		if rr.bodyLen > 0 || rr.ctype != "" {
			return []string{fmt.Sprintf("sends a body (%d bytes, %q) where the table says none", rr.bodyLen, rr.ctype)}
		}
	case "json":
		if rr.ctype != "application/json" {
			return []string{fmt.Sprintf("content type %q, want application/json", rr.ctype)}
		}
		return checkFields(rr.jsonFields, c.body.fields)
	case "multipart":
		if rr.ctype != "multipart/form-data" {
			return []string{fmt.Sprintf("content type %q, want multipart/form-data", rr.ctype)}
		}
		if len(rr.parts) != len(c.body.parts) {
			return []string{fmt.Sprintf("%d parts, want %d", len(rr.parts), len(c.body.parts))}
		}
		var bad []string
		for i, p := range rr.parts {
			want := c.body.parts[i]
			if p.name != want.name || p.filename != want.filename || p.ctype != want.ctype {
				bad = append(bad, fmt.Sprintf("part %d is %s[%s; %s], want %s[%s; %s]", i+1, p.name, p.filename, p.ctype, want.name, want.filename, want.ctype))
				continue
			}
			if want.fields != nil {
				for _, b := range checkFields(p.jsonFields, want.fields) {
					bad = append(bad, "part "+p.name+" "+b)
				}
			}
		}
		return bad
	}
	return nil
}

// contractManifest declares one resource of every kind and create route:
// JWT and browser connections of both org types (Data Cloud by browser
// only), a target, a publication with every optional app_request field
// but the deprecated connected app, and JWT and browser authorizations of
// both org types.
const contractManifest = `version: 1
apps:
  acme-api:
    connections:
      prod_org:
        type: salesforce
        login_url: https://login.salesforce.com
        jwt: {client_id: 3MVG9contract, username: api.user@acme.example, private_key_file: keys/server.key}
        publications:
          AcmeOrders:
            spec: api/openapi.yaml
            metadata_dir: api/metadata
            permission_set: AcmeOrdersPerms
            external_client_app: AcmeOrdersECA
      sso_org:
        type: salesforce
        login_url: https://test.salesforce.com
      events_dc:
        type: datacloud
        data_action_targets:
          Order_Events:
            target_endpoint: /handleDataCloudDataChangeEvent
    authorizations:
      ci_auth:
        type: salesforce
        jwt: {client_id: 3MVG9contract, username: api.user@acme.example, private_key_file: keys/server.key}
      dc_jwt_auth:
        type: datacloud
        jwt: {client_id: 3MVG9contract, username: api.user@acme.example, private_key_file: keys/server.key}
      ops_auth:
        type: salesforce
        login_url: https://test.salesforce.com
      dc_auth:
        type: datacloud
`

// TestAPIContract holds the client to docs/api.md: it runs plan, apply, a
// replace (the deletes), drift and export against the emulator, records
// every request, and fails on a request whose route, body fields or
// multipart layout the route table does not document, and on a route the
// table says is exercised but no command called (or one it says is not,
// that one did). Under make test-variants it runs under every variant:
// the client sends the same whatever the API answers.
func TestAPIContract(t *testing.T) {
	routes := readContract(t, apiDoc)
	doc := http.NewServeMux()
	byPattern := map[string]contractRoute{}
	for _, c := range routes {
		pattern := c.method + " " + c.route
		if _, dup := byPattern[pattern]; dup {
			t.Fatalf("%s:%d: %s documented twice", apiDoc, c.line, pattern)
		}
		byPattern[pattern] = c
		doc.HandleFunc(pattern, func(http.ResponseWriter, *http.Request) {})
	}

	variants, err := emulator.VariantsFromEnv(os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	pageSize, err := emulator.PageSizeFromEnv(os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	e, err := emulator.New(emulator.Options{Variants: variants, PageSize: pageSize, ApproveOAuthAfter: 20 * time.Millisecond,
		AsyncDelay: map[string]time.Duration{emulator.KindConnection: 20 * time.Millisecond, emulator.KindAuthorization: 20 * time.Millisecond,
			emulator.KindTarget: 20 * time.Millisecond, emulator.KindDelete: 20 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{next: e, doc: doc}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	e.SetBaseURL(srv.URL)
	if _, err := e.SeedApp("acme-api", 1); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	testkit.WriteFiles(t, dir, map[string]string{
		"applink.yaml":                       contractManifest,
		"keys/server.key":                    testkit.RSAKeyPEM(t, 2048, 0),
		"api/openapi.yaml":                   testkit.OrdersSpec,
		"api/metadata/connectedapp-meta.xml": "<ConnectedApp/>",
	})
	t.Setenv("HEROKU_API_URL", srv.URL)
	t.Setenv("HEROKU_API_KEY", e.APIKey())
	t.Setenv("APPLINKCTL_STATE", "")
	for _, step := range [][]string{
		{"plan", "-f", dir},
		{"apply", "-f", dir, "--auto-approve", "--wait-for-browser"},
		{"apply", "-f", dir, "--auto-approve", "--wait-for-browser", "--replace", "acme-api/connection/prod_org", "--replace", "acme-api/authorization/ops_auth"},
		{"drift", "-f", dir},
		{"export", "--app", "acme-api"},
		{"plan", "-f", dir, "--detailed-exitcode"},
	} {
		out, errOut, code := runOut(t, step...)
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s\n%s", strings.Join(step, " "), code, out, errOut)
		}
	}

	seen := map[string]int{}
	for _, rr := range rec.reqs {
		if rr.pattern == "" {
			t.Errorf("%s %s: a route docs/api.md does not list", rr.method, rr.path)
			continue
		}
		seen[rr.pattern]++
		c := byPattern[rr.pattern]
		for _, m := range rr.mismatches(c) {
			t.Errorf("%s (%s:%d), sent to %s: %s", rr.pattern, apiDoc, c.line, rr.path, m)
		}
	}
	for _, c := range routes {
		pattern := c.method + " " + c.route
		switch {
		case c.exercised && seen[pattern] == 0:
			t.Errorf("%s:%d: %s is documented as exercised, but no command called it", apiDoc, c.line, pattern)
		case !c.exercised && seen[pattern] > 0:
			t.Errorf("%s:%d: %s is documented as not exercised, but was called %d times", apiDoc, c.line, pattern, seen[pattern])
		}
	}
}
