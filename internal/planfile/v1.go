package planfile

import (
	"fmt"
	"path/filepath"
	"sort"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/fsutil"
	"github.com/applinkctl/applinkctl/internal/plan"
	"github.com/applinkctl/applinkctl/internal/specdiff"
)

// The structs of format version 1. Every field is always present (empty
// lists as [], absent snapshots as null), as in the JSON plan they equal
// today; a new version gets structs of its own, so that what older files
// hold stays readable however the renderings change.

// v1Plan is a saved plan of format version 1.
type v1Plan struct {
	FormatVersion string         `json:"format_version"`
	HasChanges    bool           `json:"has_changes"`
	Summary       v1Summary      `json:"summary"`
	Options       v1Options      `json:"options"`
	ManifestFiles []string       `json:"manifest_files"`
	Fingerprints  v1Fingerprints `json:"fingerprints"`
	Changes       []v1Change     `json:"changes"`
	Unmanaged     []string       `json:"unmanaged"`
	Undeclared    []string       `json:"undeclared,omitempty"`
	// MadeAgainst is what the plan was made against; apply PLANFILE
	// refuses a plan made in the sandbox outside it and the other way round.
	MadeAgainst *v1Origin `json:"made_against"`
}

// v1Origin is plan.Origin on the wire; made_against is null when the plan
// says nothing (one not made by the CLI).
type v1Origin struct {
	Sandbox    bool   `json:"sandbox"`
	SandboxDir string `json:"sandbox_dir"`
	State      string `json:"state"`
}

type v1Summary struct {
	Create    int `json:"create"`
	Replace   int `json:"replace"`
	Republish int `json:"republish"`
	Delete    int `json:"delete"`
	Adopt     int `json:"adopt"`
	Noop      int `json:"noop"`
	Wait      int `json:"wait"`
	Blocked   int `json:"blocked"`
}

type v1Options struct {
	Prune      bool     `json:"prune"`
	AllowEmpty bool     `json:"allow_empty"`
	Targets    []string `json:"targets"`
	Replace    []string `json:"replace"`
}

type v1Fingerprints struct {
	Live  string            `json:"live"`
	State string            `json:"state"`
	Keys  map[string]string `json:"keys"`
	Specs map[string]string `json:"specs"`
}

type v1Change struct {
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
	Spec      *v1Spec           `json:"spec"`
}

type v1Spec struct {
	Added     []string `json:"added"`
	Removed   []string `json:"removed"`
	Changed   []string `json:"changed"`
	Diff      string   `json:"diff"`
	Truncated bool     `json:"truncated"`
	// Breaking is false when existing callers keep working;
	// BreakingChanges says what breaks them otherwise.
	Breaking        bool         `json:"breaking"`
	BreakingChanges []v1Breaking `json:"breaking_changes"`
}

// v1Breaking is one breaking change of a spec.
type v1Breaking struct {
	ID        string `json:"id"`
	Operation string `json:"operation"`
	Message   string `json:"message"`
	File      string `json:"file"`
	Line      int    `json:"line"`
	Column    int    `json:"column"`
}

func originV1(o plan.Origin) *v1Origin {
	if o == (plan.Origin{}) {
		return nil
	}
	return &v1Origin{Sandbox: o.Sandbox != "", SandboxDir: o.Sandbox, State: o.State}
}

// summaryV1 is the plan's counts on the wire.
func summaryV1(n plan.Counts) v1Summary {
	return v1Summary{Create: n.Create, Replace: n.Replace, Republish: n.Republish, Delete: n.Delete,
		Adopt: n.Adopt, Noop: n.Noop, Wait: n.Wait, Blocked: n.Blocked}
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

// breakingV1 is the breaking changes of a spec, each naming the spec file
// as a reviewer finds it in the repository.
func breakingV1(s *plan.SpecChange) []v1Breaking {
	out := make([]v1Breaking, 0, len(s.Breaking))
	file := ""
	if s.File != "" {
		file = fsutil.RelativeToWorkdir([]string{s.File})[0]
	}
	for _, c := range s.Breaking {
		out = append(out, v1Breaking{ID: c.ID, Operation: c.Operation, Message: c.Message,
			File: file, Line: c.Line, Column: c.Column})
	}
	return out
}

// breakingFromV1 reads the breaking changes of a saved plan back; their
// file is the spec's, the same for all.
func breakingFromV1(s *plan.SpecChange, bs []v1Breaking) {
	for _, b := range bs {
		s.File = b.File
		s.Breaking = append(s.Breaking, specdiff.Change{ID: b.ID, Operation: b.Operation, Message: b.Message, Line: b.Line, Column: b.Column})
	}
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

// encodeV1 converts a plan to format version 1, sorting everything that
// has no inherent order.
func encodeV1(p *plan.Plan) v1Plan {
	n := p.Counts()
	w := v1Plan{
		FormatVersion: FormatVersion,
		HasChanges:    n.Actionable(),
		Summary:       summaryV1(n),
		Options: v1Options{
			Prune:      p.Options.Prune,
			AllowEmpty: p.Options.AllowEmpty,
			Targets:    nonNil(sortedCopy(p.Options.Targets)),
			Replace:    nonNil(sortedCopy(p.Options.Replace)),
		},
		// Load order matters to the manifest merge; keep it.
		ManifestFiles: nonNil(fsutil.RelativeToWorkdir(p.ManifestFiles)),
		Fingerprints: v1Fingerprints{
			Live:  p.Fingerprints.Live,
			State: p.Fingerprints.State,
			Keys:  addrMap(p.Fingerprints.Keys),
			Specs: addrMap(p.Fingerprints.Specs),
		},
		Changes:     []v1Change{},
		Unmanaged:   addrStrings(p.Unmanaged, true),
		MadeAgainst: originV1(p.Origin),
	}
	for _, c := range p.Undeclared {
		w.Undeclared = append(w.Undeclared, string(c.Address))
	}
	sort.Strings(w.Undeclared)
	for _, c := range p.SortedChanges() {
		jc := v1Change{
			Address:   string(c.Address),
			Kind:      string(c.ResourceKind()),
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
			jc.Spec = &v1Spec{
				Added:     nonNil(sortedCopy(c.Spec.Added)),
				Removed:   nonNil(sortedCopy(c.Spec.Removed)),
				Changed:   nonNil(sortedCopy(c.Spec.Changed)),
				Diff:      c.Spec.UnifiedDiff,
				Truncated: c.Spec.Truncated,

				Breaking:        c.Spec.IsBreaking(),
				BreakingChanges: breakingV1(c.Spec),
			}
		}
		w.Changes = append(w.Changes, jc)
	}
	return w
}

var validActions = map[plan.Action]bool{
	plan.Create: true, plan.Replace: true, plan.Republish: true,
	plan.Delete: true, plan.Adopt: true, plan.Noop: true,
}

func parseAddr(s, what string) (addr.Address, error) {
	if _, err := addr.Parse(s); err != nil {
		return "", fmt.Errorf("%w: %s: %v", ErrCorrupt, what, err)
	}
	return addr.Address(s), nil
}

// plan rebuilds the plan model, checking every address and action, so
// apply never acts on a field it does not understand.
func (w v1Plan) plan() (*plan.Plan, error) {
	p := &plan.Plan{
		Options: plan.Options{
			Prune:      w.Options.Prune,
			AllowEmpty: w.Options.AllowEmpty,
			Targets:    nilIfEmpty(w.Options.Targets),
			Replace:    nilIfEmpty(w.Options.Replace),
		},
		ManifestFiles: nilIfEmpty(w.ManifestFiles),
		Fingerprints: plan.Fingerprints{
			Live:  w.Fingerprints.Live,
			State: w.Fingerprints.State,
		},
	}
	if o := w.MadeAgainst; o != nil {
		if o.Sandbox != (o.SandboxDir != "") {
			return nil, fmt.Errorf("%w: made_against: sandbox is %t but sandbox_dir is %q", ErrCorrupt, o.Sandbox, o.SandboxDir)
		}
		p.Origin = plan.Origin{Sandbox: o.SandboxDir, State: o.State}
	}
	for i, f := range p.ManifestFiles {
		if !filepath.IsLocal(filepath.FromSlash(f)) {
			return nil, fmt.Errorf("%w: manifest_files[%d] %q is not a relative path inside the working directory", ErrCorrupt, i, f)
		}
	}
	var err error
	if p.Fingerprints.Keys, err = addrMapFrom(w.Fingerprints.Keys, "fingerprints.keys"); err != nil {
		return nil, err
	}
	if p.Fingerprints.Specs, err = addrMapFrom(w.Fingerprints.Specs, "fingerprints.specs"); err != nil {
		return nil, err
	}
	seen := map[addr.Address]bool{}
	for i, jc := range w.Changes {
		where := fmt.Sprintf("changes[%d]", i)
		a, err := parseAddr(jc.Address, where+".address")
		if err != nil {
			return nil, err
		}
		if seen[a] {
			return nil, fmt.Errorf("%w: %s: address %s appears twice", ErrCorrupt, where, a)
		}
		seen[a] = true
		if k := a.Kind(); jc.Kind != string(k) {
			return nil, fmt.Errorf("%w: %s: kind %q does not match address %s", ErrCorrupt, where, jc.Kind, a)
		}
		act := plan.Action(jc.Action)
		if !validActions[act] {
			return nil, fmt.Errorf("%w: %s: unknown action %q", ErrCorrupt, where, jc.Action)
		}
		c := &plan.Change{
			Address:   a,
			Kind:      addr.Kind(jc.Kind),
			Action:    act,
			Reasons:   nilIfEmpty(jc.Reasons),
			Blocked:   jc.Blocked,
			Wait:      jc.Wait,
			Protected: jc.Protected,
			RemoteID:  jc.RemoteID,
		}
		if jc.CausedBy != "" {
			if c.CausedBy, err = parseAddr(jc.CausedBy, where+".caused_by"); err != nil {
				return nil, err
			}
		}
		for j, d := range jc.DependsOn {
			da, err := parseAddr(d, fmt.Sprintf("%s.depends_on[%d]", where, j))
			if err != nil {
				return nil, err
			}
			c.DependsOn = append(c.DependsOn, da)
		}
		if jc.Before != nil {
			c.Before = &plan.Snapshot{Attrs: jc.Before}
		}
		if jc.After != nil {
			c.After = &plan.Snapshot{Attrs: jc.After}
		}
		if jc.Spec != nil {
			c.Spec = &plan.SpecChange{
				Added:       nilIfEmpty(jc.Spec.Added),
				Removed:     nilIfEmpty(jc.Spec.Removed),
				Changed:     nilIfEmpty(jc.Spec.Changed),
				UnifiedDiff: jc.Spec.Diff,
				Truncated:   jc.Spec.Truncated,
			}
			breakingFromV1(c.Spec, jc.Spec.BreakingChanges)
		}
		p.Changes = append(p.Changes, c)
	}
	for i, u := range w.Unmanaged {
		a, err := parseAddr(u, fmt.Sprintf("unmanaged[%d]", i))
		if err != nil {
			return nil, err
		}
		p.Unmanaged = append(p.Unmanaged, a)
	}
	for i, u := range w.Undeclared {
		a, err := parseAddr(u, fmt.Sprintf("undeclared[%d]", i))
		if err != nil {
			return nil, err
		}
		p.Undeclared = append(p.Undeclared, &plan.Change{Address: a, Kind: a.Kind(), Action: plan.Delete})
	}
	return p, nil
}

func addrMapFrom(m map[string]string, what string) (map[addr.Address]string, error) {
	if len(m) == 0 {
		return nil, nil
	}
	out := make(map[addr.Address]string, len(m))
	for k, v := range m {
		a, err := parseAddr(k, what)
		if err != nil {
			return nil, err
		}
		out[a] = v
	}
	return out, nil
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return append([]string(nil), s...)
}
