package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/applinkctl/applinkctl/internal/manifest"
	"github.com/applinkctl/applinkctl/internal/state"
)

// InputsDigest is the fingerprint of a desired resource's immutable inputs,
// the ones whose change forces a replacement (or a republish): what
// state.Resource.InputsDigest records after apply. desired is a
// *manifest.Connection, *manifest.Authorization, *manifest.Target,
// *manifest.Publication (its bundle is built) or *manifest.Bundle; anything
// else, or a publication whose files cannot be read, gives "".
func InputsDigest(desired any) string {
	var v any
	switch d := desired.(type) {
	case *manifest.Connection:
		v = struct {
			Kind, Type, LoginURL string
			JWT                  *jwtInputs
		}{"connection", string(d.Type), normLoginURL(d.LoginURL), jwtOf(d.JWT)}
	case *manifest.Authorization:
		alias := ""
		if d.JWT != nil {
			alias = d.Alias
		}
		v = struct {
			Kind, Type, LoginURL, Alias string
			JWT                         *jwtInputs
		}{"authorization", string(d.Type), normLoginURL(d.LoginURL), alias, jwtOf(d.JWT)}
	case *manifest.Target:
		v = struct{ Kind, Label, APIName, TargetEndpoint, Type string }{"target", d.Label, d.APIName, d.TargetEndpoint, d.Type}
	case *manifest.Bundle:
		if d == nil {
			return ""
		}
		return d.Digest
	case *manifest.Publication:
		b, err := manifest.BuildBundle(d)
		if err != nil {
			return ""
		}
		return b.Digest
	default:
		return ""
	}
	b, _ := json.Marshal(v) // strings only: cannot fail
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

type jwtInputs struct{ ClientID, Username, KeyFingerprint string }

func jwtOf(j *manifest.JWT) *jwtInputs {
	if j == nil {
		return nil
	}
	return &jwtInputs{j.ClientID, j.Username, j.KeyFingerprint}
}

// keyFingerprint is the fingerprint of a desired resource's JWT key, or "".
func keyFingerprint(desired any) string {
	switch d := desired.(type) {
	case *manifest.Connection:
		if d.JWT != nil {
			return d.JWT.KeyFingerprint
		}
	case *manifest.Authorization:
		if d.JWT != nil {
			return d.JWT.KeyFingerprint
		}
	}
	return ""
}

// RecordFor builds the state record apply writes once c succeeded, with the
// live remoteID and status it ended in. It holds what later plans compare
// with (the inputs digest, login_url, client id, username, key fingerprint;
// for publications the spec, gzipped, and the metadata digest) and never a
// secret. UpdatedBy is left for the caller. A delete has no record: nil.
func RecordFor(c *Change, remoteID, status string) *state.Resource {
	if c == nil || c.Action == Delete {
		return nil
	}
	r := &state.Resource{
		Kind:      c.Kind,
		RemoteID:  remoteID,
		Origin:    state.Created,
		Phase:     state.Applied,
		Status:    status,
		UpdatedAt: time.Now().UTC(),
	}
	if c.Action == Adopt && !c.Resumed {
		r.Origin = state.Adopted
	}
	switch d := c.Desired.(type) {
	case *manifest.Connection:
		r.InputsDigest = InputsDigest(d)
		r.LoginURL = d.LoginURL
		r.Protect = d.Protect
		if d.JWT != nil {
			r.ClientID, r.Username, r.KeyFingerprint = d.JWT.ClientID, d.JWT.Username, d.JWT.KeyFingerprint
		}
	case *manifest.Authorization:
		r.InputsDigest = InputsDigest(d)
		r.LoginURL = d.LoginURL
		r.Protect = d.Protect
		if d.JWT != nil {
			r.ClientID, r.Username, r.KeyFingerprint = d.JWT.ClientID, d.JWT.Username, d.JWT.KeyFingerprint
		}
	case *manifest.Target:
		r.InputsDigest = InputsDigest(d)
	case *manifest.Publication:
		b := c.Bundle
		if b == nil {
			var err error
			if b, err = manifest.BuildBundle(d); err != nil {
				return r // the digest stays empty: the next plan republishes
			}
		}
		r.InputsDigest = b.Digest
		r.SpecGzip = state.CompressSpec(b.Spec)
		r.SpecName = b.SpecName
		r.MetadataDigest = b.MetadataDigest
	}
	return r
}
