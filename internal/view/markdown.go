package view

import (
	"fmt"
	"strings"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/plan"
)

// mdChunk is a unit of Markdown that is either printed whole or not at all,
// so a capped comment never ends inside a list item, a <details> block or a
// code fence.
type mdChunk struct {
	text    string
	changes int  // changes (or drift findings) this chunk shows
	open    bool // opens a <details> block that close must end
	close   bool // ends the open <details> block
	lead    bool // a heading: shown only if something follows it
}

const mdDetailsClose = "</details>\n\n"

// planMarkdown renders the pull-request comment: heading, summary, a table
// of counts, then one collapsed block per app. Output is capped at
// opts.MaxBytes on a chunk boundary with a visible note of what was cut.
func planMarkdown(p *plan.Plan, opts Options) string {
	n := p.Counts()
	var head strings.Builder
	head.WriteString("## applinkctl plan\n\n")
	summary, undeclared := planSummary(p, n)
	head.WriteString("**" + mdEscape(summary) + "**\n\n")
	if l := blockedLine(n); l != "" {
		head.WriteString("> **Blocked:** " + mdEscape(l))
		if cmd := UnblockCommand(p, opts.Invocation); cmd != "" {
			head.WriteString(" To unblock it, run " + mdCode(cmd) + ".")
		}
		head.WriteString("\n\n")
	}
	if undeclared != "" {
		head.WriteString(mdEscape(undeclared) + "\n\n")
	}
	if l := breakingLine(p); l != "" {
		head.WriteString("> **" + mdEscape(l) + "**\n\n")
	}
	// One row per action, each resource counted once: how many wait or
	// are blocked, whatever their action, the lines above say.
	head.WriteString("| action | count |\n|---|---:|\n")
	rows := []struct {
		name string
		n    int
	}{
		{"create", n.Create}, {"replace", n.Replace}, {"republish", n.Republish},
		{"delete", n.Delete}, {"adopt", n.Adopt},
	}
	for _, r := range rows {
		fmt.Fprintf(&head, "| %s | %d |\n", r.name, r.n)
	}
	head.WriteString("\n")

	chunks := []mdChunk{{text: head.String()}}
	for _, g := range groupByApp(p) {
		chunks = append(chunks, mdChunk{
			text: fmt.Sprintf("<details><summary>%s: %s</summary>\n\n", htmlEscape(g.App), plural(g.Count, "change", "changes")),
			open: true,
		})
		for _, c := range g.Top {
			var b strings.Builder
			writeMDChange(&b, c, g.Actions, "")
			k := 1
			for _, sub := range g.Under[c.Address] {
				writeMDChange(&b, sub, g.Actions, "  ")
				k++
			}
			chunks = append(chunks, mdChunk{text: b.String(), changes: k})
		}
		chunks = append(chunks, mdChunk{text: "\n" + mdDetailsClose, close: true})
	}
	if len(p.Undeclared) > 0 {
		var b strings.Builder
		fmt.Fprintf(&b, "<details><summary>no longer declared: %s left alone without --prune</summary>\n\n",
			plural(len(p.Undeclared), "resource", "resources"))
		for _, c := range p.Undeclared {
			b.WriteString("- `" + string(c.Address) + "`")
			b.WriteString("\n")
			for _, l := range undeclaredNotes(c) {
				b.WriteString("  - " + mdEscape(l) + "\n")
			}
		}
		if cmd := pruneCommand(p, opts.Invocation); cmd != "" {
			b.WriteString("\nTo review deleting " + itThem(len(p.Undeclared)) + ", run " + mdCode(cmd) + ".\n")
		}
		b.WriteString("\n" + mdDetailsClose)
		chunks = append(chunks, mdChunk{text: b.String()})
	}
	if len(p.Unmanaged) > 0 {
		var b strings.Builder
		fmt.Fprintf(&b, "<details><summary>unmanaged: %s left alone</summary>\n\n",
			plural(len(p.Unmanaged), "resource", "resources"))
		for _, a := range sortedAddrs(p.Unmanaged) {
			b.WriteString("- `" + string(a) + "`\n")
		}
		b.WriteString("\n" + mdDetailsClose)
		chunks = append(chunks, mdChunk{text: b.String()})
	}
	chunks = withGraph(chunks, mermaidSection(p), opts.maxBytes())
	full := opts.Invocation.forPlan(p).Command("plan", p.Options)
	return capChunks(chunks, opts.maxBytes(), "change", "changes", "run "+mdCode(full)+" locally for the full plan")
}

// withGraph puts the dependency graph after the summary table when the
// whole comment still fits: the changes themselves matter more than their
// picture, so a graph that would push any of them out is left out.
func withGraph(chunks []mdChunk, graph string, max int) []mdChunk {
	if graph == "" {
		return chunks
	}
	total := len(graph)
	for _, c := range chunks {
		total += len(c.text)
	}
	if total > max {
		return chunks
	}
	return append(chunks[:1:1], append([]mdChunk{{text: graph}}, chunks[1:]...)...)
}

// capChunks joins chunks up to max bytes. When they do not all fit it stops
// at the last whole chunk that leaves room for closing an open <details> and
// for the truncation note, and says how many changes and bytes were cut.
func capChunks(chunks []mdChunk, max int, one, many, hint string) string {
	total := 0
	for _, c := range chunks {
		total += len(c.text)
	}
	if total <= max {
		var b strings.Builder
		for _, c := range chunks {
			b.WriteString(c.text)
		}
		return b.String()
	}
	// The note is at most this long: it holds two numbers and the hint.
	noteRoom := 160
	if n := 100 + len(hint); n > noteRoom {
		noteRoom = n
	}
	var b strings.Builder
	open := false
	i := 0
	for ; i < len(chunks); i++ {
		c := chunks[i]
		need := len(c.text) + noteRoom
		if open && !c.close || c.open {
			need += len("\n" + mdDetailsClose)
		}
		if i > 0 && b.Len()+need > max {
			break
		}
		b.WriteString(c.text)
		if c.open {
			open = true
		}
		if c.close {
			open = false
		}
	}
	out := b.String()
	if i > 1 && (chunks[i-1].open || chunks[i-1].lead) {
		// Nothing fitted under the heading or block just opened: drop it.
		out = out[:len(out)-len(chunks[i-1].text)]
		if chunks[i-1].open {
			open = false
		}
		i--
	}
	b.Reset()
	b.WriteString(out)
	omittedBytes := total - b.Len()
	omittedChanges := 0
	for _, c := range chunks[i:] {
		omittedChanges += c.changes
	}
	if open {
		b.WriteString("\n" + mdDetailsClose)
	}
	if !strings.HasSuffix(b.String(), "\n\n") {
		b.WriteString("\n")
	}
	noun := many
	if omittedChanges == 1 {
		noun = one
	}
	fmt.Fprintf(&b, "> **… output truncated: %d more %s (%d bytes); %s**\n", omittedChanges, noun, omittedBytes, hint)
	return b.String()
}

// writeMDChange writes one change as a list item with its details as a
// nested list and its spec diff in a fenced diff block.
func writeMDChange(b *strings.Builder, c *plan.Change, actions map[addr.Address]plan.Action, indent string) {
	action := string(c.Action)
	if c.Wait && c.Action == plan.Noop {
		action = "wait"
	}
	fmt.Fprintf(b, "%s- `%s` **%s** `%s`", indent, symbol(c), action, c.Address)
	for _, t := range tags(c) {
		b.WriteString(" _(" + t + ")_")
	}
	b.WriteString("\n")
	sub := indent + "  "
	item := func(s string) {
		// A line break would end the list item early.
		b.WriteString(sub + "- " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", " ") + "\n")
	}
	if c.CausedBy != "" {
		item("because `" + string(c.CausedBy) + "` is " + causeVerb(actions[c.CausedBy]))
	}
	for _, r := range reasons(c, actions) {
		item(mdEscape(r))
	}
	for _, at := range createAttrs(c) {
		item(mdCode("+ "+at.Name+" = "+at.Value) + mdNote(at.Note))
	}
	for _, a := range attrChanges(c) {
		item(mdCode(a))
	}
	if c.Blocked != "" {
		item("**blocked:** " + mdEscape(c.Blocked))
	}
	if c.Spec == nil {
		return
	}
	if c.Spec.IsBreaking() {
		for _, br := range c.Spec.Breaking {
			item("**⚠ breaking:** " + mdBreaking(br) + " (" + mdCode(specPos(c.Spec.File, br)) + ")")
		}
	} else {
		item(mdEscape(breakingText(c.Spec)[0]))
	}
	for _, op := range specOps(c.Spec) {
		item(mdCode(op))
	}
	lines := diffLines(c.Spec.UnifiedDiff)
	if len(lines) > 0 {
		fence := codeFence(c.Spec.UnifiedDiff)
		b.WriteString("\n" + sub + fence + "diff\n")
		for _, l := range lines {
			b.WriteString(sub + l + "\n")
		}
		b.WriteString(sub + fence + "\n")
	}
	if c.Spec.Truncated {
		b.WriteString("\n" + sub + "_(diff truncated)_\n")
	}
}

// mdNote is a create attribute's note, after its code.
func mdNote(note string) string {
	if note == "" {
		return ""
	}
	return " (" + mdEscape(note) + ")"
}

// codeFence is a backtick fence longer than any backtick run in s, so a spec
// holding ``` cannot end the block early.
func codeFence(s string) string {
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			if run > longest {
				longest = run
			}
		} else {
			run = 0
		}
	}
	if longest < 3 {
		return "```"
	}
	return strings.Repeat("`", longest+1)
}

// mdCode shows s as inline code, with a delimiter that s cannot close.
func mdCode(s string) string {
	if !strings.Contains(s, "`") {
		return "`" + s + "`"
	}
	return "`` " + s + " ``"
}

// mdEscaper neutralises the characters that would turn a reason into
// markup, a link or raw HTML in a pull-request comment.
var mdEscaper = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", "*", `\*`, "[", `\[`, "]", `\]`,
	"<", "&lt;", ">", "&gt;", "|", `\|`, "&", "&amp;",
)

func mdEscape(s string) string { return mdEscaper.Replace(s) }

var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")

func htmlEscape(s string) string { return htmlEscaper.Replace(s) }

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
