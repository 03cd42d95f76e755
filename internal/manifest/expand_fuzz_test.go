package manifest

import (
	"strings"
	"testing"
)

// FuzzExpand feeds arbitrary strings to the ${VAR} expander: it must never
// panic, must leave a string without "${" untouched, and its errors must
// never quote a variable's value (values are often secrets).
func FuzzExpand(f *testing.F) {
	for _, s := range []string{
		"", "plain", "${A}", "${A:-def}", "$${A}", "x${A}y${B:-z}", "${", "${}", "${A", "${1A}",
		"${A:-${B}}", "$$${A}", "${A:-}", "${ A }", "${A}${UNSET}${UNSET2}", "\xff${A}\x00",
	} {
		f.Add(s)
	}
	const value = "S3CR3T-VALUE-never-in-errors"
	env := func(name string) (string, bool) {
		if strings.HasPrefix(name, "UNSET") {
			return "", false
		}
		if name == "EMPTY" {
			return "", true
		}
		return value, true
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := expand(s, env)
		if err != nil {
			if strings.Contains(err.Error(), value) {
				t.Fatalf("error %q quotes a variable's value", err)
			}
			if err.Error() == "" || strings.ToLower(err.Error()[:1]) != err.Error()[:1] {
				t.Fatalf("error %q does not start lowercase", err)
			}
			return
		}
		if !strings.Contains(s, "${") && out != s {
			t.Fatalf("expand(%q) = %q; a string without ${ must be left alone", s, out)
		}
		if !strings.Contains(s, "$") && strings.Contains(out, value) {
			t.Fatalf("expand(%q) produced a value out of nothing", s)
		}
	})
}
