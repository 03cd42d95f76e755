package state

import (
	"context"
	"fmt"
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
}

// Migrate copies the state and its history from one backend to another,
// holding both locks, then re-reads the destination and compares digests.
// The destination must hold no state, or exactly the source's (a rerun
// after success), so nothing is ever overwritten.
func Migrate(ctx context.Context, from, to Backend) (MigrateResult, error) {
	var res MigrateResult
	imp, ok := to.(importer)
	if !ok {
		return res, fmt.Errorf("state migrate: %s cannot receive a migrated state", to.Describe())
	}
	// Look before locking: taking a file lock creates the state directory,
	// which a migrate from an empty place should not leave behind.
	if pre, err := from.Load(ctx); err != nil {
		return res, fmt.Errorf("state migrate: %w", err)
	} else if pre.Serial == 0 {
		return res, fmt.Errorf("state migrate: source %s holds no state", from.Describe())
	}
	relFrom, err := from.Lock(ctx, NewLockInfo("migrate"), 0)
	if err != nil {
		return res, fmt.Errorf("state migrate: source %s: %w", from.Describe(), err)
	}
	defer relFrom()
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
			return res, nil
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
		return res, fmt.Errorf("state migrate: verify: destination digest %s differs from source %s", d, res.Digest)
	}
	return res, nil
}
