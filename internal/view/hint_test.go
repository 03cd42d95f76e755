package view_test

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/plan"
	"github.com/applinkctl/applinkctl/internal/planfile"
	"github.com/applinkctl/applinkctl/internal/view"
)

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"":                              "''",
		"acme-api/connection/prod_org":  "acme-api/connection/prod_org",
		"--sandbox=.applinkctl/sandbox": "--sandbox=.applinkctl/sandbox",
		"acme-api/connection/*":         "'acme-api/connection/*'",
		"my dir/applink.yaml":           "'my dir/applink.yaml'",
		"it's":                          `'it'\''s'`,
		"$HOME":                         "'$HOME'",
	} {
		if got := view.ShellQuote(in); got != want {
			t.Errorf("ShellQuote(%q) = %s; want %s", in, got, want)
		}
	}
}

func TestInvocationCommand(t *testing.T) {
	in := view.Invocation{Files: []string{"applink.yaml", "more dir"}, Flags: []string{"--sandbox=sb"}}
	got := in.Command("plan", plan.Options{Prune: true, AllowEmpty: true, Targets: []string{"b/*", "a"}, Replace: []string{"x/connection/y"}})
	want := "applinkctl plan -f applink.yaml -f 'more dir' --sandbox=sb --prune --allow-empty --target a --target 'b/*' --replace x/connection/y"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// blockedPlan has a target change apply refuses, unblocked by replacing
// its connection, and an undeclared target that --prune deletes only so.
func blockedPlan() *plan.Plan {
	dc := addr.Connection("acme-api", "events_dc")
	return &plan.Plan{
		ManifestFiles: []string{"applink.yaml"},
		Options:       plan.Options{Targets: []string{"acme-api/connection/events_dc/*"}},
		Changes: []*plan.Change{{
			Address: addr.Target("acme-api", "events_dc", "Order_Events"), Kind: addr.KindTarget, Action: plan.Replace,
			Reasons: []string{"target_endpoint changed"}, Blocked: "a data action target cannot be changed alone",
			Unblock: []addr.Address{dc},
		}},
		Undeclared: []*plan.Change{{
			Address: addr.Target("acme-api", "events_dc", "Old"), Kind: addr.KindTarget, Action: plan.Delete,
			Before: snap("label", "Old"), Blocked: "a data action target cannot be deleted alone", Unblock: []addr.Address{dc},
		}},
	}
}

func TestRenderPlanNamesTheCommandsThatWork(t *testing.T) {
	p := blockedPlan()
	opts := view.Options{Invocation: view.Invocation{Verb: "apply", Files: []string{"applink.yaml"}, Flags: []string{"--sandbox"}}}
	text := string(render(t, p, "text", opts))
	for _, want := range []string{
		"1 change is blocked",
		"To unblock it, run: applinkctl apply -f applink.yaml --sandbox --target 'acme-api/connection/events_dc/*' --replace acme-api/connection/events_dc\n",
		"1 resource applinkctl manages is no longer declared; --prune would delete it (listed below).",
		"  acme-api/connection/events_dc/target/Old\n      --prune alone is blocked: a data action target cannot be deleted alone\n",
		"To review deleting it, run: applinkctl plan -f applink.yaml --sandbox --prune --target 'acme-api/connection/events_dc/*' --replace acme-api/connection/events_dc\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text plan lacks %q:\n%s", want, text)
		}
	}
	md := string(render(t, p, "markdown", opts))
	for _, want := range []string{
		"To unblock it, run `applinkctl apply -f applink.yaml --sandbox --target 'acme-api/connection/events_dc/*' --replace acme-api/connection/events_dc`.",
		"no longer declared: 1 resource left alone without --prune",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown plan lacks %q:\n%s", want, md)
		}
	}
	// Without an invocation, hints use the plan's own manifest files.
	if text := string(render(t, p, "text", view.Options{})); !strings.Contains(text, "To unblock it, run: applinkctl plan -f applink.yaml --target") {
		t.Errorf("default invocation:\n%s", text)
	}
	// A blocked change without a flag to unblock it gets no command.
	p.Changes[0].Unblock = nil
	p.Undeclared[0].Unblock = nil
	if text := string(render(t, p, "text", opts)); strings.Contains(text, "To unblock") || strings.Contains(text, "To review deleting") {
		t.Errorf("a command that cannot work:\n%s", text)
	}
	// Nothing blocked or undeclared: no hint.
	if text := string(render(t, noopPlan(), "text", opts)); strings.Contains(text, "run:") {
		t.Errorf("noop plan:\n%s", text)
	}
}

func TestUndeclaredInJSONAndPlanFile(t *testing.T) {
	p := blockedPlan()
	var w struct {
		Undeclared []string `json:"undeclared"`
	}
	if err := json.Unmarshal(render(t, p, "json", view.Options{}), &w); err != nil {
		t.Fatal(err)
	}
	if len(w.Undeclared) != 1 || w.Undeclared[0] != "acme-api/connection/events_dc/target/Old" {
		t.Fatalf("undeclared = %v", w.Undeclared)
	}
	if bytes.Contains(render(t, noopPlan(), "json", view.Options{}), []byte("undeclared")) {
		t.Error("an empty undeclared is written")
	}
	path := filepath.Join(t.TempDir(), "plan.json")
	if err := planfile.Write(path, p); err != nil {
		t.Fatal(err)
	}
	got, err := planfile.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Undeclared) != 1 || got.Undeclared[0].Address != p.Undeclared[0].Address {
		t.Fatalf("read back %+v", got.Undeclared)
	}
}

func TestRenderDriftNamesTheFix(t *testing.T) {
	fs := []plan.Finding{{Kind: plan.Pending, Address: "acme-api/connection/events_dc/target/Old", Detail: "no longer declared",
		Fix: &plan.Options{Prune: true, Replace: []string{"acme-api/connection/events_dc"}}}}
	opts := view.Options{Invocation: view.Invocation{Files: []string{"applink.yaml"}, Flags: []string{"--sandbox"}}}
	cmd := "applinkctl apply -f applink.yaml --sandbox --prune --replace acme-api/connection/events_dc"
	if text := string(renderDrift(t, fs, "text", opts)); !strings.Contains(text, "\n      run: "+cmd+"\n") {
		t.Errorf("text:\n%s", text)
	}
	if md := string(renderDrift(t, fs, "markdown", opts)); !strings.Contains(md, "; run `"+cmd+"`") {
		t.Errorf("markdown:\n%s", md)
	}
	var d struct {
		Findings []struct {
			Fix string `json:"fix"`
		} `json:"findings"`
	}
	if err := json.Unmarshal(renderDrift(t, fs, "json", opts), &d); err != nil || len(d.Findings) != 1 || d.Findings[0].Fix != cmd {
		t.Errorf("json: %+v, %v", d, err)
	}
}
