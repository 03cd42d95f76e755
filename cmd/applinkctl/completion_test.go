package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// manPath is the committed man page, which `make man` regenerates.
var manPath = filepath.Join("..", "..", "docs", "man", "applinkctl.1")

// TestManPageIsGenerated keeps docs/man/applinkctl.1 equal to what the
// command definitions generate; -update (or make man) rewrites it.
func TestManPageIsGenerated(t *testing.T) {
	got, stderr, code := runOut(t, "man")
	if code != 0 {
		t.Fatalf("applinkctl man: exit %d: %s", code, stderr)
	}
	if *update {
		if err := os.WriteFile(manPath, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(manPath)
	if err != nil {
		t.Fatalf("%v (run make man)", err)
	}
	if got != string(want) {
		t.Errorf("docs/man/applinkctl.1 is out of date with the command definitions: run `make man` (or go test ./cmd/applinkctl -run TestManPageIsGenerated -update) and commit it")
	}
	for _, want := range []string{".TH applinkctl 1", ".SH graph", ".SH completion", "--detailed-exitcode"} {
		if !strings.Contains(got, want) {
			t.Errorf("man page lacks %q", want)
		}
	}
	if strings.Contains(got, ".SH man") {
		t.Error("the hidden man command is documented in the man page")
	}
	// Global flags are listed once, not under every command.
	if n := strings.Count(got, `\fB--sandbox\fP`); n != 1 {
		t.Errorf("--sandbox appears %d times in the man page, want 1", n)
	}
}

func TestCompletionScripts(t *testing.T) {
	for shell, want := range map[string][]string{
		"bash": {"complete -o bashdefault -o default -F _applinkctl_completion applinkctl", "--generate-bash-completion"},
		"zsh":  {"#compdef applinkctl", "--generate-bash-completion"},
		"fish": {"complete -c applinkctl", "__fish_seen_subcommand_from graph", "-l detailed-exitcode",
			"command $words --generate-bash-completion", "-l target -x -a '(__fish_applinkctl_addresses)'", "-l ignore -x -a '(__fish_applinkctl_addresses)'"},
	} {
		t.Run(shell, func(t *testing.T) {
			out, stderr, code := runOut(t, "completion", shell)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			for _, w := range want {
				if !strings.Contains(out, w) {
					t.Errorf("%s script lacks %q", shell, w)
				}
			}
			if shell == "fish" && strings.Count(out, "-a 'graph'") != 1 {
				t.Errorf("fish script should offer graph once:\n%s", out)
			}
		})
	}
}

func TestCompletionRefusesUnknownShell(t *testing.T) {
	for _, args := range [][]string{{"completion"}, {"completion", "tcsh"}, {"completion", "bash", "zsh"}} {
		_, stderr, code := runOut(t, args...)
		if code != exitError || !strings.Contains(stderr, "bash, fish, zsh") {
			t.Errorf("%v: exit %d, stderr %q; want 1 naming the shells", args, code, stderr)
		}
	}
}
