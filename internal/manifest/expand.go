package manifest

import (
	"fmt"
	"slices"
	"strings"
)

// expand replaces ${VAR} and ${VAR:-default} with values from env and $${
// with a literal ${. An unset variable without a default is an error naming
// the variable; the error never quotes a value.
func expand(s string, env func(string) (string, bool)) (string, error) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	var missing []string
	for i := 0; i < len(s); {
		if strings.HasPrefix(s[i:], "$${") {
			b.WriteString("${")
			i += 3
			continue
		}
		if !strings.HasPrefix(s[i:], "${") {
			b.WriteByte(s[i])
			i++
			continue
		}
		end := strings.IndexByte(s[i+2:], '}')
		if end < 0 {
			return s, fmt.Errorf("unterminated ${ (write $${ for a literal ${)")
		}
		expr := s[i+2 : i+2+end]
		name, def, hasDef := strings.Cut(expr, ":-")
		if !validVarName(name) {
			return s, fmt.Errorf("invalid variable name %q in ${…}", name)
		}
		if v, ok := env(name); ok && (v != "" || !hasDef) {
			b.WriteString(v)
		} else if hasDef {
			b.WriteString(def)
		} else {
			if !slices.Contains(missing, name) { // each name once, however often it is used
				missing = append(missing, name)
			}
		}
		i += 2 + end + 1
	}
	if len(missing) == 1 {
		return b.String(), fmt.Errorf("environment variable %s is not set (use ${%s:-default} for a default)", missing[0], missing[0])
	}
	if len(missing) > 1 {
		return b.String(), fmt.Errorf("environment variables %s are not set", strings.Join(missing, ", "))
	}
	return b.String(), nil
}

func validVarName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
