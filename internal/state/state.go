package state

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/applinkctl/applinkctl/internal/addr"
)

// VersionError is returned when stored state was written by a newer
// applinkctl. Such state is never rewritten: an older build would drop what
// it does not understand.
type VersionError struct {
	Where     string // the backend's description
	Found     int
	Supported int
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("state %s: format version %d is newer than this build supports (%d); upgrade applinkctl", e.Where, e.Found, e.Supported)
}

// CorruptError is returned when stored state cannot be read. The stored
// copy is left alone so a person can inspect and repair it.
type CorruptError struct {
	Where string
	Err   error
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("state %s: unreadable, left untouched: %v", e.Where, e.Err)
}
func (e *CorruptError) Unwrap() error { return e.Err }

// ConflictError is Save's compare-and-swap failure: someone wrote the state
// after it was loaded. Overwriting would lose their update, so the writer
// must reload and redo its change.
type ConflictError struct {
	Where    string
	Expected int64 // the serial the writer loaded
	Found    int64 // the serial stored now
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("state %s: changed concurrently (loaded serial %d, stored serial %d); reload and retry", e.Where, e.Expected, e.Found)
}

// newEmpty is the state of a backend that holds nothing yet. Its lineage is
// derived from the backend's identity rather than drawn at random so that a
// plan saved against empty state is not judged stale by the apply that loads
// the same empty state in another process.
func newEmpty(identity string) *State {
	sum := sha256.Sum256([]byte("applinkctl-lineage\x00" + identity))
	return &State{Version: Version, Lineage: hex.EncodeToString(sum[:16]), Resources: map[addr.Address]*Resource{}}
}

// decode parses stored state, refusing newer versions and garbage.
func decode(where string, b []byte) (*State, error) {
	var probe struct {
		Version *int `json:"version"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, &CorruptError{Where: where, Err: err}
	}
	if probe.Version == nil || *probe.Version < 1 {
		return nil, &CorruptError{Where: where, Err: errors.New("no format version")}
	}
	if *probe.Version > Version {
		return nil, &VersionError{Where: where, Found: *probe.Version, Supported: Version}
	}
	var s State
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&s); err != nil {
		return nil, &CorruptError{Where: where, Err: err}
	}
	if s.Lineage == "" {
		return nil, &CorruptError{Where: where, Err: errors.New("no lineage")}
	}
	for a, r := range s.Resources {
		if r == nil {
			return nil, &CorruptError{Where: where, Err: fmt.Errorf("resource %s: empty record", a)}
		}
	}
	if s.Resources == nil {
		s.Resources = map[addr.Address]*Resource{}
	}
	return &s, nil
}

// encode is the stored form: indented JSON with sorted keys (maps marshal
// sorted), so state files diff well and two writes of one state are equal.
func encode(s *State) ([]byte, error) {
	c := s.Clone()
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("state: encode: %w", err)
	}
	return append(b, '\n'), nil
}
