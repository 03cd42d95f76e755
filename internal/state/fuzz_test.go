package state_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/applinkctl/applinkctl/internal/state"
)

// FuzzLoadStateFile feeds arbitrary bytes to the file backend as stored
// state (prune trusts it as the inventory of what applinkctl owns): it must
// never panic, must refuse garbage with a *CorruptError or a newer version
// with a *VersionError, and a state it accepts must have a usable record
// for every address and decompress (or refuse) every stored spec.
func FuzzLoadStateFile(f *testing.F) {
	f.Add([]byte(`{"version":1,"lineage":"abc","serial":3,"resources":{"a/connection/x":{"kind":"connection","origin":"created","phase":"done","remote_id":"1","updated_at":"2026-01-01T00:00:00Z"}}}`))
	f.Add([]byte(`{"version":1,"lineage":"abc","resources":{"a/connection/x/publication/P":{"kind":"publication","spec_gzip":"H4sIAAAAAAAC/8tIzcnJBwCGphA2BQAAAA=="}}}`))
	f.Add([]byte(`{"version":99,"lineage":"abc"}`))
	f.Add([]byte(`{"version":1,"lineage":"abc","resources":{"x":null}}`))
	f.Add([]byte(`{"version":0}`))
	f.Add([]byte(`null`))
	f.Add([]byte("\x1f\x8b\x08"))
	dir := f.TempDir()
	p := filepath.Join(dir, "state.json")
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		b, err := state.Open(ctx, "file://"+p, state.OpenOptions{})
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		defer b.Close()
		s, err := b.Load(ctx)
		if err != nil {
			var ce *state.CorruptError
			var ve *state.VersionError
			if !errors.As(err, &ce) && !errors.As(err, &ve) {
				t.Fatalf("refusal %T %q is neither a *CorruptError nor a *VersionError", err, err)
			}
			return
		}
		if s == nil || s.Resources == nil {
			t.Fatal("accepted state without a resource map")
		}
		for a, r := range s.Resources {
			if r == nil {
				t.Fatalf("%s: nil record accepted", a)
			}
			if len(r.SpecGzip) > 0 {
				_, _ = state.DecompressSpec(r.SpecGzip) // bounded; an error is fine
			}
		}
		_ = s.Digest()
		_ = s.Clone()
	})
}
