package state

import (
	"context"
	"fmt"
	"time"
)

// Migration is the marker `applinkctl state migrate` leaves on the state it
// moved away from, once the copy is verified: where the state went, when,
// by whom, and the serial and digest of what was copied. A marked state is
// refused by every command that opens it (a *MigratedError), so that no
// one keeps applying to the old copy by mistake.
type Migration struct {
	// To is the new state as Backend.Describe names it: never a password.
	To     string    `json:"to"`
	At     time.Time `json:"at"`
	By     string    `json:"by,omitempty"`
	Serial int64     `json:"serial"`
	Digest string    `json:"digest"`
}

// MigratedError is the error of opening, locking or writing a state that
// was migrated elsewhere.
type MigratedError struct {
	Where     string // the old state, as Describe names it
	Migration Migration
}

func (e *MigratedError) Error() string {
	m := e.Migration
	when := ""
	if !m.At.IsZero() {
		when = " on " + m.At.UTC().Format(time.RFC3339)
	}
	if m.By != "" {
		when += " by " + m.By
	}
	return fmt.Sprintf("state %s was migrated to %s%s (serial %d) and is no longer used: "+
		"pass --state %s (or set APPLINKCTL_STATE to it) from now on; "+
		"to use this state again instead, see applinkctl state migrate --help (--undo)",
		e.Where, m.To, when, m.Serial, shellQuote(m.To))
}

// marker is the migration marker of a backend: both backends keep one
// (the file backend in STATE.migrated beside the state file, Postgres in
// the migrated table, one row per workspace).
type marker interface {
	// migrated returns the marker, or nil when the state is not migrated.
	migrated(ctx context.Context) (*Migration, error)
	// markMigrated records m, replacing any marker.
	markMigrated(ctx context.Context, m Migration) error
	// clearMigrated removes the marker; none is no error.
	clearMigrated(ctx context.Context) error
}

// checkMigrated fails with a *MigratedError when b carries a migration
// marker.
func checkMigrated(ctx context.Context, b Backend) error {
	mk, ok := b.(marker)
	if !ok {
		return nil
	}
	m, err := mk.migrated(ctx)
	if err != nil {
		return err
	}
	if m != nil {
		return &MigratedError{Where: b.Describe(), Migration: *m}
	}
	return nil
}

// MigratedTo returns the marker of b (opened with
// OpenOptions.IgnoreMigrated), or nil when b is not migrated.
func MigratedTo(ctx context.Context, b Backend) (*Migration, error) {
	mk, ok := b.(marker)
	if !ok {
		return nil, nil
	}
	return mk.migrated(ctx)
}
