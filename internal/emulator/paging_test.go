package emulator

import (
	"slices"
	"strings"
	"testing"
)

// getPaged GETs path with the management headers and rg as Range ("" for
// none).
func (f *fixture) getPaged(path, rg string) resp {
	f.t.Helper()
	h := f.applinkHeaders()
	if rg != "" {
		h["Range"] = rg
	}
	return f.send("GET", "/addons/"+f.addon.ID+path, nil, h)
}

// connNames are the names of the connections of a list answer.
func connNames(t *testing.T, r resp) []string {
	t.Helper()
	var out []string
	for _, m := range r.list(t) {
		out = append(out, m["org"].(map[string]any)["connection_name"].(string))
	}
	return out
}

// A list longer than the page size comes in pages: 206 with Next-Range
// until the last page, which is 200; sending Next-Range back as Range
// gives the next page.
func TestListsArePaged(t *testing.T) {
	f := setup(t, Options{PageSize: 2})
	for _, n := range []string{"echo_org", "alpha_org", "delta_org", "charlie_org", "bravo_org"} {
		f.connectOAuth("salesforce", n)
	}
	var got []string
	var ranges []string
	rg := ""
	for range 10 {
		r := f.getPaged("/connections", rg)
		got = append(got, connNames(t, r)...)
		ranges = append(ranges, r.header.Get("Content-Range"))
		if r.status == 200 {
			if r.header.Get("Next-Range") != "" {
				t.Errorf("the last page carries Next-Range %q", r.header.Get("Next-Range"))
			}
			break
		}
		if r.status != 206 {
			t.Fatalf("page %d: %d %s", len(ranges), r.status, r.body)
		}
		rg = r.header.Get("Next-Range")
	}
	if want := []string{"alpha_org", "bravo_org", "charlie_org", "delta_org", "echo_org"}; !slices.Equal(got, want) {
		t.Errorf("pages held %q, want %q", got, want)
	}
	if want := []string{"name alpha_org..bravo_org; max=2", "name charlie_org..delta_org; max=2", "name echo_org..echo_org; max=2"}; !slices.Equal(ranges, want) {
		t.Errorf("Content-Range %q, want %q", ranges, want)
	}
	if r := f.getPaged("/connections", ""); r.header.Get("Next-Range") != "name ]bravo_org..; max=2" || r.header.Get("Accept-Ranges") != "name, id" {
		t.Errorf("first page: Next-Range %q, Accept-Ranges %q", r.header.Get("Next-Range"), r.header.Get("Accept-Ranges"))
	}
}

// The Range header's other forms: an inclusive start, an end, a smaller
// max, descending order and the id field.
func TestRangeForms(t *testing.T) {
	f := setup(t, Options{})
	for _, n := range []string{"alpha_org", "bravo_org", "charlie_org", "delta_org"} {
		f.connectOAuth("salesforce", n)
	}
	for rg, want := range map[string][]string{
		"name bravo_org..":                      {"bravo_org", "charlie_org", "delta_org"},
		"name ]bravo_org..":                     {"charlie_org", "delta_org"},
		"name bravo_org..charlie_org":           {"bravo_org", "charlie_org"},
		"name ..; max=1":                        {"alpha_org"},
		"name; max=3":                           {"alpha_org", "bravo_org", "charlie_org"},
		"name ..; order=desc":                   {"delta_org", "charlie_org", "bravo_org", "alpha_org"},
		"name ]charlie_org..; order=desc":       {"bravo_org", "alpha_org"},
		"name ]delta_org..; max=2":              nil,
		"name ]charlie_org..; max=2, order=asc": {"delta_org"},
	} {
		r := f.getPaged("/connections", rg)
		if r.status != 200 && r.status != 206 {
			t.Errorf("Range %q: %d %s", rg, r.status, r.body)
			continue
		}
		if got := connNames(t, r); !slices.Equal(got, want) {
			t.Errorf("Range %q: %q, want %q", rg, got, want)
		}
	}
	r := f.getPaged("/connections", "name ..; max=1")
	if r.status != 206 || r.header.Get("Next-Range") != "name ]alpha_org..; max=1" {
		t.Errorf("max=1: %d, Next-Range %q", r.status, r.header.Get("Next-Range"))
	}
	all := f.getPaged("/connections", "").list(t)
	var ids []string
	for _, c := range all {
		ids = append(ids, c["id"].(string))
	}
	slices.Sort(ids)
	r = f.getPaged("/connections", "id ]"+ids[0]+"..")
	var got []string
	for _, c := range r.list(t) {
		got = append(got, c["id"].(string))
	}
	if !slices.Equal(got, ids[1:]) {
		t.Errorf("id range: %q, want %q", got, ids[1:])
	}
}

// A Range the list cannot serve is refused with 416 and a message saying
// what is wrong.
func TestBadRangeRefused(t *testing.T) {
	f := setup(t, Options{})
	for rg, msg := range map[string]string{
		"created_at ..":     `unknown field "created_at": sort by name or id`,
		"name ..; max=0":    "max=0: want a positive integer",
		"name ..; order=up": "order=up: want asc or desc",
		"name ..; limit=3":  `unknown parameter "limit"`,
		"name alpha":        `"alpha" has no "..": want START..END`,
	} {
		r := f.getPaged("/connections", rg)
		if r.status != 416 || r.errorID(t) != "requested_range_not_satisfiable" || !strings.Contains(r.json(t)["message"].(string), msg) {
			t.Errorf("Range %q: %d %s, want 416 naming %q", rg, r.status, r.body, msg)
		}
	}
}

// Platform lists are paged too.
func TestPlatformListsArePaged(t *testing.T) {
	f := setup(t, Options{PageSize: 1})
	if _, err := f.e.SeedApp("multi-api", 3); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/apps/multi-api/addons", "/apps/multi-api/addon-attachments"} {
		r := f.platform(path)
		if r.status != 206 || len(r.list(t)) != 1 || !strings.HasPrefix(r.header.Get("Next-Range"), "name ]") {
			t.Errorf("%s: %d %s, Next-Range %q: want a 206 page of 1", path, r.status, r.body, r.header.Get("Next-Range"))
		}
	}
}
