package client_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/client"
)

const connJSON = `{"id":"c-1","status":"connecting","redirect_uri":"https://login.example/authorize?x=1",
 "org":{"id":"","instance_url":"","type":"DatacloudOrg","connection_name":"events_dc","username":""},
 "created_at":"2025-03-06T18:20:42Z","last_modified_at":"2025-03-06T18:20:42.226577Z"}`

func wantBody(t *testing.T, r *http.Request, want map[string]any) {
	t.Helper()
	got := readBody(t, r)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s %s body = %v, want %v", r.Method, r.URL.Path, got, want)
	}
}

func TestConnectionRoutes(t *testing.T) {
	f := newFake(t)
	f.handle("GET", "/connections", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "["+connJSON+"]")
	})
	f.handle("GET", "/connections/{name}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("name") != "events_dc" {
			apiErr(w, 404, "record_not_found", "no such connection")
			return
		}
		io.WriteString(w, connJSON)
	})
	f.handle("POST", "/connections/datacloud", func(w http.ResponseWriter, r *http.Request) {
		wantBody(t, r, map[string]any{"connection_name": "events_dc"}) // login_url dropped
		w.WriteHeader(202)
		io.WriteString(w, connJSON)
	})
	f.handle("POST", "/connections/salesforce", func(w http.ResponseWriter, r *http.Request) {
		wantBody(t, r, map[string]any{"connection_name": "prod_org", "login_url": "https://test.salesforce.com"})
		w.WriteHeader(202)
		io.WriteString(w, `{"id":"c-2","status":"connecting","org":{"id":"","type":"SalesforceOrg","connection_name":"prod_org"}}`)
	})
	f.handle("POST", "/connections/salesforce/jwt", func(w http.ResponseWriter, r *http.Request) {
		// The CLI always sends an alias, a random UUID for connections.
		got := readBody(t, r)
		if alias, _ := got["alias"].(string); !uuidRe.MatchString(alias) {
			t.Errorf("JWT connection alias %q, want a random UUID", got["alias"])
		}
		delete(got, "alias")
		if want := map[string]any{"connection_name": "ci_org", "client_id": "3MVG9", "jwt_private_key": privateKey, "username": "api@acme.com"}; !reflect.DeepEqual(got, want) {
			t.Errorf("JWT connection body %v, want %v and an alias", got, want)
		}
		w.WriteHeader(202)
		io.WriteString(w, `{"id":"c-3","status":"connected","connection_method":"JWT","alias":"0b3c","org":{"id":"00D000000000001AAA","type":"SalesforceOrg","connection_name":"ci_org"}}`)
	})
	f.handle("DELETE", "/connections/{name}", func(w http.ResponseWriter, r *http.Request) {
		switch r.PathValue("name") {
		case "events_dc":
			w.WriteHeader(202)
			io.WriteString(w, strings.Replace(connJSON, "connecting", "disconnecting", 1))
		case "empty":
			w.WriteHeader(204)
		default:
			apiErr(w, 404, "record_not_found", "no such connection")
		}
	})
	a, _ := f.link()
	ctx := t.Context()

	list, err := a.ListConnections(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("ListConnections = %v, %v", list, err)
	}
	c := list[0]
	if c.Org.Type != client.OrgTypeDataCloud {
		t.Errorf("org type %q not normalised to DataCloudOrg", c.Org.Type)
	}
	if c.CreatedAt.IsZero() || c.LastModifiedAt.Nanosecond() != 226577000 {
		t.Errorf("timestamps: created %v modified %v", c.CreatedAt, c.LastModifiedAt)
	}
	if got, err := a.GetConnection(ctx, "events_dc"); err != nil || got.ID != "c-1" || got.RedirectURI == "" {
		t.Errorf("GetConnection = %+v, %v", got, err)
	}
	if _, err := a.GetConnection(ctx, "missing"); !client.IsNotFound(err) || !errors.Is(err, client.ErrNotFound) {
		t.Errorf("GetConnection(missing) err = %v, want not found", err)
	} else {
		var ae *client.APIError
		if !errors.As(err, &ae) || ae.ID != "record_not_found" || ae.Status != 404 || ae.Path != "/addons/"+addonID+"/connections/missing" || ae.Method != "GET" {
			t.Errorf("APIError = %+v", ae)
		}
	}
	if got, err := a.CreateConnection(ctx, "datacloud", client.ConnectRequest{Name: "events_dc"}); err != nil || got.Status != client.StatusConnecting {
		t.Errorf("CreateConnection(datacloud) = %+v, %v", got, err)
	}
	if got, err := a.CreateConnection(ctx, "salesforce", client.ConnectRequest{Name: "prod_org", LoginURL: "https://test.salesforce.com"}); err != nil || got.ID != "c-2" {
		t.Errorf("CreateConnection(salesforce) = %+v, %v", got, err)
	}
	if _, err := a.CreateConnection(ctx, "mulesoft", client.ConnectRequest{Name: "x_org"}); err == nil {
		t.Errorf("CreateConnection(mulesoft) succeeded")
	}
	got, err := a.CreateJWTConnection(ctx, client.JWTRequest{Name: "ci_org", ClientID: "3MVG9", Username: "api@acme.com", PrivateKey: secretOf(privateKey)})
	if err != nil || got.Status != client.StatusConnected || got.ConnectionMethod != "JWT" {
		t.Errorf("CreateJWTConnection = %+v, %v", got, err)
	}
	if got, err := a.DeleteConnection(ctx, "events_dc"); err != nil || got == nil || got.Status != client.StatusDisconnecting {
		t.Errorf("DeleteConnection = %+v, %v", got, err)
	}
	if got, err := a.DeleteConnection(ctx, "empty"); err != nil || got != nil {
		t.Errorf("DeleteConnection(204) = %+v, %v; want nil, nil", got, err)
	}
	if _, err := a.DeleteConnection(ctx, "gone"); !client.IsNotFound(err) {
		t.Errorf("DeleteConnection(gone) err = %v", err)
	}
}

func TestAuthorizationRoutes(t *testing.T) {
	f := newFake(t)
	const authJSON = `{"id":"a-1","status":"authorized","app_name":"acme-api","connection_method":"OAuth","org":{"id":"00D","type":"SalesforceOrg","developer_name":"ops_auth"}}`
	f.handle("GET", "/authorizations", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "["+authJSON+"]") })
	f.handle("GET", "/authorizations/{name}", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, authJSON) })
	for _, kind := range []string{"salesforce", "datacloud"} {
		f.handle("POST", "/authorizations/"+kind, func(w http.ResponseWriter, r *http.Request) {
			wantBody(t, r, map[string]any{"developer_name": "ops_auth", "login_url": "https://login.salesforce.com"})
			w.WriteHeader(202)
			io.WriteString(w, `{"id":"a-2","status":"authorizing","redirect_uri":"https://x","org":{"id":"","developer_name":"ops_auth"}}`)
		})
		f.handle("POST", "/authorizations/"+kind+"/jwt", func(w http.ResponseWriter, r *http.Request) {
			wantBody(t, r, map[string]any{"developer_name": "ci_auth", "client_id": "3MVG9", "jwt_private_key": privateKey,
				"username": "api@acme.com", "alias": "applink:ci_auth", "login_url": "https://test.salesforce.com"})
			w.WriteHeader(202)
			io.WriteString(w, `{"id":"a-3","status":"authorized","connection_method":"JWT","org":{"id":"00D","type":"DatacloudOrg","developer_name":"ci_auth"}}`)
		})
	}
	f.handle("DELETE", "/authorizations/{name}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("name") == "gone" {
			apiErr(w, 404, "record_not_found", "nope")
			return
		}
		io.WriteString(w, `{}`)
	})
	a, _ := f.link()
	ctx := t.Context()
	if l, err := a.ListAuthorizations(ctx); err != nil || len(l) != 1 || l[0].Org.DeveloperName != "ops_auth" {
		t.Errorf("ListAuthorizations = %+v, %v", l, err)
	}
	if g, err := a.GetAuthorization(ctx, "ops_auth"); err != nil || g.ConnectionMethod != "OAuth" {
		t.Errorf("GetAuthorization = %+v, %v", g, err)
	}
	for _, kind := range []string{"salesforce", "datacloud"} {
		if g, err := a.CreateAuthorization(ctx, kind, client.ConnectRequest{Name: "ops_auth", LoginURL: "https://login.salesforce.com"}); err != nil || g.Status != client.StatusAuthorizing {
			t.Errorf("CreateAuthorization(%s) = %+v, %v", kind, g, err)
		}
		req := client.JWTRequest{Name: "ci_auth", ClientID: "3MVG9", Username: "api@acme.com",
			PrivateKey: secretOf(privateKey), Alias: "applink:ci_auth", LoginURL: "https://test.salesforce.com"}
		if kind == "salesforce" {
			req.Alias = "" // the default is sent, as the CLI does: applink:<developer_name>
		}
		g, err := a.CreateJWTAuthorization(ctx, kind, req)
		if err != nil || g.Status != client.StatusAuthorized || g.Org.Type != client.OrgTypeDataCloud {
			t.Errorf("CreateJWTAuthorization(%s) = %+v, %v", kind, g, err)
		}
		if f.hit("POST /addons/"+addonID+"/authorizations/"+kind+"/jwt") != 1 {
			t.Errorf("JWT authorization route for %s not hit once", kind)
		}
	}
	if err := a.DeleteAuthorization(ctx, "ops_auth"); err != nil {
		t.Errorf("DeleteAuthorization: %v", err)
	}
	if err := a.DeleteAuthorization(ctx, "gone"); !client.IsNotFound(err) {
		t.Errorf("DeleteAuthorization(gone) = %v", err)
	}
}

func TestDataActionTargetRoutes(t *testing.T) {
	f := newFake(t)
	const detail = `{"id":"t-1","api_name":"Order_Events","label":"Order Events","status":"pending","target_endpoint":"/handle","type":"webhook",
	 "heroku_app":{"id":"` + appID + `","name":"acme-api","url":"https://acme-api.herokuapp.com/"},"org":{"id":"00D","type":"DataCloudOrg","connection_name":"events_dc"}}`
	base := "/connections/datacloud/events_dc/data_action_targets"
	f.handle("GET", base, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `[{"id":"t-1","api_name":"Order_Events","label":"Order Events","status":"created","target_endpoint":"/handle","type":"webhook","connection_id":"c-1","app_id":"`+appID+`"}]`)
	})
	f.handle("GET", base+"/{api}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("api") != "Order_Events" {
			apiErr(w, 404, "record_not_found", "no target")
			return
		}
		io.WriteString(w, detail)
	})
	f.handle("POST", base, func(w http.ResponseWriter, r *http.Request) {
		wantBody(t, r, map[string]any{"label": "Order Events", "api_name": "Order_Events", "target_endpoint": "/handle"})
		w.WriteHeader(202)
		io.WriteString(w, detail)
	})
	a, _ := f.link()
	ctx := t.Context()
	if l, err := a.ListDataActionTargets(ctx, "events_dc"); err != nil || len(l) != 1 || l[0].ConnectionID != "c-1" {
		t.Errorf("ListDataActionTargets = %+v, %v", l, err)
	}
	if d, err := a.GetDataActionTarget(ctx, "events_dc", "Order_Events"); err != nil || d.HerokuApp.URL != "https://acme-api.herokuapp.com/" {
		t.Errorf("GetDataActionTarget = %+v, %v", d, err)
	}
	if _, err := a.GetDataActionTarget(ctx, "events_dc", "Nope"); !client.IsNotFound(err) {
		t.Errorf("GetDataActionTarget(Nope) = %v", err)
	}
	if d, err := a.CreateDataActionTarget(ctx, "events_dc", client.TargetRequest{Label: "Order Events", TargetEndpoint: "/handle"}); err != nil || d.Status != client.StatusPending {
		t.Errorf("CreateDataActionTarget = %+v, %v", d, err)
	}
}

func makeZip(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range []string{"api-spec.yaml", "connectedapp-meta.xml", "permissionset-meta.xml"} {
		if body, ok := files[name]; ok {
			w, _ := zw.Create(name)
			io.WriteString(w, body)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestPublishMultipartLayout(t *testing.T) {
	f := newFake(t)
	files := map[string]string{"api-spec.yaml": "openapi: 3.0.0\n", "permissionset-meta.xml": "<PermissionSet/>"}
	f.handle("POST", "/connections/salesforce/prod_org/apps", func(w http.ResponseWriter, r *http.Request) {
		mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != "multipart/form-data" {
			t.Fatalf("Content-Type = %q", r.Header.Get("Content-Type"))
		}
		mr := multipart.NewReader(r.Body, params["boundary"])
		p1, err := mr.NextPart()
		if err != nil {
			t.Fatalf("part 1: %v", err)
		}
		if p1.FormName() != "metadata" || p1.FileName() != "blob" || p1.Header.Get("Content-Type") != "application/zip" {
			t.Errorf("part 1 = %q %q %q", p1.FormName(), p1.FileName(), p1.Header.Get("Content-Type"))
		}
		zb, _ := io.ReadAll(p1)
		zr, err := zip.NewReader(bytes.NewReader(zb), int64(len(zb)))
		if err != nil {
			t.Fatalf("zip: %v", err)
		}
		got := map[string]string{}
		for _, zf := range zr.File {
			rc, _ := zf.Open()
			b, _ := io.ReadAll(rc)
			got[zf.Name] = string(b)
		}
		if !reflect.DeepEqual(got, files) {
			t.Errorf("zip contents = %v", got)
		}
		p2, err := mr.NextPart()
		if err != nil {
			t.Fatalf("part 2: %v", err)
		}
		if p2.FormName() != "app_request" || p2.FileName() != "blob" || p2.Header.Get("Content-Type") != "application/json" {
			t.Errorf("part 2 = %q %q %q", p2.FormName(), p2.FileName(), p2.Header.Get("Content-Type"))
		}
		var req map[string]any
		if err := json.NewDecoder(p2).Decode(&req); err != nil {
			t.Errorf("app_request: %v", err)
		}
		want := map[string]any{"client_name": "AcmeAPI", "authorization_external_client_app_name": "AcmeECA"}
		if !reflect.DeepEqual(req, want) {
			t.Errorf("app_request = %v, want %v", req, want)
		}
		if _, err := mr.NextPart(); err != io.EOF {
			t.Errorf("a third part: %v", err)
		}
		w.WriteHeader(201)
	})
	f.handle("GET", "/connections/salesforce/prod_org/apps/"+appID, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `[{"app_uuid":"`+appID+`","connection_name":"prod_org","org_id":"00D","esr_id":"e1","esr_name":"AcmeAPI","created_at":"2025-03-06T18:20:42Z"}]`)
	})
	a, _ := f.link()
	made, err := a.Publish(t.Context(), "prod_org", client.PublishRequest{ClientName: "AcmeAPI", Zip: makeZip(t, files), ExternalClientApp: "AcmeECA"})
	if err != nil || made != nil {
		t.Fatalf("Publish = %+v, %v; want nil, nil for an answer without a body", made, err)
	}
	pubs, err := a.ListPublications(t.Context(), "prod_org")
	if err != nil || len(pubs) != 1 || pubs[0].ESRName != "AcmeAPI" || pubs[0].CreatedAt.Year() != 2025 {
		t.Errorf("ListPublications = %+v, %v", pubs, err)
	}
	if _, err := a.Publish(t.Context(), "prod_org", client.PublishRequest{ClientName: "AcmeAPI"}); err == nil {
		t.Errorf("Publish with no zip succeeded")
	}
	if _, err := a.Publish(t.Context(), "prod_org", client.PublishRequest{Zip: []byte("x")}); err == nil {
		t.Errorf("Publish with no client name succeeded")
	}
}

func TestRuntimeAuthorization(t *testing.T) {
	f := newFake(t)
	f.mux.HandleFunc("GET /addons/"+addonID+"/authorizations/ops_auth", func(w http.ResponseWriter, r *http.Request) {
		checkAppLinkHeaders(t, r, false)
		io.WriteString(w, `{"id":"a-1","status":"authorized","org":{"id":"00D","developer_name":"ops_auth","instance_url":"https://acme.my.salesforce.com","type":"SalesforceOrg","api_version":"62.0","user_auth":{"username":"u@acme.com","user_id":"005","access_token":"`+accessToken+`"}},"created_at":"2025-03-06T18:20:42Z"}`)
	})
	a, _ := f.link()
	ra, err := a.RuntimeAuthorization(t.Context(), "ops_auth")
	if err != nil {
		t.Fatalf("RuntimeAuthorization: %v", err)
	}
	if ra.Org.UserAuth.AccessToken.Reveal() != accessToken || ra.Org.APIVersion != "62.0" || ra.Org.UserAuth.Username != "u@acme.com" {
		t.Errorf("RuntimeAuthorization = %+v", ra)
	}
	for _, s := range []string{fmtAll(ra), fmtAll(*ra)} {
		if strings.Contains(s, accessToken) {
			t.Errorf("printed runtime authorization leaks the access token: %s", s)
		}
	}
	b, _ := json.Marshal(ra)
	if strings.Contains(string(b), accessToken) {
		t.Errorf("JSON of runtime authorization leaks the token: %s", b)
	}
}

func TestUnresolvedAppLinkErrors(t *testing.T) {
	var a client.AppLink
	if _, err := a.ListConnections(t.Context()); err == nil {
		t.Error("zero AppLink made a call")
	}
	var nilp *client.AppLink
	if _, err := nilp.GetConnection(t.Context(), "x"); err == nil {
		t.Error("nil AppLink made a call")
	}
}

func TestTimeWithoutFraction(t *testing.T) {
	var c client.Connection
	if err := json.Unmarshal([]byte(`{"id":"x","status":"connected","org":{"id":""},"created_at":"2025-03-06T18:20:42Z","last_modified_at":"2025-03-06T18:20:42.5Z"}`), &c); err != nil {
		t.Fatal(err)
	}
	if !c.CreatedAt.Equal(time.Date(2025, 3, 6, 18, 20, 42, 0, time.UTC)) || c.LastModifiedAt.Nanosecond() != 5e8 {
		t.Errorf("times = %v, %v", c.CreatedAt, c.LastModifiedAt)
	}
}

// An org field the server does not know yet may come as null, as "" or
// not at all; the client reads all three as empty.
func TestUnknownOrgFieldsNullEmptyOrAbsent(t *testing.T) {
	f := newFake(t)
	f.handle("GET", "/connections", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `[{"id":"c-1","status":"connecting","org":{"id":null,"instance_url":null,"username":null,"type":"SalesforceOrg","connection_name":"null_org"}},
			{"id":"c-2","status":"connecting","org":{"id":"","instance_url":"","type":"SalesforceOrg","connection_name":"empty_org"}},
			{"id":"c-3","status":"connecting","org":{"type":"SalesforceOrg","connection_name":"absent_org"}}]`)
	})
	f.handle("GET", "/connections/salesforce/null_org/apps/"+appID, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `[{"app_uuid":"`+appID+`","connection_name":"null_org","org_id":null,"esr_id":"e1","esr_name":"AcmeAPI"}]`)
	})
	a, _ := f.link()
	list, err := a.ListConnections(t.Context())
	if err != nil || len(list) != 3 {
		t.Fatalf("ListConnections = %+v, %v", list, err)
	}
	for _, c := range list {
		if c.Org.ID != "" || c.Org.InstanceURL != "" || c.Org.Username != "" || c.Org.Type != client.OrgTypeSalesforce {
			t.Errorf("%s: org %+v, want empty id, instance URL and username", c.Org.ConnectionName, c.Org)
		}
	}
	pubs, err := a.ListPublications(t.Context(), "null_org")
	if err != nil || len(pubs) != 1 || pubs[0].OrgID != "" {
		t.Errorf("ListPublications = %+v, %v", pubs, err)
	}
}

// Publish takes any 2xx as success and returns what its answer identifies
// of the registration (esr_id, esr_name), nil when the answer names
// neither: an empty body, an empty object, something that is not JSON.
func TestPublishReadsWhatTheAnswerIdentifies(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
		want   *client.Publication
	}{
		{201, `{"esr_id":"0Ci1","esr_name":"AcmeAPI_x1","connection_name":"prod_org"}`, &client.Publication{ESRID: "0Ci1", ESRName: "AcmeAPI_x1", ConnectionName: "prod_org"}},
		{200, `{"esr_name":"AcmeAPI"}`, &client.Publication{ESRName: "AcmeAPI"}},
		{202, ``, nil},
		{201, `{}`, nil},
		{204, ``, nil},
		{200, `accepted`, nil},
		{201, `[{"esr_id":"0Ci1"}]`, nil},
	} {
		f := newFake(t)
		f.handle("POST", "/connections/salesforce/prod_org/apps", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(tc.status)
			io.WriteString(w, tc.body)
		})
		a, _ := f.link()
		got, err := a.Publish(t.Context(), "prod_org", client.PublishRequest{ClientName: "AcmeAPI", Zip: []byte("zip")})
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%d %q: Publish = %+v, %v; want %+v", tc.status, tc.body, got, err, tc.want)
		}
	}
}
