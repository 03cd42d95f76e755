package view

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/plan"
)

// The JSON plan is its own wire format (documented field by field in
// docs/plan-format.md) so that scripts parsing `plan --format json` never
// depend on the shape of the Go domain types. A saved plan file is
// internal/planfile's, of its own versioned structs; its version 1 is these
// bytes, which planfile's tests hold it to. Every
// field is always present (empty lists as [], absent snapshots as null) so
// consumers need no existence checks.

// jsonPlan is the top-level plan document.
type jsonPlan struct {
	FormatVersion string           `json:"format_version"`
	HasChanges    bool             `json:"has_changes"`
	Summary       jsonSummary      `json:"summary"`
	Options       jsonOptions      `json:"options"`
	ManifestFiles []string         `json:"manifest_files"`
	Fingerprints  jsonFingerprints `json:"fingerprints"`
	Changes       []jsonChange     `json:"changes"`
	Unmanaged     []string         `json:"unmanaged"`
	Undeclared    []string         `json:"undeclared,omitempty"`
	// MadeAgainst is what the plan was made against; apply PLANFILE
	// refuses a plan made in the sandbox outside it and the other way round.
	MadeAgainst *jsonOrigin `json:"made_against"`
}

// jsonOrigin is plan.Origin on the wire; made_against is null when the plan
// says nothing (one not made by the CLI).
type jsonOrigin struct {
	Sandbox    bool   `json:"sandbox"`
	SandboxDir string `json:"sandbox_dir"`
	State      string `json:"state"`
}

func originWire(o plan.Origin) *jsonOrigin {
	if o == (plan.Origin{}) {
		return nil
	}
	return &jsonOrigin{Sandbox: o.Sandbox != "", SandboxDir: o.Sandbox, State: o.State}
}

type jsonSummary struct {
	Create    int `json:"create"`
	Replace   int `json:"replace"`
	Republish int `json:"republish"`
	Delete    int `json:"delete"`
	Adopt     int `json:"adopt"`
	Noop      int `json:"noop"`
	Wait      int `json:"wait"`
	Blocked   int `json:"blocked"`
}

type jsonOptions struct {
	Prune      bool     `json:"prune"`
	AllowEmpty bool     `json:"allow_empty"`
	Targets    []string `json:"targets"`
	Replace    []string `json:"replace"`
}

type jsonFingerprints struct {
	Live  string            `json:"live"`
	State string            `json:"state"`
	Keys  map[string]string `json:"keys"`
	Specs map[string]string `json:"specs"`
}

type jsonChange struct {
	Address   string            `json:"address"`
	Kind      string            `json:"kind"`
	Action    string            `json:"action"`
	Reasons   []string          `json:"reasons"`
	CausedBy  string            `json:"caused_by"`
	Blocked   string            `json:"blocked"`
	Wait      bool              `json:"wait"`
	Protected bool              `json:"protected"`
	RemoteID  string            `json:"remote_id"`
	DependsOn []string          `json:"depends_on"`
	Before    map[string]string `json:"before"`
	After     map[string]string `json:"after"`
	Spec      *jsonSpec         `json:"spec"`
}

type jsonSpec struct {
	Added     []string `json:"added"`
	Removed   []string `json:"removed"`
	Changed   []string `json:"changed"`
	Diff      string   `json:"diff"`
	Truncated bool     `json:"truncated"`
	// Breaking is false when existing callers keep working;
	// BreakingChanges says what breaks them otherwise.
	Breaking        bool           `json:"breaking"`
	BreakingChanges []jsonBreaking `json:"breaking_changes"`
}

// nonNil makes an absent list encode as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func addrStrings(as []addr.Address, sorted bool) []string {
	out := make([]string, 0, len(as))
	for _, a := range as {
		out = append(out, string(a))
	}
	if sorted {
		sort.Strings(out)
	}
	return out
}

func addrMap(m map[addr.Address]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[string(k)] = v
	}
	return out
}

func attrs(s *plan.Snapshot) map[string]string {
	if s == nil {
		return nil
	}
	out := make(map[string]string, len(s.Attrs))
	for k, v := range s.Attrs {
		out[k] = v
	}
	return out
}

// toWire converts a plan to its wire form, sorting everything that has no
// inherent order.
func toWire(p *plan.Plan) jsonPlan {
	n := countPlan(p)
	w := jsonPlan{
		FormatVersion: FormatVersion,
		HasChanges:    n.hasChanges(),
		Summary:       jsonSummary(n),
		Options: jsonOptions{
			Prune:      p.Options.Prune,
			AllowEmpty: p.Options.AllowEmpty,
			Targets:    nonNil(sortedCopy(p.Options.Targets)),
			Replace:    nonNil(sortedCopy(p.Options.Replace)),
		},
		// Load order matters to the manifest merge; keep it.
		ManifestFiles: nonNil(relativeToWorkdir(p.ManifestFiles)),
		Fingerprints: jsonFingerprints{
			Live:  p.Fingerprints.Live,
			State: p.Fingerprints.State,
			Keys:  addrMap(p.Fingerprints.Keys),
			Specs: addrMap(p.Fingerprints.Specs),
		},
		Changes:     []jsonChange{},
		Unmanaged:   addrStrings(p.Unmanaged, true),
		MadeAgainst: originWire(p.Origin),
	}
	for _, c := range p.Undeclared {
		w.Undeclared = append(w.Undeclared, string(c.Address))
	}
	sort.Strings(w.Undeclared)
	for _, c := range sortedChanges(p) {
		jc := jsonChange{
			Address:   string(c.Address),
			Kind:      string(kindOf(c)),
			Action:    string(c.Action),
			Reasons:   nonNil(append([]string(nil), c.Reasons...)),
			CausedBy:  string(c.CausedBy),
			Blocked:   c.Blocked,
			Wait:      c.Wait,
			Protected: c.Protected,
			RemoteID:  c.RemoteID,
			DependsOn: addrStrings(c.DependsOn, true),
			Before:    attrs(c.Before),
			After:     attrs(c.After),
		}
		if c.Spec != nil {
			jc.Spec = &jsonSpec{
				Added:     nonNil(sortedCopy(c.Spec.Added)),
				Removed:   nonNil(sortedCopy(c.Spec.Removed)),
				Changed:   nonNil(sortedCopy(c.Spec.Changed)),
				Diff:      c.Spec.UnifiedDiff,
				Truncated: c.Spec.Truncated,

				Breaking:        c.Spec.IsBreaking(),
				BreakingChanges: breakingWire(c.Spec),
			}
		}
		w.Changes = append(w.Changes, jc)
	}
	return w
}

// marshalPlan encodes the wire plan, indented, with a trailing newline and
// without HTML escaping (diffs hold < and > that should stay readable).
func marshalPlan(p *plan.Plan) ([]byte, error) {
	return marshalIndent(toWire(p))
}

func marshalIndent(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("json: encode: %w", err)
	}
	return buf.Bytes(), nil
}

// kindOf is the change's kind, taken from its address when the planner left
// it unset, so the kind always agrees with the address.
func kindOf(c *plan.Change) addr.Kind {
	if c.Kind != "" {
		return c.Kind
	}
	if p, err := addr.Parse(string(c.Address)); err == nil {
		return p.Kind
	}
	return ""
}

// relativeToWorkdir writes manifest paths under the working directory
// relative to it, so a plan saved on one CI runner applies on another whose
// checkout sits elsewhere, and plans carry no home-directory paths.
func relativeToWorkdir(files []string) []string {
	out := make([]string, len(files))
	wd, err := os.Getwd()
	for i, f := range files {
		out[i] = f
		if err != nil || !filepath.IsAbs(f) {
			continue
		}
		if r, rerr := filepath.Rel(wd, f); rerr == nil && r != ".." && !strings.HasPrefix(r, ".."+string(filepath.Separator)) {
			out[i] = filepath.ToSlash(r)
		}
	}
	return out
}
