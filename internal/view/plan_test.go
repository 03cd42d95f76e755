package view_test

import (
	"bytes"
	"errors"
	"flag"
	"path/filepath"
	"strings"
	"testing"

	"github.com/applinkctl/applinkctl/internal/plan"
	"github.com/applinkctl/applinkctl/internal/testkit"
	"github.com/applinkctl/applinkctl/internal/view"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// golden compares got with testdata/<dir>/<name>, rewriting it under -update.
func golden(t *testing.T, dir, name string, got []byte) {
	t.Helper()
	testkit.Golden(t, filepath.Join("testdata", dir, name), got, *update, "go test ./internal/view -update")
}

func render(t *testing.T, p *plan.Plan, format string, opts view.Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := view.RenderPlan(&buf, p, format, opts); err != nil {
		t.Fatalf("RenderPlan(%s): %v", format, err)
	}
	return buf.Bytes()
}

func TestRenderPlanGolden(t *testing.T) {
	cases := []struct {
		name string
		plan *plan.Plan
		opts view.Options
	}{
		{"full", fullPlan(), view.Options{}},
		{"empty", &plan.Plan{}, view.Options{}},
		{"noop", noopPlan(), view.Options{}},
		{"truncated", bigPlan(), view.Options{MaxBytes: 2500}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			golden(t, tc.name, "plan.txt", render(t, tc.plan, "text", tc.opts))
			golden(t, tc.name, "plan.json", render(t, tc.plan, "json", tc.opts))
			golden(t, tc.name, "plan.md", render(t, tc.plan, "markdown", tc.opts))
		})
	}
}

func TestRenderPlanTextShape(t *testing.T) {
	out := string(render(t, fullPlan(), "text", view.Options{}))
	lines := strings.Split(out, "\n")
	if want := "Plan: 2 to create, 4 to replace, 2 to republish, 3 to delete, 1 to adopt. Apply first waits for 2 resources to settle."; lines[0] != want {
		t.Errorf("summary line = %q, want %q", lines[0], want)
	}
	for _, want := range []string{
		"  -/+ acme-api/connection/events_dc\n",
		"      -/+ acme-api/connection/events_dc/target/Order_Events\n            because acme-api/connection/events_dc is replaced\n",
		"    + acme-api/connection/prod_org [protected]\n",
		"    ~ acme-api/connection/prod_org/publication/AcmeAPI [breaking]\n",
		"⚠ 1 publication change breaks existing callers",
		"        ⚠ breaking: GET /legacy: API path removed without deprecation (api/openapi.yaml:7)\n",
		"        + POST /orders\n", "        − GET /legacy\n", "        ~ GET /orders\n",
		"(diff truncated)",
		"    - acme-api/authorization/old_auth\n",
		"    = acme-api/connection/legacy_org\n",
		"    … acme-api/authorization/ci_auth [waits]\n",
		"[blocked]", "blocked: a target cannot be changed alone; use --replace acme-api/connection/stream_dc",
		"login_url: \"https://login.salesforce.com\" → \"https://test.salesforce.com\"",
		"Unmanaged (left alone",
		"    - acme-api/connection/gone_dc\n        no longer declared in the manifest\n        - acme-api/connection/gone_dc/target/Old_Events\n            because acme-api/connection/gone_dc is deleted\n            deleted with its connection\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text plan lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, `target_endpoint: "/old" → "/new"`) {
		t.Errorf("attribute change repeated although its reason names both values:\n%s", out)
	}
	if strings.Contains(out, "stream_dc\n") {
		t.Errorf("noop change shown:\n%s", out)
	}
	if strings.Count(out, "because acme-api/connection/events_dc is replaced") != 1 {
		t.Errorf("cause line repeated:\n%s", out)
	}
	if strings.Contains(out, "\x1b[") {
		t.Errorf("colors without Options.Color:\n%q", out)
	}
	colored := string(render(t, fullPlan(), "text", view.Options{Color: true}))
	for _, want := range []string{"\x1b[32m+\x1b[0m", "\x1b[33m-/+\x1b[0m", "\x1b[31m-\x1b[0m", "\x1b[36m=\x1b[0m"} {
		if !strings.Contains(colored, want) {
			t.Errorf("colored plan lacks %q", want)
		}
	}
}

func TestRenderPlanEmpty(t *testing.T) {
	for _, p := range []*plan.Plan{nil, {}, noopPlan()} {
		out := string(render(t, p, "text", view.Options{}))
		if out != "No changes. Live state matches the manifest.\n" {
			t.Errorf("empty plan text = %q", out)
		}
	}
}

func TestRenderPlanDeterministic(t *testing.T) {
	for _, format := range []string{"text", "json", "markdown"} {
		a := render(t, fullPlan(), format, view.Options{})
		p := fullPlan()
		for i, j := 0, len(p.Changes)-1; i < j; i, j = i+1, j-1 {
			p.Changes[i], p.Changes[j] = p.Changes[j], p.Changes[i]
		}
		b := render(t, p, format, view.Options{})
		if !bytes.Equal(a, b) {
			t.Errorf("%s: output depends on change order", format)
		}
	}
}

func TestRenderPlanUnknownFormat(t *testing.T) {
	err := view.RenderPlan(&bytes.Buffer{}, fullPlan(), "yaml", view.Options{})
	var uf *view.UnknownFormatError
	if !errors.As(err, &uf) || uf.Format != "yaml" {
		t.Fatalf("RenderPlan(yaml) = %v, want *UnknownFormatError", err)
	}
	if !strings.Contains(err.Error(), "text, json or markdown") {
		t.Errorf("error does not list the formats: %v", err)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestRenderPlanWriteError(t *testing.T) {
	if err := view.RenderPlan(failWriter{}, fullPlan(), "text", view.Options{}); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("RenderPlan to a failing writer = %v", err)
	}
}

func TestRenderPlanMarkdownTruncation(t *testing.T) {
	full := render(t, bigPlan(), "markdown", view.Options{MaxBytes: 1 << 20})
	// A long command in the note (many files, flags) still fits the cap.
	long := view.Invocation{Files: []string{strings.Repeat("manifests/", 20) + "applink.yaml", "more.yaml"}, Flags: []string{"--sandbox=" + strings.Repeat("s", 100)}}
	for _, max := range []int{600, 1500, 2500, 5000} {
		out := string(render(t, bigPlan(), "markdown", view.Options{MaxBytes: max}))
		if len(out) > max {
			t.Errorf("max %d: output is %d bytes", max, len(out))
		}
		if !strings.Contains(out, "… output truncated: ") || !strings.Contains(out, "run `applinkctl plan -f applink.yaml` locally for the full plan") {
			t.Errorf("max %d: no truncation note:\n%s", max, out)
		}
		if out := string(render(t, bigPlan(), "markdown", view.Options{MaxBytes: max, Invocation: long})); max > 600 && len(out) > max || !strings.Contains(out, "more.yaml --sandbox=sss") {
			t.Errorf("max %d, long command: %d bytes:\n%s", max, len(out), out)
		}
		if o, c := strings.Count(out, "<details>"), strings.Count(out, "</details>"); o != c {
			t.Errorf("max %d: %d <details> but %d </details>:\n%s", max, o, c, out)
		}
		if strings.Count(out, "```")%2 != 0 {
			t.Errorf("max %d: unbalanced code fence:\n%s", max, out)
		}
		if strings.Contains(out, "</summary>\n\n\n</details>") {
			t.Errorf("max %d: empty details block:\n%s", max, out)
		}
		if !strings.HasPrefix(string(full), out[:strings.Index(out, "| action | count |")]) {
			t.Errorf("max %d: truncated output does not start like the full one", max)
		}
	}
	// The default cap is 60000 bytes: a plan under it is not truncated.
	if out := render(t, bigPlan(), "markdown", view.Options{}); !bytes.Equal(out, full) {
		t.Errorf("default cap truncated a %d-byte plan", len(full))
	}
}

func TestRenderPlanMarkdownShape(t *testing.T) {
	out := string(render(t, fullPlan(), "markdown", view.Options{}))
	for _, want := range []string{
		"## applinkctl plan\n",
		"| action | count |\n|---|---:|\n| create | 2 |\n| replace | 4 |\n| republish | 2 |\n| delete | 3 |\n| adopt | 1 |\n\n",
		"<details><summary>acme-api: 11 changes</summary>",
		"<details><summary>acme-web: 2 changes</summary>",
		"```diff\n",
		"+      summary: Create an <order>", // diff text is verbatim inside the fence
		"- `+ POST /orders`",
		"unmanaged: 2 resources left alone",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown plan lacks %q:\n%s", want, out)
		}
	}
}

func TestRenderPlanMultiLineReason(t *testing.T) {
	p := noopPlan()
	p.Changes[0].Action = plan.Replace
	p.Changes[0].Reasons = []string{"status is failed:\nsecond line"}
	text := string(render(t, p, "text", view.Options{}))
	if !strings.Contains(text, "        status is failed:\n        second line\n") {
		t.Errorf("continuation line not indented:\n%s", text)
	}
	md := string(render(t, p, "markdown", view.Options{}))
	if !strings.Contains(md, "  - status is failed: second line\n") {
		t.Errorf("line break inside a Markdown list item:\n%s", md)
	}
}
