package apply

import (
	"context"
	"fmt"
	"slices"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/manifest"
	"github.com/applinkctl/applinkctl/internal/plan"
	"github.com/applinkctl/applinkctl/internal/state"
)

// update writes state through the store; a no-op in dry-run. Writes use a
// context that survives Ctrl-C (bounded by stateWriteTimeout): an
// interrupted run must still record what it did.
//
// A write is no API call: unless the polling is too fast for it to be
// worth it (see minYield), the change gives its parallelism slot back for
// the write and takes it again, ahead of changes on lighter chains, for
// its next call (see hold). A file state's save rewrites and fsyncs the
// whole state, one save at a time: tens of milliseconds on a busy disk,
// during which a change holding its slot left one request fewer in flight.
//
// A write of the change still being saved in the background (see
// saveAhead) is waited for first: the change's writes land in the order it
// made them, and its error is this one's.
func (t *task) update(fn func(s *state.State, old *state.Resource) *state.Resource) error {
	return t.save(fn, false)
}

// updateBeforeCall is update for a write that the change's next call
// follows (an intent): the change queues for its slot as soon as the
// write is saved, by priority among the changes saved with it (see
// batcher.UpdateThen), instead of when its goroutine next runs.
func (t *task) updateBeforeCall(fn func(s *state.State, old *state.Resource) *state.Resource) error {
	return t.save(fn, true)
}

func (t *task) save(fn func(s *state.State, old *state.Resource) *state.Resource, call bool) error {
	if t.e.opts.DryRun {
		return nil
	}
	yield := t.e.opts.yieldsWhileWaiting() && t.slot != nil
	if yield {
		t.slot.Release()
	}
	if err := t.joinWrite(); err != nil {
		return err
	}
	var then func()
	if call && t.slot != nil && !t.slot.Held() {
		// Given back for the write, or never taken (see walk): queue for
		// it as the save ends.
		then = t.slot.Queue
	}
	return t.write(fn, then)
}

// saveAhead starts the state write fn in the background, for a write the
// change's next step need not wait for: the pending record of an accepted
// create, which only tells a later run to wait on the id rather than look
// the name up, while the next step only reads (polls). The change's next
// write, or its end, waits for it (see joinWrite). fn must not read the
// task, which goes on meanwhile: it captures what it records.
func (t *task) saveAhead(fn func(s *state.State, old *state.Resource) *state.Resource) {
	if t.e.opts.DryRun {
		return
	}
	t.inputsOnce()
	done := make(chan error, 1)
	go func() { done <- t.write(fn, nil) }()
	t.ahead = done
}

// joinWrite waits for the write saveAhead started, if any, and returns its
// error.
func (t *task) joinWrite() error {
	if t.ahead == nil {
		return nil
	}
	err := <-t.ahead
	t.ahead = nil
	return err
}

// write saves fn's change to the change's record, running then (if not
// nil) once it is saved (see batcher.UpdateThen). It touches neither the
// slot nor the task's progress, so saveAhead may run it beside the change.
func (t *task) write(fn func(s *state.State, old *state.Resource) *state.Resource, then func()) error {
	// Built here, not in fn: fn runs while the store saves no other
	// change, and a publication's record gzips its spec.
	t.inputsOnce()
	ctx, cancel := context.WithTimeout(t.e.writeCtx, stateWriteTimeout)
	defer cancel()
	a := t.c.Address
	return t.e.rec.UpdateThen(ctx, func(s *state.State) error {
		if s.Resources == nil {
			s.Resources = map[addr.Address]*state.Resource{}
		}
		r := fn(s, s.Resources[a])
		if r == nil {
			delete(s.Resources, a)
			return nil
		}
		r.Kind = t.c.Kind
		if r.Kind == "" {
			r.Kind = a.Kind()
		}
		r.UpdatedAt = t.e.opts.Now().UTC()
		r.UpdatedBy = t.e.opts.Who
		s.Resources[a] = r
		return nil
	}, t.slot.Priority(), then)
}

// intent records that a mutating call (op) is about to be made. keepOld
// keeps the previous record's inputs (replace, republish, delete): should
// the call never happen, the next plan still sees the old inputs and plans
// the same change again.
func (t *task) intent(op string, keepOld bool) error {
	return t.updateBeforeCall(func(_ *state.State, old *state.Resource) *state.Resource {
		var r *state.Resource
		if keepOld && old != nil {
			cp := *old
			r = &cp
		} else {
			r = t.fresh("", "")
			r.Origin = state.Created
		}
		if r.Origin == "" {
			r.Origin = state.Created
		}
		r.Phase = state.Intent
		r.Operation = op
		return r
	})
}

// pending records the accepted resource with its id and last status, so
// the next run waits on it instead of creating it again.
func (t *task) pending() error {
	return t.record(state.Pending)
}

// record writes the resource's record in phase ph with the applied inputs.
func (t *task) record(ph state.Phase) error {
	return t.update(t.recordFn(ph))
}

// recordFn is the write of the resource's record in phase ph, with the
// id, status and name the change holds now: it reads nothing of the task
// later, so it may be saved while the change goes on (see saveAhead).
func (t *task) recordFn(ph state.Phase) func(*state.State, *state.Resource) *state.Resource {
	id, status, name := t.remoteID, t.status, t.remoteName
	return func(_ *state.State, old *state.Resource) *state.Resource {
		r := t.freshAs(id, status, name)
		r.Origin = originFor(old, t.c.Action)
		r.Phase = ph
		r.Operation = ""
		if ph == state.Pending && old != nil && old.Phase != state.Applied {
			r.Operation = old.Operation
		}
		return r
	}
}

// forget removes the resource's record: it is gone.
func (t *task) forget() error {
	return t.update(func(*state.State, *state.Resource) *state.Resource { return nil })
}

// fresh is the record of the change's desired inputs as plan computes them,
// so the next plan compares equal, live as remoteID in status. The caller
// sets its origin and phase; update stamps the time and the author.
func (t *task) fresh(remoteID, status string) *state.Resource {
	return t.freshAs(remoteID, status, t.remoteName)
}

// freshAs is fresh with the API's name of the resource given.
func (t *task) freshAs(remoteID, status, remoteName string) *state.Resource {
	cp := *t.inputsOnce()
	r := &cp
	r.SpecGzip = slices.Clone(r.SpecGzip)
	r.RemoteID, r.Status = remoteID, status
	// A publication's esr_name is recorded when it is not its client
	// name, so the next plan finds it by it (plan's identity.go).
	if t.c.Kind == addr.KindPublication && remoteName != t.c.Address.Parts().Name {
		r.RemoteName = remoteName
	}
	return r
}

// inputsOnce is inputsRecord of the change, built on its first use and
// kept: the inputs do not change during the run, and every record of the
// change (intent, pending, applied) starts from them.
func (t *task) inputsOnce() *state.Resource {
	if t.inputs == nil {
		t.inputs = inputsRecord(t.c)
	}
	return t.inputs
}

// AppliedRecord is the state record apply writes once c reached its goal,
// live as remoteID in status; old is the record state held before (nil for
// none), which says how a resource neither created nor replaced by this
// run came under management. It holds what later plans compare with and
// never a secret (see inputsRecord). UpdatedAt and UpdatedBy are left to
// the writer: apply stamps them with its clock (Options.Now) and
// Options.Who. A delete has no record: nil.
func AppliedRecord(c *plan.Change, remoteID, status string, old *state.Resource) *state.Resource {
	if c == nil || c.Action == plan.Delete {
		return nil
	}
	r := inputsRecord(c)
	r.RemoteID, r.Status = remoteID, status
	r.Origin = originFor(old, c.Action)
	r.Phase = state.Applied
	return r
}

// inputsRecord is a record of c's kind holding the desired inputs later
// plans compare with: the inputs digest, login_url, client id, username,
// key fingerprint and protect flag; for publications the spec, gzipped,
// and the metadata digest. It holds no secret: a key appears only as its
// fingerprint. A change without a desired resource (a delete, a noop of a
// saved plan) records none.
func inputsRecord(c *plan.Change) *state.Resource {
	r := &state.Resource{Kind: c.Kind}
	switch d := c.Desired.(type) {
	case *manifest.Connection:
		r.InputsDigest = plan.InputsDigest(d)
		r.LoginURL = d.LoginURL
		r.Protect = d.Protect
		if d.JWT != nil {
			r.ClientID, r.Username, r.KeyFingerprint = d.JWT.ClientID, d.JWT.Username, d.JWT.KeyFingerprint
		}
	case *manifest.Authorization:
		r.InputsDigest = plan.InputsDigest(d)
		r.LoginURL = d.LoginURL
		r.Protect = d.Protect
		if d.JWT != nil {
			r.ClientID, r.Username, r.KeyFingerprint = d.JWT.ClientID, d.JWT.Username, d.JWT.KeyFingerprint
		}
	case *manifest.Target:
		r.InputsDigest = plan.InputsDigest(d)
	case *manifest.Publication:
		b := c.Bundle
		if b == nil {
			var err error
			if b, err = manifest.BuildBundle(d); err != nil {
				return r // the digest stays empty: the next plan republishes
			}
		}
		r.InputsDigest = b.Digest
		r.SpecGzip = state.CompressSpec(b.Spec)
		r.SpecName = b.SpecName
		r.MetadataDigest = b.MetadataDigest
	}
	return r
}

// originFor says how a resource came under management: created by this
// run's create or replace, else whatever state said, else adopted.
func originFor(old *state.Resource, a plan.Action) state.Origin {
	switch {
	case a == plan.Create || a == plan.Replace:
		return state.Created
	case old != nil && old.Origin != "":
		return old.Origin
	}
	return state.Adopted
}

// recordProtect settles a noop whose record holds another protect flag
// than the manifest (see plan.Change.StateOnly): it writes the declared
// flag into the record and sends nothing. Prune reads the flag from state
// once the resource's block is gone, so adding protect: true must protect
// it and removing it must release it, without any other change.
func (t *task) recordProtect() result {
	want := declaredProtect(t.c.Desired)
	err := t.update(func(_ *state.State, old *state.Resource) *state.Resource {
		if old == nil {
			// The plan saw a record; gone since, the resource is recorded
			// afresh like an adoption.
			r := t.fresh(t.remoteID, t.status)
			r.Origin = originFor(nil, t.c.Action)
			r.Phase = state.Applied
			return r
		}
		r := *old
		r.Protect = want
		return &r
	})
	if err != nil {
		return t.fail(err)
	}
	return t.done("recorded " + protectNote(t.c))
}

// declaredProtect is the manifest's protect flag of a connection or an
// authorization; other kinds have none.
func declaredProtect(desired any) bool {
	switch d := desired.(type) {
	case *manifest.Connection:
		return d != nil && d.Protect
	case *manifest.Authorization:
		return d != nil && d.Protect
	}
	return false
}

// protectNote says what a state-only noop records: "protect: true in
// state".
func protectNote(c *plan.Change) string {
	return fmt.Sprintf("protect: %t in state", declaredProtect(c.Desired))
}
