package state

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// Store is the in-memory state of one run, shared by apply's goroutines.
// Each Update applies a change and saves it before returning, under one
// mutex, so an intent is durable before its mutating call and a result
// right after it, and no goroutine's update overwrites another's.
type Store struct {
	mu  sync.Mutex
	b   Backend
	cur *State
	// unsure is a save whose outcome is unknown (the connection dropped
	// after the commit was sent, a timeout): it may have been stored.
	unsure *State
}

// NewStore loads the backend's state.
func NewStore(ctx context.Context, b Backend) (*Store, error) {
	s, err := b.Load(ctx)
	if err != nil {
		return nil, err
	}
	return &Store{b: b, cur: s}, nil
}

// Snapshot is a deep copy of the current state.
func (s *Store) Snapshot() *State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur.Clone()
}

// Update applies fn to a copy of the state and saves it. When fn or the
// save fails, the state in memory is unchanged and the error returned.
//
// Writes made while a run is being interrupted must still land, so callers
// pass a context that outlives Ctrl-C (context.WithoutCancel plus a
// timeout) for them.
func (s *Store) Update(ctx context.Context, fn func(*State) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.settle(ctx); err != nil {
		return err
	}
	next := s.cur.Clone()
	if err := fn(next); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("state %s: save: %w", s.b.Describe(), err)
	}
	if err := s.b.Save(ctx, next); err != nil {
		// A conflict or a fenced refusal wrote nothing for sure; anything
		// else may have been stored.
		var ce *ConflictError
		if !errors.As(err, &ce) && !asLockLost(err) {
			s.unsure = next
		}
		return err
	}
	s.cur = next
	return nil
}

// settle finds out whether an earlier save of unknown outcome was stored:
// if the backend holds exactly that state one serial on, it becomes the
// current state, so the next save does not fail on a serial it wrote itself.
func (s *Store) settle(ctx context.Context) error {
	if s.unsure == nil {
		return nil
	}
	stored, err := s.b.Load(ctx)
	if err != nil {
		return err
	}
	if stored.Serial == s.cur.Serial+1 {
		probe := stored.Clone()
		probe.Serial = s.unsure.Serial
		probe.Lineage, probe.Version = s.unsure.Lineage, s.unsure.Version
		if probe.Digest() == s.unsure.Digest() {
			s.cur = stored
		}
	}
	s.unsure = nil
	return nil
}

// LockLost is closed once the lock that the store's backend holds is known
// to be lost (its Postgres session ended, its lock file was removed or
// replaced); LockErr then says why. It is nil, which never becomes ready,
// when the backend holds no lock. A run must start no new change once it
// is closed; its state writes are refused anyway.
func (s *Store) LockLost() <-chan struct{} {
	if l := s.lease(); l != nil {
		return l.lost
	}
	return nil
}

// LockErr is the *LockLostError once LockLost is closed, else nil.
func (s *Store) LockErr() error {
	if l := s.lease(); l != nil {
		return l.lostErr()
	}
	return nil
}

func (s *Store) lease() *lease {
	if b, ok := s.b.(leaser); ok {
		return b.currentLease()
	}
	return nil
}
