package view_test

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/apply"
	"github.com/applinkctl/applinkctl/internal/plan"
	"github.com/applinkctl/applinkctl/internal/view"
)

var t0 = time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)

// fakeClock advances by step at every reading.
func fakeClock(step time.Duration) func() time.Time {
	now := t0.Add(-step)
	return func() time.Time { now = now.Add(step); return now }
}

const prodOrg = addr.Address("acme-api/connection/prod_org")

func applyEvents() []apply.Event {
	pub := addr.Publication("acme-api", "prod_org", "AcmeAPI")
	auth := addr.Authorization("acme-api", "ci_auth")
	return []apply.Event{
		{Address: prodOrg, Action: plan.Create, Type: apply.EventStarted},
		{Address: auth, Action: plan.Create, Type: apply.EventStarted},
		{Address: prodOrg, Action: plan.Create, Type: apply.EventStatus, Status: "connecting", Elapsed: 1200 * time.Millisecond},
		{Address: auth, Action: plan.Create, Type: apply.EventWaitingOnBrowser, RedirectURI: "https://login.example/authorize?x=1", Elapsed: 2 * time.Second},
		{Address: prodOrg, Action: plan.Create, Type: apply.EventDone, Status: "connected", RemoteID: "c-1", Elapsed: 4200 * time.Millisecond},
		{Address: auth, Action: plan.Create, Type: apply.EventPending, Status: "authorizing", RemoteID: "a-9", Message: "timed out after 10m0s", Elapsed: 10 * time.Minute},
		{Address: pub, Action: plan.Republish, Type: apply.EventFailed, Message: "publish: 422 invalid spec", Elapsed: 300 * time.Millisecond},
		{Address: addr.Target("acme-api", "dc", "T"), Action: plan.Create, Type: apply.EventSkipped, Message: "skipped: acme-api/connection/dc failed"},
	}
}

func applySummary() apply.Summary {
	return apply.Summary{
		Created: 1, Failed: 1, Skipped: 1, Pending: 1, Unchanged: 4, Wall: 4200 * time.Millisecond,
		RootCauses: []apply.Failure{{Address: addr.Publication("acme-api", "prod_org", "AcmeAPI"), Message: "publish: 422 invalid spec"}},
		StillPending: []apply.Failure{
			{Address: addr.Authorization("acme-api", "ci_auth"), RemoteID: "a-9", Status: "authorizing", Message: "timed out after 10m0s"},
		},
	}
}

func TestProgressPlain(t *testing.T) {
	var buf bytes.Buffer
	obs := view.NewProgress(&buf, false, view.Options{Now: fakeClock(time.Second)})
	for _, ev := range applyEvents() {
		obs.Event(ev)
	}
	obs.Done(applySummary())
	want := `2026-01-02T15:04:05Z acme-api/connection/prod_org create: started
2026-01-02T15:04:06Z acme-api/authorization/ci_auth create: started
2026-01-02T15:04:07Z acme-api/connection/prod_org create: connecting (1.2s)
2026-01-02T15:04:08Z acme-api/authorization/ci_auth create: waiting for a person to approve in a browser: https://login.example/authorize?x=1 (2s)
2026-01-02T15:04:09Z acme-api/connection/prod_org create: connected, done (4.2s)
2026-01-02T15:04:10Z acme-api/authorization/ci_auth create: still pending (status authorizing, id a-9): timed out after 10m0s (10m0s)
2026-01-02T15:04:11Z acme-api/connection/prod_org/publication/AcmeAPI republish: failed: publish: 422 invalid spec (300ms)
2026-01-02T15:04:12Z acme-api/connection/dc/target/T create: skipped: acme-api/connection/dc failed
Apply failed: 1 created, 0 replaced, 0 republished, 0 deleted, 0 adopted, 4 unchanged, 1 failed, 1 skipped, 1 still pending in 4.2s.

Failed:
  acme-api/connection/prod_org/publication/AcmeAPI: publish: 422 invalid spec

Still pending (the next plan or apply resumes waiting on them):
  acme-api/authorization/ci_auth (id a-9, status authorizing): timed out after 10m0s
`
	if got := buf.String(); got != want {
		t.Errorf("plain progress:\n%s\nwant:\n%s", got, want)
	}
}

func TestProgressPlainUsesEventTime(t *testing.T) {
	var buf bytes.Buffer
	obs := view.NewProgress(&buf, false, view.Options{Now: func() time.Time { t.Fatal("clock read although the event has a time"); return t0 }})
	obs.Event(apply.Event{Time: t0.Add(time.Hour), Address: prodOrg, Action: plan.Create, Type: apply.EventStatus, Status: "connecting", Elapsed: 1234 * time.Millisecond, DryRun: true})
	if want := "2026-01-02T16:04:05Z acme-api/connection/prod_org create (dry run): connecting (1.2s)\n"; buf.String() != want {
		t.Errorf("got %q, want %q", buf.String(), want)
	}
}

// A dry run's progress says what would be done, never that anything was:
// no "started" or "done" a reader could take for a change made, and no
// past tense in any line or the summary, on a terminal or not.
func TestProgressDryRunWording(t *testing.T) {
	tgt := addr.Target("acme-api", "dc", "T")
	evs := []apply.Event{
		{Address: prodOrg, Action: plan.Delete, Type: apply.EventStarted, DryRun: true},
		{Address: prodOrg, Action: plan.Delete, Type: apply.EventDone, Status: "connected", Message: "would delete", DryRun: true},
		{Address: tgt, Action: plan.Delete, Type: apply.EventDone, Message: "would be deleted with its connection", DryRun: true},
		{Address: addr.Authorization("acme-api", "a"), Action: plan.Adopt, Type: apply.EventDone, Status: "authorizing", Message: "would wait for it to settle (status authorizing)", DryRun: true},
		{Address: addr.Connection("acme-api", "n"), Action: plan.Noop, Type: apply.EventDone, DryRun: true},
	}
	sum := apply.Summary{Deleted: 2, Adopted: 1, Unchanged: 1, DryRun: true}
	for _, tty := range []bool{false, true} {
		var buf bytes.Buffer
		obs := view.NewProgress(&buf, tty, view.Options{Now: fakeClock(time.Second)})
		for _, ev := range evs {
			obs.Event(ev)
		}
		obs.Done(sum)
		out := buf.String()
		for _, want := range []string{
			"acme-api/connection/prod_org delete (dry run): checking",
			"acme-api/connection/prod_org delete (dry run): would delete (status connected, ",
			"acme-api/connection/dc/target/T delete (dry run): would be deleted with its connection (",
			"acme-api/authorization/a adopt (dry run): would wait for it to settle (status authorizing) (",
			"acme-api/connection/n noop (dry run): nothing to do (",
			"Dry run complete (nothing was changed): would create 0, replace 0, republish 0, delete 2, adopt 1, leave 1 unchanged in 0s.\n",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("tty=%v: dry-run progress lacks %q:\n%s", tty, want, out)
			}
		}
		if m := regexp.MustCompile(`\b(started|done|created|deleted|replaced|republished|adopted)\b`).FindString(strings.ReplaceAll(out, "would be deleted with its connection", "")); m != "" {
			t.Errorf("tty=%v: dry-run progress says %q:\n%s", tty, m, out)
		}
	}
}

func TestProgressLive(t *testing.T) {
	var buf bytes.Buffer
	obs := view.NewProgress(&buf, true, view.Options{Now: fakeClock(time.Second)})
	evs := applyEvents()
	obs.Event(evs[0]) // prod_org started: one live row
	if got, want := buf.String(), "⋯ acme-api/connection/prod_org create: started (0s)\n"; got != want {
		t.Fatalf("first frame = %q, want %q", got, want)
	}
	buf.Reset()
	obs.Event(evs[1]) // ci_auth started: redraw two rows
	if got, want := buf.String(), "\x1b[1A\x1b[J⋯ acme-api/connection/prod_org create: started (1s)\n⋯ acme-api/authorization/ci_auth create: started (0s)\n"; got != want {
		t.Fatalf("second frame = %q, want %q", got, want)
	}
	buf.Reset()
	obs.Event(evs[2]) // status: row text changes in place
	if got := buf.String(); !strings.HasPrefix(got, "\x1b[2A\x1b[J") || !strings.Contains(got, "prod_org create: connecting (2s)\n") {
		t.Fatalf("status frame = %q", got)
	}
	buf.Reset()
	obs.Event(evs[3]) // browser: URL printed permanently above the rows
	if got := buf.String(); !strings.Contains(got, "acme-api/authorization/ci_auth create: open https://login.example/authorize?x=1 to authorize it\n⋯ ") {
		t.Fatalf("browser frame = %q", got)
	}
	buf.Reset()
	obs.Event(evs[4]) // done: the row leaves the live region for the log
	got := buf.String()
	if !strings.HasPrefix(got, "\x1b[2A\x1b[J✓ acme-api/connection/prod_org create: connected, done (4.2s)\n") ||
		strings.Count(got, "\n") != 2 || !strings.Contains(got, "ci_auth create: waiting for browser approval") {
		t.Fatalf("done frame = %q", got)
	}
	buf.Reset()
	for _, ev := range evs[5:] {
		obs.Event(ev)
	}
	obs.Done(applySummary())
	got = buf.String()
	for _, want := range []string{"… acme-api/authorization/ci_auth create: still pending", "✗ acme-api/connection/prod_org/publication/AcmeAPI republish: failed", "- acme-api/connection/dc/target/T create: skipped", "Apply failed: "} {
		if !strings.Contains(got, want) {
			t.Errorf("final frames lack %q:\n%q", want, got)
		}
	}
	if strings.Contains(got, "\x1b[32m") {
		t.Errorf("colors without Options.Color: %q", got)
	}
}

func TestJSONEvents(t *testing.T) {
	var buf bytes.Buffer
	obs := view.NewJSONEvents(&buf)
	evs := applyEvents()
	evs[0].Time = t0
	for _, ev := range evs {
		obs.Event(ev)
	}
	obs.Done(applySummary())
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != len(evs)+1 {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(evs)+1, buf.String())
	}
	if want := `{"format_version":"1","type":"started","time":"2026-01-02T15:04:05Z","address":"acme-api/connection/prod_org","action":"create","status":"","remote_id":"","message":"","redirect_uri":"","elapsed_ms":0,"dry_run":false}`; lines[0] != want {
		t.Errorf("first event:\n got %s\nwant %s", lines[0], want)
	}
	for i, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %d is not JSON: %v: %s", i, err, l)
		}
		if m["format_version"] != "1" {
			t.Errorf("line %d: format_version = %v", i, m["format_version"])
		}
	}
	var last struct {
		Type         string `json:"type"`
		Created      int    `json:"created"`
		Pending      int    `json:"pending"`
		WallMS       int64  `json:"wall_ms"`
		StillPending []struct {
			Address, RemoteID string
		} `json:"still_pending"`
		RootCauses []map[string]string `json:"root_causes"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil {
		t.Fatal(err)
	}
	if last.Type != "summary" || last.Created != 1 || last.Pending != 1 || last.WallMS != 4200 ||
		len(last.StillPending) != 1 || last.StillPending[0].Address != "acme-api/authorization/ci_auth" || len(last.RootCauses) != 1 {
		t.Errorf("summary line = %+v", last)
	}
	var ev4 map[string]any
	_ = json.Unmarshal([]byte(lines[4]), &ev4)
	if ev4["type"] != "done" || ev4["remote_id"] != "c-1" || ev4["elapsed_ms"] != float64(4200) {
		t.Errorf("done event = %v", ev4)
	}
}

func TestRenderSummary(t *testing.T) {
	cases := []struct {
		name string
		s    apply.Summary
		want string
	}{
		{"complete", apply.Summary{Created: 3, Republished: 2, Adopted: 1, Unchanged: 7, Wall: 4210 * time.Millisecond},
			"Apply complete: 3 created, 0 replaced, 2 republished, 0 deleted, 1 adopted, 7 unchanged in 4.2s.\n"},
		{"dry run", apply.Summary{Created: 1, DryRun: true, Wall: 50 * time.Millisecond},
			"Dry run complete (nothing was changed): would create 1, replace 0, republish 0, delete 0, adopt 0, leave 0 unchanged in 100ms.\n"},
		{"dry run failed", apply.Summary{Deleted: 2, Failed: 1, DryRun: true, Wall: time.Second, RootCauses: []apply.Failure{{Address: prodOrg, Message: "read: 500"}}},
			"Dry run failed (nothing was changed): would create 0, replace 0, republish 0, delete 2, adopt 0, leave 0 unchanged, 1 failed in 1s.\n\nFailed:\n  acme-api/connection/prod_org: read: 500\n"},
		{"interrupted", apply.Summary{Created: 1, Skipped: 2, Interrupted: true, Wall: 2 * time.Second},
			"Apply interrupted: 1 created, 0 replaced, 0 republished, 0 deleted, 0 adopted, 0 unchanged, 2 skipped in 2s.\n"},
		{"pending", apply.Summary{Pending: 1, Wall: time.Minute, StillPending: []apply.Failure{{Address: prodOrg, RemoteID: "c-1", Status: "connecting"}}},
			"Apply incomplete: 0 created, 0 replaced, 0 republished, 0 deleted, 0 adopted, 0 unchanged, 1 still pending in 1m0s.\n\n" +
				"Still pending (the next plan or apply resumes waiting on them):\n  acme-api/connection/prod_org (id c-1, status connecting)\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			view.RenderSummary(&buf, tc.s, view.Options{})
			if buf.String() != tc.want {
				t.Errorf("got:\n%q\nwant:\n%q", buf.String(), tc.want)
			}
		})
	}
	var buf bytes.Buffer
	view.RenderSummary(&buf, apply.Summary{Failed: 1, RootCauses: []apply.Failure{{Address: prodOrg, Message: "boom"}}}, view.Options{Color: true})
	if !strings.Contains(buf.String(), "\x1b[31mApply failed:\x1b[0m") {
		t.Errorf("colored failure headline missing: %q", buf.String())
	}
}

func TestIsTerminalAndColor(t *testing.T) {
	var buf bytes.Buffer
	if view.IsTerminal(&buf) {
		t.Error("a buffer is not a terminal")
	}
	t.Setenv("NO_COLOR", "")
	if view.ColorEnabled(&buf, false) {
		t.Error("color enabled on a buffer")
	}
	t.Setenv("NO_COLOR", "1")
	if view.ColorEnabled(&buf, false) || view.ColorEnabled(&buf, true) {
		t.Error("color enabled despite NO_COLOR")
	}
}

// syncBuffer is a bytes.Buffer safe for the live view's refresh goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestProgressLiveRefreshesElapsed(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the refresh tick")
	}
	var buf syncBuffer
	obs := view.NewProgress(&buf, true, view.Options{})
	obs.Event(apply.Event{Time: time.Now(), Address: prodOrg, Action: plan.Create, Type: apply.EventStarted})
	// A redraw with the time elapsed since (a second or more: the tick
	// may come late on a loaded machine, never early).
	refreshed := regexp.MustCompile(`\x1b\[1A\x1b\[J⋯ acme-api/connection/prod_org create: started \([1-9][0-9.]*s\)`)
	deadline := time.Now().Add(time.Minute)
	for !refreshed.MatchString(buf.String()) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	obs.Done(apply.Summary{Created: 1})
	out := buf.String()
	if !refreshed.MatchString(out) {
		t.Errorf("elapsed not refreshed between events: %q", out)
	}
	if !strings.HasSuffix(out, "\x1b[1A\x1b[JApply complete: 1 created, 0 replaced, 0 republished, 0 deleted, 0 adopted, 0 unchanged in 0s.\n") {
		t.Errorf("live region not cleared before the summary: %q", out)
	}
	n := len(buf.String())
	time.Sleep(1500 * time.Millisecond)
	if len(buf.String()) != n {
		t.Error("refresh continued after Done")
	}
}
