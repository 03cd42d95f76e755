// Package plan decides what apply must do: Diff compares the manifest (what
// is wanted), the live world (what exists) and state (what applinkctl did
// before, and the inputs the API cannot return, such as login_url or the key
// fingerprint) and returns a Plan of Changes with reasons a reviewer can
// read. The rules are in docs/design.md ("Plan rules"); this package is
// pure (no I/O besides reading the publication files of the manifest) and
// deterministic, so the same inputs always give a byte-identical rendering.
//
// Drift reuses the same comparison read-only and classifies what it finds;
// CheckStale tells apply whether a saved plan still describes the world.
package plan
