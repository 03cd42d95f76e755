package main

import (
	"regexp"
	"strings"
	"testing"
)

// TestEveryCommandHelpHasExamples reads the --help of every command and
// subcommand, as a user would: each shows an "Examples:" section with at
// least one command line of its own, and no flag that takes a value shows
// urfave/cli's meaningless placeholder "value".
func TestEveryCommandHelpHasExamples(t *testing.T) {
	placeholder := regexp.MustCompile(`(?m)^\s+(--[a-z0-9-]+)(?:, -\w)? value\b`)
	for key, help := range helpTexts(t) {
		name := "applinkctl " + strings.TrimSuffix(key, " --help")
		_, examples, ok := strings.Cut(help, "Example")
		if !ok || !strings.Contains(examples, "   "+name) {
			t.Errorf("%s --help: no Examples: section with a %q command line:\n%s", name, name, help)
		}
		for _, m := range placeholder.FindAllStringSubmatch(help, -1) {
			t.Errorf("%s --help: %s shows the placeholder \"value\": name it in the flag's Usage with backquotes", name, m[1])
		}
	}
}
