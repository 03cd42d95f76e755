package emulator

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Lists are paged as Heroku pages them. A request may carry
//
//	Range: <field> [[|]]<start>..[<end>][; max=<n>[, order=asc|desc]]
//
// (a leading "]" makes start exclusive); without one the list starts at
// its first item in its default order. An answer holding the rest of the
// list is 200; one with more to come is 206 Partial Content with
//
//	Next-Range: <field> ]<last key sent>..; max=<n>
//
// which the client sends back as Range for the next page. Every answer
// names the page it holds in Content-Range and the fields a Range may sort
// by in Accept-Ranges.

// DefaultPageSize is Heroku's page size: 1,000 items.
const DefaultPageSize = 1000

// pageItem is one item of a list and its sort keys.
type pageItem struct {
	id, name string
	v        any
}

// key is the item's sort key for a Range field.
func (p pageItem) key(field string) string {
	if field == "id" {
		return p.id
	}
	return p.name
}

// listRange is a parsed Range header.
type listRange struct {
	field      string
	start, end string
	exclusive  bool // start itself is not included
	max        int  // 0: the page size
	desc       bool
}

// parseRange reads a Range header; fields are those the list sorts by.
func parseRange(h string, fields []string) (listRange, error) {
	var lr listRange
	h = strings.TrimSpace(h)
	spec, params := h, ""
	if i := strings.LastIndex(h, ";"); i >= 0 {
		spec, params = strings.TrimSpace(h[:i]), h[i+1:]
	}
	field, rng, _ := strings.Cut(spec, " ")
	if !slices.Contains(fields, field) {
		return lr, fmt.Errorf("unknown field %q: sort by %s", field, strings.Join(fields, " or "))
	}
	lr.field = field
	if rng = strings.TrimSpace(rng); rng != "" {
		i := strings.LastIndex(rng, "..")
		if i < 0 {
			return lr, fmt.Errorf("%q has no \"..\": want START..END, START.. or ..END", rng)
		}
		lr.start, lr.end = rng[:i], rng[i+2:]
		if s, ok := strings.CutPrefix(lr.start, "]"); ok {
			lr.start, lr.exclusive = s, true
		}
	}
	for _, p := range strings.Split(params, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch k {
		case "":
		case "max":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return lr, fmt.Errorf("max=%s: want a positive integer", v)
			}
			lr.max = n
		case "order":
			switch v {
			case "asc":
			case "desc":
				lr.desc = true
			default:
				return lr, fmt.Errorf("order=%s: want asc or desc", v)
			}
		default:
			return lr, fmt.Errorf("unknown parameter %q: want max or order", k)
		}
	}
	return lr, nil
}

// writeList answers one page of items. fields are the Range fields the
// list sorts by, its default first; keys of the default field must be
// unique within the list, so that a page never splits items of one key.
// A Range the list cannot serve is 416 with a message naming the problem.
func (e *Emulator) writeList(w http.ResponseWriter, r *http.Request, items []pageItem, fields ...string) {
	lr := listRange{field: fields[0]}
	if h := r.Header.Get("Range"); h != "" {
		var err error
		if lr, err = parseRange(h, fields); err != nil {
			writeError(w, http.StatusRequestedRangeNotSatisfiable, "requested_range_not_satisfiable", "Invalid Range header "+strconv.Quote(h)+": "+err.Error()+".")
			return
		}
	}
	sorted := slices.Clone(items)
	slices.SortStableFunc(sorted, func(a, b pageItem) int {
		c := cmp.Or(strings.Compare(a.key(lr.field), b.key(lr.field)), strings.Compare(a.id, b.id))
		if lr.desc {
			return -c
		}
		return c
	})
	// after reports whether key comes after x in the list's order.
	after := func(key, x string) bool {
		if lr.desc {
			return key < x
		}
		return key > x
	}
	var in []pageItem
	for _, it := range sorted {
		k := it.key(lr.field)
		switch {
		case lr.start != "" && (after(lr.start, k) || lr.exclusive && k == lr.start):
		case lr.end != "" && after(k, lr.end):
		default:
			in = append(in, it)
		}
	}
	size := e.pageSize
	if lr.max > 0 && lr.max < size {
		size = lr.max
	}
	page, more := in, false
	if len(in) > size {
		page, more = in[:size], true
	}
	out := make([]any, 0, len(page))
	for _, it := range page {
		out = append(out, it.v)
	}
	params := "; max=" + strconv.Itoa(size)
	if lr.desc {
		params += ", order=desc"
	}
	w.Header().Set("Accept-Ranges", strings.Join(fields, ", "))
	if len(page) > 0 {
		w.Header().Set("Content-Range", lr.field+" "+page[0].key(lr.field)+".."+page[len(page)-1].key(lr.field)+params)
	}
	if !more {
		writeJSON(w, http.StatusOK, out)
		return
	}
	w.Header().Set("Next-Range", lr.field+" ]"+page[len(page)-1].key(lr.field)+".."+params)
	writeJSON(w, http.StatusPartialContent, out)
}

// PageSizeEnv names the environment variable that sets the page size of
// the in-process emulators of --sandbox and of the test suites
// (internal/testkit), so that a whole suite can be run with every list
// paged (APPLINKCTL_EMULATOR_PAGE_SIZE=1) without changing a test.
const PageSizeEnv = "APPLINKCTL_EMULATOR_PAGE_SIZE"

// PageSizeFromEnv reads PageSizeEnv through lookupEnv: 0 (the default)
// when unset or empty, an error naming the variable when it is not a
// positive integer.
func PageSizeFromEnv(lookupEnv func(string) (string, bool)) (int, error) {
	v, _ := lookupEnv(PageSizeEnv)
	if v = strings.TrimSpace(v); v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%s=%q: want a positive number of items per page", PageSizeEnv, v)
	}
	return n, nil
}
