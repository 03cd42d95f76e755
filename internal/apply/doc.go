// Package apply turns a plan into reality. It walks the plan's changes in
// dependency order (creates, replaces and republishes parent before child,
// then prunes), independent branches in parallel under a bound, waits for
// every resource to be ready before its children start, and records an
// intent in state before each mutating call and the result after it, so a
// run killed at any instant leaves state from which the next run converges
// without creating anything twice.
//
// The engine writes nothing to the terminal: it emits Events to an Observer
// and returns a Summary; internal/view renders both.
package apply
