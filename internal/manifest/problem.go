package manifest

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Severities of a Problem.
const (
	SeverityError   = "error"
	SeverityWarning = "warning"
)

// Problem is one validation finding. Field is the dotted path of the value in
// the manifest (apps.acme-api.connections.prod_org.login_url), "" for a
// finding about a whole file. Severity is "error" or "warning"; only errors
// make Load fail.
type Problem struct {
	Pos      Pos
	Field    string
	Message  string
	Severity string
}

// String formats the problem as "FILE:LINE:COL: field: message", the form
// editors and CI log parsers recognise. A warning reads
// "FILE:LINE:COL: field: warning: message"; a problem about a whole file
// (no line) reads "FILE: message".
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.Pos.File)
	if p.Pos.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", p.Pos.Line, p.Pos.Col)
	}
	b.WriteString(": ")
	if p.Field != "" {
		b.WriteString(p.Field)
		b.WriteString(": ")
	}
	if p.Severity == SeverityWarning {
		b.WriteString("warning: ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// ErrInvalid is what every failed Load matches with errors.Is, so callers
// that only need "the manifest is wrong" (exit 1, no stack of detail) need
// not know about InvalidError.
var ErrInvalid = errors.New("manifest is invalid")

// InvalidError lists the problems that made Load fail, errors and warnings
// alike, sorted by file, line and column.
type InvalidError struct {
	Problems []Problem
}

// Error prints every problem, one per line.
func (e *InvalidError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *InvalidError) Unwrap() error { return ErrInvalid }

// problems collects findings during a Load.
type problems struct {
	list []Problem
}

func (ps *problems) errorf(pos Pos, field, format string, a ...any) {
	ps.list = append(ps.list, Problem{Pos: pos, Field: field, Message: fmt.Sprintf(format, a...), Severity: SeverityError})
}

func (ps *problems) warnf(pos Pos, field, format string, a ...any) {
	ps.list = append(ps.list, Problem{Pos: pos, Field: field, Message: fmt.Sprintf(format, a...), Severity: SeverityWarning})
}

func (ps *problems) hasErrors() bool {
	for _, p := range ps.list {
		if p.Severity == SeverityError {
			return true
		}
	}
	return false
}

// sorted returns the problems sorted by file, line, column, field and
// message, with exact duplicates removed.
func (ps *problems) sorted() []Problem {
	out := append([]Problem(nil), ps.list...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Pos.File != b.Pos.File {
			return a.Pos.File < b.Pos.File
		}
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line < b.Pos.Line
		}
		if a.Pos.Col != b.Pos.Col {
			return a.Pos.Col < b.Pos.Col
		}
		if a.Field != b.Field {
			return a.Field < b.Field
		}
		return a.Message < b.Message
	})
	dedup := make([]Problem, 0, len(out))
	for i, p := range out {
		if i > 0 && p == out[i-1] {
			continue
		}
		dedup = append(dedup, p)
	}
	return dedup
}
