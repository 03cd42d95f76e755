// Package pipeline runs applinkctl's stages in order, from the manifest to
// the state: it opens the state backend, takes and releases the state lock,
// loads the manifest, reads the live world, diffs the three into a plan,
// checks a saved plan against a fresh one, applies a plan and records the
// run in the state history.
//
// It is the one place that knows in which order those steps happen and what
// must be undone when one fails, so that plan, drift and apply cannot
// disagree about it: each command in cmd/applinkctl is then flag parsing, a
// call into this package and calls into internal/view. The package prints
// nothing and reads no flags: what it finds on the way (manifest problems, a
// history that could not be written) goes to a Reporter, which the view
// implements, and the platform client comes from an Opener, which the
// command's flag factory provides.
//
// It is also the API the commands speak for the rest of their work, so that
// cmd/applinkctl imports no engine package (cmd/applinkctl/imports_test.go):
// its own PlanOptions and ApplyOptions, the saved plan (ReadSaved,
// WriteSaved), how an apply ended (ApplyOutcome), and the flows of validate
// and --preflight, graph and export. The state subcommands are in
// pipeline/stateops, the reports to GitHub Actions in pipeline/ghreport and
// applinkctl emulator in pipeline/emuserve.
//
//	r, err := pipeline.Open(ctx, pipeline.Inputs{Files: files, Lock: true, ...})
//	defer r.Close()             // releases the lock, on every path
//	p, err := r.Plan(opts)      // or r.Replan(saved), r.Drift(ctx, ignore)
//	summary, err := r.Apply(ctx, p, observer, pipeline.ApplyOptions{...})
package pipeline
