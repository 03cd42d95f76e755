package state

import "github.com/applinkctl/applinkctl/internal/statedata"

// The records of state are plain data of their own package, statedata, so
// that the planner can read them without importing the backends; these
// aliases keep them under the names the rest of the code uses.

// Version is the state format this build writes. A state of a newer version
// is refused, never rewritten.
const Version = statedata.Version

// State is applinkctl's record of what it manages; see statedata.State.
type State = statedata.State

// Origin says how a resource came under management.
type Origin = statedata.Origin

// Origins of managed resources.
const (
	Created = statedata.Created // applinkctl created it
	Adopted = statedata.Adopted // it existed live and applinkctl recorded it
)

// Phase says whether a resource record is settled or an intent of a mutating
// call that may or may not have reached the server.
type Phase = statedata.Phase

// Phases of a resource record; see statedata.Applied and the others.
const (
	Applied = statedata.Applied
	Intent  = statedata.Intent
	Pending = statedata.Pending
)

// Resource is the record of one address; see statedata.Resource.
type Resource = statedata.Resource

// CompressSpec gzips a published spec for Resource.SpecGzip, deterministically.
func CompressSpec(b []byte) []byte { return statedata.CompressSpec(b) }

// DecompressSpec reverses CompressSpec, refusing output over 64 MiB.
func DecompressSpec(b []byte) ([]byte, error) { return statedata.DecompressSpec(b) }
