package emulator

import (
	"archive/zip"
	"bytes"
	"mime/multipart"
	"net/textproto"
	"strings"
	"testing"
)

const goodSpec = `openapi: 3.0.3
info: {title: Acme, version: "1.0"}
paths:
  /orders:
    get:
      operationId: listOrders
      responses:
        "200": {description: ok}
`

// brokenSpec has a response without a description, which OpenAPI requires.
const brokenSpec = `{"openapi":"3.0.3","info":{"title":"Acme","version":"1"},"paths":{"/orders":{"get":{"responses":{"200":{}}}}}}`

const swagger2 = `{"swagger":"2.0","info":{"title":"Acme","version":"1"},"paths":{}}`

func zipOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// part is one multipart part: its Content-Disposition and Content-Type.
type part struct {
	disposition, ctype string
	body               []byte
}

// blob is a file part as the Heroku CLI sends it: filename "blob".
func blob(name, ctype string, body []byte) part {
	return part{`form-data; name="` + name + `"; filename="blob"`, ctype, body}
}

// multipartOf lays out parts in order.
func multipartOf(parts ...part) (*bytes.Buffer, string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", p.disposition)
		if p.ctype != "" {
			h.Set("Content-Type", p.ctype)
		}
		w, _ := mw.CreatePart(h)
		w.Write(p.body)
	}
	mw.Close()
	return &buf, mw.FormDataContentType()
}

// multipartBody lays out a publish as the Heroku CLI sends it: metadata
// (zip) then app_request (JSON), both file parts named "blob"; a nil zip
// or an empty request leaves its part out.
func multipartBody(t *testing.T, zipBytes []byte, appRequest string) (*bytes.Buffer, string) {
	t.Helper()
	var parts []part
	if zipBytes != nil {
		parts = append(parts, blob("metadata", "application/zip", zipBytes))
	}
	if appRequest != "" {
		parts = append(parts, blob("app_request", "application/json", []byte(appRequest)))
	}
	body, ct := multipartOf(parts...)
	return body, ct
}

func (f *fixture) publish(conn string, zipBytes []byte, appRequest string) resp {
	f.t.Helper()
	body, ct := multipartBody(f.t, zipBytes, appRequest)
	h := f.applinkHeaders()
	h["Content-Type"] = ct
	return f.send("POST", "/addons/"+f.addon.ID+"/connections/salesforce/"+conn+"/apps", body, h)
}

func TestPublish(t *testing.T) {
	f := setup(t, Options{})
	f.connectOAuth("salesforce", "prod_org")
	good := zipOf(t, map[string]string{"api-spec.yaml": goodSpec, "permissionset-meta.xml": "<PermissionSet/>"})
	r := f.publish("prod_org", good, `{"client_name":"AcmeAPI","authorization_permission_set_name":"AcmePerms"}`)
	p := r.json(t)
	if r.status != 201 || p["esr_name"] != "AcmeAPI" || p["app_uuid"] != f.app.ID || p["connection_name"] != "prod_org" || len(p["org_id"].(string)) != 18 {
		t.Fatalf("publish: %d %s", r.status, r.body)
	}
	firstESR := p["esr_id"]
	// Same client name again replaces.
	json := zipOf(t, map[string]string{"api-spec.json": `{"openapi":"3.1.0","info":{"title":"Acme","version":"2"},"paths":{}}`})
	if r := f.publish("prod_org", json, `{"client_name":"AcmeAPI"}`); r.status != 201 || r.json(t)["esr_id"] == firstESR {
		t.Fatalf("republish: %d %s", r.status, r.body)
	}
	r = f.applink("GET", "/connections/salesforce/prod_org/apps/"+f.app.ID, nil)
	if list := r.list(t); r.status != 200 || len(list) != 1 || list[0]["esr_name"] != "AcmeAPI" {
		t.Fatalf("list: %d %s", r.status, r.body)
	}
	pub := f.e.World().Apps[0].Addons[0].Connections[0].Publications[0]
	if pub.Count != 2 || pub.SpecName != "api-spec.json" || pub.SpecSHA256 == "" {
		t.Fatalf("world publication %+v", pub)
	}
	// Deleting the connection removes its publications.
	f.applink("DELETE", "/connections/prod_org", nil)
	f.connectOAuth("salesforce", "prod_org")
	if r := f.applink("GET", "/connections/salesforce/prod_org/apps/"+f.app.ID, nil); len(r.list(t)) != 0 {
		t.Fatalf("publications survived their connection: %s", r.body)
	}
}

func TestPublishFailures(t *testing.T) {
	f := setup(t, Options{})
	f.connectOAuth("salesforce", "prod_org")
	f.connectOAuth("datacloud", "events_dc")
	f.applink("POST", "/connections/salesforce", map[string]string{"connection_name": "pending_org"})
	good := zipOf(t, map[string]string{"api-spec.yaml": goodSpec})
	var bomb bytes.Buffer
	zw := zip.NewWriter(&bomb)
	w, _ := zw.Create("api-spec.json")
	zeros := make([]byte, 1<<20)
	for range 17 { // 17 MiB of zeros compress to a few KiB
		w.Write(zeros)
	}
	zw.Close()
	cases := []struct {
		name, conn string
		zip        []byte
		req        string
		status     int
		msg        string
	}{
		{"broken spec", "prod_org", zipOf(t, map[string]string{"api-spec.json": brokenSpec}), `{"client_name":"A"}`, 422, "Invalid OpenAPI specification"},
		{"unparsable spec", "prod_org", zipOf(t, map[string]string{"api-spec.yaml": "openapi: [\n"}), `{"client_name":"A"}`, 422, "Invalid OpenAPI specification"},
		{"swagger 2", "prod_org", zipOf(t, map[string]string{"api-spec.json": swagger2}), `{"client_name":"A"}`, 422, "got swagger 2.0; only OpenAPI 3.x is supported"},
		{"swagger 2 in YAML", "prod_org", zipOf(t, map[string]string{"api-spec.yaml": "swagger: '2.0'\ninfo: {title: A, version: '1'}\npaths: {}\n"}), `{"client_name":"A"}`, 422, "got swagger 2.0;"},
		{"openapi 2", "prod_org", zipOf(t, map[string]string{"api-spec.yaml": "openapi: 2.0.0\ninfo: {title: A, version: '1'}\npaths: {}\n"}), `{"client_name":"A"}`, 422, "got openapi 2.0.0; only OpenAPI 3.x"},
		{"no version", "prod_org", zipOf(t, map[string]string{"api-spec.yaml": "info: {title: A, version: '1'}\npaths: {}\n"}), `{"client_name":"A"}`, 422, "no openapi field"},
		{"missing spec", "prod_org", zipOf(t, map[string]string{"connectedapp-meta.xml": "<x/>"}), `{"client_name":"A"}`, 422, "api-spec"},
		{"spec not at root", "prod_org", zipOf(t, map[string]string{"dir/api-spec.yaml": goodSpec}), `{"client_name":"A"}`, 422, "api-spec"},
		{"not a zip", "prod_org", []byte("PK nope"), `{"client_name":"A"}`, 422, "zip"},
		{"zip bomb", "prod_org", bomb.Bytes(), `{"client_name":"A"}`, 422, "inflates"},
		{"no metadata", "prod_org", nil, `{"client_name":"A"}`, 422, "metadata"},
		{"no app_request", "prod_org", good, "", 422, "app_request"},
		{"no client name", "prod_org", good, `{}`, 422, "client_name"},
		{"bad app_request", "prod_org", good, `{nope`, 422, "app_request"},
		{"not connected", "pending_org", good, `{"client_name":"A"}`, 422, "not connected"},
		{"data cloud connection", "events_dc", good, `{"client_name":"A"}`, 404, "not found"},
		{"unknown connection", "nope_org", good, `{"client_name":"A"}`, 404, "not found"},
	}
	for _, c := range cases {
		r := f.publish(c.conn, c.zip, c.req)
		if r.status != c.status || !strings.Contains(r.json(t)["message"].(string), c.msg) {
			t.Errorf("%s: %d %s, want %d with %q", c.name, r.status, r.body, c.status, c.msg)
		}
	}
	h := f.applinkHeaders()
	if r := f.send("POST", "/addons/"+f.addon.ID+"/connections/salesforce/prod_org/apps", strings.NewReader("{}"), h); r.status != 422 {
		t.Errorf("json body: %d", r.status)
	}
	h["Authorization"] = "Bearer nope"
	body, ct := multipartBody(t, good, `{"client_name":"A"}`)
	h["Content-Type"] = ct
	if r := f.send("POST", "/addons/"+f.addon.ID+"/connections/salesforce/prod_org/apps", body, h); r.status != 401 {
		t.Errorf("no token: %d", r.status)
	}
	big := bytes.Repeat([]byte("x"), maxPublishBody+1)
	if r := f.publish("prod_org", big, `{"client_name":"A"}`); r.status != 413 {
		t.Errorf("oversized body: %d", r.status)
	}
	if n := len(f.e.World().Apps[0].Addons[0].Connections[2].Publications); n != 0 {
		t.Errorf("a failed publish left %d publications", n)
	}
}
