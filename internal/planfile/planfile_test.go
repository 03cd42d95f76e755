package planfile_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/applinkctl/applinkctl/internal/manifest"
	"github.com/applinkctl/applinkctl/internal/plan"
	"github.com/applinkctl/applinkctl/internal/planfile"
	"github.com/applinkctl/applinkctl/internal/secret"
	"github.com/applinkctl/applinkctl/internal/testkit"
	"github.com/applinkctl/applinkctl/internal/view"
)

func TestPlanFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "plan.json")
	want := testkit.FullPlan()
	if err := planfile.Write(path, want); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("plan file mode = %v, want 0600", fi.Mode().Perm())
	}
	got, err := planfile.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	// Everything a fresh plan is compared on survives the trip.
	if !reflect.DeepEqual(got.Options, want.Options) {
		t.Errorf("options = %+v, want %+v", got.Options, want.Options)
	}
	if !reflect.DeepEqual(got.ManifestFiles, want.ManifestFiles) {
		t.Errorf("manifest files = %v, want %v", got.ManifestFiles, want.ManifestFiles)
	}
	if !reflect.DeepEqual(got.Fingerprints, want.Fingerprints) {
		t.Errorf("fingerprints = %+v, want %+v", got.Fingerprints, want.Fingerprints)
	}
	if len(got.Changes) != len(want.Changes) {
		t.Fatalf("%d changes, want %d", len(got.Changes), len(want.Changes))
	}
	byAddr := map[string]*plan.Change{}
	for _, c := range want.Changes {
		byAddr[string(c.Address)] = c
	}
	for _, g := range got.Changes {
		w := byAddr[string(g.Address)]
		if w == nil {
			t.Errorf("unexpected change %s", g.Address)
			continue
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("change %s:\n got %+v\nwant %+v", g.Address, g, w)
		}
	}
	// Rendering the read plan gives the bytes of the written one.
	written, _ := os.ReadFile(path)
	if again := render(t, got, "json", view.Options{}); !bytes.Equal(again, written) {
		t.Errorf("re-rendered plan differs from the file:\n%s\n---\n%s", again, written)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("temp files left behind: %v", entries)
	}
}

func TestPlanFileHoldsNoSecret(t *testing.T) {
	const key = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC-very-secret\n-----END PRIVATE KEY-----\n"
	const zip = "PK\x03\x04zip-bytes-with-secret-token"
	p := testkit.FullPlan()
	for _, c := range p.Changes {
		if c.Address == "acme-api/connection/prod_org" {
			c.Desired = &manifest.Connection{App: "acme-api", Name: "prod_org", Type: manifest.Salesforce,
				JWT: &manifest.JWT{ClientID: "3MVG9abc", Username: "api.user@acme.com",
					PrivateKey: secret.New(key), KeyFingerprint: "sha256:1111"}}
		}
		if c.Spec != nil {
			c.Bundle = &manifest.Bundle{Zip: []byte(zip), Spec: []byte("openapi: 3.0.0"), Digest: "sha256:new"}
		}
	}
	path := filepath.Join(t.TempDir(), "plan.json")
	if err := planfile.Write(path, p); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"PRIVATE KEY", "very-secret", "MIIEvQ", "secret-token", "zip-bytes", secret.Redacted} {
		if bytes.Contains(b, []byte(s)) {
			t.Errorf("plan file contains %q", s)
		}
	}
	got, err := planfile.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range got.Changes {
		if c.Desired != nil || c.Bundle != nil {
			t.Errorf("%s: Desired/Bundle should be nil after reading a plan file", c.Address)
		}
	}
}

func TestPlanFileOverwritesAtomically(t *testing.T) {
	path := filepath.Join(t.TempDir(), "plan.json")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := planfile.Write(path, testkit.NoopPlan()); err != nil {
		t.Fatal(err)
	}
	if _, err := planfile.Read(path); err != nil {
		t.Fatalf("reading the overwritten plan: %v", err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
	}
}

func TestWritePlanFileErrors(t *testing.T) {
	if err := planfile.Write(filepath.Join(t.TempDir(), "no", "such", "dir", "p.json"), testkit.NoopPlan()); err == nil ||
		!strings.HasPrefix(err.Error(), "plan file ") {
		t.Errorf("write into a missing directory = %v", err)
	}
	if err := planfile.Write(filepath.Join(t.TempDir(), "p.json"), nil); err == nil {
		t.Error("writing a nil plan succeeded")
	}
}

func TestReadPlanFileRefuses(t *testing.T) {
	valid := string(render(t, testkit.FullPlan(), "json", view.Options{}))
	cases := []struct {
		name, content string
		want          error
		msg           string
	}{
		{"newer version", strings.Replace(valid, `"format_version": "1"`, `"format_version": "2"`, 1), planfile.ErrVersion, `"2"`},
		{"not json", "plan: yes\n", planfile.ErrCorrupt, "not a JSON plan"},
		{"truncated", valid[:len(valid)/2], planfile.ErrCorrupt, "corrupt plan file"},
		{"no version", `{"changes": []}`, planfile.ErrCorrupt, "no format_version"},
		{"empty", "", planfile.ErrCorrupt, "not a JSON plan"},
		{"bad address", strings.Replace(valid, `"address": "acme-api/connection/prod_org"`, `"address": "acme-api/conn/prod_org"`, 1), planfile.ErrCorrupt, "changes["},
		{"unknown action", strings.Replace(valid, `"action": "adopt"`, `"action": "explode"`, 1), planfile.ErrCorrupt, `unknown action "explode"`},
		{"kind mismatch", strings.Replace(valid, `"kind": "authorization"`, `"kind": "target"`, 1), planfile.ErrCorrupt, "does not match"},
		{"wrong type", strings.Replace(valid, `"wait": false`, `"wait": "no"`, 1), planfile.ErrCorrupt, "corrupt plan file"},
		{"bad unmanaged", strings.Replace(valid, `"acme-web/authorization/manual"`, `"nonsense"`, 1), planfile.ErrCorrupt, "unmanaged[1]"},
		{"bad key address", strings.Replace(valid, `"acme-api/connection/prod_org": "sha256:1111"`, `"x": "sha256:1111"`, 1), planfile.ErrCorrupt, "fingerprints.keys"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.content == valid {
				t.Fatal("test case did not alter the plan")
			}
			path := filepath.Join(t.TempDir(), "plan.json")
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			p, err := planfile.Read(path)
			if !errors.Is(err, tc.want) {
				t.Fatalf("ReadPlanFile = %v, %v; want error wrapping %v", p, err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), path) {
				t.Errorf("error %q should name the file and contain %q", err, tc.msg)
			}
		})
	}
	if _, err := planfile.Read(filepath.Join(t.TempDir(), "missing.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v, want os.ErrNotExist", err)
	}
}

func TestPlanFileFillsMissingKind(t *testing.T) {
	p := testkit.NoopPlan()
	p.Changes[0].Kind = ""
	path := filepath.Join(t.TempDir(), "plan.json")
	if err := planfile.Write(path, p); err != nil {
		t.Fatal(err)
	}
	got, err := planfile.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Changes[0].Kind != "connection" {
		t.Errorf("kind = %q, want connection", got.Changes[0].Kind)
	}
}

// render is p as `plan --format FORMAT` prints it; a saved plan of format
// version 1 is the JSON one, byte for byte.
func render(t *testing.T, p *plan.Plan, format string, opts view.Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := view.RenderPlan(&buf, p, format, opts); err != nil {
		t.Fatalf("RenderPlan(%s): %v", format, err)
	}
	return buf.Bytes()
}
