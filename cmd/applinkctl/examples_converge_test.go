package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/applinkctl/applinkctl/internal/emulator"
	"github.com/applinkctl/applinkctl/internal/testkit"
)

// TestExamplesConvergeInTheSandbox applies each example in the sandbox,
// then checks that a plan finds nothing left to do (exit 0 under
// --detailed-exitcode). make test-variants runs it under every variant of
// the emulator (APPLINKCTL_EMULATOR_VARIANTS, which --sandbox honours), so
// the examples converge whatever the API answers where the sources are
// silent. The quickstart then replaces its Salesforce connection (a
// delete, a create under the same name, a publish again) and must
// converge again.
func TestExamplesConvergeInTheSandbox(t *testing.T) {
	if testing.Short() {
		t.Skip("the sandbox's delays make this take seconds")
	}
	t.Setenv("APPLINKCTL_STATE", "")
	key := testkit.RSAKeyPEM(t, 2048, 0)
	for _, tc := range []struct {
		example string
		env     map[string]string
		replace string
	}{
		{example: "quickstart", replace: "acme-api/connection/prod_org"},
		{example: "fleet", env: map[string]string{
			"FLEET_SF_KEY": key, "CRM_SYNC_KEY": key,
			// The sandbox gives each app one add-on, named after the app.
			"BILLING_APPLINK_ADDON": emulator.DefaultAddonService + "-acme-billing-staging-00001",
		}},
	} {
		t.Run(tc.example, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			dir := testkit.CopyDir(t, filepath.Join("..", "..", "examples", tc.example), "keys")
			if tc.example == "quickstart" {
				testkit.WriteFile(t, dir, "keys/server.key", key)
			}
			sandbox := "--sandbox=" + filepath.Join(t.TempDir(), "sandbox")
			converge := func(step string, args ...string) {
				t.Helper()
				out, errOut, code := runOut(t, append([]string{"apply", "-f", dir, sandbox, "--auto-approve"}, args...)...)
				if code != 0 {
					t.Fatalf("%s: apply exit %d\n%s\n%s", step, code, out, errOut)
				}
				out, errOut, code = runOut(t, "plan", "-f", dir, sandbox, "--detailed-exitcode")
				if code != 0 || !strings.Contains(out, "No changes.") {
					t.Fatalf("%s: plan exit %d under variants %q, want 0 and no changes\n%s\n%s", step, code, os.Getenv(emulator.VariantsEnv), out, errOut)
				}
			}
			converge("apply")
			if tc.replace != "" {
				converge("replace", "--replace", tc.replace)
			}
		})
	}
}
