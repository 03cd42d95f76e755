package view_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/plan"
	"github.com/applinkctl/applinkctl/internal/view"
)

func findings() []plan.Finding {
	apply := func(a addr.Address, note string) []plan.Repair {
		return []plan.Repair{{Action: plan.RepairApply, Note: note,
			Steps: []plan.Step{{Verb: "apply", Options: plan.Options{Targets: []string{string(a)}}}}}}
	}
	manual := addr.Authorization("acme-web", "manual")
	return []plan.Finding{
		{Kind: "pending", Address: addr.Connection("acme-api", "new_org"), Detail: "declared but not created yet",
			Repairs: apply(addr.Connection("acme-api", "new_org"), "applies what the manifest declares for it")},
		{Kind: "changed", Address: addr.Connection("acme-api", "prod_org"), Detail: "status is disconnected",
			What:    []string{"status is disconnected", "username changed (a@acme.com → b@acme.com)"},
			Since:   time.Date(2026, 5, 1, 11, 0, 0, 0, time.FixedZone("CEST", 2*3600)),
			Repairs: apply(addr.Connection("acme-api", "prod_org"), "recreates it as declared")},
		{Kind: "missing", Address: addr.Target("acme-api", "events_dc", "Order_Events"), Detail: "recorded in state but not found live",
			Since:   time.Date(2026, 4, 30, 9, 30, 0, 0, time.UTC),
			Repairs: apply(addr.Target("acme-api", "events_dc", "Order_Events"), "creates it again as declared")},
		{Kind: "unmanaged", Address: manual, Detail: "live, never created or adopted by applinkctl",
			Repairs: []plan.Repair{
				{Action: plan.RepairAdopt, Note: "declare it in the manifest; apply then records it",
					Steps: []plan.Step{{Verb: "export", Args: []string{"--app", "acme-web"}},
						{Verb: "apply", Options: plan.Options{Targets: []string{string(manual)}}}}},
				{Action: plan.RepairIgnore, Note: "leave it unmanaged and stop reporting it",
					Steps: []plan.Step{{Verb: "drift", Args: []string{"--ignore", string(manual)}}}},
			}},
		{Kind: "changed", Address: addr.Connection("acme-api", "events_dc"), Detail: "status is failed (org_connection_failed)",
			Repairs: apply(addr.Connection("acme-api", "events_dc"), "recreates it as declared")},
	}
}

func renderDrift(t *testing.T, fs []plan.Finding, format string, opts view.Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := view.RenderDrift(&buf, fs, format, opts); err != nil {
		t.Fatalf("RenderDrift(%s): %v", format, err)
	}
	return buf.Bytes()
}

func TestRenderDriftGolden(t *testing.T) {
	many := findings()
	for i := 0; i < 40; i++ {
		many = append(many, plan.Finding{Kind: "missing", Address: addr.Connection("big-app", strings.Repeat("x", i+1)), Detail: "recorded in state but not found live"})
	}
	cases := []struct {
		name string
		fs   []plan.Finding
		opts view.Options
	}{
		{"drift", findings(), view.Options{Invocation: view.Invocation{Files: []string{"applink.yaml"}, Flags: []string{"--workspace=prod"}}}},
		{"drift-none", nil, view.Options{}},
		{"drift-truncated", many, view.Options{MaxBytes: 1200}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			golden(t, tc.name, "drift.txt", renderDrift(t, tc.fs, "text", tc.opts))
			golden(t, tc.name, "drift.json", renderDrift(t, tc.fs, "json", tc.opts))
			golden(t, tc.name, "drift.md", renderDrift(t, tc.fs, "markdown", tc.opts))
		})
	}
}

func TestRenderDriftShape(t *testing.T) {
	out := string(renderDrift(t, findings(), "text", view.Options{}))
	if want := "Drift: 1 missing, 2 changed, 1 unmanaged, 1 pending.\n"; !strings.HasPrefix(out, want) {
		t.Errorf("summary: got %q, want prefix %q", out, want)
	}
	order := []string{"Missing", "Order_Events", "Changed", "events_dc:", "prod_org", "Unmanaged", "manual", "Pending", "new_org"}
	last := -1
	for _, s := range order {
		i := strings.Index(out, s)
		if i <= last {
			t.Errorf("%q out of order in:\n%s", s, out)
		}
		last = i
	}
	for _, fs := range [][]plan.Finding{nil, {}} {
		if got := string(renderDrift(t, fs, "text", view.Options{})); got != "No drift.\n" {
			t.Errorf("no findings: %q", got)
		}
	}
	var d struct {
		HasDrift bool           `json:"has_drift"`
		Counts   map[string]int `json:"counts"`
		Findings []struct{ Kind, Address, Detail string }
	}
	if err := json.Unmarshal(renderDrift(t, findings(), "json", view.Options{}), &d); err != nil {
		t.Fatal(err)
	}
	if !d.HasDrift || d.Counts["changed"] != 2 || len(d.Findings) != 5 || d.Findings[0].Kind != "missing" {
		t.Errorf("json drift = %+v", d)
	}
	if err := json.Unmarshal(renderDrift(t, nil, "json", view.Options{}), &d); err != nil || d.HasDrift || d.Findings == nil || d.Counts["pending"] != 0 {
		t.Errorf("json of no drift = %+v, %v", d, err)
	}
	var uf *view.UnknownFormatError
	if err := view.RenderDrift(&bytes.Buffer{}, nil, "html", view.Options{}); !errors.As(err, &uf) {
		t.Errorf("unknown format: %v", err)
	}
	if err := view.RenderDrift(failWriter{}, findings(), "json", view.Options{}); err == nil {
		t.Error("write error not reported")
	}
}

func TestRenderDriftDeterministic(t *testing.T) {
	fs := findings()
	rev := make([]plan.Finding, len(fs))
	for i := range fs {
		rev[len(fs)-1-i] = fs[i]
	}
	for _, format := range []string{"text", "json", "markdown"} {
		if !bytes.Equal(renderDrift(t, fs, format, view.Options{}), renderDrift(t, rev, format, view.Options{})) {
			t.Errorf("%s: output depends on finding order", format)
		}
	}
}
