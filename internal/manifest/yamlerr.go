package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	yamlv4 "go.yaml.in/yaml/v4"
)

// yamlLine splits yaml.v3's error text "yaml: line N: message".
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError turns an error of the YAML decoder into the place and words
// to report. yaml.v3 says only "line N: message", and N is where the
// construct that failed began, counted from 0 for a parser error (so one
// line early) and left out on the first line: a tab on line 20 read as
// 19:1, an unclosed [ as 1:1. go.yaml.in/yaml/v4, a later version of the
// same parser, keeps both of libyaml's marks (where it stopped, and where
// the construct it was in began). So the file is parsed again with it, on
// this error path only, and its marks are used when it stops with the same
// message; otherwise the position is worked out from yaml.v3's line.
func syntaxError(data []byte, err error) (line, col int, msg string) {
	msg = strings.TrimPrefix(err.Error(), "yaml: ")
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		if n, aerr := strconv.Atoi(m[1]); aerr == nil {
			line, msg = n, m[2]
		}
	}
	if le := locate(data); le != nil && le.Message == msg && le.Mark.Line > 0 {
		line, col, msg = describe(data, le)
	} else {
		line, col, msg = fallbackPos(data, line, msg)
	}
	line, col = clamp(data, line, col)
	return line, col, msg
}

// clamp keeps a position inside the file: the parser marks the end of a
// file without a final newline on the line after its last, which an editor
// cannot go to; the end of the last line is where it stopped.
func clamp(data []byte, line, col int) (int, int) {
	lines := bytes.Split(data, []byte("\n"))
	if line > len(lines) {
		line, col = len(lines), utf8.RuneCount(lines[len(lines)-1])+1
	}
	if n := utf8.RuneCount(lines[line-1]) + 1; col > n {
		col = n
	}
	return line, max(col, 1)
}

// locate parses data with yaml v4 (every document) and returns its first
// error with marks, or nil.
func locate(data []byte) (le *yamlv4.LoadError) {
	defer func() {
		if recover() != nil {
			le = nil // a crash of the second parser leaves the first one's answer
		}
	}()
	l, err := yamlv4.NewLoader(bytes.NewReader(data))
	if err != nil {
		return nil
	}
	for {
		var n yamlv4.Node
		err := l.Load(&n)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if errors.As(err, &le) {
				return le
			}
			return nil
		}
	}
}

// describe picks the position a person should look at and says what is
// there: an unclosed bracket or quote at its opening, a tab as a tab, and
// anything else where the parser stopped, naming the collection it was in.
//
// The parser notices an unclosed [ or { only where it finds something that
// is neither a ',' nor the closing bracket: at the end of the file, or at
// the first key of the lines that follow. Stopping on a later line than the
// bracket's is taken as the bracket not being closed (a manifest rarely
// spreads one flow collection over several lines), and both places are
// named.
func describe(data []byte, le *yamlv4.LoadError) (line, col int, msg string) {
	line, col, msg = le.Mark.Line, max(le.Mark.Column, 1), le.Message
	off := offsetOf(data, le.Mark.Line, le.Mark.Column)
	ctx, cl, cc := le.ContextMsg, le.ContextMark.Line, max(le.ContextMark.Column, 1)
	atEnd := off >= len(bytes.TrimRight(data, " \t\r\n"))
	open := map[string]string{"while parsing a flow sequence": "[", "while parsing a flow mapping": "{"}[ctx]
	switch {
	case open != "" && cl > 0 && atEnd:
		return cl, cc, fmt.Sprintf("this %s is never closed (%s before the end of the file)", open, msg)
	case open != "" && cl > 0 && line > cl:
		return cl, cc, fmt.Sprintf("this %s is not closed where expected: %s at %d:%d", open, msg, line, col)
	case atEnd && cl > 0 && ctx == "while scanning a quoted scalar":
		return cl, cc, fmt.Sprintf("this quoted string is never closed (%s)", msg)
	case cl > 0 && ctx == "while scanning a simple key":
		// A word where a key belongs: the parser looks for its ':' up to
		// the next line, and stops there.
		return cl, cc, msg + " after this key"
	}
	if off < len(data) && data[off] == '\t' && !strings.Contains(msg, "tab") {
		msg = "found a tab character that cannot start any token"
	}
	if strings.Contains(msg, "tab") {
		return line, col, msg + ": indent with spaces, not tabs"
	}
	if msg == "mapping values are not allowed in this context" {
		// "type salesforce" above "login_url: …" reads as one value
		// running on to the second line's ':'.
		if prev := prevContentLine(data, line); prev > 0 {
			msg += fmt.Sprintf(" (line %d has no ':': is one missing there?)", prev)
		}
	}
	if what, ok := strings.CutPrefix(ctx, "while parsing a "); ok && cl > 0 && (cl != line || cc != col) {
		msg += fmt.Sprintf(" (in the %s that starts at %d:%d)", what, cl, cc)
		if le.Message == "did not find expected key" {
			msg += ": check this line's indentation"
		}
	}
	return line, col, msg
}

// fallbackPos places an error yaml v4 does not see the same way: a control
// character where it is, a tab problem at the first tab in an indentation
// on or after line, anything else at the first character of line (line 1
// when yaml.v3 gave none).
func fallbackPos(data []byte, line int, msg string) (int, int, string) {
	line = max(line, 1)
	if msg == "control characters are not allowed" {
		if l, c, ok := firstControl(data); ok {
			return l, c, msg
		}
	}
	lines := bytes.Split(data, []byte("\n"))
	if strings.Contains(msg, "tab") || strings.Contains(msg, "cannot start any token") {
		for i := line - 1; i >= 0 && i < len(lines); i++ {
			l := lines[i]
			indent := l[:len(l)-len(bytes.TrimLeft(l, " \t"))]
			if j := bytes.IndexByte(indent, '\t'); j >= 0 {
				return i + 1, j + 1, "found a tab character in the indentation: indent with spaces, not tabs"
			}
		}
	}
	col := 1
	if line <= len(lines) {
		l := lines[line-1]
		col += utf8.RuneCount(l[:len(l)-len(bytes.TrimLeft(l, " "))])
	}
	return line, col, msg
}

// offsetOf is the byte offset of a 1-based line and character column
// (libyaml counts characters), len(data) when past the end.
func offsetOf(data []byte, line, col int) int {
	off := 0
	for l := 1; l < line; l++ {
		i := bytes.IndexByte(data[off:], '\n')
		if i < 0 {
			return len(data)
		}
		off += i + 1
	}
	for c := 1; c < col && off < len(data) && data[off] != '\n'; c++ {
		_, size := utf8.DecodeRune(data[off:])
		off += size
	}
	return off
}

// firstControl finds the first character YAML does not allow in a stream
// (C0 and C1 controls but tab, line feed, carriage return and NEL; DEL;
// U+FFFE and U+FFFF), by line and character column.
func firstControl(data []byte) (line, col int, ok bool) {
	line, col = 1, 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == '\n':
			line, col = line+1, 0
		case r < 0x20 && r != '\t' && r != '\r', r == 0x7f, r >= 0x80 && r <= 0x9f && r != 0x85, r == 0xfffe, r == 0xffff:
			return line, col, true
		}
		i += size
		col++
	}
	return 0, 0, false
}

// prevContentLine is the number of the last line before line that holds
// something other than blanks and a comment, when it has no ':' at all; 0
// otherwise.
func prevContentLine(data []byte, line int) int {
	lines := bytes.Split(data, []byte("\n"))
	for i := min(line, len(lines)) - 2; i >= 0; i-- {
		l := bytes.TrimSpace(lines[i])
		if len(l) == 0 || l[0] == '#' {
			continue
		}
		if bytes.IndexByte(l, ':') >= 0 {
			return 0
		}
		return i + 1
	}
	return 0
}
