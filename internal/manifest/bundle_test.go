package manifest_test

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/applinkctl/applinkctl/internal/manifest"
)

const smallSpec = `openapi: 3.0.3
info: {title: T, version: "1"}
paths:
  /orders:
    get:
      responses: {"200": {description: ok}}
    post:
      responses: {"201": {description: ok}}
  /orders/{id}:
    delete:
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses: {"204": {description: ok}}
`

func TestOperations(t *testing.T) {
	ops, err := manifest.Operations([]byte(smallSpec))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"DELETE /orders/{id}", "GET /orders", "POST /orders"}
	if !reflect.DeepEqual(ops, want) {
		t.Errorf("Operations = %v, want %v", ops, want)
	}
	jsonOps, err := manifest.Operations([]byte(`{"openapi":"3.0.0","info":{"title":"t","version":"1"},"paths":{"/a":{"put":{"responses":{"200":{"description":"ok"}}}}}}`))
	if err != nil || !reflect.DeepEqual(jsonOps, []string{"PUT /a"}) {
		t.Errorf("json Operations = %v, %v", jsonOps, err)
	}
	if _, err := manifest.Operations([]byte(`{"swagger":"2.0","info":{"title":"t","version":"1"},"paths":{}}`)); err == nil || !strings.Contains(err.Error(), "swagger 2.0 is not supported") {
		t.Errorf("swagger: err = %v", err)
	}
	if _, err := manifest.Operations([]byte("openapi: [")); err == nil {
		t.Error("broken spec: want an error")
	}
}

func newPublication(t *testing.T, withMeta bool) *manifest.Publication {
	files := map[string]string{"api/openapi.yaml": smallSpec}
	if withMeta {
		files["api/meta/permissionset-meta.xml"] = "<PermissionSet/>"
		files["api/meta/connectedapp-meta.xml"] = "<ConnectedApp/>"
		files["api/meta/ignored.txt"] = "not uploaded"
	}
	dir := writeFiles(t, files)
	p := &manifest.Publication{App: "acme-api", Connection: "prod_org", ClientName: "AcmeOrders", SpecFile: filepath.Join(dir, "api", "openapi.yaml"), ExternalClientApp: "ECA"}
	if withMeta {
		p.MetadataDir = filepath.Join(dir, "api", "meta")
	}
	return p
}

func TestBuildBundle(t *testing.T) {
	p := newPublication(t, true)
	b1, err := manifest.BuildBundle(p)
	if err != nil {
		t.Fatal(err)
	}
	// A second build in another directory with the same content is byte-identical.
	p2 := newPublication(t, true)
	b2, err := manifest.BuildBundle(p2)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b1.Zip, b2.Zip) || b1.Digest != b2.Digest || b1.MetadataDigest != b2.MetadataDigest {
		t.Error("bundles of equal inputs differ")
	}
	if b1.SpecName != "api-spec.yaml" || string(b1.Spec) != smallSpec || !strings.HasPrefix(b1.Digest, "sha256:") || !strings.HasPrefix(b1.MetadataDigest, "sha256:") {
		t.Errorf("bundle = %+v", b1)
	}
	if len(b1.Operations) != 3 {
		t.Errorf("operations = %v", b1.Operations)
	}
	zr, err := zip.NewReader(bytes.NewReader(b1.Zip), int64(len(b1.Zip)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		if !f.Modified.Equal(zr.File[0].Modified) {
			t.Errorf("%s: modification time not fixed", f.Name)
		}
	}
	if want := []string{"api-spec.yaml", "connectedapp-meta.xml", "permissionset-meta.xml"}; !reflect.DeepEqual(names, want) {
		t.Errorf("zip entries = %v, want %v", names, want)
	}
	rc, _ := zr.File[0].Open()
	spec, _ := io.ReadAll(rc)
	rc.Close()
	if string(spec) != smallSpec {
		t.Error("spec in zip differs from the file")
	}

	// Each input changes the digest.
	p3 := *p2
	p3.PermissionSet = "Perms"
	b3, err := manifest.BuildBundle(&p3)
	if err != nil {
		t.Fatal(err)
	}
	if b3.Digest == b2.Digest || b3.MetadataDigest != b2.MetadataDigest {
		t.Error("a changed permission set must change the digest and not the metadata digest")
	}
	if err := os.WriteFile(filepath.Join(p2.MetadataDir, "connectedapp-meta.xml"), []byte("<ConnectedApp>x</ConnectedApp>"), 0o644); err != nil {
		t.Fatal(err)
	}
	b4, err := manifest.BuildBundle(p2)
	if err != nil {
		t.Fatal(err)
	}
	if b4.Digest == b2.Digest || b4.MetadataDigest == b2.MetadataDigest {
		t.Error("changed metadata must change both digests")
	}
}

func TestBuildBundleWithoutMetadata(t *testing.T) {
	b, err := manifest.BuildBundle(newPublication(t, false))
	if err != nil {
		t.Fatal(err)
	}
	if b.MetadataDigest != "" {
		t.Errorf("MetadataDigest = %q, want empty", b.MetadataDigest)
	}
}

func TestBuildBundleErrors(t *testing.T) {
	p := newPublication(t, false)
	missing := *p
	missing.SpecFile = filepath.Join(t.TempDir(), "gone.yaml")
	if _, err := manifest.BuildBundle(&missing); err == nil || !strings.Contains(err.Error(), "acme-api/connection/prod_org/publication/AcmeOrders") {
		t.Errorf("missing spec: err = %v", err)
	}
	txt := *p
	txt.SpecFile = strings.TrimSuffix(p.SpecFile, ".yaml") + ".txt"
	if _, err := manifest.BuildBundle(&txt); err == nil {
		t.Error("a .txt spec must be refused")
	}
	if _, err := manifest.BuildBundle(nil); err == nil {
		t.Error("nil publication must be refused")
	}
}
