package view_test

import (
	"github.com/applinkctl/applinkctl/internal/plan"
	"github.com/applinkctl/applinkctl/internal/testkit"
)

// The plans the goldens are made from, shared with internal/planfile's
// tests.
func fullPlan() *plan.Plan { return testkit.FullPlan() }
func noopPlan() *plan.Plan { return testkit.NoopPlan() }
func bigPlan() *plan.Plan  { return testkit.BigPlan() }

func snap(kv ...string) *plan.Snapshot { return testkit.Snapshot(kv...) }

const specDiff = testkit.SpecDiff
