package manifest

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"time"
)

// Bundle is what publishing uploads for a publication (docs/api.md, "Which
// command sends what"), built deterministically (entries sorted, fixed
// modification times) so its digest is stable across runs and machines and the
// planner can tell a changed publication from an unchanged one by comparing
// digests.
type Bundle struct {
	Zip            []byte
	Digest         string   // "sha256:<hex>" over spec bytes, metadata files (name+bytes) and the names (client name, permission set, external client app, connected app)
	Spec           []byte   // the spec file bytes as uploaded
	SpecName       string   // api-spec.json or api-spec.yaml
	MetadataDigest string   // "sha256:<hex>" over metadata files, "" when none
	Operations     []string // "GET /orders", sorted, from kin-openapi
}

// bundleTime is the modification time of every zip entry: fixed, so the
// same inputs give the same bytes anywhere.
var bundleTime = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// BuildBundle reads a publication's spec and metadata files and builds the
// upload. It reads the files again rather than trusting Load's earlier
// read, so that apply can detect a spec changed since the plan.
func BuildBundle(p *Publication) (*Bundle, error) {
	if p == nil {
		return nil, fmt.Errorf("bundle: nil publication")
	}
	name, ok := specName(p.SpecFile)
	if !ok {
		return nil, fmt.Errorf("bundle %s: spec %s must end in .json, .yaml or .yml", p.Address(), p.SpecFile)
	}
	spec, err := readLimited(p.SpecFile, defaultMaxFileSize)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: spec %s: %w", p.Address(), p.SpecFile, err)
	}
	ops, err := Operations(spec)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: spec %s: %w", p.Address(), p.SpecFile, err)
	}
	type entry struct {
		name string
		data []byte
	}
	var meta []entry // in name order: connectedapp-meta.xml < permissionset-meta.xml
	if p.MetadataDir != "" {
		for _, n := range []string{connectedAppMeta, permissionSetMeta} {
			data, err := readIn(p.MetadataDir, n, defaultMaxFileSize)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("bundle %s: metadata %s: %w", p.Address(), n, err)
			}
			meta = append(meta, entry{n, data})
		}
	}
	entries := append([]entry{{name, spec}}, meta...)
	sortEntries := func(es []entry) {
		for i := 1; i < len(es); i++ {
			for j := i; j > 0 && es[j].name < es[j-1].name; j-- {
				es[j], es[j-1] = es[j-1], es[j]
			}
		}
	}
	sortEntries(entries)

	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: bundleTime}
		h.SetMode(0o644)
		w, err := zw.CreateHeader(h)
		if err != nil {
			return nil, fmt.Errorf("bundle %s: zip: %w", p.Address(), err)
		}
		if _, err := w.Write(e.data); err != nil {
			return nil, fmt.Errorf("bundle %s: zip: %w", p.Address(), err)
		}
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("bundle %s: zip: %w", p.Address(), err)
	}

	b := &Bundle{Zip: buf.Bytes(), Spec: spec, SpecName: name, Operations: ops}
	if len(meta) > 0 {
		mh := sha256.New()
		for _, e := range meta {
			writeField(mh, []byte(e.name))
			writeField(mh, e.data)
		}
		b.MetadataDigest = "sha256:" + hex.EncodeToString(mh.Sum(nil))
	}
	dh := sha256.New()
	writeField(dh, []byte("applinkctl-bundle-v1"))
	writeField(dh, []byte(name))
	writeField(dh, spec)
	writeField(dh, []byte(fmt.Sprint(len(meta))))
	for _, e := range meta {
		writeField(dh, []byte(e.name))
		writeField(dh, e.data)
	}
	for _, s := range []string{p.ClientName, p.PermissionSet, p.ExternalClientApp, p.ConnectedApp} {
		writeField(dh, []byte(s))
	}
	b.Digest = "sha256:" + hex.EncodeToString(dh.Sum(nil))
	return b, nil
}

// writeField writes a length-prefixed field so that no two different
// sequences of fields hash the same. It takes bytes, so that a 10 MB spec
// is hashed where it lies rather than copied twice (to a string and back).
func writeField(h hash.Hash, b []byte) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(b)))
	h.Write(n[:])
	h.Write(b)
}
