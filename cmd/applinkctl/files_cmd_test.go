package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/applinkctl/applinkctl/internal/emulator"
	"github.com/applinkctl/applinkctl/internal/testkit"
)

// TestApplyUploadsNothingThroughAMetadataLinkToOutside: a repository's
// metadata_dir holding a link to a file outside it (a runner's file) makes
// apply fail before any write, so nothing reaches the publish API; a link
// that stays inside the directory is uploaded as its target.
func TestApplyUploadsNothingThroughAMetadataLinkToOutside(t *testing.T) {
	e := newApplyEnv(t, emulator.Options{})
	e.write("applink.yaml", `version: 1
apps:
  acme-api:
    connections:
      prod_org:
        type: salesforce
        publications:
          AcmeOrders:
            spec: api/openapi.yaml
            metadata_dir: api/meta
`)
	outside := testkit.WriteFile(t, t.TempDir(), "connectedapp-meta.xml", "<ConnectedApp><consumerSecret>RunnerSecret</consumerSecret></ConnectedApp>")
	link := filepath.Join(e.dir, "api", "meta", "connectedapp-meta.xml")
	if err := os.MkdirAll(filepath.Dir(link), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, link); err != nil {
		t.Fatal(err)
	}

	out, errs, code := e.apply("--auto-approve")
	wantCode(t, code, 1, out, errs)
	if !strings.Contains(errs, "metadata_dir") || !strings.Contains(errs, "connectedapp-meta.xml is a symbolic link to ") || strings.Contains(out+errs, "RunnerSecret") {
		t.Errorf("stdout:\n%s\nstderr:\n%s", out, errs)
	}
	if n := e.writes(); n != 0 {
		t.Errorf("%d writes reached the platform", n)
	}
	if c, ok := e.conns()["prod_org"]; ok {
		t.Errorf("prod_org was created: %+v", c)
	}

	// The same file linked from inside the directory is published.
	testkit.WriteFile(t, e.dir, "api/meta/src/ca.xml", "<ConnectedApp/>")
	if err := os.Remove(link); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("src/ca.xml", link); err != nil {
		t.Fatal(err)
	}
	out, errs, code = e.apply("--auto-approve")
	wantCode(t, code, 0, out, errs)
	pubs := e.conns()["prod_org"].Publications
	if len(pubs) != 1 || !slices.Contains(pubs[0].Files, "connectedapp-meta.xml") {
		t.Errorf("publications = %+v", pubs)
	}
}
