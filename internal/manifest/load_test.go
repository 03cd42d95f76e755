package manifest_test

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/manifest"
	"github.com/applinkctl/applinkctl/internal/testkit"
)

func fingerprintOf(t *testing.T, pemText string) string {
	t.Helper()
	block, _ := pem.Decode([]byte(pemText))
	var pub any
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		pub = &k.PublicKey
	} else {
		t.Fatal(err)
	}
	fp, err := manifest.KeyFingerprint(pub)
	if err != nil {
		t.Fatal(err)
	}
	return fp
}

func TestLoadQuickstart(t *testing.T) {
	dir := testkit.CopyDir(t, "../../examples/quickstart", "keys")
	key := keys(t)["KEY_GOOD"]
	testkit.WriteFile(t, dir, "keys/server.key", key)
	m, problems, err := manifest.Load([]string{dir}, manifest.Options{LookupEnv: env(t, nil)})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(problems) != 0 {
		t.Errorf("problems: %v", problems)
	}
	if got, want := m.Counts(), (manifest.Counts{Apps: 1, Connections: 2, Authorizations: 1, Targets: 2, Publications: 1}); got != want {
		t.Errorf("Counts = %+v, want %+v", got, want)
	}
	if len(m.Files) != 1 || !filepath.IsAbs(m.Files[0]) {
		t.Errorf("Files = %v, want one absolute path", m.Files)
	}
	app := m.Apps[0]
	if app.Name != "acme-api" || app.Pos.Line != 8 {
		t.Errorf("app = %q at %v", app.Name, app.Pos)
	}
	// Connections sorted by name.
	if app.Connections[0].Name != "events_dc" || app.Connections[1].Name != "prod_org" {
		t.Fatalf("connections not sorted: %s, %s", app.Connections[0].Name, app.Connections[1].Name)
	}
	dc, sf := app.Connections[0], app.Connections[1]
	if dc.Type != manifest.DataCloud || dc.JWT != nil {
		t.Errorf("events_dc = %+v", dc)
	}
	if dc.Address() != addr.Connection("acme-api", "events_dc") {
		t.Errorf("address = %s", dc.Address())
	}
	// Targets sorted by label, defaults applied.
	if len(dc.Targets) != 2 || dc.Targets[0].Label != "Customer_Updates" || dc.Targets[1].Label != "Order_Events" {
		t.Fatalf("targets = %+v", dc.Targets)
	}
	if tg := dc.Targets[1]; tg.APIName != "Order_Events" || tg.Type != "webhook" || tg.TargetEndpoint != "/handleDataCloudDataChangeEvent" || tg.Connection != "events_dc" || tg.App != "acme-api" {
		t.Errorf("Order_Events = %+v", tg)
	}
	if dc.Targets[0].APIName != "Customer_Updates_Hook" {
		t.Errorf("explicit api_name lost: %q", dc.Targets[0].APIName)
	}
	if sf.LoginURL != "https://login.salesforce.com" || sf.JWT == nil {
		t.Fatalf("prod_org = %+v", sf)
	}
	wantFP := fingerprintOf(t, key)
	if sf.JWT.KeyFingerprint != wantFP || sf.JWT.PrivateKey.Reveal() != key {
		t.Errorf("jwt key: fingerprint %s (want %s), key loaded %v", sf.JWT.KeyFingerprint, wantFP, sf.JWT.PrivateKey.Reveal() == key)
	}
	if sf.JWT.PrivateKeyFile != filepath.Join(dir, "keys", "server.key") || sf.JWT.PrivateKeyEnv != "" {
		t.Errorf("key file = %q, env = %q", sf.JWT.PrivateKeyFile, sf.JWT.PrivateKeyEnv)
	}
	if sf.JWT.ClientID != "3MVG9quickstartConsumerKey" {
		t.Errorf("default of ${SF_CLIENT_ID:-…} not applied: %q", sf.JWT.ClientID)
	}
	pub := sf.Publications[0]
	if pub.ClientName != "AcmeOrders" || pub.SpecFile != filepath.Join(dir, "api", "openapi.yaml") || pub.PermissionSet != "AcmeOrdersPerms" || pub.ExternalClientApp != "AcmeOrdersECA" {
		t.Errorf("publication = %+v", pub)
	}
	auth := app.Authorizations[0]
	if auth.DeveloperName != "ci_auth" || auth.Alias != "applink:ci_auth" || auth.JWT == nil || auth.JWT.KeyFingerprint != wantFP {
		t.Errorf("authorization = %+v", auth)
	}
}

func TestLoadFleet(t *testing.T) {
	k := keys(t)
	m, problems, err := manifest.Load([]string{"../../examples/fleet"}, manifest.Options{LookupEnv: env(t, map[string]string{
		"FLEET_SF_KEY": k["KEY_GOOD"], "CRM_SYNC_KEY": k["KEY_GOOD_PKCS8"], "FLEET_SF_CLIENT_ID": "3MVG9fromEnv",
	})})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(problems) != 0 {
		t.Errorf("problems: %v", problems)
	}
	if got, want := m.Counts(), (manifest.Counts{Apps: 4, Connections: 3, Authorizations: 3, Targets: 4, Publications: 1}); got != want {
		t.Errorf("Counts = %+v, want %+v", got, want)
	}
	var names []string
	for _, a := range m.Apps {
		names = append(names, a.Name)
	}
	if got := strings.Join(names, ","); got != "acme-billing-staging,acme-crm-sync-staging,acme-events-staging,acme-insights-staging" {
		t.Errorf("apps = %s", got)
	}
	if len(m.Files) != 3 || filepath.Base(m.Files[0]) != "billing.yaml" || filepath.Base(m.Files[1]) != "crm-sync.yml" {
		t.Errorf("files = %v", m.Files)
	}
	billing := m.Apps[0]
	if billing.Addon != "heroku-applink-billing" || billing.Connections[0].JWT.ClientID != "3MVG9fromEnv" || billing.Connections[0].JWT.PrivateKeyEnv != "FLEET_SF_KEY" {
		t.Errorf("billing = %+v / %+v", billing, billing.Connections[0].JWT)
	}
	if md := billing.Connections[0].Publications[0].MetadataDir; !filepath.IsAbs(md) || filepath.Base(md) != "metadata" {
		t.Errorf("metadata dir = %q", md)
	}
	crm := m.Apps[1].Authorizations[0]
	if crm.Alias != "applink:crm_sync_staging" || !crm.Protect || crm.LoginURL != "https://test.salesforce.com" {
		t.Errorf("crm_sync = %+v", crm)
	}
	if !m.Apps[3].Connections[0].Protect {
		t.Error("protect: true lost")
	}
}

func TestLoadWorldReadableKeyWarns(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"applink.yaml": "version: 1\napps:\n  a-app:\n    authorizations:\n      ci_auth:\n        type: salesforce\n        jwt: {client_id: c, username: u, private_key_file: k.pem}\n",
	})
	if err := os.WriteFile(filepath.Join(dir, "k.pem"), []byte(keys(t)["KEY_GOOD"]), 0o644); err != nil {
		t.Fatal(err)
	}
	m, problems, err := manifest.Load([]string{filepath.Join(dir, "applink.yaml")}, manifest.Options{LookupEnv: env(t, nil)})
	if err != nil {
		t.Fatalf("a warning must not fail Load: %v", err)
	}
	if m == nil || len(problems) != 1 || problems[0].Severity != manifest.SeverityWarning {
		t.Fatalf("problems = %v", problems)
	}
	if want := "readable by group or others (mode 0644)"; !strings.Contains(problems[0].Message, want) || !strings.Contains(problems[0].String(), ": warning: ") {
		t.Errorf("warning = %q", problems[0].String())
	}
}

func TestLoadMergesPathsOnce(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"a.yaml":       "version: 1\napps:\n  one-app: {}\n",
		"b.yml":        "version: 1\napps:\n  two-app: {}\n",
		"notes.txt":    "not a manifest",
		"sub/c.yaml":   "version: 1\napps:\n  three-app: {}\n",
		"sub/bad.yaml": "not: [valid",
	})
	m, _, err := manifest.Load([]string{filepath.Join(dir, "a.yaml"), dir, filepath.Join(dir, "sub", "c.yaml")}, manifest.Options{LookupEnv: env(t, nil)})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Files) != 3 || m.Counts().Apps != 3 {
		t.Errorf("files %v, %d apps: want a.yaml once, b.yml, sub/c.yaml and no recursion", m.Files, m.Counts().Apps)
	}
}

func TestLoadPathErrors(t *testing.T) {
	empty := t.TempDir()
	_, problems, err := manifest.Load([]string{filepath.Join(empty, "nope.yaml"), empty}, manifest.Options{})
	if !errors.Is(err, manifest.ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
	got := []string{}
	for _, p := range problems {
		got = append(got, strings.TrimPrefix(p.String(), empty))
	}
	want := []string{": directory holds no *.yaml or *.yml file", "/nope.yaml: no such file or directory"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if _, _, err := manifest.Load(nil, manifest.Options{}); !errors.Is(err, manifest.ErrInvalid) {
		t.Errorf("no paths: err = %v", err)
	}
}

func TestLoadSizeLimit(t *testing.T) {
	dir := writeFiles(t, map[string]string{"applink.yaml": "version: 1\napps: {}\n" + strings.Repeat("# padding\n", 100)})
	_, problems, err := manifest.Load([]string{dir}, manifest.Options{MaxFileSize: 100})
	if !errors.Is(err, manifest.ErrInvalid) || len(problems) != 1 || !strings.Contains(problems[0].Message, "larger than the 100 bytes limit") {
		t.Errorf("err %v, problems %v", err, problems)
	}
}

func TestExpansion(t *testing.T) {
	cases := []struct {
		value, want, problem string
	}{
		{"${A}", "alpha", ""},
		{"x-${A}-${B:-beta}-y", "x-alpha-beta-y", ""},
		{"${EMPTY:-fallback}", "fallback", ""},
		{"x${EMPTY}y", "xy", ""},
		{"$${A} and $$", "${A} and $$", ""},
		{"${UNSET}", "", "environment variable UNSET is not set (use ${UNSET:-default} for a default)"},
		{"${A", "", "unterminated ${ (write $${ for a literal ${)"},
		{"${1BAD}", "", `invalid variable name "1BAD" in ${…}`},
	}
	for _, c := range cases {
		t.Run(c.value, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{"applink.yaml": "version: 1\napps:\n  a-app:\n    addon: '" + c.value + "'\n"})
			m, problems, err := manifest.Load([]string{dir}, manifest.Options{LookupEnv: env(t, map[string]string{"A": "alpha", "EMPTY": ""})})
			if c.problem == "" {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				if m.Apps[0].Addon != c.want {
					t.Errorf("addon = %q, want %q", m.Apps[0].Addon, c.want)
				}
				return
			}
			if err == nil || len(problems) == 0 {
				t.Fatalf("want problem %q", c.problem)
			}
			if problems[0].Message != c.problem || problems[0].Pos.Line != 4 || problems[0].Field != "apps.a-app.addon" {
				t.Errorf("problem = %s, want %q at line 4", problems[0], c.problem)
			}
		})
	}
}

// TestSecretsNeverInMessages feeds key-looking secrets through every path
// that reports on a key and checks no message quotes them.
func TestSecretsNeverInMessages(t *testing.T) {
	const marker = "TOPSECRETMATERIAL"
	bad := "-----BEGIN RSA PRIVATE KEY-----\n" + marker + "\n-----END RSA PRIVATE KEY-----\n"
	dir := writeFiles(t, map[string]string{
		"applink.yaml": "version: 1\napps:\n  a-app:\n    authorizations:\n      one_auth:\n        type: salesforce\n        jwt: {client_id: c, username: u, private_key_env: SECRET_KEY}\n" +
			"      two_auth:\n        type: salesforce\n        jwt: {client_id: c, username: u, private_key_file: k.key}\n" +
			"      three_auth:\n        type: salesforce\n        jwt: {client_id: c, username: u, private_key_env: PLAIN}\n",
		"k.key": marker + " not pem",
	})
	_, problems, err := manifest.Load([]string{dir}, manifest.Options{LookupEnv: env(t, map[string]string{"SECRET_KEY": bad, "PLAIN": marker})})
	if err == nil || len(problems) != 3 {
		t.Fatalf("want 3 problems, got %v", problems)
	}
	if strings.Contains(err.Error(), marker) {
		t.Errorf("error quotes the secret: %v", err)
	}
	for _, p := range problems {
		if !strings.Contains(p.Message, "SECRET_KEY") && !strings.Contains(p.Message, "k.key") && !strings.Contains(p.Message, "PLAIN") {
			t.Errorf("problem does not name the key's source: %s", p)
		}
	}
}

func TestProblemString(t *testing.T) {
	cases := []struct {
		p    manifest.Problem
		want string
	}{
		{manifest.Problem{Pos: manifest.Pos{File: "a.yaml", Line: 3, Col: 5}, Field: "apps.x", Message: "bad", Severity: "error"}, "a.yaml:3:5: apps.x: bad"},
		{manifest.Problem{Pos: manifest.Pos{File: "a.yaml", Line: 3, Col: 5}, Field: "apps.x", Message: "hm", Severity: "warning"}, "a.yaml:3:5: apps.x: warning: hm"},
		{manifest.Problem{Pos: manifest.Pos{File: "a.yaml"}, Message: "too big", Severity: "error"}, "a.yaml: too big"},
	}
	for _, c := range cases {
		if got := c.p.String(); got != c.want {
			t.Errorf("String() = %q, want %q", got, c.want)
		}
	}
	e := &manifest.InvalidError{Problems: []manifest.Problem{cases[0].p, cases[2].p}}
	if e.Error() != "a.yaml:3:5: apps.x: bad\na.yaml: too big" || !errors.Is(e, manifest.ErrInvalid) {
		t.Errorf("InvalidError = %q", e.Error())
	}
}

func TestLoadDocumentMarkers(t *testing.T) {
	for name, text := range map[string]string{
		"leading":  "---\nversion: 1\napps: {}\n",
		"trailing": "version: 1\napps: {}\n---\n",
		"end":      "version: 1\napps: {}\n...\n",
	} {
		t.Run(name, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{"applink.yaml": text})
			if _, problems, err := manifest.Load([]string{dir}, manifest.Options{LookupEnv: env(t, nil)}); err != nil {
				t.Errorf("Load: %v (%v)", err, problems)
			}
		})
	}
}
