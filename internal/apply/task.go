package apply

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/client"
	"github.com/applinkctl/applinkctl/internal/dag"
	"github.com/applinkctl/applinkctl/internal/plan"
	"github.com/applinkctl/applinkctl/internal/state"
)

// maxPosts bounds the creating requests of one resource in one run. A POST
// is only repeated after an ambiguous outcome and a lookup by name that
// found nothing; names are unique per add-on, so a repeat that crossed a
// late first one answers 409, which the lookup resolves: no duplicate.
const maxPosts = 3

// errNotSent is the error of a mutating call a change did not send because
// the run was interrupted while the change waited for its slot.
var errNotSent = errors.New("not sent")

// browserHint is how a run without a person continues an OAuth flow.
const browserHint = "run applinkctl apply interactively or pass --wait-for-browser"

// task is one change being applied.
type task struct {
	e        *engine
	c        *plan.Change
	slot     *dag.Slot
	start    time.Time
	deadline time.Time
	remoteID string
	status   string
	// remoteName is the name the API gives the resource where it is not
	// the address's (a publication's esr_name), recorded in state.
	remoteName string
	// deleted is set once this run sent the resource's delete: a name
	// then still held is waited for, not deleted again.
	deleted bool
	// inputs is the change's inputsRecord, built once (see inputsOnce).
	inputs *state.Resource
	// ahead is the outcome of a state write saved while the change goes
	// on (see saveAhead); nil when none is outstanding.
	ahead chan error
	// learn, set for the wait that follows a creating request, times it
	// for the class (see readiness); the next wait takes and clears it.
	learn *waitAhead
}

// do applies one change and reports how it ended. It emits the change's
// events and writes its state records. s is the change's parallelism slot,
// held on entry (see dag.Slot).
func (e *engine) do(ctx context.Context, c *plan.Change, s *dag.Slot) result {
	if c.Action == plan.Noop && !c.Wait && !c.StateOnly {
		return result{outcome: succeeded, remoteID: c.RemoteID}
	}
	now := e.opts.Now()
	t := &task{e: e, c: c, slot: s, start: now, deadline: now.Add(e.opts.Timeout), remoteID: c.RemoteID}
	// No write outlives its change: Apply returns once state is written.
	// A change that ended without writing again already failed or is
	// pending, whatever that write's outcome.
	defer func() { _ = t.joinWrite() }()
	if c.Before != nil {
		t.status = c.Before.Attrs["status"]
	}
	t.event(EventStarted, "")
	if err := ctx.Err(); err != nil {
		return t.skip(stopReason(ctx), true)
	}
	o, err := e.opsFor(c)
	if err != nil {
		return t.fail(err)
	}
	if e.opts.DryRun {
		return t.dryRun(ctx, o)
	}
	switch c.Action {
	case plan.Noop:
		if !c.Wait {
			return t.recordProtect()
		}
		return t.settle(ctx, o)
	case plan.Adopt:
		if c.Wait {
			return t.settle(ctx, o)
		}
		return t.applied("")
	case plan.Create:
		return t.create(ctx, o, "create")
	case plan.Replace:
		return t.replace(ctx, o)
	case plan.Republish:
		return t.create(ctx, o, "republish")
	case plan.Delete:
		return t.delete(ctx, o)
	}
	return t.fail(fmt.Errorf("unknown action %q", c.Action))
}

// create posts the resource (resolving ambiguous answers and 409s by name)
// and waits for it to be ready.
func (t *task) create(ctx context.Context, o *ops, op string) result {
	if o.post == nil {
		return t.fail(errors.New("nothing to create it from"))
	}
	keepOld := op != "create"
	if err := t.intent(op, keepOld); err != nil {
		return t.fail(err)
	}
	p, err := t.post(ctx, o)
	if err != nil {
		return t.postFailed(ctx, op, err)
	}
	return t.afterPost(ctx, o, p)
}

// postFailed reports a creating request that did not succeed. Cut short by
// Ctrl-C (its grace spent), it is an interruption, not a failure: the
// intent in state makes the next run look the name up.
//
// A wait for the name to be freed by a deleted resource that ran out of
// time is pending, like any other wait: the intent stays in state, and the
// next run waits again and creates it.
func (t *task) postFailed(ctx context.Context, op string, err error) result {
	if isLockLost(err) {
		return t.lockLost(op)
	}
	if errors.Is(err, errNotSent) {
		return t.pendingResult("interrupted before its "+op+"; the next apply looks it up by name", true)
	}
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return t.pendingResult("interrupted during its "+op+"; the next apply looks it up by name", true)
	}
	var he *nameHeldError
	if errors.As(err, &he) && he.timedOut() {
		return t.pendingResult(he.Error(), false)
	}
	return t.fail(fmt.Errorf("%s: %w", op, err))
}

// maxHeldWaits bounds how often one create waits for its name to be freed
// after a 409 and posts again. Each wait lasts until the resource holding
// the name is gone (bounded by --timeout); more than one is needed only
// when the name is taken again meanwhile, which repeating for ever would
// not cure.
const maxHeldWaits = 3

// goingAway reports the status of a resource that was deleted and is still
// listed: disconnecting, or disconnected for as long as the API keeps it.
// Its name is not free yet: a create is answered 409 until it is gone.
func goingAway(status string) bool {
	return status == client.StatusDisconnecting || status == client.StatusDisconnected
}

// nameHeldError is a create that could not be sent because its name is
// still held by a deleted resource that did not go in time (Err is the
// wait's *client.TimeoutError or the context's error).
type nameHeldError struct {
	kind    addr.Kind
	name    string
	id      string
	status  string
	timeout time.Duration
	Err     error
}

// Error says what holds the name. Timed out, it is the pending message,
// which the summary prints after the id and status of that resource.
func (e *nameHeldError) Error() string {
	if e.timedOut() {
		return fmt.Sprintf("the name %s is still held by a deleted %s after %s; the next apply waits for it to go, then creates it", e.name, e.kind, e.timeout)
	}
	return fmt.Sprintf("the name %s is still held by a deleted %s (id %s, status %s): %v", e.name, e.kind, e.id, e.status, e.Err)
}

func (e *nameHeldError) Unwrap() error { return e.Err }

func (e *nameHeldError) timedOut() bool {
	var te *client.TimeoutError
	return errors.As(e.Err, &te)
}

// freeName frees the change's name, before a create, from the deleted
// resource (id, status) that holds it: one listed as disconnected is
// deleted first, unless this run deleted it already or the change is
// protected, since "disconnected" may as well be a broken resource the
// API keeps (whose name only a delete frees) as a deleted one it still
// lists (for which a delete changes nothing, and whose refusal is left to
// the wait). Then it waits for the name to be free (see awaitNameFree).
func (t *task) freeName(ctx context.Context, o *ops, id, status string) error {
	if status == client.StatusDisconnected && o.del != nil && !t.deleted && !t.c.Protected {
		t.hold()
		if err := t.e.lockLost(); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%w: %w", errNotSent, err)
		}
		t.deleted = true
		t.e.emit(Event{Address: t.c.Address, Action: t.c.Action, Type: EventStatus, Status: status, RemoteID: id, Elapsed: t.elapsed(),
			Message: fmt.Sprintf("deleting the disconnected %s that holds the name", o.kind)})
		if err := o.del(t.e.graceCtx); err != nil && !client.IsNotFound(err) && ctx.Err() != nil {
			return err
		}
	}
	return t.awaitNameFree(ctx, o, id, status, goingAway)
}

// awaitNameFree waits, before a create, until the resource holding the
// change's name stops being held (held reports the statuses that still
// hold it; a 404 never does), within what is left of the change's
// timeout. The resource is read by name, so a resource created under the
// name meanwhile ends the wait too: the create that follows then meets a
// 409 and takes it for what it is.
func (t *task) awaitNameFree(ctx context.Context, o *ops, id, status string, held func(string) bool) error {
	t.remoteID, t.status = id, status
	t.e.emit(Event{Address: t.c.Address, Action: t.c.Action, Type: EventStatus, Status: status, RemoteID: id, Elapsed: t.elapsed(),
		Message: fmt.Sprintf("waiting for the deleted %s to go before creating it", o.kind)})
	fetch := func(ctx context.Context) (probe, error) {
		p, err := o.get(ctx, o.name)
		if client.IsNotFound(err) {
			return probe{status: statusGone}, nil
		}
		return p, err
	}
	_, err := t.wait(ctx, fetch, func(s string) bool { return s == statusGone || !held(s) })
	if err != nil {
		return &nameHeldError{kind: o.kind, name: o.name, id: id, status: t.status, timeout: t.e.opts.Timeout, Err: err}
	}
	t.remoteID, t.status = "", ""
	return nil
}

// replace deletes the resource, waits until it is gone, and creates it
// again. Targets have no delete: their connection's replacement took them,
// so they are only created.
func (t *task) replace(ctx context.Context, o *ops) result {
	if o.del == nil {
		return t.create(ctx, o, "create")
	}
	if o.post == nil {
		return t.fail(errors.New("nothing to create it from"))
	}
	if err := t.intent("replace", true); err != nil {
		return t.fail(err)
	}
	if r, done := t.remove(ctx, o); done {
		return r
	}
	// Gone: from here on the record is a plain create intent, which the
	// next plan resolves by name whatever happens.
	if err := t.intent("create", false); err != nil {
		return t.fail(err)
	}
	t.remoteID, t.status = "", ""
	p, err := t.post(ctx, o)
	if err != nil {
		return t.postFailed(ctx, "create", err)
	}
	return t.afterPost(ctx, o, p)
}

// delete prunes a resource and forgets it.
func (t *task) delete(ctx context.Context, o *ops) result {
	if o.del == nil {
		return t.dropChild(ctx, o, false)
	}
	if err := t.intent("delete", true); err != nil {
		return t.fail(err)
	}
	if r, done := t.remove(ctx, o); done {
		return r
	}
	if err := t.forget(); err != nil {
		return t.fail(err)
	}
	return t.done("")
}

// dropChild settles the prune of a target or publication, which the API
// cannot delete alone: it goes with its connection when that is deleted
// (the walk runs this after) or replaced (done before all deletes) in this
// run; else it may already be gone live; else it cannot be pruned.
func (t *task) dropChild(ctx context.Context, o *ops, dry bool) result {
	t.hold() // it may look the resource up
	parent := t.c.Address.Parent()
	if i, ok := t.e.byAddr[parent]; ok {
		switch pc := t.e.changes[i]; pc.Action {
		case plan.Delete:
			return t.dropRecord(dry, "deleted with its connection", "would be deleted with its connection")
		case plan.Replace:
			if !dry && t.e.results[i].outcome != succeeded {
				return t.skip(fmt.Sprintf("skipped: %s was not replaced", parent), false)
			}
			return t.dropRecord(dry, "deleted with its connection", "would be deleted with its connection")
		}
	}
	_, err := o.get(ctx, o.name)
	switch {
	case client.IsNotFound(err):
		return t.dropRecord(dry, "already gone live", "already gone live: would drop its state record")
	case err != nil:
		return t.fail(err)
	}
	return t.fail(fmt.Errorf("the API cannot delete a %s on its own; it goes with its connection (--replace %s, or prune the connection)", o.kind, parent))
}

// dropRecord forgets a resource that is gone; a dry run says dryMsg.
func (t *task) dropRecord(dry bool, msg, dryMsg string) result {
	if dry {
		return t.done(dryMsg)
	}
	if err := t.forget(); err != nil {
		return t.fail(err)
	}
	t.status = statusGone
	return t.done(msg)
}

// remove sends the delete and waits until the resource is gone (404 or
// disconnected). done is true when the change ended there (failed or
// pending) and r says how.
func (t *task) remove(ctx context.Context, o *ops) (r result, done bool) {
	t.hold()
	if err := t.e.lockLost(); err != nil {
		return t.lockLost("delete"), true
	}
	if ctx.Err() != nil {
		// Interrupted while it waited for its slot: nothing is sent.
		return t.pendingResult("interrupted before its delete; the next apply plans it again", true), true
	}
	t.deleted = true
	if err := o.del(t.e.graceCtx); err != nil && !client.IsNotFound(err) {
		return t.postFailed(ctx, "delete", err), true
	}
	return t.awaitGone(ctx, o)
}

// awaitGone waits until a deleted resource is gone (404 or disconnected).
func (t *task) awaitGone(ctx context.Context, o *ops) (r result, done bool) {
	gone := func(ctx context.Context) (probe, error) {
		p, err := o.get(ctx, o.name)
		if client.IsNotFound(err) {
			return probe{status: statusGone}, nil
		}
		return p, err
	}
	isGone := func(s string) bool { return s == statusGone || s == client.StatusDisconnected }
	p, err := gone(ctx)
	if err == nil && !isGone(p.status) {
		p, err = t.wait(ctx, gone, isGone)
	}
	if err != nil {
		return t.waitFailed(err, "delete"), true
	}
	t.status = p.status
	return result{}, false
}

// post sends the creating request. An ambiguous outcome or a 409 is
// resolved by looking the name up: found, it is the resource; not found
// after a 409, the name was freed in between and the POST is sent again
// (bounded, see maxHeldWaits); not found after an ambiguous outcome, the
// POST is repeated (bounded, see maxPosts).
//
// A name still held by a deleted resource is freed first (see freeName):
// a create planned while the plan saw the name held by one
// (disconnecting, or disconnected and still listed: an earlier run's
// replace stopped during its delete, or a delete by someone else) waits
// until that resource is gone; a 409 whose lookup finds a deleted
// resource still listed does the same and posts again (bounded, see
// maxHeldWaits).
func (t *task) post(ctx context.Context, o *ops) (probe, error) {
	if goingAway(t.status) {
		if err := t.freeName(ctx, o, t.remoteID, t.status); err != nil {
			return probe{}, err
		}
	}
	t.hold()
	if err := t.e.lockLost(); err != nil {
		// The run stopped while it waited for its slot, for this.
		return probe{}, err
	}
	if err := ctx.Err(); err != nil {
		// Interrupted while it waited for its slot: nothing is sent.
		return probe{}, fmt.Errorf("%w: %w", errNotSent, err)
	}
	gctx := t.e.graceCtx
	delay := 500 * time.Millisecond
	heldWaits := 0
	for attempt := 1; ; attempt++ {
		// The intent was written under the lock; a run that has since
		// learnt it lost the lock must not send the call it announced.
		if err := t.e.lockLost(); err != nil {
			return probe{}, err
		}
		p, err := o.post(gctx)
		if err == nil {
			if o.terminal == nil && p.id == "" {
				// A publication identified by neither its answer nor
				// the lists around it: read its id back, a read like a
				// poll (see wait).
				get := func(ctx context.Context) (probe, error) { return o.get(ctx, o.name) }
				if t.e.opts.yieldsWhileWaiting() && t.slot != nil {
					t.slot.Release()
					get = func(ctx context.Context) (probe, error) {
						return withToken(ctx, t.e.polls, func(ctx context.Context) (probe, error) { return o.get(ctx, o.name) })
					}
				}
				if q, gerr := get(gctx); gerr == nil {
					return q, nil
				}
			}
			return p, nil
		}
		conflict := isConflict(err)
		if !conflict && !errors.Is(err, client.ErrAmbiguous) {
			return probe{}, err
		}
		found, lerr := o.get(gctx, o.name)
		if lerr == nil && goingAway(found.status) {
			// The name is still held by a deleted resource, not ours:
			// wait for it to go, then post again.
			if heldWaits >= maxHeldWaits {
				return probe{}, fmt.Errorf("%w; %s is still held by a deleted resource (status %s) after waiting %d times for it to go: run apply again once it is gone", err, o.name, found.status, heldWaits)
			}
			heldWaits++
			if werr := t.freeName(ctx, o, found.id, found.status); werr != nil {
				return probe{}, werr
			}
			attempt--
			t.hold()
			continue
		}
		if lerr == nil {
			return found, nil
		}
		if !client.IsNotFound(lerr) {
			return probe{}, fmt.Errorf("%w; then looking it up by name: %w", err, lerr)
		}
		if conflict {
			// Taken when posted, free now: the deleted resource that
			// held it went in between. Post again, as after a wait.
			if heldWaits >= maxHeldWaits || ctx.Err() != nil {
				return probe{}, fmt.Errorf("%w; yet %s is not found by name", err, o.name)
			}
			heldWaits++
			attempt--
			continue
		}
		if attempt >= maxPosts || ctx.Err() != nil {
			return probe{}, fmt.Errorf("%w; %s is not found by name, run apply again", err, o.name)
		}
		if err := sleep(ctx, delay); err != nil {
			return probe{}, fmt.Errorf("%w; interrupted before trying again", err)
		}
		delay *= 2
	}
}

// afterPost records the accepted resource and waits for it to be ready.
// The calls of the create are done: unless the polling is too fast to be
// worth it (see minYield), the slot goes back before the state write.
func (t *task) afterPost(ctx context.Context, o *ops, p probe) result {
	if t.e.opts.yieldsWhileWaiting() && t.slot != nil {
		t.slot.Release()
	}
	t.remoteID, t.status, t.remoteName = p.id, p.status, firstNonEmpty(p.name, t.remoteName)
	if o.terminal != nil && !o.terminal(p.status) {
		// Accepted but not settled: a run killed from here on resumes
		// waiting on this id instead of creating it again. The wait that
		// follows only reads, so it starts while the record is saved; the
		// change's next write (its applied record, before its dependents
		// start) waits for this one, and fails with it.
		t.saveAhead(t.recordFn(state.Pending))
		// The wait starts at the creating request's answer: what it
		// learns times the class's provisioning (see readiness).
		if o.class != "" {
			t.learn = &waitAhead{r: &t.e.readiness, class: o.class}
		}
	}
	return t.await(ctx, o, p)
}

// settle waits for an existing resource (a noop or adopt the plan found
// pending, or an unfinished create of an earlier run) and records it.
func (t *task) settle(ctx context.Context, o *ops) result {
	t.hold() // its first look is a call
	key := t.remoteID
	if key == "" || o.kind == addr.KindTarget || o.kind == addr.KindPublication {
		key = o.name
	}
	p, err := o.get(ctx, key)
	switch {
	case client.IsNotFound(err) && o.post != nil:
		// Gone since the plan read it (an earlier run's delete finished):
		// the manifest still wants it, and names are unique, so create it.
		return t.create(ctx, o, "create")
	case client.IsNotFound(err):
		return t.fail(errors.New("no longer exists live; run plan again"))
	case err != nil && ctx.Err() != nil:
		return t.interrupted()
	case err != nil:
		return t.fail(err)
	case goingAway(p.status) && o.post != nil:
		// Deleted since the plan read it (an earlier run's replace cut
		// short during its delete, or someone else), and still listed:
		// the create waits for the name to be free (see post).
		t.remoteID, t.status = p.id, p.status
		return t.create(ctx, o, "create")
	}
	return t.await(ctx, o, p)
}

// await waits from probe p until the resource is terminal, then records
// the outcome: ready → applied; failed → recorded (applinkctl owns it, the
// next plan replaces it) and reported.
func (t *task) await(ctx context.Context, o *ops, p probe) result {
	t.remoteID, t.status = firstNonEmpty(p.id, t.remoteID), p.status
	t.remoteName = firstNonEmpty(p.name, t.remoteName)
	if o.terminal == nil {
		return t.applied("")
	}
	if !o.terminal(p.status) {
		if p.redirect != "" {
			t.e.emit(Event{Address: t.c.Address, Action: t.c.Action, Type: EventWaitingOnBrowser,
				Status: p.status, RemoteID: t.remoteID, RedirectURI: p.redirect, Elapsed: t.elapsed(),
				Message: "approve it in a browser at the URL"})
			if !t.e.opts.WaitForBrowser && !t.e.opts.Interactive {
				if err := t.pending(); err != nil {
					return t.fail(err)
				}
				return t.fail(fmt.Errorf("%s %s waits for a person to approve it in a browser; %s", o.kind, t.c.Address, browserHint))
			}
		}
		key := t.remoteID
		if key == "" {
			key = o.name
		}
		// p was read just now (the creating request's answer, or a GET):
		// it is the wait's first look, so the first poll comes one
		// interval later instead of at once, for an answer p already gave.
		first := true
		fetch := func(ctx context.Context) (probe, error) {
			if first {
				first = false
				return p, nil
			}
			return o.get(ctx, key)
		}
		var err error
		p, err = t.wait(ctx, fetch, o.terminal)
		if err != nil {
			return t.waitFailed(err, "wait")
		}
		t.remoteID, t.status = firstNonEmpty(p.id, t.remoteID), p.status
	}
	if o.ready(p.status) {
		return t.applied("")
	}
	// Failed: record it so prune knows it is ours and the next plan
	// replaces it, then report why.
	if err := t.record(state.Applied); err != nil {
		return t.fail(err)
	}
	msg := "status is " + p.status
	if p.errMsg != "" {
		msg += " (" + p.errMsg + ")"
	}
	return t.fail(errors.New(msg))
}

// wait polls fetch with the engine's cadence until terminal, within what is
// left of the change's timeout, emitting each new status. Unless the
// cadence is too fast to be worth it (see minYield), the change gives its
// parallelism slot back for the whole wait, each poll taking a token of the
// engine's poll limit instead.
func (t *task) wait(ctx context.Context, fetch func(context.Context) (probe, error), terminal func(string) bool) (probe, error) {
	wo := t.e.opts.Poll
	wo.Timeout = t.deadline.Sub(t.e.opts.Now())
	if wo.Timeout <= 0 {
		wo.Timeout = time.Millisecond
	}
	wo.OnStatus = func(s string) {
		if s == t.status {
			return
		}
		t.status = s
		t.e.emit(Event{Address: t.c.Address, Action: t.c.Action, Type: EventStatus, Status: s, RemoteID: t.remoteID, Elapsed: t.elapsed()})
	}
	if t.learn != nil {
		wo.Ahead = t.learn
		t.learn = nil
	}
	poll := fetch
	if t.e.opts.yieldsWhileWaiting() && t.slot != nil {
		poll = func(ctx context.Context) (probe, error) { return withToken(ctx, t.e.polls, fetch) }
		// Taken again only for a further call (see hold): recording the
		// outcome is a state write, and the change's dependents should
		// not wait for a slot to learn it is ready.
		t.slot.Release()
	}
	return client.Wait(ctx, poll, func(p probe) string { return p.status }, terminal, wo)
}

// hold takes the change's parallelism slot again, if a wait gave it back,
// before a mutating call. It waits within the grace period, as the call
// itself would run: past it, the call goes ahead without a slot and fails
// at once on the ended context.
func (t *task) hold() {
	if t.slot != nil {
		_ = t.slot.Acquire(t.e.graceCtx)
	}
}

// waitFailed turns a failed wait into the change's result: a timeout or an
// interrupt leaves the resource pending (recorded, resumable); anything
// else is a failure.
func (t *task) waitFailed(err error, what string) result {
	var te *client.TimeoutError
	switch {
	case errors.As(err, &te):
		if te.LastStatus != "" {
			t.status = te.LastStatus
		}
		if werr := t.pending(); werr != nil {
			return t.fail(werr)
		}
		return t.pendingResult(fmt.Sprintf("still %s after %s; the next apply resumes waiting", t.status, t.e.opts.Timeout), false)
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return t.interrupted()
	}
	return t.fail(fmt.Errorf("%s: %w", what, err))
}

// interrupted records a resource left waiting by Ctrl-C as pending.
func (t *task) interrupted() result {
	if t.remoteID != "" {
		if err := t.pending(); err != nil {
			return t.fail(err)
		}
	}
	return t.pendingResult("interrupted while waiting; the next apply resumes", true)
}

// dryRun reports what the change would do, reading but never writing.
func (t *task) dryRun(ctx context.Context, o *ops) result {
	t.hold() // it reads what it would change
	c := t.c
	var msg string
	switch c.Action {
	case plan.Noop, plan.Adopt:
		msg = "would record it in state"
		if c.Action == plan.Noop {
			msg = "unchanged"
			if c.StateOnly {
				msg = "would record " + protectNote(c)
			}
		}
		if c.Wait {
			key := t.remoteID
			if key == "" || o.kind == addr.KindTarget || o.kind == addr.KindPublication {
				key = o.name
			}
			p, err := o.get(ctx, key)
			if err != nil {
				return t.fail(err)
			}
			t.remoteID, t.status = firstNonEmpty(p.id, t.remoteID), p.status
			if o.terminal != nil && !o.terminal(p.status) {
				msg = "would wait for it to settle (status " + p.status + ")"
				if p.redirect != "" && !t.e.opts.WaitForBrowser && !t.e.opts.Interactive {
					msg += "; it waits for a person in a browser: " + browserHint
				}
			}
		}
	case plan.Create:
		msg = "would create"
		switch {
		case t.status == client.StatusDisconnected && o.del != nil && !c.Protected:
			msg = fmt.Sprintf("would delete the disconnected %s, wait for it to go, then create it", o.kind)
		case goingAway(t.status):
			msg = fmt.Sprintf("would wait for the deleted %s to go, then create it", o.kind)
		}
	case plan.Replace:
		msg = "would delete and create again"
		if o.del == nil {
			msg = "would create again"
		}
	case plan.Republish:
		msg = "would publish"
	case plan.Delete:
		msg = "would delete"
		if o.del == nil {
			return t.dropChild(ctx, o, true)
		}
	}
	if (c.Action == plan.Create || c.Action == plan.Replace) && o.browser && !t.e.opts.WaitForBrowser && !t.e.opts.Interactive {
		msg += "; it needs a person in a browser: " + browserHint
	}
	return t.done(msg)
}

func (t *task) elapsed() time.Duration { return t.e.opts.Now().Sub(t.start) }

func (t *task) event(typ EventType, msg string) {
	t.e.emit(Event{Address: t.c.Address, Action: t.c.Action, Type: typ, Status: t.status, RemoteID: t.remoteID, Message: msg, Elapsed: t.elapsed()})
}

func (t *task) done(msg string) result {
	t.event(EventDone, msg)
	return result{outcome: succeeded, remoteID: t.remoteID, status: t.status, message: msg}
}

func (t *task) fail(err error) result {
	if isLockLost(err) {
		return t.lockLost("")
	}
	msg := err.Error()
	t.event(EventFailed, msg)
	return result{outcome: failed, remoteID: t.remoteID, status: t.status, message: msg}
}

// lockLost ends a change the run can no longer carry on: its lock is lost,
// so it sends no further call (op, when one was next) and its state writes
// are refused. Whatever it recorded before (the intent, an accepted id)
// makes the next run resume it.
func (t *task) lockLost(op string) result {
	msg := "stopped: this run lost the state lock; the next apply resumes it"
	if op != "" {
		msg = "stopped before its " + op + ": this run lost the state lock; the next apply resumes it"
	}
	return t.pendingResult(msg, true)
}

// isLockLost reports whether err is the refusal of a run that lost its
// state lock.
func isLockLost(err error) bool {
	var le *state.LockLostError
	return errors.As(err, &le)
}

func (t *task) pendingResult(msg string, interrupted bool) result {
	t.event(EventPending, msg)
	return result{outcome: stillPending, remoteID: t.remoteID, status: t.status, message: msg, interrupted: interrupted}
}

func (t *task) skip(msg string, interrupted bool) result {
	t.event(EventSkipped, msg)
	return result{outcome: skipped, remoteID: t.remoteID, status: t.status, message: msg, interrupted: interrupted}
}

// applied records the resource as settled and reports the change done.
// The resource is what its dependents wait for, not its record: they
// start at once (see dag.Slot.Succeeded), and their intents are saved with
// this record rather than after it, one state save fewer on each link of
// a chain of creates.
func (t *task) applied(msg string) result {
	// Its pending record, if still being saved, must be saved before a
	// dependent's intent is: a dependent of a change whose write failed
	// does not start.
	if err := t.joinWrite(); err != nil {
		return t.fail(err)
	}
	t.slot.Succeeded()
	if err := t.record(state.Applied); err != nil {
		return t.fail(err)
	}
	return t.done(msg)
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-tm.C:
		return nil
	}
}
