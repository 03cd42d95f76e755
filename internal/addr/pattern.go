package addr

import (
	"cmp"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/xrash/smetrics"
)

// Pattern selects addresses for --target, --replace and --ignore. It is
// the one matcher of those flags, so they agree on what a pattern means:
//
//   - it is compared segment by segment ("/" separates segments);
//   - within a segment, * matches any run of characters, ? one character
//     and [abc] a class (path.Match syntax; none of them crosses a /);
//   - a segment that is exactly ** matches zero or more whole segments;
//   - a pattern that matches the first segments of an address matches the
//     address too: a bare prefix (acme-api, acme-api/connection/prod_org)
//     selects that resource and everything under it, and
//     acme-api/connection/prod_org/* selects every child of prod_org.
//
// Segments match whole: acme matches nothing of acme-api.
type Pattern struct {
	text string
	segs []string
}

// ParsePattern checks a pattern. A trailing "/" is ignored (acme-api/ is
// acme-api); an empty pattern, an empty segment, ** mixed with other
// characters in a segment and a malformed class ([a-) are errors.
func ParsePattern(s string) (Pattern, error) {
	t := strings.TrimRight(s, "/")
	if t == "" {
		return Pattern{}, fmt.Errorf("pattern %q: empty", s)
	}
	segs := strings.Split(t, "/")
	for i, seg := range segs {
		switch {
		case seg == "":
			return Pattern{}, fmt.Errorf("pattern %q: segment %d is empty (two slashes, or a leading one)", s, i+1)
		case seg == "**":
		case strings.Contains(seg, "**"):
			return Pattern{}, fmt.Errorf("pattern %q: ** must be a whole segment (use * within a segment)", s)
		default:
			if _, err := path.Match(seg, ""); err != nil {
				return Pattern{}, fmt.Errorf("pattern %q: segment %q: %w", s, seg, err)
			}
		}
	}
	return Pattern{text: s, segs: segs}, nil
}

// String is the pattern as written.
func (p Pattern) String() string { return p.text }

// Match reports whether the pattern selects a.
func (p Pattern) Match(a Address) bool {
	if len(p.segs) == 0 {
		return false
	}
	return matchSegs(p.segs, strings.Split(string(a), "/"))
}

// matchSegs reports whether pat matches the first segments of a (all of
// them or fewer: a match of a prefix selects what is under it).
func matchSegs(pat, a []string) bool {
	if len(pat) == 0 {
		return true
	}
	if pat[0] == "**" {
		for i := 0; i <= len(a); i++ {
			if matchSegs(pat[1:], a[i:]) {
				return true
			}
		}
		return false
	}
	if len(a) == 0 {
		return false
	}
	ok, err := path.Match(pat[0], a[0])
	return err == nil && ok && matchSegs(pat[1:], a[1:])
}

// Closest returns at most n of the candidates nearest to what pattern
// says, nearest first, for the error about a pattern that matches nothing.
// Nearness is the edit distance between the pattern and the address cut
// to any number of leading segments, so acme-api/connection/prod-org/*
// finds acme-api/connection/prod_org and its children; ties go to the
// shorter address, then alphabetically.
func Closest(pattern string, candidates []Address, n int) []Address {
	type scored struct {
		a Address
		d int
	}
	want := strings.TrimRight(pattern, "/")
	seen := map[Address]bool{}
	var all []scored
	for _, a := range candidates {
		if seen[a] || a == "" {
			continue
		}
		seen[a] = true
		segs := strings.Split(string(a), "/")
		best := -1
		for k := 1; k <= len(segs); k++ {
			d := smetrics.WagnerFischer(want, strings.Join(segs[:k], "/"), 1, 1, 1)
			if best < 0 || d < best {
				best = d
			}
		}
		all = append(all, scored{a, best})
	}
	slices.SortFunc(all, func(x, y scored) int {
		return cmp.Or(cmp.Compare(x.d, y.d), cmp.Compare(len(x.a), len(y.a)), cmp.Compare(x.a, y.a))
	})
	out := make([]Address, 0, min(n, len(all)))
	for _, s := range all[:min(n, len(all))] {
		out = append(out, s.a)
	}
	return out
}
