// Package planfile reads and writes saved plans, the files `plan --out`
// writes and `apply PLANFILE` executes. A saved plan is a versioned format
// of its own (the structs of v1.go), apart from the plan's renderings in
// internal/view; format version 1 is byte for byte the JSON plan `plan
// --format json` prints (docs/plan-format.md), with the options, manifest
// files and fingerprints apply needs to execute exactly what was reviewed.
// Reading validates every field, since apply decides from it what to
// create and delete.
package planfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/applinkctl/applinkctl/internal/fsutil"
	"github.com/applinkctl/applinkctl/internal/plan"
)

// FormatVersion is the format_version of the saved plans this build writes
// and reads. It changes only when a field is removed or changes meaning;
// adding a field keeps it.
const FormatVersion = "1"

// ErrVersion is wrapped by Read when the file was written in a format this
// applinkctl does not read (usually by a newer one).
var ErrVersion = errors.New("unsupported plan format_version")

// ErrCorrupt is wrapped by Read when the file is not a plan: truncated,
// hand-edited, or not JSON at all.
var ErrCorrupt = errors.New("corrupt plan file")

// maxPlanFile bounds what Read reads, so a wrong path (a disk image,
// a log) fails fast instead of filling memory.
const maxPlanFile = 256 << 20

// Write saves p for `apply PLANFILE`: the JSON plan (format version 1, the
// same bytes as `plan --format json`) with the options, manifest files,
// fingerprints and per-change snapshots apply needs to execute exactly what
// was reviewed. The plan model holds no secret and the wire structs have no
// field that could carry one. The file is written atomically (temp file,
// fsync, rename) with mode 0600, so a crash never leaves half a plan.
func Write(path string, p *plan.Plan) error {
	if p == nil {
		return fmt.Errorf("plan file %s: no plan to write", path)
	}
	for _, f := range fsutil.RelativeToWorkdir(p.ManifestFiles) {
		if err := checkManifestFile(f); err != nil {
			return fmt.Errorf("plan file %s: manifest %s %w: run plan from a directory that holds every manifest, since apply reads a saved plan's manifests relative to its working directory", path, f, err)
		}
	}
	b, err := Marshal(p)
	if err != nil {
		return fmt.Errorf("plan file %s: %w", path, err)
	}
	if err := fsutil.WriteFileAtomic(path, b, 0o600); err != nil {
		return fmt.Errorf("plan file %s: %w", path, err)
	}
	return nil
}

// Marshal is p in format version 1: what Write saves and what
// `plan --format json` prints, indented, with a trailing newline and
// without HTML escaping (diffs hold < and > that should stay readable).
func Marshal(p *plan.Plan) ([]byte, error) {
	return marshalIndent(encodeV1(p))
}

// Read loads a plan saved by Write. Desired and Bundle of
// each change are nil: apply reloads the manifest files the plan names and
// checks their fingerprints before acting. A file of another format_version,
// or one that is not a well-formed plan, is refused with an error wrapping
// ErrVersion or ErrCorrupt.
//
// The manifests it names must be relative paths inside the working
// directory: a plan naming /etc/shadow or ../../x, or a path through a
// symbolic link that leads outside, is refused before anything is read, so
// that a plan file from an untrusted source cannot make apply read (and
// print) files of the machine it runs on. A named pipe or device given as
// the plan file itself is refused without waiting on it.
func Read(path string) (*plan.Plan, error) {
	b, err := fsutil.ReadFile(path, maxPlanFile)
	var tooLarge *fsutil.TooLargeError
	switch {
	case errors.As(err, &tooLarge):
		return nil, fmt.Errorf("plan file %s: %w: larger than %d bytes", path, ErrCorrupt, maxPlanFile)
	case err != nil:
		return nil, fmt.Errorf("plan file %s: %w", path, err)
	}
	p, err := decode(b)
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

// decode checks the version before anything else, so a newer file is
// reported as such rather than as corrupt.
func decode(b []byte) (*plan.Plan, error) {
	var head struct {
		FormatVersion *string `json:"format_version"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		// The decoder's message quotes the offending character: say where
		// instead, so that nothing of a file that is no plan is printed.
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("%w: not a JSON plan: syntax error at byte %d", ErrCorrupt, se.Offset)
		}
		return nil, fmt.Errorf("%w: not a JSON plan: %v", ErrCorrupt, err)
	}
	if head.FormatVersion == nil {
		return nil, fmt.Errorf("%w: no format_version (not an applinkctl plan?)", ErrCorrupt)
	}
	if *head.FormatVersion != FormatVersion {
		return nil, fmt.Errorf("%w %q: this applinkctl reads %q; make the plan again with this version",
			ErrVersion, *head.FormatVersion, FormatVersion)
	}
	var w v1Plan
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return w.plan()
}

// marshalIndent encodes v indented, with a trailing newline and without
// HTML escaping (diffs hold < and > that should stay readable).
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
