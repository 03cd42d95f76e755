package view_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/plan"
	"github.com/applinkctl/applinkctl/internal/view"
)

func findings() []plan.Finding {
	return []plan.Finding{
		{Kind: "pending", Address: addr.Connection("acme-api", "new_org"), Detail: "declared but not created yet"},
		{Kind: "changed", Address: addr.Connection("acme-api", "prod_org"), Detail: "status is disconnected"},
		{Kind: "missing", Address: addr.Target("acme-api", "events_dc", "Order_Events"), Detail: "recorded in state but not found live"},
		{Kind: "unmanaged", Address: addr.Authorization("acme-web", "manual"), Detail: "live, never created or adopted by applinkctl"},
		{Kind: "changed", Address: addr.Connection("acme-api", "events_dc"), Detail: "status is failed (org_connection_failed)"},
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
		{"drift", findings(), view.Options{}},
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
