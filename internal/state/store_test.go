package state_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/state"
)

// lostReply stores a save and then reports an error, as a connection that
// drops after the commit is sent does.
type lostReply struct {
	state.Backend
	armed bool
}

func (l *lostReply) Save(ctx context.Context, s *state.State) error {
	if !l.armed {
		return l.Backend.Save(ctx, s)
	}
	l.armed = false
	c := s.Clone()
	if err := l.Backend.Save(ctx, c); err != nil {
		return err
	}
	return errors.New("connection reset by peer")
}

// TestStoreSettlesAnUnsureSave: after a save whose reply was lost but which
// was stored, the next update goes on from the stored state instead of
// failing on a conflict with itself.
func TestStoreSettlesAnUnsureSave(t *testing.T) {
	ctx := context.Background()
	b := &lostReply{Backend: open(t, filepath.Join(t.TempDir(), "state.json"), state.OpenOptions{})}
	st, err := state.NewStore(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	add := func(name string) func(*state.State) error {
		return func(s *state.State) error {
			s.Resources[addr.Connection("app", name)] = &state.Resource{Kind: addr.KindConnection, Origin: state.Created, Phase: state.Intent}
			return nil
		}
	}
	if err := st.Update(ctx, add("a")); err != nil {
		t.Fatal(err)
	}
	b.armed = true
	if err := st.Update(ctx, add("b")); err == nil {
		t.Fatal("lost reply not reported")
	}
	if _, ok := st.Snapshot().Resources["app/connection/b"]; ok {
		t.Fatal("an unconfirmed update is in memory")
	}
	if err := st.Update(ctx, add("c")); err != nil {
		t.Fatalf("update after a stored-but-unconfirmed save: %v", err)
	}
	got := load(t, b)
	if got.Serial != 3 || len(got.Resources) != 3 {
		t.Fatalf("stored serial %d with %d resources, want 3 and 3 (a, b, c)", got.Serial, len(got.Resources))
	}
}

// TestStoreUnsureSaveThatDidNotLand: a failed save that was not stored is
// simply retried by the next update.
func TestStoreUnsureSaveThatDidNotLand(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	b := open(t, filepath.Join(t.TempDir(), "state.json"), state.OpenOptions{})
	st, err := state.NewStore(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := st.Update(ctx, func(s *state.State) error { s.Lineage = "x"; return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("update with a cancelled context = %v", err)
	}
	if err := st.Update(context.Background(), func(s *state.State) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if got := load(t, b); got.Serial != 1 {
		t.Fatalf("serial %d", got.Serial)
	}
}
