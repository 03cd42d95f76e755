package state

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// corruptingDest is a destination whose re-read after the import differs
// from what was written, as a backend that loses or alters data would.
type corruptingDest struct{ *fileBackend }

func (d corruptingDest) Load(ctx context.Context) (*State, error) {
	s, err := d.fileBackend.Load(ctx)
	if err == nil && s.Serial != 0 {
		s.Lineage += "-altered"
	}
	return s, err
}

// A migration whose copy does not verify leaves the source unmarked and
// usable.
func TestMigrateFailedVerificationLeavesNoMarker(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src, err := openFile(filepath.Join(dir, "old", "state.json"), true)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := src.Load(ctx)
	s.Resources["acme-api/connection/x"] = &Resource{Kind: "connection", RemoteID: "c-1"}
	if err := src.Save(ctx, s); err != nil {
		t.Fatal(err)
	}
	dst, err := openFile(filepath.Join(dir, "new", "state.json"), false)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Migrate(ctx, src, corruptingDest{dst})
	if err == nil || !strings.Contains(err.Error(), "verify") {
		t.Fatalf("migrate = %v, want a verification failure", err)
	}
	if _, serr := os.Stat(src.marker); !errors.Is(serr, os.ErrNotExist) {
		t.Fatalf("marker left after a failed verification: %v", serr)
	}
	b, err := Open(ctx, src.path, OpenOptions{})
	if err != nil {
		t.Fatalf("the source is no longer usable: %v", err)
	}
	_ = b.Close()
}
