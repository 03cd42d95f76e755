package apply

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/state"
)

// slowStore is a recorder whose saves take a while and can fail, counting
// them.
type slowStore struct {
	mu    sync.Mutex
	s     state.State
	saves int
	fail  error
}

func (r *slowStore) Update(_ context.Context, fn func(*state.State) error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	time.Sleep(2 * time.Millisecond)
	r.saves++
	if r.fail != nil {
		return r.fail
	}
	next := state.State{Resources: map[addr.Address]*state.Resource{}}
	for k, v := range r.s.Resources {
		next.Resources[k] = v
	}
	if err := fn(&next); err != nil {
		return err
	}
	r.s = next
	return nil
}

func writeAll(b *batcher, n int) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			a := addr.Connection("app", fmt.Sprintf("c%02d", i))
			errs[i] = b.Update(context.Background(), func(s *state.State) error {
				s.Resources[a] = &state.Resource{RemoteID: fmt.Sprint(i)}
				return nil
			})
		})
	}
	wg.Wait()
	return errs
}

func TestBatcherSavesConcurrentWritesTogether(t *testing.T) {
	r := &slowStore{}
	errs := writeAll(&batcher{rec: r}, 40)
	for i, err := range errs {
		if err != nil {
			t.Errorf("write %d: %v", i, err)
		}
	}
	if len(r.s.Resources) != 40 {
		t.Errorf("%d records saved, want 40", len(r.s.Resources))
	}
	if r.saves >= 40 {
		t.Errorf("%d saves for 40 concurrent writes, want them batched", r.saves)
	}
}

func TestBatcherReportsAFailedSaveToEveryWriter(t *testing.T) {
	boom := errors.New("disk full")
	r := &slowStore{fail: boom}
	for i, err := range writeAll(&batcher{rec: r}, 10) {
		if !errors.Is(err, boom) {
			t.Errorf("write %d: err = %v, want the save's error", i, err)
		}
	}
}
