package main

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/emulator"
	"github.com/applinkctl/applinkctl/internal/testkit"
)

// driftBase is applied first; driftEdited is the manifest after a pull
// request that was not applied yet: old_org is gone from it (prune), and
// Invoice_Events points elsewhere (a target cannot change alone).
const driftBase = `version: 1
apps:
  acme-api:
    connections:
      prod_org:
        type: salesforce
      old_org:
        type: salesforce
      events_dc:
        type: datacloud
        data_action_targets:
          Order_Events:
            target_endpoint: /handleOrders
          Invoice_Events:
            target_endpoint: /handleInvoices
`

const driftEdited = `version: 1
apps:
  acme-api:
    connections:
      prod_org:
        type: salesforce
      events_dc:
        type: datacloud
        data_action_targets:
          Order_Events:
            target_endpoint: /handleOrders
          Invoice_Events:
            target_endpoint: /handleInvoicesV2
`

// manualManifest is applied with another state: its connection is live but
// unknown to the main state, i.e. unmanaged.
const manualManifest = `version: 1
apps:
  acme-api:
    connections:
      manual_org:
        type: salesforce
`

type driftReport struct {
	HasDrift bool `json:"has_drift"`
	Findings []struct {
		Kind    string   `json:"kind"`
		Address string   `json:"address"`
		Detail  string   `json:"detail"`
		What    []string `json:"what"`
		Since   string   `json:"since"`
		Repairs []struct {
			Action   string   `json:"action"`
			Note     string   `json:"note"`
			Commands []string `json:"commands"`
		} `json:"repairs"`
	} `json:"findings"`
}

// TestDriftFindingsSayWhatSinceAndRepair breaks an applied setup in each
// way drift knows, then checks that every finding says what changed, since
// which apply, and a repair command, and that running those commands as
// printed (plus --auto-approve: no terminal here) leaves no drift.
func TestDriftFindingsSayWhatSinceAndRepair(t *testing.T) {
	e := newApplyEnv(t, emulator.Options{})
	addon := e.srv.Emulator.World().Apps[0].Addons[0].ID
	e.write("applink.yaml", driftBase)
	mf := filepath.Join(e.dir, "applink.yaml")
	st := filepath.Join(e.dir, "state.json")
	out, errs, code := runOut(t, "apply", "-f", mf, "--state", st, "--auto-approve", "--wait-for-browser")
	wantCode(t, code, 0, out, errs)

	// The apply's end, from the history: what since must name.
	out, errs, code = runOut(t, "state", "history", "-f", mf, "--state", st, "--format", "json")
	wantCode(t, code, 0, out, errs)
	var hist struct {
		Records []struct {
			Ended   time.Time `json:"ended"`
			Settled []string  `json:"settled"`
		} `json:"records"`
	}
	if err := json.Unmarshal([]byte(out), &hist); err != nil || len(hist.Records) != 1 || len(hist.Records[0].Settled) != 5 {
		t.Fatalf("history %s: %+v, %v", out, hist, err)
	}
	applied := hist.Records[0].Ended.UTC().Format(time.RFC3339)

	// Out of band: a target deleted, a connection failed; a connection
	// made with another state; the manifest edited but not applied.
	admin := func(method, path, body string) {
		t.Helper()
		req, err := http.NewRequest(method, e.srv.URL+"/_emulator/addons/"+addon+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode >= 300 {
			t.Fatalf("%s %s: %s", method, path, res.Status)
		}
	}
	admin("DELETE", "/connections/events_dc/targets/Order_Events", "")
	admin("POST", "/connections/prod_org/status", `{"status":"failed","error":{"id":"org_connection_failed","message":"refresh token revoked"}}`)
	e.write("manual/applink.yaml", manualManifest)
	out, errs, code = runOut(t, "apply", "-f", filepath.Join(e.dir, "manual", "applink.yaml"), "--state", filepath.Join(e.dir, "manual.json"), "--auto-approve", "--wait-for-browser")
	wantCode(t, code, 0, out, errs)
	e.write("applink.yaml", driftEdited)

	out, errs, code = runOut(t, "drift", "-f", mf, "--state", st, "--format", "json")
	wantCode(t, code, 2, out, errs)
	var d driftReport
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	type want struct{ kind, since, action, command string }
	// Each command repeats -f and --state as this run had them (hint.go).
	base := "applinkctl apply -f " + mf + " --state=" + st
	wants := map[string]want{
		"acme-api/connection/events_dc/target/Order_Events": {"missing", applied, "apply",
			base + " --target acme-api/connection/events_dc/target/Order_Events"},
		"acme-api/connection/prod_org": {"changed", applied, "apply", base + " --target acme-api/connection/prod_org"},
		"acme-api/connection/manual_org": {"unmanaged", "unknown", "adopt",
			"applinkctl drift -f " + mf + " --state=" + st + " --ignore acme-api/connection/manual_org"},
		"acme-api/connection/old_org": {"pending", applied, "prune", base + " --prune --target acme-api/connection/old_org"},
		"acme-api/connection/events_dc/target/Invoice_Events": {"pending", applied, "replace",
			base + " --target acme-api/connection/events_dc --replace acme-api/connection/events_dc"},
	}
	if len(d.Findings) != len(wants) {
		t.Errorf("%d findings, want %d:\n%s", len(d.Findings), len(wants), out)
	}
	var repairs [][]string
	for _, f := range d.Findings {
		w, ok := wants[f.Address]
		if !ok {
			t.Errorf("unexpected finding %+v", f)
			continue
		}
		if f.Kind != w.kind || f.Since != w.since || len(f.What) == 0 || f.What[0] != f.Detail {
			t.Errorf("%s: kind %s, since %s, what %q; want %s since %s", f.Address, f.Kind, f.Since, f.What, w.kind, w.since)
		}
		if len(f.Repairs) == 0 || f.Repairs[0].Action != w.action || f.Repairs[0].Note == "" {
			t.Errorf("%s: repairs %+v, want first %s", f.Address, f.Repairs, w.action)
			continue
		}
		all := strings.Join(f.Repairs[len(f.Repairs)-1].Commands, "\n")
		if !strings.Contains(all, w.command) {
			t.Errorf("%s: commands %q, want %q", f.Address, all, w.command)
		}
		if f.Kind == "unmanaged" {
			continue // adopting needs a person to edit the manifest; ignoring is checked below
		}
		for _, c := range f.Repairs[0].Commands {
			repairs = append(repairs, shellWords(t, c))
		}
	}
	if prod := "acme-api/connection/prod_org"; t.Failed() {
		t.Fatalf("findings:\n%s", out)
	} else {
		for _, f := range d.Findings {
			if f.Address == prod && !strings.Contains(strings.Join(f.What, "\n"), "org_connection_failed") {
				t.Errorf("what of %s: %q", prod, f.What)
			}
		}
	}

	// The text and Markdown reports carry the same.
	for _, format := range []string{"text", "markdown"} {
		out, errs, code = runOut(t, "drift", "-f", mf, "--state", st, "--format", format)
		wantCode(t, code, 2, out, errs)
		for _, s := range []string{"since: " + applied, "since: unknown", wants["acme-api/connection/old_org"].command, "--ignore acme-api/connection/manual_org"} {
			if !strings.Contains(out, s) {
				t.Errorf("%s report lacks %q:\n%s", format, s, out)
			}
		}
	}

	// Each repair as printed fixes its finding.
	for _, words := range repairs {
		if words[0] != "applinkctl" {
			t.Fatalf("repair %q does not run applinkctl", words)
		}
		args := words[1:]
		if args[0] == "apply" {
			args = append(args, "--auto-approve", "--wait-for-browser")
		}
		out, errs, code = runOut(t, args...)
		wantCode(t, code, 0, out, errs)
	}
	out, errs, code = runOut(t, "drift", "-f", mf, "--state", st, "--format", "json", "--ignore", "acme-api/connection/manual_org")
	wantCode(t, code, 0, out, errs)

	// A repaired resource is dated by the repair's apply now.
	admin("DELETE", "/connections/events_dc/targets/Order_Events", "")
	out, errs, code = runOut(t, "drift", "-f", mf, "--state", st, "--format", "json", "--ignore", "acme-api/connection/manual_org")
	wantCode(t, code, 2, out, errs)
	if err := json.Unmarshal([]byte(out), &d); err != nil || len(d.Findings) != 1 {
		t.Fatalf("after the repairs: %+v, %v", d, err)
	}
	// The newest apply that settled it: the one that recreated it.
	out, errs, code = runOut(t, "state", "history", "-f", mf, "--state", st, "--format", "json")
	wantCode(t, code, 0, out, errs)
	hist.Records = nil
	if err := json.Unmarshal([]byte(out), &hist); err != nil {
		t.Fatal(err)
	}
	newest := ""
	for _, r := range hist.Records { // newest first
		if slices.Contains(r.Settled, "acme-api/connection/events_dc/target/Order_Events") {
			newest = r.Ended.UTC().Format(time.RFC3339)
			break
		}
	}
	if len(hist.Records) < 2 || newest == "" || d.Findings[0].Since != newest {
		t.Errorf("since %s after the repairs, want %s (history %+v)", d.Findings[0].Since, newest, hist.Records)
	}
}

// TestDriftRepairRepeatsTheLocatingFlags: the repair commands repeat
// --sandbox and --workspace as the drift run was given them on the command
// line, and leave out a workspace taken from APPLINKCTL_WORKSPACE, which
// still applies where the command is run.
func TestDriftRepairRepeatsTheLocatingFlags(t *testing.T) {
	dir := t.TempDir()
	testkit.WriteFile(t, dir, "applink.yaml", manualManifest)
	t.Chdir(dir)
	t.Setenv("APPLINKCTL_STATE", "")
	t.Setenv("APPLINKCTL_WORKSPACE", "staging")
	out, errs, code := runOut(t, "drift", "-f", "applink.yaml", "--sandbox")
	wantCode(t, code, 2, out, errs)
	if want := "\n      applinkctl apply -f applink.yaml --sandbox --target acme-api/connection/manual_org\n"; !strings.Contains(out, want) {
		t.Errorf("want %q in:\n%s", want, out)
	}
	out, errs, code = runOut(t, "drift", "-f", "applink.yaml", "--sandbox=other box", "--workspace", "qa")
	wantCode(t, code, 2, out, errs)
	if want := "\n      applinkctl apply -f applink.yaml '--sandbox=other box' --workspace=qa --target acme-api/connection/manual_org\n"; !strings.Contains(out, want) {
		t.Errorf("want %q in:\n%s", want, out)
	}
}
