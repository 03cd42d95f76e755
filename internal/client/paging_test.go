package client_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// pagedRoute answers names in pages of one, Heroku style: 206 with
// Next-Range until the last page, which is 200. It records each Range
// header it got.
func pagedRoute(t *testing.T, names []string, key string, ranges *[]string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rg := r.Header.Get("Range")
		*ranges = append(*ranges, rg)
		i := 0
		if rg != "" {
			last, ok := strings.CutPrefix(rg, "name ]")
			last, ok2 := strings.CutSuffix(last, "..; max=1")
			if !ok || !ok2 {
				t.Errorf("Range %q is not a Next-Range the server sent", rg)
			}
			i = slices.Index(names, last) + 1
		}
		item := []map[string]any{}
		if i < len(names) {
			item = append(item, map[string]any{"id": "id-" + names[i], key: names[i], "status": "connected"})
		}
		if i+1 < len(names) {
			w.Header().Set("Next-Range", "name ]"+names[i]+"..; max=1")
			writeJSON(w, http.StatusPartialContent, item)
			return
		}
		writeJSON(w, http.StatusOK, item)
	}
}

// Every list follows Next-Range to the last page and returns the items
// of every page in order.
func TestListsFollowNextRange(t *testing.T) {
	f := newFake(t)
	names := []string{"alpha_org", "beta_org", "gamma_org"}
	var connRanges, targetRanges, pubRanges []string
	f.handle("GET", "/connections", pagedRoute(t, names, "name", &connRanges))
	f.handle("GET", "/connections/datacloud/dc_org/data_action_targets", pagedRoute(t, names, "api_name", &targetRanges))
	f.handle("GET", "/connections/salesforce/sf_org/apps/"+appID, pagedRoute(t, names, "esr_name", &pubRanges))
	a, _ := f.link()

	conns, err := a.ListConnections(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range conns {
		got = append(got, c.ID)
	}
	if want := []string{"id-alpha_org", "id-beta_org", "id-gamma_org"}; !slices.Equal(got, want) {
		t.Errorf("connections %q, want %q", got, want)
	}
	if want := []string{"", "name ]alpha_org..; max=1", "name ]beta_org..; max=1"}; !slices.Equal(connRanges, want) {
		t.Errorf("Range headers sent %q, want %q", connRanges, want)
	}

	ts, err := a.ListDataActionTargets(t.Context(), "dc_org")
	if err != nil || len(ts) != 3 || ts[2].APIName != "gamma_org" {
		t.Errorf("targets %+v, %v: want the 3 of every page", ts, err)
	}
	ps, err := a.ListPublications(t.Context(), "sf_org")
	if err != nil || len(ps) != 3 || ps[0].ESRName != "alpha_org" {
		t.Errorf("publications %+v, %v: want the 3 of every page", ps, err)
	}
}

// A server that keeps sending the same Next-Range is an error, not a
// hang.
func TestListRefusesALoopingNextRange(t *testing.T) {
	f := newFake(t)
	n := 0
	f.handle("GET", "/authorizations", func(w http.ResponseWriter, r *http.Request) {
		n++
		w.Header().Set("Next-Range", "name ]x..; max=1")
		writeJSON(w, http.StatusPartialContent, []map[string]any{{"id": "x", "status": "authorized"}})
	})
	a, _ := f.link()
	_, err := a.ListAuthorizations(t.Context())
	if err == nil || !strings.Contains(err.Error(), "Next-Range loops") {
		t.Fatalf("ListAuthorizations: %v, want a Next-Range loop error", err)
	}
	if n != 2 {
		t.Errorf("%d requests, want 2 (the first page and the one repeated)", n)
	}
}

// A 200 answer ends the list even if it carries a Next-Range header: only
// 206 Partial Content means more pages.
func TestListStopsAt200(t *testing.T) {
	f := newFake(t)
	n := 0
	f.handle("GET", "/authorizations", func(w http.ResponseWriter, r *http.Request) {
		n++
		w.Header().Set("Next-Range", "name ]x..; max=1")
		writeJSON(w, http.StatusOK, []map[string]any{{"id": "x", "status": "authorized"}})
	})
	a, _ := f.link()
	got, err := a.ListAuthorizations(t.Context())
	if err != nil || len(got) != 1 || n != 1 {
		t.Fatalf("ListAuthorizations: %d items, %v after %d requests; want 1 item after 1 request", len(got), err, n)
	}
}
