package plan

import (
	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/manifest"
	"github.com/applinkctl/applinkctl/internal/specdiff"
)

// Action is what apply will do to one resource. The string values are
// stable: they appear in plan JSON, state and CI scripts.
type Action string

// The actions of a plan (docs/plan-format.md, "A change").
const (
	Create    Action = "create"    // not live: create it
	Replace   Action = "replace"   // delete then create: the API has no update
	Republish Action = "republish" // publications only: upload again
	Delete    Action = "delete"    // only with --prune, only what state says applinkctl owns
	Adopt     Action = "adopt"     // live and desired but not in state: record it, no API write
	Noop      Action = "noop"      // nothing to do
)

// Change is the planned action for one address.
//
// Before is what exists now (live values, completed from state where the API
// does not return a field such as login_url); it is nil for create. After is
// what will exist once applied (desired values); it is nil for delete. For
// noop and adopt both are set and equal in every compared attribute.
type Change struct {
	Address addr.Address
	Kind    addr.Kind
	Action  Action
	// Reasons say in words why the action is not noop, e.g. "login_url
	// changed", "status is failed (org_connection_failed)", "key fingerprint
	// changed", "spec changed: +2 −1 operations".
	Reasons []string
	// CausedBy is set on cascaded changes: the connection whose replacement
	// forces this target to be recreated or this publication republished.
	CausedBy addr.Address
	// Blocked, when not empty, says why the change cannot be applied and
	// names the way out (e.g. "--replace acme-api/connection/events_dc").
	// A plan with a blocked change is an error for apply.
	Blocked string
	// Unblock are the addresses whose --replace unblocks the change (its
	// connection); empty when it is not blocked or no flag can unblock it.
	Unblock []addr.Address
	// Wait is set when the live resource is pending (connecting, authorizing,
	// creating, …) or state holds an unfinished intent: apply waits for it to
	// settle instead of acting again.
	Wait bool
	// Protected mirrors the manifest's protect: true (or state's, for a
	// resource being pruned).
	Protected bool
	// StateOnly is set on a noop whose state record holds another protect
	// flag than the manifest declares: apply writes the declared one into
	// state and sends no request. Protect is what prune reads once a
	// resource's block is gone, so it must follow the manifest whether or
	// not anything else changed. It is no change of the live world: a plan
	// of only such noops has no changes (see HasChanges), but apply still
	// runs them (see RecordsState).
	StateOnly bool
	// Resumed is set when state holds an unfinished record (an intent or a
	// pending wait) of an earlier run for this address: the change finishes
	// that run's work, so what it records counts as created by applinkctl.
	Resumed bool
	// RemoteID is the live id when one is known.
	RemoteID string
	// DependsOn lists the addresses that must be ready before this change
	// runs (a child's connection); Plan.Graph orders the changes by it.
	DependsOn []addr.Address

	Before *Snapshot
	After  *Snapshot

	// Spec is set for publications whose spec differs from the last
	// published copy in state.
	Spec *SpecChange

	// Desired is the manifest resource (*manifest.Connection,
	// *manifest.Authorization, *manifest.Target or *manifest.Publication);
	// nil for delete. Bundle is the upload of a publication. Neither is
	// serialized: a saved plan reloads them from the manifest and checks
	// their fingerprints.
	Desired any
	Bundle  *manifest.Bundle
}

// Snapshot is the non-secret, comparable attributes of a resource, flat, for
// display and JSON. Keys are the manifest's field names where one exists
// (type, login_url, client_id, username, key_fingerprint, alias, api_name,
// target_endpoint, spec_digest, …) plus status and id for live resources.
type Snapshot struct {
	Attrs map[string]string
}

// SpecChange describes how a publication's spec changed since it was last
// published.
type SpecChange struct {
	Added   []string // operations, "POST /orders", sorted
	Removed []string
	Changed []string
	// UnifiedDiff is the text diff of the spec against the copy in state,
	// trimmed to a reviewable length.
	UnifiedDiff string
	Truncated   bool
	// File is the manifest's spec file, where the lines of Breaking are:
	// absolute as the planner sets it, as the plan file names it once read
	// back.
	File string
	// Breaking lists what in the new spec breaks the flows, Apex classes
	// and agents calling the published API (an operation, parameter or
	// response field removed, a parameter made required, a type changed,
	// the security changed), in the order of the spec's lines. Empty
	// means the change is compatible with existing callers. When the two
	// versions could not be compared it holds one entry saying why, since
	// nothing then shows the change to be safe.
	Breaking []specdiff.Change
}

// IsBreaking reports whether the spec change breaks existing callers.
func (s *SpecChange) IsBreaking() bool { return s != nil && len(s.Breaking) > 0 }

// Options are the choices that shaped a plan; a saved plan records them so
// apply executes exactly what was reviewed.
type Options struct {
	Prune      bool
	AllowEmpty bool
	Targets    []string // --target patterns (addr.Pattern)
	Replace    []string // --replace patterns, matched against declared addresses
	// StateArgs are the words, each already quoted for a POSIX shell, that
	// make a printed command use this run's state: -f paths and --sandbox,
	// --state, --workspace as given. The commands errors and findings name
	// (state unprotect) carry them, so that they work as pasted. They say
	// how this run was invoked, not what the plan is: a plan file does not
	// keep them.
	StateArgs []string
}

// Fingerprints record what a plan saw, so a saved plan can be refused when
// any of it changed before apply ("stale plan: … changed").
type Fingerprints struct {
	Live  string                  // digest of the live resources the plan read
	State string                  // digest of the state (serial and lineage included)
	Keys  map[addr.Address]string // key fingerprint per JWT resource
	Specs map[addr.Address]string // bundle digest per publication
}

// Plan is the result of Diff: every change in a stable order (by app, then
// address), plus what was seen but left alone.
type Plan struct {
	Changes []*Change
	// Unmanaged are live resources that neither the manifest nor state
	// knows; they are reported and never touched.
	Unmanaged []addr.Address
	// Undeclared are what state records as applinkctl's and the manifest
	// no longer declares, in a plan made without --prune: left alone, and
	// listed so that "no changes" is never read as "nothing left over".
	// Each is the delete --prune would plan, blocked (with its way out)
	// when --prune alone cannot delete it. With --prune they are changes.
	Undeclared []*Change
	Options    Options
	// ManifestFiles are the -f files the plan was made from, for apply PLANFILE.
	ManifestFiles []string
	Fingerprints  Fingerprints
	// Origin is what the plan was made against; the CLI sets it and a
	// saved plan keeps it, so apply PLANFILE can refuse a plan made in the
	// sandbox outside it and the other way round.
	Origin Origin
}

// Origin says which world and state a plan was made against. The zero
// value says nothing (a plan not made by the CLI).
type Origin struct {
	// Sandbox is the absolute --sandbox directory; "" for the real API.
	Sandbox string
	// State names the state backend the plan read, as Backend.Describe
	// names it (never with a password).
	State string
}

// Unblocked returns o with the --replace of every address that unblocks
// one of the blocked changes among cs added, so that a plan made with the
// result is not blocked; ok is false when some blocked change has no such
// way out (its Blocked text says what to do instead).
func Unblocked(o Options, cs []*Change) (_ Options, ok bool) {
	ok = true
	o.Replace = append([]string(nil), o.Replace...)
	for _, c := range cs {
		if c.Blocked == "" {
			continue
		}
		if len(c.Unblock) == 0 {
			ok = false
		}
		for _, a := range c.Unblock {
			o.Replace = append(o.Replace, string(a))
		}
	}
	return normOptions(o), ok
}
