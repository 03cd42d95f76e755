// Package stateops runs the state subcommands of applinkctl (list, show,
// unlock, unprotect, history, migrate) and the address completion that
// reads state: each opens the backend a Locator names, does its one thing
// and closes it, and returns what it found as data for the view to print.
// Like pipeline, it prints nothing and reads no flags.
package stateops

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/state"
)

// Locator names one state backend: the URL (--state, or the sandbox's
// own), else the default beside the first manifest file, and the workspace.
type Locator struct {
	URL       string
	Files     []string
	Workspace string
	// StateArgs are the words that select this state on a command line
	// (-f, --sandbox, --state, --workspace), for the commands errors
	// print (state unlock).
	StateArgs []string
	// DestStateArgs are the words that select the destination to of state
	// migrate on a command line, for the unlock command of its lock error;
	// nil prints none.
	DestStateArgs func(to string) []string
}

// open opens the backend; ignoreMigrated opens a state marked as migrated
// (state migrate only).
func (l Locator) open(ctx context.Context, ignoreMigrated bool) (state.Backend, error) {
	return state.Open(ctx, l.URL, state.OpenOptions{ManifestFiles: l.Files, Workspace: l.Workspace, IgnoreMigrated: ignoreMigrated})
}

// withBackend opens the backend, runs fn and closes it.
func withBackend(ctx context.Context, l Locator, ignoreMigrated bool, fn func(state.Backend) error) error {
	b, err := l.open(ctx, ignoreMigrated)
	if err != nil {
		return err
	}
	return errors.Join(fn(b), b.Close())
}

// List loads the state: its backend as messages name it, and its records.
func List(ctx context.Context, l Locator) (describe string, s *state.State, err error) {
	err = withBackend(ctx, l, false, func(b state.Backend) error {
		describe = b.Describe()
		s, err = b.Load(ctx)
		return err
	})
	return describe, s, err
}

// Show is the record of one resource.
func Show(ctx context.Context, l Locator, address string) (*state.Resource, error) {
	if _, err := addr.Parse(address); err != nil {
		return nil, fmt.Errorf("state show: %w", err)
	}
	var r *state.Resource
	err := withBackend(ctx, l, false, func(b state.Backend) error {
		s, err := b.Load(ctx)
		if err != nil {
			return err
		}
		rec, ok := s.Resources[addr.Address(address)]
		if !ok {
			return fmt.Errorf("state show: %s is not in state %s (%d resources; see applinkctl state list)", address, b.Describe(), len(s.Resources))
		}
		r = rec
		return nil
	})
	return r, err
}

// Unlocked is what Unlock did.
type Unlocked struct {
	Describe string // the backend, as messages name it
	// LinkPath is set when a symbolic link stood where the lock file goes:
	// no lock any run made, it was removed whatever the id, and what it
	// names (LinkTarget, "-" when unknown) was left alone.
	LinkPath, LinkTarget string
}

// Unlock releases the lock whose id is id.
func Unlock(ctx context.Context, l Locator, id string) (Unlocked, error) {
	var u Unlocked
	err := withBackend(ctx, l, false, func(b state.Backend) error {
		u.Describe = b.Describe()
		if c, ok := b.(state.LockLinkClearer); ok {
			link, err := c.ClearLockLink(ctx)
			if err != nil {
				return err
			}
			if link != nil {
				u.LinkPath, u.LinkTarget = link.Path, link.Target
				if u.LinkTarget == "" {
					u.LinkTarget = "-"
				}
				return nil
			}
		}
		return b.ForceUnlock(ctx, id)
	})
	return u, err
}

// Unprotected is what Unprotect did.
type Unprotected struct {
	Describe string // the backend, as messages name it
	// WasProtected is false when the record was already unprotected:
	// nothing changed.
	WasProtected bool
}

// Unprotect clears the protect flag of one resource's record, under the
// state lock, and records that in the history. A record already
// unprotected is left alone.
func Unprotect(ctx context.Context, l Locator, address string, lockTimeout time.Duration) (Unprotected, error) {
	var u Unprotected
	if _, err := addr.Parse(address); err != nil {
		return u, fmt.Errorf("state unprotect: %w", err)
	}
	err := withBackend(ctx, l, false, func(b state.Backend) (err error) {
		u.Describe = b.Describe()
		lock := state.NewLockInfo("state unprotect")
		release, err := b.Lock(ctx, lock, lockTimeout)
		if err != nil {
			return state.WithStateArgs(err, l.StateArgs)
		}
		defer func() {
			if rerr := release(); rerr != nil && err == nil {
				err = fmt.Errorf("state %s: release lock: %w", b.Describe(), rerr)
			}
		}()
		started := time.Now().UTC()
		s, err := b.Load(ctx)
		if err != nil {
			return err
		}
		r, ok := s.Resources[addr.Address(address)]
		if !ok {
			return fmt.Errorf("state unprotect: %s is not in state %s (%d resources; see applinkctl state list)", address, b.Describe(), len(s.Resources))
		}
		if !r.Protect {
			return nil
		}
		u.WasProtected = true
		r.Protect = false
		r.UpdatedAt, r.UpdatedBy = started, lock.Who
		if err := b.Save(ctx, s); err != nil {
			return err
		}
		rec := state.HistoryRecord{
			Workspace: l.Workspace, Started: started, Ended: time.Now().UTC(),
			Who: lock.Who, Host: lock.Host, CIRunURL: lock.CIRunURL,
			Operation: "state unprotect " + address, Summary: map[string]int{"unprotected": 1}, Outcome: "success",
		}
		if err := b.AppendHistory(ctx, rec); err != nil {
			return fmt.Errorf("released %s, but: %w", address, err)
		}
		return nil
	})
	return u, err
}

// History is the newest limit records of the history (0: all), newest
// first, and the backend as messages name it.
func History(ctx context.Context, l Locator, limit int) (describe string, recs []state.HistoryRecord, err error) {
	err = withBackend(ctx, l, false, func(b state.Backend) error {
		describe = b.Describe()
		recs, err = b.History(ctx, limit)
		return err
	})
	return describe, recs, err
}

// Migrated is what Migrate did; From and To name the backends as messages
// do (never with a password).
type Migrated struct {
	From, To string
	Result   state.MigrateResult
}

// Migrate copies the state and its history to the backend at to, verifies
// the copy and marks the old state as migrated.
func Migrate(ctx context.Context, l Locator, to string) (Migrated, error) {
	var m Migrated
	err := migrateEnds(ctx, l, to, func(from, dst state.Backend) error {
		m.From, m.To = from.Describe(), dst.Describe()
		var err error
		m.Result, err = state.Migrate(ctx, from, dst)
		return err
	})
	return m, err
}

// Undone is what UndoMigration did.
type Undone struct {
	From      string // the state usable again, as messages name it
	Migration state.Migration
}

// UndoMigration removes the migration marker of the state l selects, when
// to is where it went and unchanged since.
func UndoMigration(ctx context.Context, l Locator, to string) (Undone, error) {
	var u Undone
	err := migrateEnds(ctx, l, to, func(from, dst state.Backend) error {
		u.From = from.Describe()
		var err error
		u.Migration, err = state.UndoMigration(ctx, from, dst)
		return err
	})
	return u, err
}

// migrateEnds opens the source (whatever its migration marker says) and
// the destination of state migrate and runs fn on them. A lock error names
// the unlock command of the state it is about.
func migrateEnds(ctx context.Context, l Locator, to string, fn func(from, dst state.Backend) error) error {
	return withBackend(ctx, l, true, func(from state.Backend) error {
		dst, err := state.Open(ctx, to, state.OpenOptions{ManifestFiles: l.Files, Workspace: l.Workspace})
		if err != nil {
			return err
		}
		defer dst.Close()
		if dst.Describe() == from.Describe() {
			return fmt.Errorf("state migrate: source and destination are both %s", from.Describe())
		}
		err = fn(from, dst)
		var le *state.LockedError
		if errors.As(err, &le) {
			args := l.StateArgs
			if le.Where == dst.Describe() {
				args = nil
				if l.DestStateArgs != nil {
					args = l.DestStateArgs(to)
				}
			}
			err = state.WithStateArgs(err, args)
		}
		return err
	})
}

// Addresses are the addresses recorded in the state l names, sorted; none
// on any error or for a Postgres state (a shell completing must not wait
// on a database).
func Addresses(ctx context.Context, l Locator) []string {
	if strings.HasPrefix(l.URL, "postgres") {
		return nil
	}
	b, err := l.open(ctx, false)
	if err != nil {
		return nil
	}
	defer b.Close()
	s, err := b.Load(ctx)
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(s.Resources))
	for a := range s.Resources {
		out = append(out, string(a))
	}
	slices.Sort(out)
	return out
}
