package dag_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/dag"
)

// starts records the order in which a walk calls fn.
type starts struct {
	mu    sync.Mutex
	order []string
}

func (s *starts) add(k string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.order = append(s.order, k)
}

func (s *starts) get() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.order)
}

func TestWalkWithStartsHighestPriorityThenFirstReady(t *testing.T) {
	// r heads a chain to x; y and z are alone. x becomes ready after y
	// and z, so it starts after them although it sorts first.
	g := dag.New[string]()
	g.AddEdge("x", "r")
	g.AddNode("y")
	g.AddNode("z")
	prio := map[string]int{"r": 10, "x": 1, "y": 1, "z": 1}
	var got starts
	res := dag.WalkWith(context.Background(), g, dag.WalkOptions[string]{
		Priority: func(k string) int { return prio[k] },
		Slots:    dag.NewSemaphore(1),
	}, func(ctx context.Context, k string, s *dag.Slot) error {
		got.add(k)
		return nil
	})
	if want := []string{"r", "y", "z", "x"}; !slices.Equal(got.get(), want) {
		t.Fatalf("start order = %v, want %v", got.get(), want)
	}
	for k, r := range res {
		if r.Err != nil || r.Skipped {
			t.Errorf("%s: %+v", k, r)
		}
	}
}

func TestWalkWithoutPriorityStartsInKeyOrder(t *testing.T) {
	g := dag.New[string]()
	for _, k := range []string{"c", "a", "d", "b"} {
		g.AddNode(k)
	}
	var got starts
	dag.WalkWith(context.Background(), g, dag.WalkOptions[string]{Slots: dag.NewSemaphore(1)},
		func(ctx context.Context, k string, s *dag.Slot) error {
			got.add(k)
			return nil
		})
	if want := []string{"a", "b", "c", "d"}; !slices.Equal(got.get(), want) {
		t.Fatalf("start order = %v, want %v", got.get(), want)
	}
}

// TestWalkWithSlotGivenBackLetsOthersStart checks that the semaphore
// bounds the slots held, not the nodes started: with one slot, three nodes
// that give it back while they wait are all running at once, never two
// holding it.
func TestWalkWithSlotGivenBackLetsOthersStart(t *testing.T) {
	g := dag.New[string]()
	for _, k := range []string{"a", "b", "c"} {
		g.AddNode(k)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var all sync.WaitGroup
	all.Add(3)
	var holding, mostHolding atomic.Int32
	hold := func() {
		n := holding.Add(1)
		for {
			m := mostHolding.Load()
			if n <= m || mostHolding.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(time.Millisecond)
		holding.Add(-1)
	}
	res := dag.WalkWith(ctx, g, dag.WalkOptions[string]{Slots: dag.NewSemaphore(1)},
		func(ctx context.Context, k string, s *dag.Slot) error {
			if !s.Held() {
				t.Errorf("%s: slot not held on entry", k)
			}
			hold()
			s.Release()
			s.Release() // harmless
			all.Done()
			waited := make(chan struct{})
			go func() { all.Wait(); close(waited) }()
			select {
			case <-waited:
			case <-ctx.Done():
				return errors.New("the others never started")
			}
			if err := s.Acquire(ctx); err != nil {
				return err
			}
			hold()
			return nil // still held: the walk frees it
		})
	for _, k := range []string{"a", "b", "c"} {
		if r := res[k]; r.Err != nil || r.Skipped {
			t.Errorf("%s: %+v", k, r)
		}
	}
	if m := mostHolding.Load(); m != 1 {
		t.Errorf("%d nodes held a slot at once, want 1", m)
	}
}

// TestWalkWithSettlesFinishedNodesWhileWaitingForASlot checks that a node
// finishing while the only slot is taken is settled at once: its dependent
// becomes ready (and, of higher priority, starts before the node the walk
// was about to start) without waiting for the slot to come free.
func TestWalkWithSettlesFinishedNodesWhileWaitingForASlot(t *testing.T) {
	g := dag.New[string]()
	g.AddEdge("c", "a") // c needs a
	g.AddNode("b")
	g.AddNode("d")
	prio := map[string]int{"a": 3, "b": 2, "c": 10, "d": 0}
	cReady := make(chan struct{})
	bStarted := make(chan struct{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var got starts
	res := dag.WalkWith(ctx, g, dag.WalkOptions[string]{
		Priority: func(k string) int {
			if k == "c" {
				close(cReady) // called by the walk once a is settled
			}
			return prio[k]
		},
		Slots: dag.NewSemaphore(1),
	}, func(ctx context.Context, k string, s *dag.Slot) error {
		got.add(k)
		switch k {
		case "a":
			s.Release()
			select {
			case <-bStarted:
			case <-ctx.Done():
				return ctx.Err()
			}
		case "b": // holds the only slot until a is settled
			close(bStarted)
			select {
			case <-cReady:
			case <-ctx.Done():
				return errors.New("a was not settled while b held the slot")
			}
		}
		return nil
	})
	if want := []string{"a", "b", "c", "d"}; !slices.Equal(got.get(), want) {
		t.Errorf("start order = %v, want %v", got.get(), want)
	}
	for k, r := range res {
		if r.Err != nil || r.Skipped {
			t.Errorf("%s: %+v", k, r)
		}
	}
}

func TestWalkWithFailureWhileWaitingForASlotSkipsNamingIt(t *testing.T) {
	g := dag.New[string]()
	g.AddEdge("c", "a")
	g.AddNode("b")
	bStarted := make(chan struct{})
	boom := errors.New("boom")
	res := dag.WalkWith(context.Background(), g, dag.WalkOptions[string]{
		Priority: func(k string) int { return map[string]int{"a": 2, "b": 1}[k] },
		Slots:    dag.NewSemaphore(1),
	}, func(ctx context.Context, k string, s *dag.Slot) error {
		switch k {
		case "a":
			s.Release()
			<-bStarted
			return boom
		case "b":
			close(bStarted)
			time.Sleep(5 * time.Millisecond)
		case "c":
			t.Error("c ran although a failed")
		}
		return nil
	})
	if !errors.Is(res["a"].Err, boom) {
		t.Errorf("a: %+v", res["a"])
	}
	if c := res["c"]; !c.Skipped || c.SkippedBecause != "a" || c.Err.Error() != "skipped: a failed" {
		t.Errorf("c: %+v", c)
	}
	if r := res["b"]; r.Err != nil || r.Skipped {
		t.Errorf("b: %+v", r)
	}
}

// TestWalkWithCancelWhileWaitingForASlotStartsNothingMore checks Ctrl-C
// while ready nodes queue for the slot a running node holds: they are
// skipped with the context's error, never started.
func TestWalkWithCancelWhileWaitingForASlotStartsNothingMore(t *testing.T) {
	g := dag.New[string]()
	for _, k := range []string{"a", "b", "c"} {
		g.AddNode(k)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got starts
	res := dag.WalkWith(ctx, g, dag.WalkOptions[string]{Slots: dag.NewSemaphore(1)},
		func(ctx context.Context, k string, s *dag.Slot) error {
			got.add(k)
			cancel()
			<-ctx.Done()
			return ctx.Err()
		})
	if want := []string{"a"}; !slices.Equal(got.get(), want) {
		t.Fatalf("started %v, want %v", got.get(), want)
	}
	if !errors.Is(res["a"].Err, context.Canceled) || res["a"].Skipped {
		t.Errorf("a: %+v", res["a"])
	}
	for _, k := range []string{"b", "c"} {
		if r := res[k]; !r.Skipped || !errors.Is(r.Err, context.Canceled) || r.SkippedBecause != "" {
			t.Errorf("%s: %+v", k, r)
		}
	}
}

func TestWalkWithoutSlotsRunsEveryReadyNodeAtOnce(t *testing.T) {
	g := dag.New[int]()
	const n = 8
	for i := range n {
		g.AddNode(i)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var all sync.WaitGroup
	all.Add(n)
	res := dag.WalkWith(ctx, g, dag.WalkOptions[int]{}, func(ctx context.Context, k int, s *dag.Slot) error {
		// Without a semaphore the slot bounds nothing.
		if err := s.Acquire(ctx); err != nil {
			return err
		}
		s.Release()
		all.Done()
		waited := make(chan struct{})
		go func() { all.Wait(); close(waited) }()
		select {
		case <-waited:
			return nil
		case <-ctx.Done():
			return errors.New("not all nodes ran at once")
		}
	})
	for k, r := range res {
		if r.Err != nil || r.Skipped {
			t.Errorf("%d: %+v", k, r)
		}
	}
}

func TestWalkWithCycleRunsNothing(t *testing.T) {
	g := dag.New[string]()
	g.AddEdge("a", "b")
	g.AddEdge("b", "a")
	res := dag.WalkWith(context.Background(), g, dag.WalkOptions[string]{Slots: dag.NewSemaphore(2)},
		func(ctx context.Context, k string, s *dag.Slot) error {
			t.Errorf("%s ran", k)
			return nil
		})
	var ce *dag.CycleError[string]
	if !errors.As(res["a"].Err, &ce) || !res["a"].Skipped || !res["b"].Skipped {
		t.Fatalf("results: %+v", res)
	}
}

// TestSlotAcquireWaitsForAFreeSlotOrCtx checks a Slot given back: taking
// it again waits while another node holds the only slot, gives up with
// ctx's error (staying released), and succeeds once the slot is free.
func TestSlotAcquireWaitsForAFreeSlotOrCtx(t *testing.T) {
	g := dag.New[string]()
	g.AddNode("a")
	g.AddNode("b")
	g.AddEdge("c", "a")
	bStarted, bGo := make(chan struct{}), make(chan struct{})
	res := dag.WalkWith(context.Background(), g, dag.WalkOptions[string]{Slots: dag.NewSemaphore(0)}, // < 1 means 1
		func(ctx context.Context, k string, s *dag.Slot) error {
			switch k {
			case "a":
				s.Release()
				if s.Held() {
					return errors.New("held after Release")
				}
				<-bStarted
				short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
				defer cancel()
				if err := s.Acquire(short); !errors.Is(err, context.DeadlineExceeded) || s.Held() {
					return fmt.Errorf("Acquire while b holds the slot = %v, held %v", err, s.Held())
				}
				close(bGo)
				return s.Acquire(ctx) // held at the end: the walk frees it for c
			case "b":
				close(bStarted)
				<-bGo
			}
			return nil
		})
	for _, k := range []string{"a", "b", "c"} {
		if r := res[k]; r.Err != nil || r.Skipped {
			t.Errorf("%s: %+v", k, r)
		}
	}
	var zero dag.Slot // bounds nothing
	if err := zero.Acquire(context.Background()); err != nil || zero.Held() {
		t.Errorf("zero Slot: Acquire = %v, held %v; want a no-op", err, zero.Held())
	}
	zero.Release()
}

func TestHeightsHeaviestChainOfDependents(t *testing.T) {
	h, err := diamond().Heights(func(k string) int {
		if k == "c" {
			return 5
		}
		return 1
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"a": 7, "b": 2, "c": 6, "d": 1, "e": 1}
	for k, v := range want {
		if h[k] != v {
			t.Errorf("height of %s = %d, want %d", k, h[k], v)
		}
	}
	g := dag.New[string]()
	g.AddEdge("a", "b")
	g.AddEdge("b", "a")
	var ce *dag.CycleError[string]
	if _, err := g.Heights(func(string) int { return 1 }); !errors.As(err, &ce) {
		t.Errorf("cycle: err = %v, want *CycleError", err)
	}
}

// TestSucceededStartsDependentsEarly checks Slot.Succeeded: a node that
// says it succeeded lets its dependents start while its fn goes on (here,
// until its dependent has run), and an error its fn returns afterwards is
// its Err without skipping them. Every dependent starts once: a node whose
// fn returns right after Succeeded is settled once whichever news the walk
// sees first.
func TestSucceededStartsDependentsEarly(t *testing.T) {
	g := dag.New[string]()
	g.AddEdge("child", "parent")
	g.AddEdge("grandchild", "child")
	childDone := make(chan struct{})
	var runs sync.Map
	errLate := errors.New("late")
	res := dag.WalkWith(context.Background(), g, dag.WalkOptions[string]{Slots: dag.NewSemaphore(2)},
		func(_ context.Context, k string, s *dag.Slot) error {
			if n, _ := runs.LoadOrStore(k, new(atomic.Int32)); n.(*atomic.Int32).Add(1) > 1 {
				t.Errorf("%s started twice", k)
			}
			switch k {
			case "parent":
				s.Succeeded()
				s.Succeeded() // again: nothing more
				select {
				case <-childDone:
				case <-time.After(10 * time.Second):
					return errors.New("the child did not start before the parent's fn returned")
				}
				return errLate
			case "child":
				close(childDone)
				s.Succeeded() // then returns at once
			}
			return nil
		})
	if !errors.Is(res["parent"].Err, errLate) {
		t.Errorf("parent: %+v, want its late error", res["parent"])
	}
	for _, k := range []string{"child", "grandchild"} {
		if r := res[k]; r.Err != nil || r.Skipped {
			t.Errorf("%s: %+v, want run and succeeded", k, r)
		}
	}
}

// TestSlotQueueTakesSlotsInQueueOrder checks Slot.Queue: slots queued while
// both are free are granted in the order of the Queue calls, whichever
// node calls Acquire first; a later Acquire waits for its own request; and
// Release withdraws a granted request nobody took, freeing its slot.
func TestSlotQueueTakesSlotsInQueueOrder(t *testing.T) {
	g := dag.New[string]()
	for _, k := range []string{"a", "b", "c"} {
		g.AddNode(k)
	}
	type started struct {
		k string
		s *dag.Slot
	}
	starts := make(chan started, 3)
	run := map[string]chan struct{}{"a": make(chan struct{}), "b": make(chan struct{}), "c": make(chan struct{})}
	firstTry, secondTry := make(chan error, 1), make(chan error, 1)
	node := func(ctx context.Context, k string, s *dag.Slot) error {
		s.Release()
		starts <- started{k, s}
		<-run[k]
		switch k {
		case "a":
			s.Release() // never takes the slot its request was granted
			return nil
		case "b":
			short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
			err := s.Acquire(short)
			cancel()
			firstTry <- err
			long, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			err = s.Acquire(long)
			secondTry <- err
			return err
		}
		return s.Acquire(ctx)
	}
	walked := make(chan map[string]dag.WalkResult[string], 1)
	go func() {
		walked <- dag.WalkWith(context.Background(), g, dag.WalkOptions[string]{Slots: dag.NewSemaphore(2)}, node)
	}()
	slots := map[string]*dag.Slot{}
	for range 3 {
		st := <-starts
		slots[st.k] = st.s
	}
	slots["c"].Queue()
	slots["a"].Queue()
	slots["b"].Queue()
	close(run["b"])
	if err := <-firstTry; !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("b's Acquire with both slots granted to the requests queued before it = %v, want it to wait", err)
	}
	close(run["a"]) // its withdrawn request frees a slot for b, c still holding the other
	if err := <-secondTry; err != nil {
		t.Errorf("b's Acquire once a withdrew its granted request = %v, want the slot", err)
	}
	close(run["c"])
	for k, r := range <-walked {
		if r.Err != nil || r.Skipped {
			t.Errorf("%s: %+v", k, r)
		}
	}
}

// TestWalkWithStartUnheldStartsWhileTheSlotsAreBusy checks StartUnheld: a
// ready node starts while another holds the only slot, its Slot released,
// and takes the slot once it is free; a node that finds a slot free gets
// it held.
func TestWalkWithStartUnheldStartsWhileTheSlotsAreBusy(t *testing.T) {
	g := dag.New[string]()
	g.AddNode("a")
	g.AddNode("b")
	bStarted := make(chan bool, 1)
	res := dag.WalkWith(context.Background(), g, dag.WalkOptions[string]{Slots: dag.NewSemaphore(1), StartUnheld: true},
		func(ctx context.Context, k string, s *dag.Slot) error {
			switch k {
			case "a":
				if !s.Held() {
					return errors.New("a started without the free slot")
				}
				select {
				case held := <-bStarted:
					if held {
						return errors.New("b started holding the slot a holds")
					}
				case <-time.After(10 * time.Second):
					return errors.New("b did not start while a held the only slot")
				}
			case "b":
				bStarted <- s.Held()
				return s.Acquire(ctx) // granted once a is done
			}
			return nil
		})
	for _, k := range []string{"a", "b"} {
		if r := res[k]; r.Err != nil || r.Skipped {
			t.Errorf("%s: %+v", k, r)
		}
	}
}
