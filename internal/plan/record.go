package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"github.com/applinkctl/applinkctl/internal/manifest"
)

// InputsDigest is the fingerprint of a desired resource's immutable inputs,
// the ones whose change forces a replacement (or a republish): what
// statedata.Resource.InputsDigest records after apply. desired is a
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
