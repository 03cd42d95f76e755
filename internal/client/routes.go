package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"

	"github.com/applinkctl/applinkctl/internal/secret"
)

// errNotResolved guards methods called on an AppLink that Resolve did not make.
var errNotResolved = errors.New("applink: not resolved (use Platform.Resolve)")

// orgPath maps the manifest's org type to the path segment of its routes.
func orgPath(orgType string) (string, error) {
	switch orgType {
	case "salesforce", "datacloud":
		return orgType, nil
	}
	return "", fmt.Errorf("org type %q: want salesforce or datacloud", orgType)
}

// call sends one management request with the headers of docs/api.md ("Headers")
// and decodes a JSON answer into out (nil: ignore the body).
func (a *AppLink) call(ctx context.Context, method, path string, body any, out any, extra ...secret.Value) (*response, error) {
	if a == nil || a.t == nil {
		return nil, errNotResolved
	}
	r := &request{
		method:  method,
		base:    a.APIURL,
		path:    "/addons/" + url.PathEscape(a.AddonID) + path,
		header:  a.headers(true),
		secrets: append(append([]secret.Value{}, a.secrets...), extra...),
	}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("%s %s: encode body: %w", method, r.path, err)
		}
		r.body, r.ctype = b, "application/json"
	}
	return a.send(ctx, r, out)
}

func (a *AppLink) send(ctx context.Context, r *request, out any) (*response, error) {
	resp, err := a.t.do(ctx, r)
	if err != nil {
		return nil, err
	}
	if out != nil && len(bytes.TrimSpace(resp.body)) > 0 {
		if err := json.Unmarshal(resp.body, out); err != nil {
			return nil, fmt.Errorf("%s %s: decode answer: %w", r.method, r.path, err)
		}
	}
	return resp, nil
}

func (a *AppLink) headers(sso bool) http.Header {
	h := http.Header{
		"Authorization": {"Bearer " + a.token.Reveal()},
		"Accept":        {"application/json"},
		"X-App-Uuid":    {a.AppID},
	}
	if sso {
		h.Set("X-Addon-Sso", a.sso.Reveal())
	}
	return h
}

func seg(s string) string { return "/" + url.PathEscape(s) }

// keySecrets lists a PEM key and its longer lines, so an error message that
// echoes any part of the key is scrubbed.
func keySecrets(k secret.Value) []secret.Value {
	out := []secret.Value{k}
	for _, line := range strings.Split(k.Reveal(), "\n") {
		if line = strings.TrimSpace(line); len(line) >= 16 && !strings.HasPrefix(line, "-----") {
			out = append(out, secret.New(line))
		}
	}
	return out
}

// ListConnections lists the add-on's connections (#1), every page.
func (a *AppLink) ListConnections(ctx context.Context) ([]Connection, error) {
	return applinkList[Connection](ctx, a, "/connections")
}

// GetConnection reads one connection by name or id (#2); a 404 matches
// ErrNotFound.
func (a *AppLink) GetConnection(ctx context.Context, nameOrID string) (*Connection, error) {
	var out Connection
	if _, err := a.call(ctx, http.MethodGet, "/connections"+seg(nameOrID), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

type connectBody struct {
	ConnectionName string `json:"connection_name,omitempty"`
	DeveloperName  string `json:"developer_name,omitempty"`
	LoginURL       string `json:"login_url,omitempty"`
}

// CreateConnection starts a browser (OAuth) connection (#3, #4); orgType is
// the manifest's "salesforce" or "datacloud". The answer is usually
// "connecting" with a redirect_uri a person must open. An unknown outcome is
// an *AmbiguousError: look the name up rather than calling again.
func (a *AppLink) CreateConnection(ctx context.Context, orgType string, req ConnectRequest) (*Connection, error) {
	op, err := orgPath(orgType)
	if err != nil {
		return nil, fmt.Errorf("connection %s: %w", req.Name, err)
	}
	var out Connection
	body := connectBody{ConnectionName: req.Name, LoginURL: req.LoginURL}
	if _, err := a.call(ctx, http.MethodPost, "/connections/"+op, body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

type jwtBody struct {
	ConnectionName string `json:"connection_name,omitempty"`
	DeveloperName  string `json:"developer_name,omitempty"`
	ClientID       string `json:"client_id"`
	PrivateKey     string `json:"jwt_private_key"`
	Username       string `json:"username"`
	LoginURL       string `json:"login_url,omitempty"`
	Alias          string `json:"alias"`
}

// CreateJWTConnection creates a Salesforce connection with the JWT bearer
// flow (#5); the answer is connected or failed at once. The body always
// carries an alias, as the Heroku CLI's does: req.Alias, else a random UUID.
func (a *AppLink) CreateJWTConnection(ctx context.Context, req JWTRequest) (*Connection, error) {
	alias := req.Alias
	if alias == "" {
		alias = randomUUID()
	}
	body := jwtBody{ConnectionName: req.Name, ClientID: req.ClientID, PrivateKey: req.PrivateKey.Reveal(),
		Username: req.Username, LoginURL: req.LoginURL, Alias: alias}
	var out Connection
	if _, err := a.call(ctx, http.MethodPost, "/connections/salesforce/jwt", body, &out, keySecrets(req.PrivateKey)...); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteConnection deletes a connection by name (#6). The server answers 202
// with the connection (status disconnecting); an empty 200/204 answer gives
// a nil *Connection and a nil error. A 404 matches ErrNotFound.
func (a *AppLink) DeleteConnection(ctx context.Context, name string) (*Connection, error) {
	var out Connection
	resp, err := a.call(ctx, http.MethodDelete, "/connections"+seg(name), nil, &out)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(resp.body)) == 0 || out.ID == "" && out.Status == "" {
		return nil, nil
	}
	return &out, nil
}

// ListAuthorizations lists the add-on's authorizations (#7), every page.
func (a *AppLink) ListAuthorizations(ctx context.Context) ([]Authorization, error) {
	return applinkList[Authorization](ctx, a, "/authorizations")
}

// GetAuthorization reads one authorization by developer name or id (#8).
func (a *AppLink) GetAuthorization(ctx context.Context, nameOrID string) (*Authorization, error) {
	var out Authorization
	if _, err := a.call(ctx, http.MethodGet, "/authorizations"+seg(nameOrID), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateAuthorization starts a browser (OAuth) authorization (#9, #10).
func (a *AppLink) CreateAuthorization(ctx context.Context, orgType string, req ConnectRequest) (*Authorization, error) {
	op, err := orgPath(orgType)
	if err != nil {
		return nil, fmt.Errorf("authorization %s: %w", req.Name, err)
	}
	var out Authorization
	body := connectBody{DeveloperName: req.Name, LoginURL: req.LoginURL}
	if _, err := a.call(ctx, http.MethodPost, "/authorizations/"+op, body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateJWTAuthorization creates an authorization with the JWT bearer flow
// (#11, #12). The body always carries an alias, as the Heroku CLI's does:
// req.Alias, else "applink:<developer name>".
func (a *AppLink) CreateJWTAuthorization(ctx context.Context, orgType string, req JWTRequest) (*Authorization, error) {
	op, err := orgPath(orgType)
	if err != nil {
		return nil, fmt.Errorf("authorization %s: %w", req.Name, err)
	}
	alias := req.Alias
	if alias == "" {
		alias = "applink:" + req.Name
	}
	body := jwtBody{DeveloperName: req.Name, ClientID: req.ClientID, PrivateKey: req.PrivateKey.Reveal(),
		Username: req.Username, LoginURL: req.LoginURL, Alias: alias}
	var out Authorization
	if _, err := a.call(ctx, http.MethodPost, "/authorizations/"+op+"/jwt", body, &out, keySecrets(req.PrivateKey)...); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteAuthorization deletes an authorization by developer name (#13), for
// either org type. A 404 matches ErrNotFound.
func (a *AppLink) DeleteAuthorization(ctx context.Context, name string) error {
	_, err := a.call(ctx, http.MethodDelete, "/authorizations"+seg(name), nil, nil)
	return err
}

func targetsPath(conn string) string {
	return "/connections/datacloud" + seg(conn) + "/data_action_targets"
}

// ListDataActionTargets lists a Data Cloud connection's targets (#14),
// every page.
func (a *AppLink) ListDataActionTargets(ctx context.Context, connection string) ([]DataActionTarget, error) {
	return applinkList[DataActionTarget](ctx, a, targetsPath(connection))
}

// GetDataActionTarget reads one target by API name (#16).
func (a *AppLink) GetDataActionTarget(ctx context.Context, connection, apiName string) (*DataActionTargetDetail, error) {
	var out DataActionTargetDetail
	if _, err := a.call(ctx, http.MethodGet, targetsPath(connection)+seg(apiName), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

type targetBody struct {
	Label          string `json:"label"`
	APIName        string `json:"api_name"`
	TargetEndpoint string `json:"target_endpoint"`
	Type           string `json:"type,omitempty"`
}

// CreateDataActionTarget creates a target on a Data Cloud connection (#15).
// An empty APIName defaults to the label with spaces replaced by "_", as the
// CLI does (docs/api.md, "Which command sends what").
func (a *AppLink) CreateDataActionTarget(ctx context.Context, connection string, req TargetRequest) (*DataActionTargetDetail, error) {
	body := targetBody(req)
	if body.APIName == "" {
		body.APIName = strings.ReplaceAll(req.Label, " ", "_")
	}
	var out DataActionTargetDetail
	if _, err := a.call(ctx, http.MethodPost, targetsPath(connection), body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

type appRequest struct {
	ClientName        string `json:"client_name"`
	ExternalClientApp string `json:"authorization_external_client_app_name,omitempty"`
	PermissionSet     string `json:"authorization_permission_set_name,omitempty"`
	ConnectedApp      string `json:"authorization_connected_app_name,omitempty"`
}

// Publish publishes an API to a Salesforce connection's org (#17) as
// multipart/form-data laid out as the Heroku CLI sends it: two file parts,
// both with the filename "blob", "metadata" (application/zip) then
// "app_request" (application/json).
//
// Any 2xx is success, as for the CLI. The CLI ignores the answer's body;
// Publish returns what it identifies of the registration made (its
// esr_id or esr_name) when it is a JSON object naming either, else nil:
// no source says what the answer holds, so an answer that says nothing
// usable is no error.
func (a *AppLink) Publish(ctx context.Context, connection string, req PublishRequest) (*Publication, error) {
	if a == nil || a.t == nil {
		return nil, errNotResolved
	}
	if req.ClientName == "" {
		return nil, fmt.Errorf("publish to %s: no client name", connection)
	}
	if len(req.Zip) == 0 {
		return nil, fmt.Errorf("publish %s to %s: empty metadata zip", req.ClientName, connection)
	}
	js, err := json.Marshal(appRequest{ClientName: req.ClientName, ExternalClientApp: req.ExternalClientApp,
		PermissionSet: req.PermissionSet, ConnectedApp: req.ConnectedApp})
	if err != nil {
		return nil, fmt.Errorf("publish %s: %w", req.ClientName, err)
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	err = blobPart(mw, "metadata", "application/zip", req.Zip)
	if err == nil {
		err = blobPart(mw, "app_request", "application/json", js)
	}
	if err == nil {
		err = mw.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("publish %s: build body: %w", req.ClientName, err)
	}
	r := &request{
		method:  http.MethodPost,
		base:    a.APIURL,
		path:    "/addons/" + url.PathEscape(a.AddonID) + "/connections/salesforce" + seg(connection) + "/apps",
		header:  a.headers(true),
		body:    buf.Bytes(),
		ctype:   mw.FormDataContentType(),
		secrets: a.secrets,
	}
	resp, err := a.t.do(ctx, r)
	if err != nil {
		return nil, err
	}
	var out Publication
	if json.Unmarshal(resp.body, &out) != nil || out.ESRID == "" && out.ESRName == "" {
		return nil, nil
	}
	return &out, nil
}

// blobPart writes one file part named name with the filename "blob", as a
// browser-style FormData of Blobs (what the CLI builds) sends it.
func blobPart(mw *multipart.Writer, name, ctype string, data []byte) error {
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="`+name+`"; filename="blob"`)
	h.Set("Content-Type", ctype)
	w, err := mw.CreatePart(h)
	if err == nil {
		_, err = w.Write(data)
	}
	return err
}

// ListPublications lists what this app has published to a Salesforce
// connection's org (#18), every page.
func (a *AppLink) ListPublications(ctx context.Context, connection string) ([]Publication, error) {
	if a == nil || a.t == nil {
		return nil, errNotResolved
	}
	return applinkList[Publication](ctx, a, "/connections/salesforce"+seg(connection)+"/apps"+seg(a.AppID))
}

type wireRuntime struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Org    struct {
		ID            string `json:"id"`
		DeveloperName string `json:"developer_name"`
		InstanceURL   string `json:"instance_url"`
		Type          string `json:"type"`
		APIVersion    string `json:"api_version"`
		UserAuth      struct {
			Username    string `json:"username"`
			UserID      string `json:"user_id"`
			AccessToken string `json:"access_token"`
		} `json:"user_auth"`
	} `json:"org"`
}

// RuntimeAuthorization reads an authorization the way a running app does
// (docs/api.md, end of "Routes"): no SSO header, X-App-UUID set. The access
// token lands in a secret.Value.
func (a *AppLink) RuntimeAuthorization(ctx context.Context, developerName string) (*RuntimeAuthorization, error) {
	if a == nil || a.t == nil {
		return nil, errNotResolved
	}
	r := &request{
		method:  http.MethodGet,
		base:    a.APIURL,
		path:    "/addons/" + url.PathEscape(a.AddonID) + "/authorizations" + seg(developerName),
		header:  a.headers(false),
		secrets: a.secrets,
	}
	resp, err := a.t.do(ctx, r)
	if err != nil {
		return nil, err
	}
	var w wireRuntime
	if err := json.Unmarshal(resp.body, &w); err != nil {
		// The decode error could quote the body, and the body holds a token.
		return nil, fmt.Errorf("GET %s: decode answer: invalid JSON", r.path)
	}
	return &RuntimeAuthorization{
		ID:     w.ID,
		Status: w.Status,
		Org: RuntimeOrg{
			ID:            w.Org.ID,
			DeveloperName: w.Org.DeveloperName,
			InstanceURL:   w.Org.InstanceURL,
			Type:          normOrgType(w.Org.Type),
			APIVersion:    w.Org.APIVersion,
			UserAuth: UserAuth{
				Username:    w.Org.UserAuth.Username,
				UserID:      w.Org.UserAuth.UserID,
				AccessToken: secret.New(w.Org.UserAuth.AccessToken),
			},
		},
	}, nil
}
