// Command applinkctl manages Heroku AppLink declaratively: it validates an
// applink.yaml, plans the difference against live state, and applies it.
package main

import "os"

func main() { os.Exit(run(os.Args, streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr})) }
