package stateops_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/pipeline/stateops"
	"github.com/applinkctl/applinkctl/internal/state"
)

// seeded writes a file state with one protected authorization and one
// connection, and returns the Locator that names it.
func seeded(t *testing.T) (stateops.Locator, addr.Address, addr.Address) {
	t.Helper()
	ctx := context.Background()
	url := "file://" + filepath.Join(t.TempDir(), "state.json")
	b, err := state.Open(ctx, url, state.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	auth, conn := addr.Authorization("acme-api", "ops"), addr.Connection("acme-api", "prod_org")
	s := &state.State{Resources: map[addr.Address]*state.Resource{
		auth: {Kind: addr.KindAuthorization, RemoteID: "a-1", Phase: state.Applied, Protect: true},
		conn: {Kind: addr.KindConnection, RemoteID: "c-1", Phase: state.Applied},
	}}
	if err := b.Save(ctx, s); err != nil {
		t.Fatal(err)
	}
	return stateops.Locator{URL: url, StateArgs: []string{"--state", url}}, auth, conn
}

func TestListShowAndAddresses(t *testing.T) {
	ctx := context.Background()
	l, auth, conn := seeded(t)
	describe, s, err := stateops.List(ctx, l)
	if err != nil || len(s.Resources) != 2 || !strings.HasPrefix(describe, "file://") {
		t.Fatalf("List = %q, %+v, %v", describe, s, err)
	}
	r, err := stateops.Show(ctx, l, string(conn))
	if err != nil || r.RemoteID != "c-1" {
		t.Fatalf("Show = %+v, %v", r, err)
	}
	if _, err := stateops.Show(ctx, l, "acme-api/connection/nope"); err == nil || !strings.Contains(err.Error(), "is not in state") || !strings.Contains(err.Error(), "2 resources") {
		t.Errorf("Show of a missing address = %v, want it named with the state's size", err)
	}
	if _, err := stateops.Show(ctx, l, "not an address"); err == nil || !strings.HasPrefix(err.Error(), "state show: ") {
		t.Errorf("Show of a bad address = %v", err)
	}
	if got := stateops.Addresses(ctx, l); !slices.Equal(got, []string{string(auth), string(conn)}) {
		t.Errorf("Addresses = %v, want both, sorted", got)
	}
}

// TestUnprotectRecordsItOnce checks that Unprotect clears the flag under
// the lock and records it in the history, and that a second call changes
// nothing and records nothing.
func TestUnprotectRecordsItOnce(t *testing.T) {
	ctx := context.Background()
	l, auth, _ := seeded(t)
	u, err := stateops.Unprotect(ctx, l, string(auth), 0)
	if err != nil || !u.WasProtected {
		t.Fatalf("Unprotect = %+v, %v", u, err)
	}
	if r, err := stateops.Show(ctx, l, string(auth)); err != nil || r.Protect {
		t.Fatalf("after Unprotect: %+v, %v", r, err)
	}
	u, err = stateops.Unprotect(ctx, l, string(auth), 0)
	if err != nil || u.WasProtected {
		t.Fatalf("second Unprotect = %+v, %v; want nothing to do", u, err)
	}
	_, recs, err := stateops.History(ctx, l, 0)
	if err != nil || len(recs) != 1 || recs[0].Operation != "state unprotect "+string(auth) || recs[0].Summary["unprotected"] != 1 {
		t.Fatalf("History = %+v, %v; want one unprotect record", recs, err)
	}
}

// TestUnprotectWhileLockedNamesTheUnlockCommand checks that a held lock is
// refused naming the holder, with the flags that select this state.
func TestUnprotectWhileLockedNamesTheUnlockCommand(t *testing.T) {
	ctx := context.Background()
	l, auth, _ := seeded(t)
	b, err := state.Open(ctx, l.URL, state.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	release, err := b.Lock(ctx, state.NewLockInfo("apply"), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	_, err = stateops.Unprotect(ctx, l, string(auth), 0)
	var le *state.LockedError
	if !errors.As(err, &le) || !strings.Contains(err.Error(), "state unlock") || !strings.Contains(err.Error(), l.URL) {
		t.Fatalf("Unprotect while locked = %v, want the lock error with an unlock command for %s", err, l.URL)
	}
	if r, _ := stateops.Show(ctx, l, string(auth)); r == nil || !r.Protect {
		t.Error("a refused Unprotect changed the record")
	}
}

// TestMigrateAndUndo checks the two ends of state migrate through the
// package: the copy is verified, the old state refused until undone.
func TestMigrateAndUndo(t *testing.T) {
	ctx := context.Background()
	l, _, _ := seeded(t)
	to := "file://" + filepath.Join(t.TempDir(), "new", "state.json")
	m, err := stateops.Migrate(ctx, l, to)
	if err != nil || m.Result.Resources != 2 || m.To != to {
		t.Fatalf("Migrate = %+v, %v", m, err)
	}
	var me *state.MigratedError
	if _, _, err := stateops.List(ctx, l); !errors.As(err, &me) {
		t.Fatalf("List of the migrated state = %v, want a *MigratedError", err)
	}
	if _, _, err := stateops.List(ctx, stateops.Locator{URL: to}); err != nil {
		t.Fatalf("List of the new state: %v", err)
	}
	if _, err := stateops.Migrate(ctx, stateops.Locator{URL: to}, to); err == nil || !strings.Contains(err.Error(), "both") {
		t.Errorf("Migrate onto itself = %v, want it refused", err)
	}
	u, err := stateops.UndoMigration(ctx, l, to)
	if err != nil || u.Migration.To != to {
		t.Fatalf("UndoMigration = %+v, %v", u, err)
	}
	if _, _, err := stateops.List(ctx, l); err != nil {
		t.Fatalf("List after undo: %v", err)
	}
}
