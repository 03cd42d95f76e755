package apply

import (
	"context"
	"errors"
	"fmt"
	"slices"
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

// gateStore is a recorder whose first save closes entered and waits for
// open.
type gateStore struct {
	entered, open chan struct{}
	first         sync.Once
}

func (g *gateStore) Update(_ context.Context, fn func(*state.State) error) error {
	g.first.Do(func() {
		close(g.entered)
		<-g.open
	})
	return fn(&state.State{Resources: map[addr.Address]*state.Resource{}})
}

// TestBatcherRunsThensByRankBeforeTellingItsWriters checks UpdateThen: the
// writes saved together run their then highest rank first (equal ranks in
// the order they queued), all before any of those writers is told, so the
// changes saved together queue for their slots by priority.
func TestBatcherRunsThensByRankBeforeTellingItsWriters(t *testing.T) {
	g := &gateStore{entered: make(chan struct{}), open: make(chan struct{})}
	b := &batcher{rec: g}
	var mu sync.Mutex
	var order []int
	returned := 0
	write := func(i, rank int) error {
		err := b.UpdateThen(context.Background(), func(*state.State) error { return nil }, rank, func() {
			// Time for a writer told too early to return and be counted
			// (a correct batcher tells none, however long this takes).
			time.Sleep(5 * time.Millisecond)
			mu.Lock()
			defer mu.Unlock()
			if i != 0 && returned > 0 {
				t.Errorf("then of write %d ran after %d writers of its batch were told", i, returned)
			}
			order = append(order, i)
		})
		if i != 0 {
			mu.Lock()
			returned++
			mu.Unlock()
		}
		return err
	}
	var wg sync.WaitGroup
	wg.Go(func() { _ = write(0, 0) }) // saves alone, held at the gate
	waitQueued := func(n int) {
		for {
			b.mu.Lock()
			q := len(b.queue)
			b.mu.Unlock()
			if q == n {
				return
			}
			time.Sleep(time.Millisecond)
		}
	}
	<-g.entered
	// While it saves, four more queue, one at a time so their order is
	// known: they are saved together next.
	ranks := []int{1, 3, 2, 3}
	for i, rank := range ranks {
		wg.Go(func() { _ = write(i+1, rank) })
		waitQueued(i + 1)
	}
	close(g.open)
	wg.Wait()
	if want := []int{0, 2, 4, 3, 1}; !slices.Equal(order, want) {
		t.Errorf("thens ran in the order %v, want %v", order, want)
	}
}
