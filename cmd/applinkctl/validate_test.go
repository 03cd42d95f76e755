package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/applinkctl/applinkctl/internal/testkit"
)

// runCLI runs the in-process CLI and returns its exit code and output.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(append([]string{"applinkctl"}, args...), streams{In: strings.NewReader(""), Out: &out, Err: &errOut})
	return code, out.String(), errOut.String()
}

// runOut is runCLI with the results in the order (stdout, stderr, exit
// code) that most command tests compare.
func runOut(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	code, out, errOut := runCLI(t, args...)
	return out, errOut, code
}

func TestValidateQuickstartExample(t *testing.T) {
	dir := testkit.CopyDir(t, "../../examples/quickstart", "keys")
	code, out, errOut := runCLI(t, "validate", "-f", dir)
	if code != 1 || !strings.Contains(out, "keys/server.key cannot be read: no such file or directory") {
		t.Errorf("without its key: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	testkit.WriteFile(t, dir, "keys/server.key", testkit.RSAKeyPEM(t, 2048, 0))
	code, out, errOut = runCLI(t, "validate", "-f", dir)
	if code != 0 || out != "ok: 1 apps, 2 connections, 1 authorizations, 2 targets, 1 publications\n" || errOut != "" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestValidateFleetExample(t *testing.T) {
	key := testkit.RSAKeyPEM(t, 2048, 0)
	t.Setenv("FLEET_SF_KEY", key)
	t.Setenv("CRM_SYNC_KEY", key)
	code, out, errOut := runCLI(t, "validate", "-f", "../../examples/fleet")
	if code != 0 || out != "ok: 4 apps, 3 connections, 3 authorizations, 4 targets, 1 publications\n" || errOut != "" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if strings.Contains(out+errOut, "PRIVATE KEY") {
		t.Error("output mentions key material")
	}
}

func TestValidateFleetExampleWithoutKeys(t *testing.T) {
	t.Setenv("FLEET_SF_KEY", "")
	t.Setenv("CRM_SYNC_KEY", "not a key at all")
	code, out, _ := runCLI(t, "validate", "-f", "../../examples/fleet")
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{
		"examples/fleet/billing.yaml:17:28: apps.acme-billing-staging.connections.sandbox_org.jwt.private_key_env: environment variable FLEET_SF_KEY is not set",
		"examples/fleet/crm-sync.yml:15:28: apps.acme-crm-sync-staging.authorizations.crm_sync.jwt.private_key_env: private key in $CRM_SYNC_KEY is not a PEM private key",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "not a key at all") {
		t.Error("a message quotes the variable's content")
	}
}

func TestSchemaCommandPrintsCommittedSchema(t *testing.T) {
	code, out, _ := runCLI(t, "schema")
	want, err := os.ReadFile("../../schema/applink.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	if code != 0 || out != string(want) {
		t.Errorf("schema output differs from schema/applink.schema.json (exit %d)", code)
	}
}
