// Package view renders what applinkctl computes for people and tools: plans
// (text for terminals, JSON for scripts, Markdown for pull-request comments),
// drift reports, saved plan files, and apply progress.
//
// The engine packages (plan, apply) know nothing of formatting; they hand a
// value or a stream of events to this package, which owns every byte of
// output. JSON output uses wire structs declared here, never the domain
// types, so internal refactors cannot change what scripts parse; the wire
// format is versioned by format_version and documented in docs/plan-format.md.
// Every renderer is deterministic: the same input gives byte-identical output.
package view
