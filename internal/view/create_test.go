package view_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/manifest"
	"github.com/applinkctl/applinkctl/internal/plan"
	"github.com/applinkctl/applinkctl/internal/secret"
	"github.com/applinkctl/applinkctl/internal/view"
)

const fakePEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEsecretsecretsecret\n-----END RSA PRIVATE KEY-----\n"

// createPlan creates one resource of every kind, each with the desired
// manifest value attached as the planner attaches it (a JWT's private key
// included), so a test can see that only the after snapshot is shown.
func createPlan() *plan.Plan {
	j := &manifest.JWT{ClientID: "3MVG9abc", Username: "api.user@acme.com", KeyFingerprint: "sha256:1111", PrivateKey: secret.New(fakePEM)}
	prod := addr.Connection("acme-api", "prod_org")
	dc := addr.Connection("acme-api", "events_dc")
	return &plan.Plan{
		Changes: []*plan.Change{
			{Address: prod, Kind: addr.KindConnection, Action: plan.Create, Reasons: []string{"does not exist live"},
				Desired: &manifest.Connection{App: "acme-api", Name: "prod_org", JWT: j},
				After:   snap("type", "salesforce", "login_url", "https://test.salesforce.com", "client_id", "3MVG9abc", "username", "api.user@acme.com", "key_fingerprint", "sha256:1111")},
			{Address: dc, Kind: addr.KindConnection, Action: plan.Create, Reasons: []string{"does not exist live"},
				After: snap("type", "datacloud")},
			{Address: addr.Authorization("acme-api", "ci_auth"), Kind: addr.KindAuthorization, Action: plan.Create, Reasons: []string{"does not exist live"},
				Desired: &manifest.Authorization{App: "acme-api", DeveloperName: "ci_auth", JWT: j},
				After:   snap("type", "salesforce", "client_id", "3MVG9abc", "username", "api.user@acme.com", "key_fingerprint", "sha256:1111", "alias", "applink:ci_auth")},
			{Address: addr.Target("acme-api", "events_dc", "Hook"), Kind: addr.KindTarget, Action: plan.Create, Reasons: []string{"does not exist live"},
				DependsOn: []addr.Address{dc},
				After:     snap("label", "Hook", "api_name", "Hook_API", "target_endpoint", "/hook", "type", "webhook")},
			{Address: addr.Publication("acme-api", "prod_org", "Named"), Kind: addr.KindPublication, Action: plan.Create, Reasons: []string{"not published yet"},
				DependsOn: []addr.Address{prod},
				After:     snap("client_name", "Named", "operations", "12", "permission_set", "AcmePerms", "external_client_app", "AcmeECA", "spec_digest", "sha256:s1")},
			{Address: addr.Publication("acme-api", "prod_org", "Meta"), Kind: addr.KindPublication, Action: plan.Create, Reasons: []string{"not published yet"},
				DependsOn: []addr.Address{prod},
				After:     snap("client_name", "Meta", "operations", "1", "metadata_permission_set", "InvoicePerms", "spec_digest", "sha256:s2")},
			{Address: addr.Publication("acme-api", "prod_org", "Bare"), Kind: addr.KindPublication, Action: plan.Create, Reasons: []string{"not published yet"},
				DependsOn: []addr.Address{prod},
				After:     snap("client_name", "Bare", "operations", "0", "spec_digest", "sha256:s3")},
		},
		ManifestFiles: []string{"applink.yaml"},
	}
}

// A create says what it makes, terraform-like: the attributes that matter
// per kind, the API's default login URL when none is given, the org user
// of a browser login as known only after apply; never the private key.
func TestRenderPlanCreateAttributes(t *testing.T) {
	text := string(render(t, createPlan(), "text", view.Options{}))
	for _, want := range []string{
		"    + acme-api/connection/prod_org\n" +
			"        does not exist live\n" +
			"        + type            = \"salesforce\"\n" +
			"        + login_url       = \"https://test.salesforce.com\"\n" +
			"        + client_id       = \"3MVG9abc\"\n" +
			"        + username        = \"api.user@acme.com\"\n" +
			"        + key_fingerprint = \"sha256:1111\"\n",
		"    + acme-api/connection/events_dc\n" +
			"        does not exist live\n" +
			"        + type      = \"datacloud\"\n" +
			"        + login_url = \"https://login.salesforce.com\" (default)\n" +
			"        + username  = (known after apply: whoever logs in to the org in a browser)\n",
		"        + alias           = \"applink:ci_auth\"\n",
		"        + api_name        = \"Hook_API\"\n" +
			"        + target_endpoint = \"/hook\"\n" +
			"        + type            = \"webhook\"\n",
		"        + operations          = 12\n" +
			"        + permission_set      = \"AcmePerms\"\n" +
			"        + external_client_app = \"AcmeECA\"\n",
		"        + operations     = 1\n" +
			"        + permission_set = \"InvoicePerms\" (from metadata_dir's permissionset-meta.xml)\n",
		"        + operations     = 0\n" +
			"        + permission_set = (none)\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text plan lacks\n%s\nin:\n%s", want, text)
		}
	}
	md := string(render(t, createPlan(), "markdown", view.Options{}))
	for _, want := range []string{
		"  - `+ key_fingerprint = \"sha256:1111\"`\n",
		"  - `+ login_url = \"https://login.salesforce.com\"` (default)\n",
		"  - `+ username = (known after apply: whoever logs in to the org in a browser)`\n",
		"  - `+ target_endpoint = \"/hook\"`\n",
		"  - `+ operations = 12`\n",
		"  - `+ permission_set = \"InvoicePerms\"` (from metadata_dir's permissionset-meta.xml)\n",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown plan lacks %q in:\n%s", want, md)
		}
	}
	js := string(render(t, createPlan(), "json", view.Options{}))
	if !strings.Contains(js, `"operations": "12"`) || !strings.Contains(js, `"metadata_permission_set": "InvoicePerms"`) {
		t.Errorf("json plan lacks the publication's operations or permission set:\n%s", js)
	}
	for name, out := range map[string]string{"text": text, "markdown": md, "json": js} {
		if strings.Contains(out, "PRIVATE KEY") || strings.Contains(out, "secretsecret") {
			t.Errorf("%s plan holds the private key:\n%s", name, out)
		}
	}
}

// Only a create lists what it makes: other actions show their reasons and,
// for a replacement, what changes.
func TestRenderPlanAttributesOnlyForCreate(t *testing.T) {
	p := createPlan()
	for _, c := range p.Changes {
		c.Action, c.Before = plan.Adopt, c.After
	}
	if text := string(render(t, p, "text", view.Options{})); strings.Contains(text, "+ type") || strings.Contains(text, "+ operations") {
		t.Errorf("an adopt lists attributes:\n%s", text)
	}
}

// The summary counts each resource once, under its action; waiting is said
// apart, and the JSON summary has the same numbers.
func TestSummaryCountsEachResourceOnce(t *testing.T) {
	p := &plan.Plan{ManifestFiles: []string{"applink.yaml"}}
	for _, n := range []string{"a", "b", "c", "d", "e", "f", "g"} {
		p.Changes = append(p.Changes, &plan.Change{Address: addr.Connection("acme-api", n), Kind: addr.KindConnection,
			Action: plan.Adopt, Reasons: []string{"exists live but not in state"}, Wait: n == "g"})
	}
	text := string(render(t, p, "text", view.Options{}))
	if want := "Plan: 0 to create, 0 to replace, 0 to republish, 0 to delete, 7 to adopt. Apply first waits for 1 resource to settle.\n"; !strings.HasPrefix(text, want) {
		t.Errorf("summary:\n%s\nwant it to start with %q", text, want)
	}
	md := string(render(t, p, "markdown", view.Options{}))
	if !strings.Contains(md, "| adopt | 7 |\n\n") || strings.Contains(md, "| wait |") {
		t.Errorf("markdown table does not count each resource once:\n%s", md)
	}
	var w struct {
		Summary map[string]int `json:"summary"`
	}
	if err := json.Unmarshal(render(t, p, "json", view.Options{}), &w); err != nil {
		t.Fatal(err)
	}
	s := w.Summary
	if s["adopt"] != 7 || s["wait"] != 1 || s["create"]+s["replace"]+s["republish"]+s["delete"]+s["adopt"]+s["noop"] != len(p.Changes) {
		t.Errorf("json summary %v: the action counts must add up to the %d resources, wait must be 1", s, len(p.Changes))
	}
}
