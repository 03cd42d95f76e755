// Package dag is a small generic directed acyclic graph: the order in which
// dependent work must run. It knows nothing of what its nodes are; callers
// use it to order creates parent-first and deletes as their edges say, and to run
// independent branches in parallel with a bound: Walk with a fixed limit,
// or WalkWith with a priority among ready nodes and a Semaphore whose Slot
// a node may give back while it waits. Both are the same walk.
//
// Edges point from a node to what it depends on: AddEdge(child, parent)
// says child needs parent first. TopoOrder therefore lists parents before
// children, and Reverse gives the order for tearing things down.
package dag

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Graph is a set of nodes and dependency edges. The zero value is not
// usable; call New. A Graph is not safe for concurrent mutation, but any
// number of goroutines may read one that is no longer changed.
type Graph[K cmp.Ordered] struct {
	deps       map[K]map[K]struct{} // node → what it depends on
	dependents map[K]map[K]struct{} // node → what depends on it
}

// New returns an empty graph.
func New[K cmp.Ordered]() *Graph[K] {
	return &Graph[K]{deps: map[K]map[K]struct{}{}, dependents: map[K]map[K]struct{}{}}
}

// AddNode adds k; adding it twice is harmless.
func (g *Graph[K]) AddNode(k K) {
	if _, ok := g.deps[k]; !ok {
		g.deps[k] = map[K]struct{}{}
		g.dependents[k] = map[K]struct{}{}
	}
}

// AddEdge records that from depends on to: to must be done before from
// starts. Both nodes are added if missing.
func (g *Graph[K]) AddEdge(from, to K) {
	g.AddNode(from)
	g.AddNode(to)
	g.deps[from][to] = struct{}{}
	g.dependents[to][from] = struct{}{}
}

// Nodes lists every node, sorted.
func (g *Graph[K]) Nodes() []K {
	return slices.Sorted(maps.Keys(g.deps))
}

// Len is the number of nodes.
func (g *Graph[K]) Len() int { return len(g.deps) }

// Has reports whether k is a node of the graph.
func (g *Graph[K]) Has(k K) bool {
	_, ok := g.deps[k]
	return ok
}

// Deps lists what k depends on directly, sorted.
func (g *Graph[K]) Deps(k K) []K { return slices.Sorted(maps.Keys(g.deps[k])) }

// Dependents lists what depends on k directly, sorted.
func (g *Graph[K]) Dependents(k K) []K { return slices.Sorted(maps.Keys(g.dependents[k])) }

// Descendants lists everything that depends on k directly or through
// others, sorted: what cannot run if k fails.
func (g *Graph[K]) Descendants(k K) []K {
	seen := map[K]struct{}{}
	stack := g.Dependents(k)
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if _, ok := seen[n]; ok {
			continue
		}
		seen[n] = struct{}{}
		stack = append(stack, g.Dependents(n)...)
	}
	return slices.Sorted(maps.Keys(seen))
}

// Heights gives every node the weight of the heaviest chain of dependents
// that starts with it: its own weight plus the largest height among what
// depends on it. Starting the highest first (WalkOptions.Priority) starts
// the chains that bound a walk's length first. A graph with a cycle has no
// heights: the error is its *CycleError.
func (g *Graph[K]) Heights(weight func(K) int) (map[K]int, error) {
	order, err := g.TopoOrder()
	if err != nil {
		return nil, err
	}
	h := make(map[K]int, len(order))
	for _, k := range slices.Backward(order) {
		v := 0
		for d := range g.dependents[k] {
			v = max(v, h[d])
		}
		h[k] = v + weight(k)
	}
	return h, nil
}

// Reverse returns a new graph with every edge turned around, so that
// TopoOrder of the result lists dependents before what they depend on.
func (g *Graph[K]) Reverse() *Graph[K] {
	r := New[K]()
	for k, deps := range g.deps {
		r.AddNode(k)
		for d := range deps {
			r.AddEdge(d, k)
		}
	}
	return r
}

// CycleError reports a dependency cycle. Cycle lists its nodes in order,
// each depending on the next and the last on the first, starting at the
// smallest node so the message is the same on every run.
type CycleError[K cmp.Ordered] struct {
	Cycle []K
}

func (e *CycleError[K]) Error() string {
	parts := make([]string, 0, len(e.Cycle)+1)
	for _, k := range e.Cycle {
		parts = append(parts, fmt.Sprint(k))
	}
	if len(e.Cycle) > 0 {
		parts = append(parts, fmt.Sprint(e.Cycle[0]))
	}
	return "dependency cycle: " + strings.Join(parts, " → ")
}

// Validate returns a *CycleError naming one whole cycle when the graph has
// any, and nil otherwise. The cycle reported is the same on every run.
func (g *Graph[K]) Validate() error {
	const (
		white = iota
		grey
		black
	)
	color := make(map[K]int, len(g.deps))
	var stack []K
	var found []K
	var visit func(k K) bool
	visit = func(k K) bool {
		color[k] = grey
		stack = append(stack, k)
		for _, d := range g.Deps(k) {
			switch color[d] {
			case grey:
				i := slices.Index(stack, d)
				found = slices.Clone(stack[i:])
				return true
			case white:
				if visit(d) {
					return true
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[k] = black
		return false
	}
	for _, k := range g.Nodes() {
		if color[k] == white && visit(k) {
			return &CycleError[K]{Cycle: rotateToMin(found)}
		}
	}
	return nil
}

// TopoOrder lists every node after all it depends on; among nodes that are
// ready at the same time the smaller comes first, so the order is stable.
func (g *Graph[K]) TopoOrder() ([]K, error) {
	if err := g.Validate(); err != nil {
		return nil, err
	}
	remaining := make(map[K]int, len(g.deps))
	var ready []K
	for k, deps := range g.deps {
		remaining[k] = len(deps)
		if len(deps) == 0 {
			ready = append(ready, k)
		}
	}
	slices.Sort(ready)
	order := make([]K, 0, len(g.deps))
	for len(ready) > 0 {
		k := ready[0]
		ready = ready[1:]
		order = append(order, k)
		for _, d := range g.Dependents(k) {
			remaining[d]--
			if remaining[d] == 0 {
				i, _ := slices.BinarySearch(ready, d)
				ready = slices.Insert(ready, i, d)
			}
		}
	}
	return order, nil
}

func rotateToMin[K cmp.Ordered](c []K) []K {
	if len(c) == 0 {
		return c
	}
	i := slices.Index(c, slices.Min(c))
	return append(slices.Clone(c[i:]), c[:i]...)
}
