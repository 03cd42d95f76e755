package dag_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/dag"
)

// diamond: d depends on b and c, which depend on a; e is alone.
func diamond() *dag.Graph[string] {
	g := dag.New[string]()
	g.AddEdge("b", "a")
	g.AddEdge("c", "a")
	g.AddEdge("d", "b")
	g.AddEdge("d", "c")
	g.AddNode("e")
	return g
}

func TestTopoOrderParentsFirstTiesSorted(t *testing.T) {
	got, err := diamond().TopoOrder()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a", "b", "c", "d", "e"}
	if !slices.Equal(got, want) {
		t.Fatalf("TopoOrder = %v, want %v", got, want)
	}
	rev, err := diamond().Reverse().TopoOrder()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"d", "b", "c", "a", "e"}; !slices.Equal(rev, want) {
		t.Fatalf("Reverse().TopoOrder = %v, want %v", rev, want)
	}
}

func TestNeighbours(t *testing.T) {
	g := diamond()
	if got := g.Deps("d"); !slices.Equal(got, []string{"b", "c"}) {
		t.Errorf("Deps(d) = %v", got)
	}
	if got := g.Dependents("a"); !slices.Equal(got, []string{"b", "c"}) {
		t.Errorf("Dependents(a) = %v", got)
	}
	if got := g.Descendants("a"); !slices.Equal(got, []string{"b", "c", "d"}) {
		t.Errorf("Descendants(a) = %v", got)
	}
	if got := g.Descendants("e"); len(got) != 0 {
		t.Errorf("Descendants(e) = %v", got)
	}
	if got := g.Nodes(); !slices.Equal(got, []string{"a", "b", "c", "d", "e"}) {
		t.Errorf("Nodes = %v", got)
	}
	if got := g.Deps("missing"); len(got) != 0 {
		t.Errorf("Deps(missing) = %v", got)
	}
}

func TestCycleNamedWholeAndStable(t *testing.T) {
	for range 20 { // map order must not change the message
		g := dag.New[string]()
		g.AddEdge("x", "y")
		g.AddEdge("y", "z")
		g.AddEdge("z", "x")
		g.AddEdge("w", "x")
		err := g.Validate()
		var ce *dag.CycleError[string]
		if !errors.As(err, &ce) {
			t.Fatalf("Validate = %v, want *CycleError", err)
		}
		if !slices.Equal(ce.Cycle, []string{"x", "y", "z"}) {
			t.Fatalf("cycle = %v", ce.Cycle)
		}
		if got, want := err.Error(), "dependency cycle: x → y → z → x"; got != want {
			t.Fatalf("error = %q, want %q", got, want)
		}
		if _, err := g.TopoOrder(); !errors.As(err, &ce) {
			t.Fatalf("TopoOrder err = %v", err)
		}
	}
	g := dag.New[int]()
	g.AddEdge(1, 1)
	if err := g.Validate(); err == nil || err.Error() != "dependency cycle: 1 → 1" {
		t.Fatalf("self loop: %v", err)
	}
	if err := diamond().Validate(); err != nil {
		t.Fatalf("acyclic graph: %v", err)
	}
}

func TestWalkOrderAndLimit(t *testing.T) {
	g := dag.New[int]()
	for i := 1; i <= 20; i++ {
		g.AddEdge(i, 0) // a fan-out of 20 under one root
	}
	var mu sync.Mutex
	var order []int
	var inFlight, peak atomic.Int32
	deadline := time.Now().Add(time.Minute)
	res := dag.Walk(context.Background(), g, 3, func(ctx context.Context, k int) error {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		// A leaf stays until a second one has run alongside (at once with
		// a bound of 3; never, were the walk serial), whatever the load.
		for k != 0 && peak.Load() < 2 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(2 * time.Millisecond)
		inFlight.Add(-1)
		mu.Lock()
		order = append(order, k)
		mu.Unlock()
		return nil
	})
	if len(res) != 21 || len(order) != 21 {
		t.Fatalf("ran %d, results %d", len(order), len(res))
	}
	if order[0] != 0 {
		t.Fatalf("root ran at position %d", slices.Index(order, 0))
	}
	if p := peak.Load(); p > 3 || p < 2 {
		t.Fatalf("peak concurrency %d, want 2..3", p)
	}
	for k, r := range res {
		if r.Err != nil || r.Skipped {
			t.Fatalf("%d: %+v", k, r)
		}
	}
}

func TestWalkSkipsDescendantsOfFailureNamingRootCause(t *testing.T) {
	g := diamond()
	boom := errors.New("boom")
	var ran sync.Map
	res := dag.Walk(context.Background(), g, 2, func(ctx context.Context, k string) error {
		ran.Store(k, true)
		if k == "b" {
			return boom
		}
		return nil
	})
	if !errors.Is(res["b"].Err, boom) || res["b"].Skipped {
		t.Fatalf("b: %+v", res["b"])
	}
	d := res["d"]
	if !d.Skipped || d.SkippedBecause != "b" || d.Err == nil || d.Err.Error() != "skipped: b failed" {
		t.Fatalf("d: %+v", d)
	}
	if _, ok := ran.Load("d"); ok {
		t.Fatal("d ran although b failed")
	}
	for _, k := range []string{"a", "c", "e"} {
		if r := res[k]; r.Err != nil || r.Skipped {
			t.Fatalf("%s: %+v (siblings must continue)", k, r)
		}
	}
}

func TestWalkSkipPropagatesRootCause(t *testing.T) {
	g := dag.New[string]()
	g.AddEdge("b", "a")
	g.AddEdge("c", "b")
	res := dag.Walk(context.Background(), g, 4, func(ctx context.Context, k string) error {
		if k == "a" {
			return errors.New("a broke")
		}
		t.Errorf("%s ran", k)
		return nil
	})
	if res["c"].SkippedBecause != "a" || res["b"].SkippedBecause != "a" {
		t.Fatalf("results: %+v", res)
	}
}

func TestWalkCancellation(t *testing.T) {
	g := dag.New[int]()
	for i := 1; i < 10; i++ {
		g.AddEdge(i, i-1) // a chain
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var calls atomic.Int32
	res := dag.Walk(ctx, g, 2, func(ctx context.Context, k int) error {
		calls.Add(1)
		if k == 2 {
			cancel()
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	})
	if calls.Load() != 3 {
		t.Fatalf("calls = %d, want 3 (nothing starts after cancel)", calls.Load())
	}
	for k := 3; k < 10; k++ {
		r := res[k]
		if !r.Skipped || !errors.Is(r.Err, context.Canceled) || r.SkippedBecause != 0 {
			t.Fatalf("%d: %+v", k, r)
		}
	}
}

func TestWalkCycleRunsNothing(t *testing.T) {
	g := dag.New[string]()
	g.AddEdge("a", "b")
	g.AddEdge("b", "a")
	res := dag.Walk(context.Background(), g, 1, func(ctx context.Context, k string) error {
		t.Errorf("%s ran", k)
		return nil
	})
	var ce *dag.CycleError[string]
	if !errors.As(res["a"].Err, &ce) || !res["b"].Skipped {
		t.Fatalf("results: %+v", res)
	}
}

func TestWalkEmptyGraph(t *testing.T) {
	if res := dag.Walk(context.Background(), dag.New[string](), 0, nil); len(res) != 0 {
		t.Fatalf("results: %v", res)
	}
}
