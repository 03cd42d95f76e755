// Package statedata is the data of applinkctl's state: the records of the
// resources it manages, with no storage behind them. Package state stores
// and locks them (a file or PostgreSQL); the planner reads them and apply
// writes them through state, so neither the planner nor these types know
// how state is kept.
package statedata

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/applinkctl/applinkctl/internal/addr"
)

// maxSpecBytes caps a decompressed spec so a corrupt or hostile state cannot
// exhaust memory; AppLink itself refuses specs far smaller than this.
const maxSpecBytes = 64 << 20

// Version is the state format this build writes. A state of a newer version
// is refused, never rewritten.
const Version = 1

// State is applinkctl's record of what it manages (docs/state.md). It holds no
// secret: keys appear only as fingerprints.
type State struct {
	Version   int                        `json:"version"`
	Serial    int64                      `json:"serial"` // incremented on every write; compare-and-swap token
	Lineage   string                     `json:"lineage"`
	Resources map[addr.Address]*Resource `json:"resources"`
}

// Origin says how a resource came under management.
type Origin string

// Origins of managed resources.
const (
	Created Origin = "created" // applinkctl created it
	Adopted Origin = "adopted" // it existed live and applinkctl recorded it
)

// Phase says whether a resource record is settled or an intent of a mutating
// call that may or may not have reached the server.
type Phase string

// Phases of a resource record.
const (
	// Applied: the call's outcome is known and recorded.
	Applied Phase = "applied"
	// Intent: a mutating call (Operation) was about to be made. The next run
	// looks the resource up by name to learn what happened.
	Intent Phase = "intent"
	// Pending: the call was accepted but the resource had not reached a
	// terminal status when the run ended; the next run resumes waiting.
	Pending Phase = "pending"
)

// Resource is the record of one address.
type Resource struct {
	Kind      addr.Kind `json:"kind"`
	RemoteID  string    `json:"remote_id,omitempty"`
	Origin    Origin    `json:"origin"`
	Phase     Phase     `json:"phase"`
	Operation string    `json:"operation,omitempty"` // for intents: create, delete, replace, republish
	Status    string    `json:"status,omitempty"`    // last status seen live

	// InputsDigest is the fingerprint of the applied inputs: type, login_url,
	// JWT client id and username, key fingerprint, target fields or the
	// publication bundle. A change of it against the manifest drives replace
	// or republish.
	InputsDigest   string `json:"inputs_digest,omitempty"`
	KeyFingerprint string `json:"key_fingerprint,omitempty"` // SHA-256 of the public key, never the key
	LoginURL       string `json:"login_url,omitempty"`
	ClientID       string `json:"client_id,omitempty"`
	Username       string `json:"username,omitempty"`
	// Protect mirrors the manifest's protect: true when the resource was
	// last applied, so that prune refuses to delete a protected resource
	// even after its declaration is gone from the manifest.
	Protect bool `json:"protect,omitempty"`

	// Publications only.
	//
	// RemoteName is the esr_name of the registration the last publish made
	// when it is not the client name (the address's name): a live
	// publication is matched by RemoteID (its esr_id), else by this name,
	// else by the client name, never by assuming esr_name and client name
	// equal.
	RemoteName     string `json:"remote_name,omitempty"`
	SpecGzip       []byte `json:"spec_gzip,omitempty"`       // last published spec, gzip
	SpecName       string `json:"spec_name,omitempty"`       // api-spec.json or api-spec.yaml
	MetadataDigest string `json:"metadata_digest,omitempty"` // digest of the metadata files

	UpdatedAt time.Time `json:"updated_at"`
	UpdatedBy string    `json:"updated_by,omitempty"`
}

// Digest is a stable hash of the state content, serial and lineage
// included. A saved plan records it; apply refuses the plan when the state
// it loads has another digest, because the plan was computed from a record
// that no longer holds.
func (s *State) Digest() string {
	c := s.Clone()
	b, err := json.Marshal(c)
	if err != nil { // only unencodable values fail, and State has none
		return "sha256:invalid"
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Clone is a deep copy, so a snapshot handed to a planner cannot be changed
// by the apply goroutines updating the live record. A nil Resources map
// becomes an empty one.
func (s *State) Clone() *State {
	if s == nil {
		return nil
	}
	c := *s
	c.Resources = make(map[addr.Address]*Resource, len(s.Resources))
	for a, r := range s.Resources {
		if r == nil {
			continue
		}
		rc := *r
		if r.SpecGzip != nil {
			rc.SpecGzip = append([]byte(nil), r.SpecGzip...)
		}
		c.Resources[a] = &rc
	}
	return &c
}

// CompressSpec gzips a published spec for Resource.SpecGzip. The output is
// deterministic (no name or time in the header) so equal specs give equal
// state and equal digests.
func CompressSpec(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // the level is valid
	_, _ = zw.Write(b)                                       // writes to a bytes.Buffer do not fail
	_ = zw.Close()
	return buf.Bytes()
}

// DecompressSpec reverses CompressSpec, refusing output over 64 MiB.
func DecompressSpec(b []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("state: spec: %w", err)
	}
	defer zr.Close()
	out, err := io.ReadAll(io.LimitReader(zr, maxSpecBytes+1))
	if err != nil {
		return nil, fmt.Errorf("state: spec: %w", err)
	}
	if len(out) > maxSpecBytes {
		return nil, fmt.Errorf("state: spec: larger than %d bytes decompressed", maxSpecBytes)
	}
	return out, nil
}
