package view

import (
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/plan"
	"github.com/applinkctl/applinkctl/internal/planfile"
)

// DefaultMaxBytes caps Markdown output when Options.MaxBytes is zero: GitHub
// refuses pull-request comments above 65536 characters, and the note about
// truncation needs some room.
const DefaultMaxBytes = 60000

// The output formats RenderPlan and RenderDrift accept.
const (
	FormatText     = "text"
	FormatJSON     = "json"
	FormatMarkdown = "markdown"
)

// FormatVersion is the version of every JSON document this package writes
// (plans, drift reports, apply events). It changes only when a
// field is removed or changes meaning; adding a field keeps it.
const FormatVersion = "1"

// Options tune rendering. The zero value is plain, uncapped-by-default
// (60000 bytes for Markdown) output on the real clock.
type Options struct {
	// Color adds ANSI colors to text output; set it from ColorEnabled.
	Color bool
	// MaxBytes caps Markdown output (default DefaultMaxBytes); pull-request
	// comments have a size limit and a silently cut plan misleads reviewers.
	MaxBytes int
	// Invocation is how the person ran applinkctl, so that hints (the
	// command that unblocks a plan, that prunes, that fixes a drift
	// finding) name a command that works as typed.
	Invocation Invocation
	// Now is the clock for progress timestamps; nil means time.Now. Tests
	// pass a fake one so output is reproducible.
	Now func() time.Time
}

func (o Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func (o Options) maxBytes() int {
	if o.MaxBytes <= 0 {
		return DefaultMaxBytes
	}
	return o.MaxBytes
}

// UnknownFormatError is returned for a --format value no renderer knows, so
// the CLI can answer with the list of valid ones.
type UnknownFormatError struct {
	Format string
	Valid  []string
}

func (e *UnknownFormatError) Error() string {
	return fmt.Sprintf("--format %q: want %s", e.Format, orList(e.Valid))
}

// orList is "a", "a or b", "a, b or c".
func orList(s []string) string {
	switch len(s) {
	case 0:
		return "nothing"
	case 1:
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// ParseFormat checks a --format value against the formats a command
// renders, valid: the one check every command makes, so that they all
// answer a bad value alike.
func ParseFormat(value string, valid ...string) (string, error) {
	for _, v := range valid {
		if value == v {
			return value, nil
		}
	}
	return "", &UnknownFormatError{Format: value, Valid: valid}
}

// IsTerminal reports whether w is a *os.File connected to a terminal. The
// CLI uses it to choose the live progress view and colors; anything else (a
// pipe, a file, a test buffer) gets plain lines.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// ColorEnabled reports whether output to w should be colored: only on a
// terminal, never with --no-color (noColorFlag), never when NO_COLOR is set
// to anything non-empty (https://no-color.org) and never when TERM=dumb.
func ColorEnabled(w io.Writer, noColorFlag bool) bool {
	if noColorFlag || os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	return IsTerminal(w)
}

// ANSI colors used by the text views.
const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiCyan   = "\x1b[36m"
)

// paint wraps s in color when enabled.
func paint(enabled bool, color, s string) string {
	if !enabled || color == "" {
		return s
	}
	return color + s + ansiReset
}

// symbol is the one-glance mark of a change in text and Markdown.
func symbol(c *plan.Change) string {
	if c.Wait && (c.Action == plan.Noop || c.Action == "") {
		return "…"
	}
	switch c.Action {
	case plan.Create:
		return "+"
	case plan.Replace:
		return "-/+"
	case plan.Republish:
		return "~"
	case plan.Delete:
		return "-"
	case plan.Adopt:
		return "="
	}
	return " "
}

// color is the color of a change's symbol: green adds, yellow changes, red
// removes, cyan touches nothing remote (adopt, wait).
func color(c *plan.Change) string {
	if c.Wait && (c.Action == plan.Noop || c.Action == "") {
		return ansiCyan
	}
	switch c.Action {
	case plan.Create:
		return ansiGreen
	case plan.Replace, plan.Republish:
		return ansiYellow
	case plan.Delete:
		return ansiRed
	case plan.Adopt:
		return ansiCyan
	}
	return ""
}

// shown reports whether a change appears in the human views: every action
// but noop, and a noop that waits on a pending resource.
func shown(c *plan.Change) bool {
	return c.Action != plan.Noop || c.Wait
}

// summaryLine is the first line of the text and Markdown plans. It counts
// each resource once, under its action, as the JSON summary does; waiting
// is not an action but something apply does first, to a resource of any
// action (an adopt, a create of an unfinished intent) or to one with
// nothing else to do, so it gets a sentence of its own rather than a count
// that would add up with the actions ("7 to adopt, 1 to wait for" read as
// 8 resources where there were 7).
func summaryLine(n plan.Counts) string {
	if !n.Actionable() {
		return "No changes. Live state matches the manifest."
	}
	s := fmt.Sprintf("Plan: %d to create, %d to replace, %d to republish, %d to delete, %d to adopt.",
		n.Create, n.Replace, n.Republish, n.Delete, n.Adopt)
	if n.Wait > 0 {
		s += fmt.Sprintf(" Apply first waits for %s to settle.", plural(n.Wait, "resource", "resources"))
	}
	return s
}

// planSummary is the summary line of a plan and the undeclared line to
// print under it. A plan that changes nothing but leaves undeclared
// resources says so in the summary itself: "live state matches the
// manifest" would not be true.
func planSummary(p *plan.Plan, n plan.Counts) (summary, undeclared string) {
	u := undeclaredLine(p)
	if !n.Actionable() && u != "" {
		return "No changes. " + u, ""
	}
	return summaryLine(n), u
}

// blockedLine explains, under the summary, that apply will refuse the plan.
func blockedLine(n plan.Counts) string {
	if n.Blocked == 0 {
		return ""
	}
	if n.Blocked == 1 {
		return "1 change is blocked; apply refuses this plan until it is resolved."
	}
	return fmt.Sprintf("%d changes are blocked; apply refuses this plan until they are resolved.", n.Blocked)
}

// appOf is the app of an address, tolerating a malformed one (which only a
// hand-edited plan file could hold) instead of panicking.
func appOf(a addr.Address) string {
	p, err := addr.Parse(string(a))
	if err != nil {
		s := string(a)
		if i := strings.IndexByte(s, '/'); i >= 0 {
			return s[:i]
		}
		return s
	}
	return p.App
}

// appGroup is the shown changes of one app, with cascaded changes nested
// beneath their cause.
type appGroup struct {
	App   string
	Top   []*plan.Change                  // changes not nested under another, by address
	Under map[addr.Address][]*plan.Change // cause → cascaded changes, by address
	Count int                             // every shown change, nested included
	// Actions are the plan's actions by address, to word cause lines.
	Actions map[addr.Address]plan.Action
}

// groupByApp arranges the shown changes for the text and Markdown views. A
// cascaded change nests beneath its cause when the cause is itself shown in
// the same plan; otherwise it stands alone and says what caused it.
func groupByApp(p *plan.Plan) []*appGroup {
	changes := p.SortedChanges()
	present := map[addr.Address]bool{}
	actions := map[addr.Address]plan.Action{}
	for _, c := range changes {
		actions[c.Address] = c.Action
		if shown(c) {
			present[c.Address] = true
		}
	}
	byApp := map[string]*appGroup{}
	var apps []string
	for _, c := range changes {
		if !shown(c) {
			continue
		}
		app := appOf(c.Address)
		g := byApp[app]
		if g == nil {
			g = &appGroup{App: app, Under: map[addr.Address][]*plan.Change{}, Actions: actions}
			byApp[app] = g
			apps = append(apps, app)
		}
		g.Count++
		if c.CausedBy != "" && c.CausedBy != c.Address && present[c.CausedBy] && appOf(c.CausedBy) == app {
			g.Under[c.CausedBy] = append(g.Under[c.CausedBy], c)
			continue
		}
		g.Top = append(g.Top, c)
	}
	sort.Strings(apps)
	out := make([]*appGroup, len(apps))
	for i, a := range apps {
		out[i] = byApp[a]
	}
	return out
}

// causeVerb says what happens to a cascaded change's cause, in the words of
// its action: a child is recreated because its connection is replaced, or
// deleted because its connection is deleted.
func causeVerb(a plan.Action) string {
	switch a {
	case plan.Delete:
		return "deleted"
	case plan.Create:
		return "created again"
	}
	return "replaced"
}

// causeLine is the line under a cascaded change naming its cause; actions
// are the plan's actions by address.
func causeLine(c *plan.Change, actions map[addr.Address]plan.Action) string {
	return fmt.Sprintf("because %s is %s", c.CausedBy, causeVerb(actions[c.CausedBy]))
}

// reasons returns the reasons to print for a change, dropping one that
// merely repeats the cause line.
func reasons(c *plan.Change, actions map[addr.Address]plan.Action) []string {
	var out []string
	for _, r := range c.Reasons {
		if c.CausedBy != "" && r == causeLine(c, actions) {
			continue
		}
		out = append(out, r)
	}
	return out
}

// attrChanges lists the attributes a replacement changes, "name: old → new",
// sorted, leaving out the live-only status and id and any change a reason
// already spells out.
func attrChanges(c *plan.Change) []string {
	if c.Action != plan.Replace || c.Before == nil || c.After == nil {
		return nil
	}
	keys := map[string]bool{}
	for k := range c.Before.Attrs {
		keys[k] = true
	}
	for k := range c.After.Attrs {
		keys[k] = true
	}
	var out []string
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		if k == "status" || k == "id" {
			continue
		}
		b, bok := c.Before.Attrs[k]
		a, aok := c.After.Attrs[k]
		if b == a && bok == aok || saidInReasons(c.Reasons, b, a) {
			continue
		}
		out = append(out, fmt.Sprintf("%s: %s → %s", k, showAttr(b, bok), showAttr(a, aok)))
	}
	return out
}

// saidInReasons reports whether a reason already names both values of an
// attribute change ("login_url changed (A → B)"), so it is not repeated.
func saidInReasons(reasons []string, before, after string) bool {
	if before == "" || after == "" {
		return false
	}
	for _, r := range reasons {
		if strings.Contains(r, before) && strings.Contains(r, after) {
			return true
		}
	}
	return false
}

func showAttr(v string, ok bool) string {
	if !ok {
		return "(none)"
	}
	return fmt.Sprintf("%q", v)
}

// specOps lists a spec change's operations with their marks: "+ POST
// /orders", "− GET /legacy", "~ PUT /items".
func specOps(s *plan.SpecChange) []string {
	var out []string
	for _, op := range sortedCopy(s.Added) {
		out = append(out, "+ "+op)
	}
	for _, op := range sortedCopy(s.Removed) {
		out = append(out, "− "+op)
	}
	for _, op := range sortedCopy(s.Changed) {
		out = append(out, "~ "+op)
	}
	return out
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

// diffLines splits a unified diff into lines without a trailing empty one.
func diffLines(d string) []string {
	d = strings.TrimRight(d, "\n")
	if d == "" {
		return nil
	}
	return strings.Split(d, "\n")
}

// RenderPlan writes p to w in format (text, json or markdown). The output
// depends only on p and opts: the same plan renders byte-identically.
func RenderPlan(w io.Writer, p *plan.Plan, format string, opts Options) error {
	if p == nil {
		p = &plan.Plan{}
	}
	var b []byte
	var err error
	switch format {
	case FormatText, "":
		b = []byte(planText(p, opts))
	case FormatJSON:
		b, err = planfile.Marshal(p)
	case FormatMarkdown:
		b = []byte(planMarkdown(p, opts))
	default:
		return &UnknownFormatError{Format: format, Valid: []string{FormatText, FormatJSON, FormatMarkdown}}
	}
	if err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("plan: write: %w", err)
	}
	return nil
}

func sortedAddrs(as []addr.Address) []addr.Address {
	out := append([]addr.Address(nil), as...)
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
