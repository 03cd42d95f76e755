package view

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/applinkctl/applinkctl/internal/state"
)

// RenderStateList writes `state list`: one row per managed resource of s,
// sorted by address, or a line saying backend (as Describe names it) holds
// none.
func RenderStateList(w io.Writer, backend string, s *state.State) error {
	if len(s.Resources) == 0 {
		_, err := fmt.Fprintf(w, "no resources in state %s\n", backend)
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ADDRESS\tKIND\tORIGIN\tPHASE\tREMOTE ID\tUPDATED")
	for _, a := range slices.Sorted(maps.Keys(s.Resources)) {
		r := s.Resources[a]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", a, dash(string(r.Kind)), dash(string(r.Origin)), phaseText(r), dash(r.RemoteID), timeText(r.UpdatedAt))
	}
	return tw.Flush()
}

// RenderStateRecord writes `state show`: every field of one resource's
// record, the spec by its size and digest rather than its text.
func RenderStateRecord(w io.Writer, address string, r *state.Resource) error {
	spec := "-"
	if len(r.SpecGzip) > 0 {
		raw, err := state.DecompressSpec(r.SpecGzip)
		if err != nil {
			spec = fmt.Sprintf("unreadable (%v)", err)
		} else {
			sum := sha256.Sum256(raw)
			spec = fmt.Sprintf("%s, %d bytes (%d compressed), sha256:%s", dash(r.SpecName), len(raw), len(r.SpecGzip), hex.EncodeToString(sum[:]))
		}
	}
	tw := tabwriter.NewWriter(w, 0, 4, 1, ' ', 0)
	for _, f := range [][2]string{
		{"address", address},
		{"kind", dash(string(r.Kind))},
		{"origin", dash(string(r.Origin))},
		{"phase", dash(string(r.Phase))},
		{"operation", dash(r.Operation)},
		{"remote id", dash(r.RemoteID)},
		{"status", dash(r.Status)},
		{"protect", fmt.Sprint(r.Protect)},
		{"inputs digest", dash(r.InputsDigest)},
		{"key fingerprint", dash(r.KeyFingerprint)},
		{"login url", dash(r.LoginURL)},
		{"client id", dash(r.ClientID)},
		{"username", dash(r.Username)},
		{"spec", spec},
		{"metadata digest", dash(r.MetadataDigest)},
		{"updated at", timeText(r.UpdatedAt)},
		{"updated by", dash(r.UpdatedBy)},
	} {
		fmt.Fprintf(tw, "%s:\t%s\n", f[0], f[1])
	}
	return tw.Flush()
}

// phaseText shows an intent's operation with its phase: "intent (create)".
func phaseText(r *state.Resource) string {
	if r.Operation != "" && r.Phase != state.Applied {
		return fmt.Sprintf("%s (%s)", r.Phase, r.Operation)
	}
	return dash(string(r.Phase))
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// historyJSON is the wire form of `state history --format json`; it is
// versioned and independent of the state package's types.
type historyJSON struct {
	FormatVersion string              `json:"format_version"`
	Backend       string              `json:"backend"`
	Records       []historyRecordJSON `json:"records"`
}

type historyRecordJSON struct {
	Workspace string         `json:"workspace,omitempty"`
	Operation string         `json:"operation,omitempty"`
	Started   *time.Time     `json:"started,omitempty"`
	Ended     *time.Time     `json:"ended,omitempty"`
	Who       string         `json:"who,omitempty"`
	Host      string         `json:"host,omitempty"`
	CIRunURL  string         `json:"ci_run_url,omitempty"`
	GitCommit string         `json:"git_commit,omitempty"`
	PlanHash  string         `json:"plan_hash,omitempty"`
	Summary   map[string]int `json:"summary"`
	Outcome   string         `json:"outcome"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// RenderHistory writes `state history` of backend (as Describe names it)
// in format: text (a table, newest first, or a line saying there is none)
// or json (historyJSON, documented in docs/state.md).
func RenderHistory(w io.Writer, backend string, recs []state.HistoryRecord, format string) error {
	switch format {
	case FormatJSON:
		doc := historyJSON{FormatVersion: "1", Backend: backend, Records: []historyRecordJSON{}}
		for _, r := range recs {
			sum := r.Summary
			if sum == nil {
				sum = map[string]int{}
			}
			doc.Records = append(doc.Records, historyRecordJSON{Workspace: r.Workspace, Operation: r.Operation, Started: optTime(r.Started), Ended: optTime(r.Ended),
				Who: r.Who, Host: r.Host, CIRunURL: r.CIRunURL, GitCommit: r.GitCommit, PlanHash: r.PlanHash, Summary: sum, Outcome: r.Outcome})
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(doc)
	case FormatText, "":
	default:
		return &UnknownFormatError{Format: format, Valid: []string{FormatText, FormatJSON}}
	}
	if len(recs) == 0 {
		_, err := fmt.Fprintf(w, "no applies recorded in %s\n", backend)
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STARTED\tDURATION\tOUTCOME\tWHO\tWHERE\tCOMMIT\tSUMMARY")
	for _, r := range recs {
		dur := "-"
		if !r.Started.IsZero() && !r.Ended.IsZero() {
			dur = r.Ended.Sub(r.Started).Round(time.Second).String()
		}
		where := r.CIRunURL
		if where == "" {
			where = r.Host
		}
		commit := r.GitCommit
		if len(commit) > 12 {
			commit = commit[:12]
		}
		summary := historySummary(r.Summary)
		if r.Operation != "" {
			// Not an apply: say what ran.
			summary = r.Operation + ": " + summary
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", timeText(r.Started), dur, dash(r.Outcome), dash(r.Who), dash(where), dash(commit), summary)
	}
	return tw.Flush()
}

// historySummary is "created=2 deleted=1", sorted, zero counts left out.
func historySummary(m map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if m[k] != 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}
