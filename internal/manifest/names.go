package manifest

import (
	"fmt"
	"unicode/utf8"
)

// checkName applies the API's name rule (docs/manifest.md, "Names") to a
// connection_name, developer_name or data action target label. It is written by
// hand, not as a regexp, both because Go's regexp has no look-ahead and so that
// the message can say which part of the rule the name breaks. what is
// "connection name", "developer name" or "label".
func checkName(what, name string) error {
	n := len(name)
	switch {
	case n < 3:
		return fmt.Errorf("%s %q is too short: 3 to 30 characters", what, name)
	case n > 30:
		return fmt.Errorf("%s %q is too long (%d characters): 3 to 30 characters", what, name, n)
	}
	first := name[0]
	if !isLetter(first) {
		return fmt.Errorf("%s %q must begin with a letter", what, name)
	}
	for i := 0; i < n; i++ {
		c := name[i]
		switch {
		case isLetter(c) || isDigit(c):
		case c == '_':
			if i+1 < n && name[i+1] == '_' {
				return fmt.Errorf("%s %q has a double underscore: use single underscores", what, name)
			}
		case c == '-':
			return fmt.Errorf("%s %q has a hyphen: use letters, digits and single underscores", what, name)
		default:
			r, _ := utf8.DecodeRuneInString(name[i:])
			if r == ' ' {
				return fmt.Errorf("%s %q has a space: use letters, digits and single underscores", what, name)
			}
			return fmt.Errorf("%s %q has %q: use letters, digits and single underscores", what, name, r)
		}
	}
	if last := name[n-1]; last == '_' {
		return fmt.Errorf("%s %q must end with a letter or digit, not an underscore", what, name)
	}
	return nil
}

func isLetter(c byte) bool { return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }

// ValidName checks a connection name, developer name or target label
// against the API's name rule; export uses it to tell which live names a
// manifest can hold.
func ValidName(name string) error { return checkName("name", name) }
