// Package ghactions speaks the GitHub Actions workflow-command protocol:
// annotations that show a validation error on the right line of a pull
// request, the job step summary where plans are shown, and step outputs
// that later steps read. It exists so commands need not know the
// escaping rules, which differ between messages and properties.
package ghactions

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"
)

// Enabled reports whether the process runs under GitHub Actions, where
// GITHUB_ACTIONS is "true".
func Enabled() bool { return os.Getenv("GITHUB_ACTIONS") == "true" }

// Annotate writes one workflow command such as
// "::error file=applink.yaml,line=3,col=5::message" to w. level is
// "error", "warning" or "notice"; file, line and col are left out when
// empty or zero.
func Annotate(w io.Writer, level, file string, line, col int, msg string) {
	var props []string
	if file != "" {
		props = append(props, "file="+escapeProperty(file))
	}
	if line > 0 {
		props = append(props, fmt.Sprintf("line=%d", line))
		if col > 0 {
			props = append(props, fmt.Sprintf("col=%d", col))
		}
	}
	head := "::" + level
	if len(props) > 0 {
		head += " " + strings.Join(props, ",")
	}
	fmt.Fprintf(w, "%s::%s\n", head, escapeData(msg))
}

// escapeData escapes a command's message as the Actions runner expects.
func escapeData(s string) string {
	s = strings.ReplaceAll(s, "%", "%25")
	s = strings.ReplaceAll(s, "\r", "%0D")
	return strings.ReplaceAll(s, "\n", "%0A")
}

// escapeProperty escapes a command property value, which also may not
// hold ':' or ','.
func escapeProperty(s string) string {
	s = escapeData(s)
	s = strings.ReplaceAll(s, ":", "%3A")
	return strings.ReplaceAll(s, ",", "%2C")
}

// AppendStepSummary appends markdown to the file named by
// $GITHUB_STEP_SUMMARY, which the job page renders. Outside Actions
// (variable unset) it does nothing.
func AppendStepSummary(markdown string) error {
	path := os.Getenv("GITHUB_STEP_SUMMARY")
	if path == "" {
		return nil
	}
	if !strings.HasSuffix(markdown, "\n") {
		markdown += "\n"
	}
	return appendFile("step summary", path, markdown)
}

// SetOutput sets a step output by appending to the file named by
// $GITHUB_OUTPUT, using the heredoc form with a random delimiter so that a
// value holding newlines (or the delimiter-looking text of a plan) cannot
// end it early or inject other outputs. Outside Actions it does nothing.
func SetOutput(name, value string) error {
	path := os.Getenv("GITHUB_OUTPUT")
	if path == "" {
		return nil
	}
	if name == "" || strings.ContainsAny(name, "\r\n=") {
		return fmt.Errorf("step output %q: invalid name", name)
	}
	var delim string
	for {
		var b [12]byte
		if _, err := rand.Read(b[:]); err != nil {
			return fmt.Errorf("step output %s: %w", name, err)
		}
		delim = "ghadelimiter_" + hex.EncodeToString(b[:])
		if !strings.Contains(value, delim) {
			break
		}
	}
	return appendFile("step output "+name, path, fmt.Sprintf("%s<<%s\n%s\n%s\n", name, delim, value, delim))
}

func appendFile(what, path, text string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
