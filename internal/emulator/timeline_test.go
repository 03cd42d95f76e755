package emulator_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/emulator"
)

// TestTimelineRecordsEachRequest: every counted request is on the
// timeline in order of arrival with its route, status, start and end and
// the listener it came through; admin routes are not; a connection the
// emulator drops has no status; DELETE clears it.
func TestTimelineRecordsEachRequest(t *testing.T) {
	e, err := emulator.New(emulator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	app, err := e.SeedApp("acme-api", 1)
	if err != nil {
		t.Fatal(err)
	}
	a, b := httptest.NewServer(e), httptest.NewServer(e)
	defer a.Close()
	defer b.Close()
	do := func(base, method, path, body string, applink bool) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if applink {
			req.Header.Set("Authorization", "Bearer "+app.Addons[0].ConfigVars["HEROKU_APPLINK_TOKEN"])
			req.Header.Set("x-app-uuid", app.ID)
			req.Header.Set("Content-Type", "application/json")
		} else {
			req.Header.Set("Authorization", "Bearer "+e.APIKey())
		}
		req.Header.Set("User-Agent", "timeline-test")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
	}
	before := time.Now().UTC()
	do(a.URL, "GET", "/apps/acme-api", "", false)
	do(b.URL, "POST", "/addons/"+app.Addons[0].ID+"/connections/salesforce", `{"connection_name":"prod_org","login_url":"https://login.salesforce.com"}`, true)
	do(a.URL, "GET", "/_emulator/world", "", false)
	e.SetFaults(emulator.Faults{DropRate: 1})
	do(a.URL, "GET", "/apps/acme-api", "", false)
	e.SetFaults(emulator.Faults{})

	// The dropped request's client sees the connection close before its
	// handler has returned and recorded its end (End is nil while a
	// request runs): read the timeline until every request has ended.
	var tl emulator.Timeline
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		resp, err := http.Get(a.URL + "/_emulator/timeline")
		if err != nil {
			t.Fatal(err)
		}
		tl = emulator.Timeline{}
		err = json.NewDecoder(resp.Body).Decode(&tl)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		running := slices.ContainsFunc(tl.Requests, func(r emulator.TimelineEntry) bool { return r.End == nil })
		if !running || time.Now().After(deadline) {
			break
		}
	}
	want := []struct {
		route    string
		host     string
		status   int
		mutating bool
	}{
		{"GET /apps/{app}", a.Listener.Addr().String(), 200, false},
		{"POST /addons/{addon_id}/connections/salesforce", b.Listener.Addr().String(), 202, true},
		{"GET /apps/{app}", a.Listener.Addr().String(), 0, false},
	}
	if len(tl.Requests) != len(want) || tl.Dropped != 0 {
		t.Fatalf("timeline = %+v, want %d requests", tl, len(want))
	}
	for i, w := range want {
		r := tl.Requests[i]
		if r.Seq != int64(i+1) || r.Route != w.route || r.Host != w.host || r.Status != w.status || r.Mutating() != w.mutating ||
			r.UserAgent != "timeline-test" || !strings.HasPrefix(r.Remote, "127.0.0.1:") {
			t.Errorf("request %d = %+v, want %+v", i, r, w)
		}
		if r.End == nil || r.Start.Before(before) || r.End.Before(r.Start) {
			t.Errorf("request %d: start %v, end %v", i, r.Start, r.End)
		}
		if i > 0 && r.Start.Before(tl.Requests[i-1].Start) {
			t.Errorf("request %d started before request %d", i, i-1)
		}
	}

	req, _ := http.NewRequest("DELETE", a.URL+"/_emulator/timeline", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE /_emulator/timeline = %v, %v", resp, err)
	}
	if got := e.Timeline(); len(got.Requests) != 0 {
		t.Fatalf("after DELETE: %+v", got)
	}
	do(a.URL, "GET", "/apps/acme-api", "", false)
	if got := e.Timeline().Requests; len(got) != 1 || got[0].Seq != 4 {
		t.Fatalf("after DELETE the numbering goes on: %+v", got)
	}
}

// TestTimelineShowsRequestsInFlight: a request still being served has no
// end yet.
func TestTimelineShowsRequestsInFlight(t *testing.T) {
	e, err := emulator.New(emulator.Options{Latency: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e)
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/apps/acme-api", nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if resp, err := http.DefaultClient.Do(req.WithContext(ctx)); err == nil {
			resp.Body.Close()
		}
	}()
	deadline := time.Now().Add(30 * time.Second)
	for len(e.Timeline().Requests) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the request never reached the timeline")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if r := e.Timeline().Requests[0]; r.End != nil || r.Status != 0 {
		t.Errorf("a request in flight = %+v, want no end and no status", r)
	}
	cancel()
	<-done
}
