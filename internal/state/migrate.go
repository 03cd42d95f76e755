package state

import (
	"context"
	"fmt"
	"time"
)

// importer writes a state exactly as given (serial and lineage kept) into a
// backend that holds none, so a migrated copy has the source's digest.
type importer interface {
	importState(ctx context.Context, s *State) error
}

// MigrateResult says what Migrate copied.
type MigrateResult struct {
	Serial    int64
	Resources int
	History   int    // records copied
	Digest    string // of the state, equal in source and destination
	Unchanged bool   // the destination already held this very state; nothing copied
	// Already is the source's marker when an earlier run migrated it to
	// this very destination: nothing was done.
	Already *Migration
}

// Migrate copies the state and its history from one backend to another,
// holding both locks, then re-reads the destination and compares digests.
// The destination must hold no state, or exactly the source's (a rerun
// after success), so nothing is ever overwritten. Once the copy is
// verified, and only then, the source is marked as migrated (Migration),
// still under its lock: from then on every command that opens it is
// refused with a *MigratedError naming the destination. from must be
// opened with OpenOptions.IgnoreMigrated, so that a rerun can say where
// the state already went.
func Migrate(ctx context.Context, from, to Backend) (MigrateResult, error) {
	var res MigrateResult
	imp, ok := to.(importer)
	if !ok {
		return res, fmt.Errorf("state migrate: %s cannot receive a migrated state", to.Describe())
	}
	mk, ok := from.(marker)
	if !ok {
		return res, fmt.Errorf("state migrate: %s cannot be marked as migrated", from.Describe())
	}
	// Look before locking: taking a file lock creates the state directory,
	// which a migrate from an empty place should not leave behind.
	if pre, err := from.Load(ctx); err != nil {
		return res, fmt.Errorf("state migrate: %w", err)
	} else if pre.Serial == 0 {
		return res, fmt.Errorf("state migrate: source %s holds no state", from.Describe())
	}
	started := time.Now().UTC()
	info := NewLockInfo("migrate")
	relFrom, err := from.Lock(ctx, info, 0)
	if err != nil {
		return res, fmt.Errorf("state migrate: source %s: %w", from.Describe(), err)
	}
	defer relFrom()
	// Under the source lock, so that two migrations cannot both pass.
	if m, err := mk.migrated(ctx); err != nil {
		return res, fmt.Errorf("state migrate: %w", err)
	} else if m != nil {
		if m.To == to.Describe() {
			res.Already, res.Serial, res.Digest = m, m.Serial, m.Digest
			return res, nil
		}
		return res, fmt.Errorf("state migrate: %s was already migrated to %s (serial %d); refusing to migrate it again to %s: use the new state, or undo the migration first (applinkctl state migrate --undo --to URL)",
			from.Describe(), m.To, m.Serial, to.Describe())
	}
	relTo, err := to.Lock(ctx, NewLockInfo("migrate"), 0)
	if err != nil {
		return res, fmt.Errorf("state migrate: destination %s: %w", to.Describe(), err)
	}
	defer relTo()

	src, err := from.Load(ctx)
	if err != nil {
		return res, fmt.Errorf("state migrate: %w", err)
	}
	res.Serial, res.Resources, res.Digest = src.Serial, len(src.Resources), src.Digest()
	if src.Serial == 0 {
		return res, fmt.Errorf("state migrate: source %s holds no state", from.Describe())
	}
	dst, err := to.Load(ctx)
	if err != nil {
		return res, fmt.Errorf("state migrate: %w", err)
	}
	if dst.Serial != 0 {
		if dst.Digest() == res.Digest {
			res.Unchanged = true
			if err := mark(ctx, mk, from, to, res); err != nil {
				return res, err
			}
			return res, recordMigration(ctx, from, to, info, started, res)
		}
		return res, fmt.Errorf("state migrate: destination %s already holds a different state (serial %d, lineage %s); refusing to overwrite it",
			to.Describe(), dst.Serial, dst.Lineage)
	}
	hist, err := from.History(ctx, 0)
	if err != nil {
		return res, fmt.Errorf("state migrate: %w", err)
	}
	if err := imp.importState(ctx, src); err != nil {
		return res, fmt.Errorf("state migrate: %w", err)
	}
	for i := len(hist) - 1; i >= 0; i-- { // oldest first, so the copy lists in the same order
		if err := to.AppendHistory(ctx, hist[i]); err != nil {
			return res, fmt.Errorf("state migrate: copied the state but not all history (%d of %d records): %w", res.History, len(hist), err)
		}
		res.History++
	}
	got, err := to.Load(ctx)
	if err != nil {
		return res, fmt.Errorf("state migrate: verify: %w", err)
	}
	if d := got.Digest(); d != res.Digest {
		return res, fmt.Errorf("state migrate: verify: destination digest %s differs from source %s; the source is left usable and unmarked", d, res.Digest)
	}
	if err := mark(ctx, mk, from, to, res); err != nil {
		return res, err
	}
	return res, recordMigration(ctx, from, to, info, started, res)
}

// migrationRecord is the history record of a successful state migrate (or
// --undo) run by the holder of info, ending now.
func migrationRecord(op string, info LockInfo, started time.Time, summary map[string]int) HistoryRecord {
	return HistoryRecord{Operation: op, Started: started, Ended: time.Now().UTC(),
		Who: info.Who, Host: info.Host, CIRunURL: info.CIRunURL, Summary: summary, Outcome: "success"}
}

// recordMigration adds the migration to both histories, once it is done:
// the new state's says where it came from, the old state's where it went.
// History is not part of the digest, so the records change neither the
// verified copy nor what --undo compares.
func recordMigration(ctx context.Context, from, to Backend, info LockInfo, started time.Time, res MigrateResult) error {
	summary := map[string]int{"resources": res.Resources, "history_records": res.History}
	for _, end := range []struct {
		b  Backend
		op string
	}{{to, "state migrate from " + from.Describe()}, {from, "state migrate to " + to.Describe()}} {
		if err := end.b.AppendHistory(ctx, migrationRecord(end.op, info, started, summary)); err != nil {
			return fmt.Errorf("state migrate: migrated and verified, but could not add the migration to the history of %s: %w", end.b.Describe(), err)
		}
	}
	return nil
}

// mark records on the source, whose lock the caller holds, that its state
// now lives at to.
func mark(ctx context.Context, mk marker, from, to Backend, res MigrateResult) error {
	m := Migration{To: to.Describe(), At: time.Now().UTC().Truncate(time.Second), By: currentUser(),
		Serial: res.Serial, Digest: res.Digest}
	if err := mk.markMigrated(ctx, m); err != nil {
		return fmt.Errorf("state migrate: copied and verified the state at %s, but could not mark %s as migrated (it is still usable: use only one of them): %w",
			to.Describe(), from.Describe(), err)
	}
	return nil
}

// UndoMigration makes a migrated state usable again: it removes from's
// marker (from opened with OpenOptions.IgnoreMigrated), provided that to
// is where the marker says the state went and still holds exactly what
// was copied there. A new state that has moved on (an apply or an
// unprotect since) is refused: the old copy would then be out of date.
// The new copy is left as it is.
func UndoMigration(ctx context.Context, from, to Backend) (Migration, error) {
	mk, ok := from.(marker)
	if !ok {
		return Migration{}, fmt.Errorf("state migrate --undo: %s has no migration marker", from.Describe())
	}
	started := time.Now().UTC()
	info := NewLockInfo("migrate --undo")
	relFrom, err := from.Lock(ctx, info, 0)
	if err != nil {
		return Migration{}, fmt.Errorf("state migrate --undo: %s: %w", from.Describe(), err)
	}
	defer relFrom()
	m, err := mk.migrated(ctx)
	if err != nil {
		return Migration{}, fmt.Errorf("state migrate --undo: %w", err)
	}
	if m == nil {
		return Migration{}, fmt.Errorf("state migrate --undo: %s is not marked as migrated; nothing to undo", from.Describe())
	}
	if m.To != to.Describe() {
		return *m, fmt.Errorf("state migrate --undo: %s was migrated to %s, not to %s; pass that as --to", from.Describe(), m.To, to.Describe())
	}
	relTo, err := to.Lock(ctx, NewLockInfo("migrate --undo"), 0)
	if err != nil {
		return *m, fmt.Errorf("state migrate --undo: destination %s: %w", to.Describe(), err)
	}
	defer relTo()
	dst, err := to.Load(ctx)
	if err != nil {
		return *m, fmt.Errorf("state migrate --undo: %w", err)
	}
	if d := dst.Digest(); d != m.Digest {
		return *m, fmt.Errorf("state migrate --undo: %s has changed since the migration (serial %d now, %d when migrated): it is the current state and %s is out of date; keep using the new one",
			to.Describe(), dst.Serial, m.Serial, from.Describe())
	}
	if err := mk.clearMigrated(ctx); err != nil {
		return *m, fmt.Errorf("state migrate --undo: %w", err)
	}
	r := migrationRecord("state migrate --undo (back from "+to.Describe()+")", info, started, nil)
	if err := from.AppendHistory(ctx, r); err != nil {
		return *m, fmt.Errorf("state migrate --undo: %s is usable again, but could not add the undo to its history: %w", from.Describe(), err)
	}
	return *m, nil
}
