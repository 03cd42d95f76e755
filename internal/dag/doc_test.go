package dag_test

import (
	"fmt"

	"github.com/applinkctl/applinkctl/internal/dag"
)

func ExampleGraph_TopoOrder() {
	g := dag.New[string]()
	g.AddEdge("target", "connection") // the target needs its connection first
	g.AddEdge("publication", "connection")
	order, _ := g.TopoOrder()
	fmt.Println(order)
	teardown, _ := g.Reverse().TopoOrder()
	fmt.Println(teardown)
	// Output:
	// [connection publication target]
	// [publication target connection]
}
