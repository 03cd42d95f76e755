package addr

import (
	"slices"
	"strings"
	"testing"
)

// The quickstart's addresses (examples/quickstart), plus a second app
// whose name starts like the first.
var (
	conn    = Connection("acme-api", "prod_org")
	pub     = Publication("acme-api", "prod_org", "AcmeOrders")
	dc      = Connection("acme-api", "events_dc")
	tgt     = Target("acme-api", "events_dc", "Order_Events")
	tgt2    = Target("acme-api", "events_dc", "Customer_Updates")
	auth    = Authorization("acme-api", "ci_auth")
	other   = Connection("acme-api-staging", "prod_org")
	quick   = []Address{conn, pub, dc, tgt, tgt2, auth, other}
	allOfIt = []Address{conn, pub, dc, tgt, tgt2, auth}
)

func TestPatternMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		want    []Address // of quick
	}{
		// A bare prefix: the resource and everything under it.
		{"acme-api", allOfIt},
		{"acme-api/", allOfIt},
		{"acme-api/connection", []Address{conn, pub, dc, tgt, tgt2}},
		{"acme-api/connection/prod_org", []Address{conn, pub}},
		{"acme-api/connection/events_dc", []Address{dc, tgt, tgt2}},
		{"acme-api/authorization/ci_auth", []Address{auth}},
		{"acme-api/connection/events_dc/target/Order_Events", []Address{tgt}},
		// Segments match whole: no partial-segment prefix.
		{"acme", nil},
		{"acme-api/conn", nil},
		{"acme-api/connection/prod", nil},
		{"acme-api/connection/events_dc/target/Order", nil},
		// * within a segment.
		{"acme-api/*", allOfIt},
		{"acme-api*", quick},
		{"acme-*", quick},
		{"acme-api/connection/*", []Address{conn, pub, dc, tgt, tgt2}},
		{"acme-api/connection/prod_org/*", []Address{pub}},
		{"acme-api/connection/events_dc/*", []Address{tgt, tgt2}},
		{"acme-api/connection/events_dc/target/*", []Address{tgt, tgt2}},
		{"acme-api/connection/events_dc/target/Order_*", []Address{tgt}},
		{"acme-api/connection/*_dc", []Address{dc, tgt, tgt2}},
		{"*/authorization/*", []Address{auth}},
		{"*/connection/prod_org", []Address{conn, pub, other}},
		{"acme-api/connection/prod_org/publication/*", []Address{pub}},
		{"acme-api/connection/prod_org/target/*", nil},
		{"acme-api/authorization/*/x", nil},
		{"*", quick},
		{"acme-api/connection/prod_?rg", []Address{conn, pub}},
		{"acme-api/connection/[pe]*", []Address{conn, pub, dc, tgt, tgt2}},
		// ** across segments, zero or more.
		{"**", quick},
		{"acme-api/**", allOfIt},
		{"**/target/*", []Address{tgt, tgt2}},
		{"acme-api/**/Order_Events", []Address{tgt}},
		{"**/prod_org", []Address{conn, pub, other}},
		{"acme-api/**/prod_org/**", []Address{conn, pub}},
		{"acme-api/connection/**/target/*", []Address{tgt, tgt2}}, // ** as one segment
		{"acme-api/connection/events_dc/**/target/*", []Address{tgt, tgt2}},
		{"**/authorization", []Address{auth}},
		{"**/nope", nil},
	} {
		p, err := ParsePattern(tc.pattern)
		if err != nil {
			t.Errorf("ParsePattern(%q): %v", tc.pattern, err)
			continue
		}
		var got []Address
		for _, a := range quick {
			if p.Match(a) {
				got = append(got, a)
			}
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%q matches %v; want %v", tc.pattern, got, tc.want)
		}
	}
}

func TestParsePatternRefusesMalformed(t *testing.T) {
	for pattern, want := range map[string]string{
		"":                        "empty",
		"/":                       "empty",
		"/acme-api":               "segment 1 is empty",
		"acme-api//connection":    "segment 2 is empty",
		"acme-api/connection/a**": "** must be a whole segment",
		"***":                     "** must be a whole segment",
		"acme-api/[bad":           `segment "[bad"`,
		"acme-api/connection/x\\": `segment "x\\"`,
	} {
		_, err := ParsePattern(pattern)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParsePattern(%q) = %v; want an error containing %q", pattern, err, want)
		}
	}
	if (Pattern{}).Match(conn) {
		t.Error("the zero Pattern matches")
	}
}

func TestClosest(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		want    []Address
	}{
		{"acme-api/connection/prod-org/*", []Address{conn, pub}},
		{"acme-api/conection/events_dc", []Address{dc, tgt, tgt2}},
		{"acme-api/authorization/ci", []Address{auth}},
		{"acme-ap/connection/prod_org", []Address{conn, pub, other}}, // a child shares its parent's distance
	} {
		got := Closest(tc.pattern, quick, len(tc.want))
		if !slices.Equal(got, tc.want) {
			t.Errorf("Closest(%q) = %v; want %v", tc.pattern, got, tc.want)
		}
	}
	if got := Closest("x", nil, 3); len(got) != 0 {
		t.Errorf("Closest of nothing = %v", got)
	}
	if got := Closest("x", []Address{conn, conn, ""}, 5); !slices.Equal(got, []Address{conn}) {
		t.Errorf("duplicates and empty addresses kept: %v", got)
	}
}
