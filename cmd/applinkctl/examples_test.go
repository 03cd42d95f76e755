package main

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/testkit"
)

// The examples that select resources (--target, --replace, --ignore) are
// where a newcomer learns the address patterns, so each one is run: every
// command line of plan, apply and drift that uses one of those flags, in any
// command's --help, in README.md and in docs/*.md, runs against the sandbox
// on a copy of examples/quickstart, before and after it is applied, and must
// succeed (exit 0, or 2 for changes or drift found). Every value those flags
// are given anywhere in the help, the docs or action.yml, command line or
// not, must select something of the quickstart (error samples aside).

// repoRoot is the repository root, absolute: the test changes directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	r, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// docFiles are the documents whose examples are checked.
func docFiles(t *testing.T, root string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no docs/*.md")
	}
	return append(files, filepath.Join(root, "README.md"))
}

// selectorRE finds the selecting flags and their value.
var selectorRE = regexp.MustCompile(`--(target|replace|ignore)[ =]('[^']*'|"[^"]*"|[^\s` + "`" + `]+)`)

// commandRE finds a command line of a selecting verb; go run ./cmd/applinkctl
// counts as applinkctl.
var commandRE = regexp.MustCompile(`(?:go run \./cmd/)?applinkctl (?:plan|apply|drift)\b.*`)

// placeholderRE is a value that names what to write (PATTERN, ADDR…).
var placeholderRE = regexp.MustCompile(`^[A-Z][A-Z0-9_-]*$`)

// example is one command line and where it was found.
type example struct {
	where, line string
}

// helpTexts is the --help of every command and subcommand.
func helpTexts(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	var walk func(path []string, cmds []*cli.Command)
	walk = func(path []string, cmds []*cli.Command) {
		for _, c := range cmds {
			p := append(slices.Clone(path), c.Name)
			var o, e bytes.Buffer
			args := append(append([]string{"applinkctl"}, p...), "--help")
			if code := run(args, streams{In: strings.NewReader(""), Out: &o, Err: &e}); code != 0 {
				t.Fatalf("%v: exit %d: %s", args, code, e.String())
			}
			out[strings.Join(p, " ")+" --help"] = o.String()
			walk(p, c.Subcommands)
		}
	}
	walk(nil, newApp(streams{}).Commands)
	if len(out) < 10 {
		t.Fatalf("only %d help texts", len(out))
	}
	return out
}

// candidates are the pieces of a document that can hold a command: lines in
// fenced code blocks, inline code spans elsewhere (a span may wrap lines),
// and for help texts every line.
func candidates(doc string, markdown bool) []string {
	if !markdown {
		return strings.Split(doc, "\n")
	}
	var out []string
	var para []string
	flush := func() {
		text := strings.Join(para, " ")
		for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(text, -1) {
			out = append(out, m[1])
		}
		para = nil
	}
	fenced := false
	for _, l := range strings.Split(doc, "\n") {
		switch {
		case strings.HasPrefix(strings.TrimSpace(l), "```"):
			flush()
			fenced = !fenced
		case fenced:
			out = append(out, l)
		case strings.TrimSpace(l) == "":
			flush()
		default:
			para = append(para, l)
		}
	}
	flush()
	return out
}

// commandOf is the selecting command line in s, without a trailing shell
// comment or sentence punctuation, or "" when s holds none (or only a
// synopsis with placeholders).
func commandOf(s string) string {
	cmd := commandRE.FindString(s)
	if cmd == "" || !selectorRE.MatchString(cmd) {
		return ""
	}
	if i := strings.Index(cmd, " #"); i >= 0 {
		cmd = cmd[:i]
	}
	cmd = strings.TrimRight(strings.TrimSpace(cmd), ".,;:)`")
	if strings.Count(cmd, `"`)%2 == 1 {
		cmd = strings.TrimSuffix(cmd, `"`) // the end of a JSON string
	}
	if strings.ContainsAny(cmd, "[…") || strings.Contains(cmd, "...") {
		return ""
	}
	for _, m := range selectorRE.FindAllStringSubmatch(cmd, -1) {
		if placeholderRE.MatchString(m[2]) {
			return ""
		}
	}
	return cmd
}

// shellWords splits a command line as a POSIX shell would for the quoting
// the examples use: single and double quotes, no expansion.
func shellWords(t *testing.T, s string) []string {
	t.Helper()
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; {
		case ch == '\'' || ch == '"':
			j := strings.IndexByte(s[i+1:], ch)
			if j < 0 {
				t.Fatalf("unbalanced quote in %q", s)
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case ch == ' ' || ch == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(ch)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// collectExamples gathers the selecting command lines of the help texts
// and the documents under repo, and checks every selector value given in
// code on the way (a command line of the help, a code block or span of a
// document or of action.yml).
func collectExamples(t *testing.T, repo string, known []addr.Address) []example {
	t.Helper()
	var out []example
	check := func(where, s string) {
		if strings.Contains(s, "error:") {
			return // an error sample shows a pattern matching nothing on purpose
		}
		for _, m := range selectorRE.FindAllStringSubmatch(s, -1) {
			v := strings.Trim(m[2], `'"`)
			v = strings.TrimRight(v, ".,;:)]…")
			if placeholderRE.MatchString(v) || v == "" {
				continue
			}
			p, err := addr.ParsePattern(v)
			if err != nil {
				t.Errorf("%s: --%s %s: %v", where, m[1], v, err)
				continue
			}
			if !slices.ContainsFunc(known, p.Match) {
				t.Errorf("%s: --%s %s selects nothing of examples/quickstart", where, m[1], v)
			}
		}
	}
	add := func(where, doc string, markdown bool) {
		for _, c := range candidates(doc, markdown) {
			if markdown || commandRE.MatchString(c) {
				check(where, c)
			}
			if cmd := commandOf(c); cmd != "" {
				out = append(out, example{where, cmd})
			}
		}
	}
	help := helpTexts(t)
	for _, name := range slices.Sorted(maps.Keys(help)) {
		add("applinkctl "+name, help[name], false)
	}
	for _, f := range docFiles(t, repo) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		add(filepath.Base(f), string(b), true)
	}
	action, err := os.ReadFile(filepath.Join(repo, "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range candidates(string(action), true) {
		check("action.yml", c)
	}
	// The same line in two places runs once.
	seen := map[string]bool{}
	var uniq []example
	for _, e := range out {
		if !seen[e.line] {
			seen[e.line] = true
			uniq = append(uniq, e)
		}
	}
	return uniq
}

// quickstartRoot lays out a repository root holding a copy of
// examples/quickstart with its key, as `make keys` leaves it.
func quickstartRoot(t *testing.T, repo string) string {
	t.Helper()
	root := t.TempDir()
	src := testkit.CopyDir(t, filepath.Join(repo, "examples", "quickstart"), "keys", ".applinkctl")
	if err := os.MkdirAll(filepath.Join(root, "examples"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(src, filepath.Join(root, "examples", "quickstart")); err != nil {
		t.Fatal(err)
	}
	p := testkit.WriteFile(t, filepath.Join(root, "examples", "quickstart"), "keys/server.key", testkit.RSAKeyPEM(t, 2048, 0))
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	return root
}

// runExample runs one example in root, against the sandbox in root: from
// the root for -f examples/quickstart, from the quickstart for -f
// applink.yaml, as the documents mean them. Its --sandbox, if any, is
// pointed at the root's, and an apply that would ask for confirmation on a
// terminal gets --auto-approve, the person's "yes".
func runExample(t *testing.T, root string, e example) (code int, stdout, stderr string) {
	t.Helper()
	words := shellWords(t, e.line)
	if words[0] == "go" {
		words = words[2:] // go run ./cmd/applinkctl
		words[0] = "applinkctl"
	}
	if words[1] == "apply" && !slices.Contains(words, "--dry-run") && !slices.Contains(words, "--auto-approve") {
		// A person answers "yes" on the terminal; the test has none.
		words = append(words, "--auto-approve")
	}
	dir := ""
	for i, w := range words {
		if (w == "-f" || w == "--file") && i+1 < len(words) {
			switch words[i+1] {
			case "examples/quickstart":
				dir = root
			case "applink.yaml":
				dir = filepath.Join(root, "examples", "quickstart")
			default:
				t.Fatalf("%s: %q: -f %s is neither examples/quickstart nor applink.yaml", e.where, e.line, words[i+1])
			}
		}
	}
	if dir == "" {
		t.Fatalf("%s: %q names no -f", e.where, e.line)
	}
	args := []string{}
	for _, w := range words {
		if w != "--sandbox" && !strings.HasPrefix(w, "--sandbox=") {
			args = append(args, w)
		}
	}
	args = append(args, "--sandbox="+filepath.Join(root, "sandbox"))
	t.Chdir(dir)
	var o, er bytes.Buffer
	code = run(args, streams{In: strings.NewReader(""), Out: &o, Err: &er})
	return code, o.String(), er.String()
}

// TestSelectorExamplesWork runs every selecting example of the help and the
// documents on the quickstart, fresh and applied.
func TestSelectorExamplesWork(t *testing.T) {
	if testing.Short() {
		t.Skip("applies the quickstart in the sandbox, which takes seconds")
	}
	t.Setenv("APPLINKCTL_STATE", "")
	t.Setenv("APPLINKCTL_WORKSPACE", "")
	t.Setenv("GITHUB_ACTIONS", "")

	repo := repoRoot(t)
	fresh := quickstartRoot(t, repo)
	applied := testkit.CopyDir(t, fresh)
	code, out, errs := runExample(t, applied, example{"setup", "applinkctl apply -f examples/quickstart --sandbox --auto-approve"})
	wantCode(t, code, 0, out, errs)
	known := []addr.Address{}
	for _, l := range strings.Split(stateList(t, applied), "\n") {
		if a, _, ok := strings.Cut(l, " "); ok {
			if _, err := addr.Parse(a); err == nil {
				known = append(known, addr.Address(a))
			}
		}
	}
	if len(known) != 6 {
		t.Fatalf("the applied quickstart holds %v", known)
	}

	examples := collectExamples(t, repo, known)
	where := map[string]bool{}
	for _, e := range examples {
		where[e.where] = true
	}
	// The extraction itself must not rot: these hold examples today.
	for _, w := range []string{"applinkctl plan --help", "applinkctl apply --help", "applinkctl drift --help", "README.md", "apply.md"} {
		if !where[w] {
			t.Errorf("no selecting example found in %s; found %v", w, examples)
		}
	}
	for _, e := range examples {
		for _, world := range []struct{ name, root string }{{"fresh", fresh}, {"applied", applied}} {
			t.Run(fmt.Sprintf("%s/%s", world.name, e.line), func(t *testing.T) {
				root := testkit.CopyDir(t, world.root)
				code, out, errs := runExample(t, root, e)
				if code != 0 && code != exitChanges {
					t.Errorf("%s: %s on the %s quickstart: exit %d\nstdout:\n%s\nstderr:\n%s", e.where, e.line, world.name, code, out, errs)
				}
			})
		}
	}
}

// stateList is `applinkctl state list` of the quickstart in root.
func stateList(t *testing.T, root string) string {
	t.Helper()
	// As the setup apply ran: from the root, in the root's sandbox, whose
	// state is the workspace of -f examples/quickstart.
	t.Chdir(root)
	var o, e bytes.Buffer
	if code := run([]string{"applinkctl", "state", "list", "-f", "examples/quickstart", "--sandbox=" + filepath.Join(root, "sandbox")}, streams{In: strings.NewReader(""), Out: &o, Err: &e}); code != 0 {
		t.Fatalf("state list: exit %d: %s", code, e.String())
	}
	return o.String()
}
