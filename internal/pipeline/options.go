package pipeline

import (
	"context"
	"time"

	"github.com/applinkctl/applinkctl/internal/apply"
	"github.com/applinkctl/applinkctl/internal/live"
	"github.com/applinkctl/applinkctl/internal/plan"
)

// The defaults of the commands' flags, as the engines define them.
const (
	// DefaultApplyParallelism is apply's bound on mutating calls in flight.
	DefaultApplyParallelism = apply.DefaultParallelism
	// DefaultApplyTimeout is how long apply waits for each resource.
	DefaultApplyTimeout = apply.DefaultTimeout
	// DefaultReadParallelism is the bound on concurrent read calls.
	DefaultReadParallelism = live.DefaultReadConcurrency
)

// PlanOptions shape a plan: the flags of plan and apply -f.
type PlanOptions struct {
	Prune      bool     // delete what state manages and the manifest no longer declares
	AllowEmpty bool     // allow Prune with a manifest that declares nothing
	Targets    []string // only resources matching these address patterns, and their dependencies
	Replace    []string // force the replacement of the declared resources matching these
}

// diffOptions are o as plan.Diff takes them.
func (o PlanOptions) diffOptions() plan.Options {
	return plan.Options{Prune: o.Prune, AllowEmpty: o.AllowEmpty, Targets: o.Targets, Replace: o.Replace}
}

// ApplyOptions are the choices of one apply that are not the plan's.
type ApplyOptions struct {
	Parallelism int           // mutating calls in flight; < 1 means DefaultApplyParallelism
	Timeout     time.Duration // wait for each resource; 0 means DefaultApplyTimeout
	DryRun      bool          // read and decide everything, write nothing
	// WaitForBrowser waits for browser OAuth flows even without a terminal.
	WaitForBrowser bool
	Interactive    bool // a person at a terminal follows redirect URIs
	// Abort, once done after the run's context, abandons the calls in
	// flight at once (a second Ctrl-C); nil gives them their grace.
	Abort context.Context
}

// engineOptions are o as apply.Apply takes them.
func (o ApplyOptions) engineOptions(who string) apply.Options {
	return apply.Options{
		Parallelism: o.Parallelism, Timeout: o.Timeout, DryRun: o.DryRun,
		WaitForBrowser: o.WaitForBrowser, Interactive: o.Interactive, Abort: o.Abort, Who: who,
	}
}
