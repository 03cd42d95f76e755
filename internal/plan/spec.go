package plan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/sergi/go-diff/diffmatchpatch"

	"github.com/applinkctl/applinkctl/internal/manifest"
	"github.com/applinkctl/applinkctl/internal/specdiff"
)

// Limits of a spec diff in a plan: enough to review, not enough to drown a
// pull-request comment.
const (
	maxDiffLines = 200
	diffContext  = 3
)

// diffSpecs describes how spec b differs from the last published copy a:
// operations added, removed and changed (their definition differs), and a
// unified diff of the text trimmed to maxDiffLines, and what of the change
// breaks callers. It returns nil when the bytes are equal. Operations of a
// document that does not parse are left empty: the diff text still shows
// what changed.
func diffSpecs(a, b []byte, name string) *SpecChange {
	if bytes.Equal(a, b) {
		return nil
	}
	sc := &SpecChange{}
	oldOps, errA := operationDefs(a)
	newOps, errB := operationDefs(b)
	if errA == nil && errB == nil {
		for op, def := range newOps {
			old, ok := oldOps[op]
			switch {
			case !ok:
				sc.Added = append(sc.Added, op)
			case old != def:
				sc.Changed = append(sc.Changed, op)
			}
		}
		for op := range oldOps {
			if _, ok := newOps[op]; !ok {
				sc.Removed = append(sc.Removed, op)
			}
		}
		slices.Sort(sc.Added)
		slices.Sort(sc.Removed)
		slices.Sort(sc.Changed)
	}
	sc.UnifiedDiff, sc.Truncated = unifiedDiff(string(a), string(b), "published/"+name, "manifest/"+name)
	sc.Breaking = breakingChanges(a, b)
	return sc
}

// breakingChanges classifies the change from a to b for the callers of the
// published API. Two versions that cannot be compared count as breaking:
// nothing shows the change to be safe, and `plan --fail-on-breaking` must
// not pass it by default.
func breakingChanges(a, b []byte) []specdiff.Change {
	cs, err := specdiff.Compare(a, b)
	if err != nil {
		return []specdiff.Change{{ID: "spec-not-compared", Message: "cannot tell whether callers break: " + err.Error(), Line: 1, Column: 1}}
	}
	return cs
}

// specReason is the one-line reason of a spec change, as README.md's "How a
// plan reads" shows it: "spec changed: +2 −1 operations".
func specReason(sc *SpecChange) string {
	if len(sc.Added)+len(sc.Removed)+len(sc.Changed) == 0 {
		return "spec changed (same operations)"
	}
	s := fmt.Sprintf("spec changed: +%d −%d operations", len(sc.Added), len(sc.Removed))
	if len(sc.Changed) > 0 {
		s += fmt.Sprintf(", %d changed", len(sc.Changed))
	}
	return s
}

// operationDefs maps "METHOD /path" to a canonical JSON of the operation
// and its path-level parameters, so a changed definition is seen even
// where the list of operations is the same. External references are not
// followed: a plan reads nothing but the manifest's own files. The spec is
// read as Load reads it (manifest.LoadSpec), without a YAML node tree of
// the whole of a big spec.
func operationDefs(spec []byte) (map[string]string, error) {
	doc, err := manifest.LoadSpec(spec)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	if doc.Paths == nil {
		return out, nil
	}
	for path, item := range doc.Paths.Map() {
		if item == nil {
			continue
		}
		params, _ := json.Marshal(item.Parameters)
		for method, op := range item.Operations() {
			b, err := json.Marshal(op)
			if err != nil {
				return nil, err
			}
			out[strings.ToUpper(method)+" "+path] = string(params) + string(b)
		}
	}
	return out, nil
}

// unifiedDiff renders a line diff of a and b in the unified format with
// three lines of context, made with go-diff's line mode. It stops after
// maxDiffLines lines and says so.
func unifiedDiff(a, b, nameA, nameB string) (string, bool) {
	dmp := diffmatchpatch.New()
	ca, cb, lines := dmp.DiffLinesToChars(a, b)
	diffs := dmp.DiffCharsToLines(dmp.DiffMain(ca, cb, false), lines)

	type line struct {
		op   diffmatchpatch.Operation
		text string
	}
	var ls []line
	for _, d := range diffs {
		text := strings.TrimSuffix(d.Text, "\n")
		for _, t := range strings.Split(text, "\n") {
			ls = append(ls, line{d.Type, t})
		}
	}
	// Hunks: runs of changes with up to diffContext equal lines around
	// them; changes closer than 2*diffContext share a hunk.
	var out []string
	out = append(out, "--- "+nameA, "+++ "+nameB)
	i := 0
	oldLine, newLine := 1, 1
	adv := func(l line) {
		if l.op != diffmatchpatch.DiffInsert {
			oldLine++
		}
		if l.op != diffmatchpatch.DiffDelete {
			newLine++
		}
	}
	for i < len(ls) {
		if ls[i].op == diffmatchpatch.DiffEqual {
			adv(ls[i])
			i++
			continue
		}
		start := max(0, i-diffContext)
		// rewind the counters to the hunk start
		oStart, nStart := oldLine, newLine
		for k := start; k < i; k++ {
			oStart--
			nStart--
		}
		end := i
		for end < len(ls) {
			if ls[end].op != diffmatchpatch.DiffEqual {
				end++
				continue
			}
			run := end
			for run < len(ls) && ls[run].op == diffmatchpatch.DiffEqual {
				run++
			}
			if run == len(ls) || run-end > 2*diffContext {
				end = min(end+diffContext, len(ls))
				break
			}
			end = run
		}
		oCount, nCount := 0, 0
		var body []string
		for k := start; k < end; k++ {
			switch ls[k].op {
			case diffmatchpatch.DiffEqual:
				body = append(body, " "+ls[k].text)
				oCount++
				nCount++
			case diffmatchpatch.DiffDelete:
				body = append(body, "-"+ls[k].text)
				oCount++
			case diffmatchpatch.DiffInsert:
				body = append(body, "+"+ls[k].text)
				nCount++
			}
		}
		out = append(out, fmt.Sprintf("@@ -%s +%s @@", hunkRange(oStart, oCount), hunkRange(nStart, nCount)))
		out = append(out, body...)
		for k := i; k < end; k++ {
			adv(ls[k])
		}
		i = end
	}
	truncated := false
	if len(out) > maxDiffLines {
		out, truncated = out[:maxDiffLines], true
	}
	return strings.Join(out, "\n") + "\n", truncated
}

func hunkRange(start, count int) string {
	if count == 0 {
		return fmt.Sprintf("%d,0", start-1)
	}
	if count == 1 {
		return fmt.Sprint(start)
	}
	return fmt.Sprintf("%d,%d", start, count)
}
