package view

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/fsutil"
	"github.com/applinkctl/applinkctl/internal/plan"
)

// ErrPlanFileVersion is wrapped by ReadPlanFile when the file was written in
// a format this applinkctl does not read (usually by a newer one).
var ErrPlanFileVersion = errors.New("unsupported plan format_version")

// ErrPlanFileCorrupt is wrapped by ReadPlanFile when the file is not a plan:
// truncated, hand-edited, or not JSON at all.
var ErrPlanFileCorrupt = errors.New("corrupt plan file")

// maxPlanFile bounds what ReadPlanFile reads, so a wrong path (a disk image,
// a log) fails fast instead of filling memory.
const maxPlanFile = 256 << 20

// WritePlanFile saves p for `apply PLANFILE`: the JSON plan (the same wire
// format as `plan --format json`) with the options, manifest files,
// fingerprints and per-change snapshots apply needs to execute exactly what
// was reviewed. The plan model holds no secret and the wire structs have no
// field that could carry one. The file is written atomically (temp file,
// fsync, rename) with mode 0600, so a crash never leaves half a plan.
func WritePlanFile(path string, p *plan.Plan) error {
	if p == nil {
		return fmt.Errorf("plan file %s: no plan to write", path)
	}
	for _, f := range relativeToWorkdir(p.ManifestFiles) {
		if err := checkManifestFile(f); err != nil {
			return fmt.Errorf("plan file %s: manifest %s %w: run plan from a directory that holds every manifest, since apply reads a saved plan's manifests relative to its working directory", path, f, err)
		}
	}
	b, err := marshalPlan(p)
	if err != nil {
		return fmt.Errorf("plan file %s: %w", path, err)
	}
	if err := writeAtomic(path, b); err != nil {
		return fmt.Errorf("plan file %s: %w", path, err)
	}
	return nil
}

func writeAtomic(path string, b []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("create temp file: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if err = f.Chmod(0o600); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	if _, err = f.Write(b); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("close: %w", err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename: %w", err)
	}
	// Persist the rename itself; best effort where directories cannot be synced.
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// ReadPlanFile loads a plan saved by WritePlanFile. Desired and Bundle of
// each change are nil: apply reloads the manifest files the plan names and
// checks their fingerprints before acting. A file of another format_version,
// or one that is not a well-formed plan, is refused with an error wrapping
// ErrPlanFileVersion or ErrPlanFileCorrupt.
//
// The manifests it names must be relative paths inside the working
// directory: a plan naming /etc/shadow or ../../x, or a path through a
// symbolic link that leads outside, is refused before anything is read, so
// that a plan file from an untrusted source cannot make apply read (and
// print) files of the machine it runs on. A named pipe or device given as
// the plan file itself is refused without waiting on it.
func ReadPlanFile(path string) (*plan.Plan, error) {
	b, err := fsutil.ReadFile(path, maxPlanFile)
	var tooLarge *fsutil.TooLargeError
	switch {
	case errors.As(err, &tooLarge):
		return nil, fmt.Errorf("plan file %s: %w: larger than %d bytes", path, ErrPlanFileCorrupt, maxPlanFile)
	case err != nil:
		return nil, fmt.Errorf("plan file %s: %w", path, err)
	}
	p, err := decodePlan(b)
	if err != nil {
		return nil, fmt.Errorf("plan file %s: %w", path, err)
	}
	for i, f := range p.ManifestFiles {
		if err := fsutil.CheckWithin(".", filepath.FromSlash(f)); err != nil {
			return nil, fmt.Errorf("plan file %s: manifest_files[%d] %s %w: a saved plan may name only manifests inside the working directory", path, i, f, err)
		}
	}
	return p, nil
}

// checkManifestFile refuses a manifest path a saved plan may not hold: not
// relative, climbing out with "..", or through a link to outside the
// working directory. The message reads after the path.
func checkManifestFile(f string) error {
	native := filepath.FromSlash(f)
	if !filepath.IsLocal(native) {
		return errors.New("is not a relative path inside the working directory")
	}
	return fsutil.CheckWithin(".", native)
}

// decodePlan checks the version before anything else, so a newer file is
// reported as such rather than as corrupt.
func decodePlan(b []byte) (*plan.Plan, error) {
	var head struct {
		FormatVersion *string `json:"format_version"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		// The decoder's message quotes the offending character: say where
		// instead, so that nothing of a file that is no plan is printed.
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("%w: not a JSON plan: syntax error at byte %d", ErrPlanFileCorrupt, se.Offset)
		}
		return nil, fmt.Errorf("%w: not a JSON plan: %v", ErrPlanFileCorrupt, err)
	}
	if head.FormatVersion == nil {
		return nil, fmt.Errorf("%w: no format_version (not an applinkctl plan?)", ErrPlanFileCorrupt)
	}
	if *head.FormatVersion != FormatVersion {
		return nil, fmt.Errorf("%w %q: this applinkctl reads %q; make the plan again with this version",
			ErrPlanFileVersion, *head.FormatVersion, FormatVersion)
	}
	var w jsonPlan
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPlanFileCorrupt, err)
	}
	return fromWire(w)
}

var validActions = map[plan.Action]bool{
	plan.Create: true, plan.Replace: true, plan.Republish: true,
	plan.Delete: true, plan.Adopt: true, plan.Noop: true,
}

func parseAddr(s, what string) (addr.Address, error) {
	if _, err := addr.Parse(s); err != nil {
		return "", fmt.Errorf("%w: %s: %v", ErrPlanFileCorrupt, what, err)
	}
	return addr.Address(s), nil
}

// fromWire rebuilds the plan model, checking every address and action, so
// apply never acts on a field it does not understand.
func fromWire(w jsonPlan) (*plan.Plan, error) {
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
			return nil, fmt.Errorf("%w: made_against: sandbox is %t but sandbox_dir is %q", ErrPlanFileCorrupt, o.Sandbox, o.SandboxDir)
		}
		p.Origin = plan.Origin{Sandbox: o.SandboxDir, State: o.State}
	}
	for i, f := range p.ManifestFiles {
		if !filepath.IsLocal(filepath.FromSlash(f)) {
			return nil, fmt.Errorf("%w: manifest_files[%d] %q is not a relative path inside the working directory", ErrPlanFileCorrupt, i, f)
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
			return nil, fmt.Errorf("%w: %s: address %s appears twice", ErrPlanFileCorrupt, where, a)
		}
		seen[a] = true
		if k := a.Kind(); jc.Kind != string(k) {
			return nil, fmt.Errorf("%w: %s: kind %q does not match address %s", ErrPlanFileCorrupt, where, jc.Kind, a)
		}
		act := plan.Action(jc.Action)
		if !validActions[act] {
			return nil, fmt.Errorf("%w: %s: unknown action %q", ErrPlanFileCorrupt, where, jc.Action)
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
			breakingFromWire(c.Spec, jc.Spec.BreakingChanges)
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
