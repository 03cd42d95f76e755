package manifest_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/manifest"
	"github.com/applinkctl/applinkctl/internal/testkit"
)

// pubManifest declares one JWT connection with one publication, so a test
// can put a named pipe or a link wherever a file is read.
const pubManifest = `version: 1
apps:
  acme-api:
    connections:
      prod_org:
        type: salesforce
        jwt: {client_id: c, username: u, private_key_file: keys/server.key}
        publications:
          AcmeOrders:
            spec: api/openapi.yaml
            metadata_dir: api/meta
`

// pubDir writes pubManifest with a good key, spec and metadata directory.
func pubDir(t *testing.T) string {
	t.Helper()
	dir := writeFiles(t, map[string]string{
		"applink.yaml":                    pubManifest,
		"keys/server.key":                 keys(t)["KEY_GOOD"],
		"api/openapi.yaml":                testkit.OrdersSpec,
		"api/meta/permissionset-meta.xml": "<PermissionSet/>",
	})
	return dir
}

// loadWithin runs Load in a goroutine and fails the test if it has not
// returned after a generous delay: a read blocked on a named pipe then
// shows as a failure, not as a test binary that never ends.
func loadWithin(t *testing.T, paths ...string) (*manifest.Manifest, []manifest.Problem, error) {
	t.Helper()
	type result struct {
		m   *manifest.Manifest
		ps  []manifest.Problem
		err error
	}
	done := make(chan result, 1)
	go func() {
		m, ps, err := manifest.Load(paths, manifest.Options{LookupEnv: env(t, nil)})
		done <- result{m, ps, err}
	}()
	select {
	case r := <-done:
		return r.m, r.ps, r.err
	case <-time.After(30 * time.Second):
		t.Fatal("Load still blocked after 30s")
		return nil, nil, nil
	}
}

// problemLines are the problems as printed, with dir stripped.
func problemLines(dir string, ps []manifest.Problem) string {
	var b strings.Builder
	for _, p := range ps {
		line := p.String()
		if dir != "" {
			line = strings.ReplaceAll(line, dir+string(filepath.Separator), "")
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String()
}

func TestLoadRefusesNamedPipesAtOnce(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string) []string // the -f paths
		want  string
	}{
		{"-f file", func(t *testing.T, dir string) []string {
			testkit.Mkfifo(t, filepath.Join(dir, "pipe.yaml"))
			return []string{filepath.Join(dir, "pipe.yaml")}
		}, "pipe.yaml: is a named pipe, not a regular file\n"},
		{"in -f directory", func(t *testing.T, dir string) []string {
			testkit.Mkfifo(t, filepath.Join(dir, "zz.yaml"))
			return []string{dir}
		}, "zz.yaml: is a named pipe, not a regular file\n"},
		{"private_key_file", func(t *testing.T, dir string) []string {
			testkit.Mkfifo(t, filepath.Join(dir, "keys", "server.key"))
			return []string{dir}
		}, "applink.yaml:7:60: apps.acme-api.connections.prod_org.jwt.private_key_file: private key keys/server.key is a named pipe, not a regular file\n"},
		{"spec", func(t *testing.T, dir string) []string {
			testkit.Mkfifo(t, filepath.Join(dir, "api", "openapi.yaml"))
			return []string{dir}
		}, "applink.yaml:10:19: apps.acme-api.connections.prod_org.publications.AcmeOrders.spec: spec api/openapi.yaml is a named pipe, not a regular file\n"},
		{"metadata_dir file", func(t *testing.T, dir string) []string {
			testkit.Mkfifo(t, filepath.Join(dir, "api", "meta", "connectedapp-meta.xml"))
			return []string{dir}
		}, "applink.yaml:11:27: apps.acme-api.connections.prod_org.publications.AcmeOrders.metadata_dir: metadata_dir api/meta: connectedapp-meta.xml is a named pipe, not a regular file\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := pubDir(t)
			paths := tc.setup(t, dir)
			_, ps, err := loadWithin(t, paths...)
			if !errors.Is(err, manifest.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			if got := problemLines(dir, ps); got != tc.want {
				t.Errorf("problems:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

func TestLoadRefusesDevicesAndDirectories(t *testing.T) {
	dir := pubDir(t)
	_, ps, err := loadWithin(t, os.DevNull)
	if want := os.DevNull + ": is a character device, not a regular file\n"; !errors.Is(err, manifest.ErrInvalid) || problemLines(dir, ps) != want {
		t.Errorf("-f %s: %v\n%s", os.DevNull, err, problemLines(dir, ps))
	}

	// A directory where the key and the spec belong.
	for _, p := range []string{"keys/server.key", "api/openapi.yaml"} {
		if err := os.Remove(filepath.Join(dir, p)); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(filepath.Join(dir, p), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	_, ps, err = loadWithin(t, dir)
	want := "applink.yaml:7:60: apps.acme-api.connections.prod_org.jwt.private_key_file: private key keys/server.key is a directory, not a regular file\n" +
		"applink.yaml:10:19: apps.acme-api.connections.prod_org.publications.AcmeOrders.spec: spec api/openapi.yaml is a directory, not a regular file\n"
	if !errors.Is(err, manifest.ErrInvalid) || problemLines(dir, ps) != want {
		t.Errorf("err %v, problems:\n%s\nwant:\n%s", err, problemLines(dir, ps), want)
	}
}

// shadow is what /etc/shadow looks like: each line parses as a YAML key.
const shadow = "root:$6$Zq8vVtSecretSalt$Hash0fTheRootPassw0rd:19000:0:99999:7:::\n" +
	"daemon:*:19000:0:99999:7:::\n" +
	"bob:$y$j9T$AnotherSecretHash:19000:0:99999:7:::\n"

func TestLoadDirectorySymlinks(t *testing.T) {
	top := t.TempDir()
	dir := filepath.Join(top, "manifests")
	testkit.WriteFiles(t, dir, map[string]string{
		"applink.yaml":      "version: 1\napps:\n  one-app: {}\n",
		"shared/other.yaml": "version: 1\napps:\n  two-app: {}\n",
	})
	testkit.WriteFile(t, top, "shadow", shadow)

	// A link to a file inside the directory is read.
	if err := os.Symlink("shared/other.yaml", filepath.Join(dir, "other.yaml")); err != nil {
		t.Fatal(err)
	}
	m, _, err := loadWithin(t, dir)
	if err != nil || m.Counts().Apps != 2 {
		t.Fatalf("inside link: %v", err)
	}

	// A link to outside it is refused, naming the link and its target.
	if err := os.Symlink("../shadow", filepath.Join(dir, "zz.yaml")); err != nil {
		t.Fatal(err)
	}
	_, ps, err := loadWithin(t, dir)
	target, _ := filepath.EvalSymlinks(filepath.Join(top, "shadow"))
	want := dir + "/zz.yaml: is a symbolic link to " + target + ", outside " + dir + ": a file in a -f directory may link only to a file inside it\n"
	if got := problemLines(top, ps); !errors.Is(err, manifest.ErrInvalid) || problemLines("", ps) != want {
		t.Errorf("outside link: %v\n%s\nwant:\n%s", err, got, want)
	}
	assertQuotesNothing(t, shadow, problemLines("", ps))

	// Named with -f, the user chose the file: it is read (and refused as
	// no manifest, without quoting it).
	_, ps, _ = loadWithin(t, filepath.Join(dir, "zz.yaml"))
	if len(ps) != 1 || !strings.Contains(ps[0].Message, "not an applinkctl manifest") {
		t.Errorf("named link: %v", ps)
	}
	assertQuotesNothing(t, shadow, problemLines("", ps))
}

func TestLoadMetadataSymlinkOutsideIsRefused(t *testing.T) {
	dir := pubDir(t)
	outside := testkit.WriteFile(t, t.TempDir(), "connectedapp-meta.xml", "<ConnectedApp><secret>runner</secret></ConnectedApp>")
	if err := os.Symlink(outside, filepath.Join(dir, "api", "meta", "connectedapp-meta.xml")); err != nil {
		t.Fatal(err)
	}
	_, ps, err := loadWithin(t, dir)
	target, _ := filepath.EvalSymlinks(outside)
	want := "applink.yaml:11:27: apps.acme-api.connections.prod_org.publications.AcmeOrders.metadata_dir: metadata_dir api/meta: connectedapp-meta.xml is a symbolic link to " + target + ", outside api/meta\n"
	if !errors.Is(err, manifest.ErrInvalid) || problemLines(dir, ps) != want {
		t.Errorf("err %v, problems:\n%s\nwant:\n%s", err, problemLines(dir, ps), want)
	}

	// BuildBundle, which apply calls, refuses it as well: nothing outside
	// the directory is ever put in an upload.
	p := &manifest.Publication{App: "acme-api", Connection: "prod_org", ClientName: "AcmeOrders",
		SpecFile: filepath.Join(dir, "api", "openapi.yaml"), MetadataDir: filepath.Join(dir, "api", "meta")}
	b, err := manifest.BuildBundle(p)
	if b != nil || err == nil || !strings.Contains(err.Error(), "connectedapp-meta.xml: is a symbolic link to "+target) {
		t.Errorf("BuildBundle: %v", err)
	}
	if err != nil && strings.Contains(err.Error(), "runner") {
		t.Errorf("BuildBundle error quotes the file: %v", err)
	}

	// A link that stays inside the directory is uploaded.
	if err := os.Remove(filepath.Join(dir, "api", "meta", "connectedapp-meta.xml")); err != nil {
		t.Fatal(err)
	}
	testkit.WriteFile(t, dir, "api/meta/src/ca.xml", "<ConnectedApp/>")
	if err := os.Symlink("src/ca.xml", filepath.Join(dir, "api", "meta", "connectedapp-meta.xml")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := loadWithin(t, dir); err != nil {
		t.Errorf("inside link: %v", err)
	}
	if b, err := manifest.BuildBundle(p); err != nil || b.MetadataDigest == "" {
		t.Errorf("BuildBundle with an inside link: %v", err)
	}
}

// assertQuotesNothing fails when out holds any line of a file, or any
// piece of a line between colons longer than 3 bytes.
func assertQuotesNothing(t *testing.T, file, out string) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSpace(file), "\n") {
		for _, piece := range append([]string{line}, strings.Split(line, ":")...) {
			if len(piece) > 3 && strings.Contains(out, piece) {
				t.Errorf("output quotes %q of the file:\n%s", piece, out)
			}
		}
	}
}

func TestLoadNonManifestQuotesNothing(t *testing.T) {
	for name, body := range map[string]string{
		"shadow.yaml":   shadow,
		"passwd.yaml":   "root:x:0:0:root:/root:/bin/bash\nsecretuser:x:1000:1000::/home/secretuser:/bin/sh\n",
		"config.json":   `{"auths": {"registry.example": {"auth": "c2VjcmV0dG9rZW4="}}}`,
		"dotenv.yaml":   "SECRET_TOKEN: hunter2hunter2\nDATABASE_URL: postgres://user:pw@host/db\n",
		"anchor.yaml":   "version: 1\napps: *hunter2secret\n",
		"list.yaml":     "- hunter2secret\n- other\n",
		"scalar.yaml":   "hunter2secret\n",
		"badyaml.yaml":  "secrettoken: [hunter2secret\n",
		"binary.yaml":   "\xff\xfehunter2secret",
		"dup-top.yaml":  "hunter2secret: 1\nhunter2secret: 2\n",
		"tabbed.yaml":   "\thunter2secret: x\n",
		"multidoc.yaml": "hunter2secret: 1\n---\nother: 2\n",
	} {
		t.Run(name, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{name: body})
			_, ps, err := loadWithin(t, filepath.Join(dir, name))
			if !errors.Is(err, manifest.ErrInvalid) {
				t.Fatalf("err = %v", err)
			}
			out := problemLines(dir, ps) + err.Error()
			for _, w := range []string{"hunter2", "c2VjcmV0", "auths", "registry", "SECRET_TOKEN", "DATABASE_URL", "secretuser", "secrettoken"} {
				if strings.Contains(out, w) {
					t.Errorf("output quotes %q:\n%s", w, out)
				}
			}
			assertQuotesNothing(t, body, out)
		})
	}
}
