package emulator

import (
	"archive/zip"
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"gopkg.in/yaml.v3"
)

// Publishing, routes #17 and #18.

// Size caps of a publish request: the whole body, the zip's uncompressed
// total, and its entry count. Exceeding any is a 413 or 422, never an
// unbounded read (zip bombs declare small sizes and inflate huge).
const (
	maxPublishBody   = 8 << 20
	maxUnzippedBytes = 16 << 20
	maxZipEntries    = 64
)

type appRequest struct {
	ClientName                         string `json:"client_name"`
	AuthorizationExternalClientAppName string `json:"authorization_external_client_app_name"`
	AuthorizationPermissionSetName     string `json:"authorization_permission_set_name"`
	AuthorizationConnectedAppName      string `json:"authorization_connected_app_name"`
}

// appRequestFields are the fields app_request may hold (sorted).
var appRequestFields = []string{"authorization_connected_app_name", "authorization_external_client_app_name",
	"authorization_permission_set_name", "client_name"}

// errPublish is a rejected publish: status, error id ("" is
// validation_failed) and message for the body.
type errPublish struct {
	status int
	id     string
	msg    string
}

func (e *errPublish) Error() string { return e.msg }

func unprocessable(format string, args ...any) error {
	return &errPublish{status: http.StatusUnprocessableEntity, msg: fmt.Sprintf(format, args...)}
}

// badShape refuses a request whose layout is not what the Heroku CLI sends
// (400 bad_request), as opposed to content the API judges (422).
func badShape(format string, args ...any) error {
	return &errPublish{status: http.StatusBadRequest, id: "bad_request", msg: fmt.Sprintf(format, args...)}
}

// checkPart refuses a part the CLI would not send: only metadata and
// app_request, each once, each a file part (the CLI's are named "blob"),
// app_request with a JSON content type.
func checkPart(p *multipart.Part, seen map[string]bool) error {
	name := p.FormName()
	switch {
	case name != "metadata" && name != "app_request":
		return badShape("Unknown part %q: a publish has exactly the file parts metadata and app_request.", name)
	case seen[name]:
		return badShape("The %s part appears more than once.", name)
	case p.FileName() == "":
		return badShape("The %s part must be a file part (a Content-Disposition with a filename; the Heroku CLI sends \"blob\"), not a plain form field.", name)
	}
	seen[name] = true
	if name == "app_request" {
		ct := p.Header.Get("Content-Type")
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return badShape("The app_request part must have Content-Type application/json, not %q.", ct)
		}
	}
	return nil
}

// readPublish parses the multipart body: the metadata zip and app_request.
func readPublish(w http.ResponseWriter, r *http.Request) (zipBytes []byte, req appRequest, err error) {
	mt, params, perr := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if perr != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return nil, req, unprocessable("Request must be multipart/form-data.")
	}
	mr := multipart.NewReader(http.MaxBytesReader(w, r.Body, maxPublishBody), params["boundary"])
	var gotReq bool
	seen := map[string]bool{}
	for {
		p, perr := mr.NextPart()
		if errors.Is(perr, io.EOF) {
			break
		}
		if perr != nil {
			var mbe *http.MaxBytesError
			if errors.As(perr, &mbe) {
				return nil, req, &errPublish{status: http.StatusRequestEntityTooLarge, msg: "Request body too large."}
			}
			return nil, req, unprocessable("Malformed multipart body.")
		}
		if err := checkPart(p, seen); err != nil {
			return nil, req, err
		}
		b, rerr := io.ReadAll(p)
		if rerr != nil {
			var mbe *http.MaxBytesError
			if errors.As(rerr, &mbe) {
				return nil, req, &errPublish{status: http.StatusRequestEntityTooLarge, msg: "Request body too large."}
			}
			return nil, req, unprocessable("Malformed multipart body.")
		}
		switch p.FormName() {
		case "metadata":
			zipBytes = b
		case "app_request":
			if msg := unknownFields(b, appRequestFields); msg != "" {
				return nil, req, badShape("%s in the app_request part; it takes %s.", msg, strings.Join(appRequestFields, ", "))
			}
			if err := json.Unmarshal(b, &req); err != nil {
				return nil, req, unprocessable("app_request is not a valid JSON object.")
			}
			gotReq = true
		}
	}
	switch {
	case zipBytes == nil:
		return nil, req, unprocessable("The metadata part is missing.")
	case !gotReq:
		return nil, req, unprocessable("The app_request part is missing.")
	case strings.TrimSpace(req.ClientName) == "":
		return nil, req, unprocessable("client_name is required.")
	}
	return zipBytes, req, nil
}

// unzipped is what the metadata zip held.
type unzipped struct {
	specName string
	spec     []byte
	files    []string
}

// unzipMetadata reads the zip with every size bounded by what is actually
// inflated, not what the headers claim.
func unzipMetadata(b []byte) (*unzipped, error) {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, unprocessable("The metadata part is not a valid zip archive.")
	}
	if len(zr.File) > maxZipEntries {
		return nil, unprocessable("The metadata zip has more than %d entries.", maxZipEntries)
	}
	out := &unzipped{}
	var total int64
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return nil, unprocessable("The metadata zip entry %s cannot be read.", f.Name)
		}
		data, err := io.ReadAll(io.LimitReader(rc, maxUnzippedBytes-total+1))
		rc.Close()
		if err != nil {
			return nil, unprocessable("The metadata zip entry %s cannot be read.", f.Name)
		}
		total += int64(len(data))
		if total > maxUnzippedBytes {
			return nil, unprocessable("The metadata zip inflates beyond %d bytes.", maxUnzippedBytes)
		}
		out.files = append(out.files, f.Name)
		switch f.Name {
		case "api-spec.json", "api-spec.yaml", "api-spec.yml":
			if out.spec != nil {
				return nil, unprocessable("The metadata zip holds more than one api-spec file.")
			}
			out.specName, out.spec = f.Name, data
		}
	}
	sort.Strings(out.files)
	if out.spec == nil {
		return nil, unprocessable("The metadata zip has no api-spec.json or api-spec.yaml at its root.")
	}
	return out, nil
}

// validateSpec checks an OpenAPI 3.x document the way the server would
// refuse a broken one; external references are not followed. A Swagger 2.0
// document is refused as such: kin-openapi would load it as an OpenAPI
// document with no version.
func validateSpec(ctx context.Context, spec []byte) error {
	var head struct {
		Swagger any `yaml:"swagger"`
		OpenAPI any `yaml:"openapi"`
	}
	if yaml.Unmarshal(spec, &head) == nil && head.Swagger != nil && head.OpenAPI == nil {
		return unprocessable("Invalid OpenAPI specification: got swagger %v; only OpenAPI 3.x is supported (convert the spec to OpenAPI 3).", head.Swagger)
	}
	doc, err := openapi3.NewLoader().LoadFromData(spec)
	if err != nil {
		return unprocessable("Invalid OpenAPI specification: %v", err)
	}
	switch {
	case doc.OpenAPI == "":
		return unprocessable("Invalid OpenAPI specification: no openapi field; only OpenAPI 3.x is supported.")
	case !strings.HasPrefix(doc.OpenAPI, "3."):
		return unprocessable("Invalid OpenAPI specification: got openapi %s; only OpenAPI 3.x is supported.", doc.OpenAPI)
	}
	if err := doc.Validate(ctx); err != nil {
		return unprocessable("Invalid OpenAPI specification: %v", err)
	}
	return nil
}

func (e *Emulator) publish(w http.ResponseWriter, r *http.Request) {
	// Check the credentials before reading a possibly large body.
	e.mu.Lock()
	_, _, ok := e.authAddon(w, r)
	e.mu.Unlock()
	if !ok {
		return
	}
	zipBytes, req, err := readPublish(w, r)
	var uz *unzipped
	if err == nil {
		uz, err = unzipMetadata(zipBytes)
	}
	if err == nil {
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		err = validateSpec(ctx, uz.spec)
		cancel()
	}
	if err != nil {
		var pe *errPublish
		if errors.As(err, &pe) {
			writeError(w, pe.status, cmp.Or(pe.id, "validation_failed"), pe.msg)
		} else {
			writeError(w, http.StatusInternalServerError, "server_error", "publish failed")
		}
		return
	}
	e.underConnection(w, r, orgSalesforce, func(a *app, ad *addon, c *connection) {
		if !e.connected(c) {
			writeError(w, http.StatusUnprocessableEntity, "validation_failed", "Connection "+c.Name+" is not connected.")
			return
		}
		sum := sha256.Sum256(uz.spec)
		now := e.now()
		p := c.publication(req.ClientName)
		isNew := p == nil
		if isNew {
			p = &publication{ClientName: req.ClientName, CreatedAt: now}
			c.Publications = append(c.Publications, p)
		}
		// Publishing the same client name again replaces the registration
		// (docs/api.md, "Publications and their identity").
		p.ESRID = sfID("0Ci", fmt.Sprintf("%s|%s|%d|%s", c.ID, req.ClientName, p.Count, now))
		p.SpecName, p.SpecSHA256, p.Files = uz.specName, hex.EncodeToString(sum[:]), uz.files
		p.ExternalClientApp, p.PermissionSet, p.ConnectedApp = req.AuthorizationExternalClientAppName, req.AuthorizationPermissionSetName, req.AuthorizationConnectedAppName
		p.Count++
		p.ModifiedAt = now
		if !e.saveOrFail(w) {
			return
		}
		if isNew {
			e.created(a.Name + "/connection/" + c.Name + "/publication/" + p.ClientName)
		}
		if e.is(VariantStatuses) {
			w.WriteHeader(http.StatusAccepted)
			return
		}
		writeJSON(w, http.StatusCreated, e.wirePublication(a, ad, c, p))
	})
}

func (e *Emulator) wirePublication(a *app, ad *addon, c *connection, p *publication) wPublication {
	org := e.wireOrg(&c.grant, KindConnection)
	return wPublication{AppUUID: a.ID, ConnectionName: c.Name, OrgID: org.ID, ESRID: p.ESRID, ESRName: e.esrNameOf(p.ClientName),
		HerokuAppLinkID: ad.ID, CreatedAt: stamp(p.CreatedAt), CreatedBy: userEmail, LastModifiedAt: stamp(p.ModifiedAt), LastModifiedBy: userEmail}
}

func (e *Emulator) listPublications(w http.ResponseWriter, r *http.Request) {
	e.underConnection(w, r, orgSalesforce, func(a *app, ad *addon, c *connection) {
		if e.childrenRefused(func(st int, id, msg string) { writeError(w, st, id, msg) }, c, "publications") {
			return
		}
		var items []pageItem
		if r.PathValue("app_uuid") == a.ID || r.PathValue("app_uuid") == a.Name {
			for _, p := range c.Publications {
				items = append(items, pageItem{id: p.ESRID, name: e.esrNameOf(p.ClientName), v: e.wirePublication(a, ad, c, p)})
			}
		}
		e.writeList(w, r, items, "name", "id")
	})
}
