package state

import (
	"context"
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
func (s *Store) Update(ctx context.Context, fn func(*State) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := s.cur.Clone()
	if err := fn(next); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("state %s: save: %w", s.b.Describe(), err)
	}
	if err := s.b.Save(ctx, next); err != nil {
		return err
	}
	s.cur = next
	return nil
}
