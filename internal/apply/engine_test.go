package apply

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/client"
	"github.com/applinkctl/applinkctl/internal/manifest"
	"github.com/applinkctl/applinkctl/internal/plan"
	"github.com/applinkctl/applinkctl/internal/secret"
	"github.com/applinkctl/applinkctl/internal/state"
)

// These tests drive the engine against fakeLink, where every status step
// and fault is scripted; emulator_test.go runs the same walk end to end.

const app = "acme-api"

type recorded struct {
	mu      sync.Mutex
	events  []Event
	summary *Summary
}

func (r *recorded) Event(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}
func (r *recorded) Done(s Summary) { r.summary = &s }

// of lists "type address" for the events of the given types, in order.
func (r *recorded) of(types ...EventType) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		if slices.Contains(types, e.Type) {
			out = append(out, string(e.Type)+" "+string(e.Address))
		}
	}
	return out
}

func (r *recorded) find(t EventType, a addr.Address) *Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.events {
		if r.events[i].Type == t && r.events[i].Address == a {
			return &r.events[i]
		}
	}
	return nil
}

func jwtConn(name string) *plan.Change {
	d := &manifest.Connection{App: app, Name: name, Type: manifest.Salesforce,
		JWT: &manifest.JWT{ClientID: "cid", Username: "u@x", PrivateKey: secret.New("PEM"), KeyFingerprint: "sha256:k"}}
	return &plan.Change{Address: d.Address(), Kind: addr.KindConnection, Action: plan.Create, Desired: d}
}

func oauthConn(name string, t manifest.OrgType) *plan.Change {
	d := &manifest.Connection{App: app, Name: name, Type: t}
	return &plan.Change{Address: d.Address(), Kind: addr.KindConnection, Action: plan.Create, Desired: d}
}

func jwtAuth(name string) *plan.Change {
	d := &manifest.Authorization{App: app, DeveloperName: name, Type: manifest.Salesforce, Alias: "applink:" + name,
		JWT: &manifest.JWT{ClientID: "cid", Username: "u@x", PrivateKey: secret.New("PEM")}}
	return &plan.Change{Address: d.Address(), Kind: addr.KindAuthorization, Action: plan.Create, Desired: d}
}

func target(conn, label string) *plan.Change {
	d := &manifest.Target{App: app, Connection: conn, Label: label, APIName: label, TargetEndpoint: "/hook", Type: "webhook"}
	return &plan.Change{Address: d.Address(), Kind: addr.KindTarget, Action: plan.Create, Desired: d,
		DependsOn: []addr.Address{addr.Connection(app, conn)}}
}

func publication(conn, client string) *plan.Change {
	d := &manifest.Publication{App: app, Connection: conn, ClientName: client}
	return &plan.Change{Address: d.Address(), Kind: addr.KindPublication, Action: plan.Create, Desired: d,
		Bundle:    &manifest.Bundle{Zip: []byte("zip"), Digest: "sha256:b", SpecName: "api-spec.json"},
		DependsOn: []addr.Address{addr.Connection(app, conn)}}
}

func with(c *plan.Change, a plan.Action) *plan.Change { c.Action = a; return c }

type harness struct {
	t     *testing.T
	link  *fakeLink
	store *state.Store
	dir   string
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, link: newFakeLink(), dir: t.TempDir()}
	h.reopen()
	return h
}

// reopen loads state afresh from disk, as the next run would.
func (h *harness) reopen() {
	h.t.Helper()
	b, err := state.Open(context.Background(), "file://"+filepath.Join(h.dir, "state.json"), state.OpenOptions{ManifestDir: h.dir})
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { _ = b.Close() })
	s, err := state.NewStore(context.Background(), b)
	if err != nil {
		h.t.Fatal(err)
	}
	h.store = s
}

func fastOpts() Options {
	return Options{Parallelism: 4, Timeout: 5 * time.Second, Poll: client.WaitOptions{Initial: time.Millisecond, Max: 2 * time.Millisecond}, Who: "tester"}
}

func (h *harness) apply(ctx context.Context, opts Options, changes ...*plan.Change) (*recorded, Summary, error) {
	h.t.Helper()
	obs := &recorded{}
	links := func(a string) (linkAPI, error) {
		if a != app {
			return nil, errors.New("no such app")
		}
		return h.link, nil
	}
	s, err := run(ctx, &plan.Plan{Changes: changes}, links, h.store, obs, opts)
	var be *BlockedError
	if obs.summary == nil && !errors.As(err, &be) {
		h.t.Fatal("Observer.Done was not called")
	}
	return obs, s, err
}

func (h *harness) record(a addr.Address) *state.Resource {
	return h.store.Snapshot().Resources[a]
}

func TestApplyCreatesParentsBeforeChildrenAndRecordsState(t *testing.T) {
	h := newHarness(t)
	h.link.pendingReads = 2
	opts := fastOpts()
	opts.WaitForBrowser = true
	changes := []*plan.Change{
		jwtConn("prod_org"),
		publication("prod_org", "AcmeAPI"),
		oauthConn("events_dc", manifest.DataCloud),
		target("events_dc", "Order_Events"),
		jwtAuth("ci_auth"),
	}
	obs, s, err := h.apply(context.Background(), opts, changes...)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	if s.Created != 5 || s.Failed+s.Skipped+s.Pending != 0 {
		t.Fatalf("summary = %+v, want 5 created", s)
	}
	// A child is posted only after its connection reached connected: the
	// fake answers 422 otherwise, so success proves it; the log shows it.
	log := h.link.logged()
	if i, j := slices.Index(log, "POST connection events_dc"), slices.Index(log, "POST target Order_Events"); i < 0 || j < i {
		t.Errorf("log = %v: target before its connection", log)
	}
	if obs.find(EventWaitingOnBrowser, addr.Connection(app, "events_dc")) == nil {
		t.Errorf("no waiting_for_browser event for the OAuth connection: %v", obs.of(EventWaitingOnBrowser))
	}
	for _, c := range changes {
		r := h.record(c.Address)
		if r == nil || r.Phase != state.Applied || r.Origin != state.Created || r.RemoteID == "" {
			t.Errorf("state of %s = %+v, want applied, created, with id", c.Address, r)
		}
	}
	if got := h.record(addr.Connection(app, "prod_org")).Status; got != client.StatusConnected {
		t.Errorf("recorded status = %q", got)
	}
}

func TestFailureSkipsDependentsAndSiblingsContinue(t *testing.T) {
	h := newHarness(t)
	h.link.fail["bad_dc"] = true
	opts := fastOpts()
	opts.WaitForBrowser = true
	_, s, err := h.apply(context.Background(), opts,
		oauthConn("bad_dc", manifest.DataCloud),
		target("bad_dc", "T_one"),
		target("bad_dc", "T_two"),
		jwtConn("good_org"),
		publication("good_org", "API"),
	)
	var fe *FailedError
	if !errors.As(err, &fe) {
		t.Fatalf("err = %v, want *FailedError", err)
	}
	if len(s.RootCauses) != 1 || s.RootCauses[0].Address != addr.Connection(app, "bad_dc") {
		t.Fatalf("root causes = %+v, want only the failed connection", s.RootCauses)
	}
	if !strings.Contains(s.RootCauses[0].Message, "org_connection_failed") {
		t.Errorf("root cause message = %q, want the server's error", s.RootCauses[0].Message)
	}
	if s.Skipped != 2 || s.Created != 2 || s.Failed != 1 {
		t.Errorf("summary = %+v, want 2 created, 1 failed, 2 skipped", s)
	}
	if h.link.calls["POST target"] != 0 {
		t.Error("a target was posted under a failed connection")
	}
	// The failed connection is recorded: applinkctl owns it and the next
	// plan replaces it.
	if r := h.record(addr.Connection(app, "bad_dc")); r == nil || r.Status != client.StatusFailed {
		t.Errorf("failed connection record = %+v", r)
	}
}

func TestSkippedMessageNamesTheFailedParent(t *testing.T) {
	h := newHarness(t)
	h.link.fail["bad_dc"] = true
	opts := fastOpts()
	opts.WaitForBrowser = true
	obs, _, _ := h.apply(context.Background(), opts, oauthConn("bad_dc", manifest.DataCloud), target("bad_dc", "T_one"))
	ev := obs.find(EventSkipped, addr.Target(app, "bad_dc", "T_one"))
	if ev == nil || ev.Message != "skipped: acme-api/connection/bad_dc failed" {
		t.Fatalf("skipped event = %+v", ev)
	}
}

func TestTimeoutLeavesPendingStateAndNextRunResumesWithoutDuplicate(t *testing.T) {
	h := newHarness(t)
	h.link.stuck["slow_org"] = true
	opts := fastOpts()
	opts.Timeout = 50 * time.Millisecond
	c := jwtConn("slow_org")
	obs, s, err := h.apply(context.Background(), opts, c, publication("slow_org", "API"))
	var pe *PendingError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v, want *PendingError", err)
	}
	if len(s.StillPending) != 1 || s.StillPending[0].RemoteID == "" || s.StillPending[0].Status != client.StatusConnecting {
		t.Fatalf("still pending = %+v, want the connection with id and status", s.StillPending)
	}
	if obs.find(EventPending, c.Address) == nil {
		t.Error("no pending event")
	}
	r := h.record(c.Address)
	if r == nil || r.Phase != state.Pending || r.RemoteID != s.StillPending[0].RemoteID {
		t.Fatalf("state = %+v, want pending with the id", r)
	}

	// The next run: the plan says wait (noop + Wait) on the recorded id.
	h.reopen()
	delete(h.link.stuck, "slow_org")
	resume := jwtConn("slow_org")
	resume.Action, resume.Wait, resume.RemoteID = plan.Noop, true, r.RemoteID
	_, s, err = h.apply(context.Background(), opts, resume, publication("slow_org", "API"))
	if err != nil {
		t.Fatalf("resume: %v (%+v)", err, s)
	}
	if n := h.link.calls["POST connection"]; n != 1 {
		t.Errorf("connection POSTed %d times, want 1", n)
	}
	if r := h.record(c.Address); r.Phase != state.Applied || r.Status != client.StatusConnected {
		t.Errorf("state after resume = %+v", r)
	}
}

func TestAmbiguousPostIsResolvedByName(t *testing.T) {
	for _, tc := range []struct {
		name      string
		created   bool
		wantPosts int
	}{
		{"created anyway", true, 1},
		{"not created", false, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.link.ambiguous["prod_org"] = tc.created
			_, s, err := h.apply(context.Background(), fastOpts(), jwtConn("prod_org"))
			if err != nil {
				t.Fatalf("apply: %v", err)
			}
			if s.Created != 1 {
				t.Errorf("summary = %+v", s)
			}
			if n := h.link.calls["POST connection"]; n != tc.wantPosts {
				t.Errorf("POSTs = %d, want %d", n, tc.wantPosts)
			}
			if len(h.link.conns) != 1 {
				t.Errorf("connections = %d, want 1", len(h.link.conns))
			}
		})
	}
}

func TestConflictMeansItExists(t *testing.T) {
	h := newHarness(t)
	// An earlier run created it and died before recording the answer.
	if _, err := h.link.CreateJWTConnection(context.Background(), client.JWTRequest{Name: "prod_org", PrivateKey: secret.New("k")}); err != nil {
		t.Fatal(err)
	}
	_, s, err := h.apply(context.Background(), fastOpts(), jwtConn("prod_org"))
	if err != nil || s.Created != 1 {
		t.Fatalf("apply: %v %+v", err, s)
	}
	if len(h.link.conns) != 1 || h.link.calls["POST connection"] != 2 {
		t.Errorf("conns=%d posts=%d", len(h.link.conns), h.link.calls["POST connection"])
	}
	if r := h.record(addr.Connection(app, "prod_org")); r.RemoteID != h.link.conns["prod_org"].ID {
		t.Errorf("recorded id %q, live %q", r.RemoteID, h.link.conns["prod_org"].ID)
	}
}

func TestValidationErrorFailsAndIsNotRetried(t *testing.T) {
	h := newHarness(t)
	h.link.postErr["prod_org"] = &client.ValidationError{APIError: &client.APIError{Method: "POST", Path: "/connections", Status: 422, ID: "validation_failed", Message: "bad name"}}
	_, s, err := h.apply(context.Background(), fastOpts(), jwtConn("prod_org"))
	if err == nil || len(s.RootCauses) != 1 || !strings.Contains(s.RootCauses[0].Message, "bad name") {
		t.Fatalf("err=%v summary=%+v", err, s)
	}
	if h.link.calls["POST connection"] != 1 {
		t.Error("a 422 was retried")
	}
	// The intent stays: the next plan looks the name up and creates it.
	if r := h.record(addr.Connection(app, "prod_org")); r == nil || r.Phase != state.Intent || r.Operation != "create" {
		t.Errorf("state = %+v, want the create intent", r)
	}
}

func TestOAuthWithoutAPersonFailsFastNamingTheWayOut(t *testing.T) {
	h := newHarness(t)
	c := oauthConn("events_dc", manifest.DataCloud)
	obs, s, err := h.apply(context.Background(), fastOpts(), c, target("events_dc", "T_one"))
	if err == nil {
		t.Fatal("want an error")
	}
	if len(s.RootCauses) != 1 || !strings.Contains(s.RootCauses[0].Message, "--wait-for-browser") ||
		!strings.Contains(s.RootCauses[0].Message, string(c.Address)) {
		t.Fatalf("root causes = %+v", s.RootCauses)
	}
	ev := obs.find(EventWaitingOnBrowser, c.Address)
	if ev == nil || !strings.HasPrefix(ev.RedirectURI, "https://login.example/oauth/") {
		t.Errorf("waiting event = %+v", ev)
	}
	// It exists live, so state holds it as pending: the next run waits on it.
	if r := h.record(c.Address); r == nil || r.Phase != state.Pending || r.RemoteID == "" {
		t.Errorf("state = %+v", r)
	}
}

func TestBlockedPlanIsRefusedBeforeAnyRequest(t *testing.T) {
	h := newHarness(t)
	blocked := target("events_dc", "T_one")
	blocked.Action = plan.Replace
	blocked.Blocked = "target inputs changed; --replace acme-api/connection/events_dc"
	_, _, err := h.apply(context.Background(), fastOpts(), jwtConn("prod_org"), blocked)
	var be *BlockedError
	if !errors.As(err, &be) || !strings.Contains(err.Error(), "--replace acme-api/connection/events_dc") {
		t.Fatalf("err = %v", err)
	}
	if h.link.mutations() != 0 || len(h.link.calls) != 0 {
		t.Errorf("calls = %v, want none", h.link.calls)
	}
}

func TestProtectedDeleteIsRefused(t *testing.T) {
	h := newHarness(t)
	c := &plan.Change{Address: addr.Connection(app, "prod_org"), Kind: addr.KindConnection, Action: plan.Delete, Protected: true}
	_, _, err := h.apply(context.Background(), fastOpts(), c)
	var be *BlockedError
	if !errors.As(err, &be) || !strings.Contains(err.Error(), "protected: refusing to delete it; release it first: applinkctl state unprotect acme-api/connection/prod_org") {
		t.Fatalf("err = %v", err)
	}
}

func TestDryRunSendsNoMutatingRequestAndWritesNoState(t *testing.T) {
	h := newHarness(t)
	if _, err := h.link.CreateJWTConnection(context.Background(), client.JWTRequest{Name: "old_org", PrivateKey: secret.New("k")}); err != nil {
		t.Fatal(err)
	}
	before := h.link.mutations()
	opts := fastOpts()
	opts.DryRun = true
	repl := with(jwtConn("old_org"), plan.Replace)
	del := &plan.Change{Address: addr.Authorization(app, "gone"), Kind: addr.KindAuthorization, Action: plan.Delete}
	obs, s, err := h.apply(context.Background(), opts, jwtConn("prod_org"), publication("prod_org", "API"), repl, del)
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	if n := h.link.mutations(); n != before {
		t.Errorf("dry run sent %d mutating requests", n-before)
	}
	if !s.DryRun || s.Created != 2 || s.Replaced != 1 || s.Deleted != 1 {
		t.Errorf("summary = %+v", s)
	}
	for _, e := range obs.events {
		if !e.DryRun {
			t.Errorf("event not marked dry-run: %+v", e)
		}
	}
	if n := len(h.store.Snapshot().Resources); n != 0 {
		t.Errorf("dry run wrote %d state records", n)
	}
}

func TestReplaceDeletesWaitsUntilGoneThenCreates(t *testing.T) {
	h := newHarness(t)
	h.link.deleteReads = 2
	opts := fastOpts()
	opts.WaitForBrowser = true
	if _, _, err := h.apply(context.Background(), opts, oauthConn("events_dc", manifest.DataCloud), target("events_dc", "T_one")); err != nil {
		t.Fatal(err)
	}
	oldID := h.link.conns["events_dc"].ID
	repl := with(oauthConn("events_dc", manifest.DataCloud), plan.Replace)
	casc := with(target("events_dc", "T_one"), plan.Replace)
	casc.CausedBy = repl.Address
	_, s, err := h.apply(context.Background(), opts, repl, casc)
	if err != nil {
		t.Fatalf("replace: %v", err)
	}
	if s.Replaced != 2 {
		t.Errorf("summary = %+v", s)
	}
	want := []string{"POST connection events_dc", "POST target T_one", "DELETE connection events_dc", "POST connection events_dc", "POST target T_one"}
	if got := h.link.logged(); !slices.Equal(got, want) {
		t.Errorf("calls = %v\nwant %v", got, want)
	}
	if h.link.conns["events_dc"].ID == oldID {
		t.Error("connection not recreated")
	}
	if r := h.record(repl.Address); r.RemoteID != h.link.conns["events_dc"].ID || r.Phase != state.Applied {
		t.Errorf("state = %+v", r)
	}
}

func TestPruneDeletesConnectionThenForgetsItsChildren(t *testing.T) {
	h := newHarness(t)
	opts := fastOpts()
	opts.WaitForBrowser = true
	if _, _, err := h.apply(context.Background(), opts, oauthConn("events_dc", manifest.DataCloud), target("events_dc", "T_one"), jwtAuth("ci_auth")); err != nil {
		t.Fatal(err)
	}
	h.link.deleteReads = 1
	dc := &plan.Change{Address: addr.Connection(app, "events_dc"), Kind: addr.KindConnection, Action: plan.Delete}
	tg := &plan.Change{Address: addr.Target(app, "events_dc", "T_one"), Kind: addr.KindTarget, Action: plan.Delete}
	au := &plan.Change{Address: addr.Authorization(app, "ci_auth"), Kind: addr.KindAuthorization, Action: plan.Delete}
	// A create in the same plan runs before any delete.
	obs, s, err := h.apply(context.Background(), opts, au, dc, jwtConn("new_org"), tg)
	if err != nil {
		t.Fatalf("prune: %v", err)
	}
	if s.Deleted != 3 || s.Created != 1 {
		t.Errorf("summary = %+v", s)
	}
	if got := h.store.Snapshot().Resources; len(got) != 1 || got[addr.Connection(app, "new_org")] == nil {
		t.Errorf("state = %v, want only new_org", got)
	}
	if len(h.link.conns) != 1 || len(h.link.targets) != 0 || len(h.link.auths) != 0 {
		t.Errorf("live: %d conns %d targets %d auths", len(h.link.conns), len(h.link.targets), len(h.link.auths))
	}
	done := obs.of(EventDone)
	if slices.Index(done, "done acme-api/connection/new_org") > slices.Index(done, "done acme-api/connection/events_dc") {
		t.Errorf("a delete finished before a create: %v", done)
	}
	if slices.Index(done, "done acme-api/connection/events_dc/target/T_one") < slices.Index(done, "done acme-api/connection/events_dc") {
		t.Errorf("target forgotten before its connection was gone: %v", done)
	}
}

func TestTargetCannotBePrunedAloneUnlessGone(t *testing.T) {
	h := newHarness(t)
	opts := fastOpts()
	opts.WaitForBrowser = true
	if _, _, err := h.apply(context.Background(), opts, oauthConn("events_dc", manifest.DataCloud), target("events_dc", "T_one")); err != nil {
		t.Fatal(err)
	}
	tg := &plan.Change{Address: addr.Target(app, "events_dc", "T_one"), Kind: addr.KindTarget, Action: plan.Delete}
	_, s, err := h.apply(context.Background(), opts, tg)
	if err == nil || len(s.RootCauses) != 1 || !strings.Contains(s.RootCauses[0].Message, "--replace acme-api/connection/events_dc") {
		t.Fatalf("err=%v %+v", err, s.RootCauses)
	}
	// Gone live (deleted out of band): only the record is dropped.
	delete(h.link.targets, "events_dc/T_one")
	_, s, err = h.apply(context.Background(), opts, tg)
	if err != nil || s.Deleted != 1 || h.record(tg.Address) != nil {
		t.Fatalf("err=%v %+v record %+v", err, s, h.record(tg.Address))
	}
}

func TestPrunedTargetGoesWithItsReplacedConnection(t *testing.T) {
	h := newHarness(t)
	opts := fastOpts()
	opts.WaitForBrowser = true
	if _, _, err := h.apply(context.Background(), opts, oauthConn("events_dc", manifest.DataCloud), target("events_dc", "T_one"), target("events_dc", "T_two")); err != nil {
		t.Fatal(err)
	}
	repl := with(oauthConn("events_dc", manifest.DataCloud), plan.Replace)
	keep := with(target("events_dc", "T_one"), plan.Replace)
	drop := &plan.Change{Address: addr.Target(app, "events_dc", "T_two"), Kind: addr.KindTarget, Action: plan.Delete,
		CausedBy: repl.Address, DependsOn: []addr.Address{repl.Address}}
	_, s, err := h.apply(context.Background(), opts, repl, keep, drop)
	if err != nil || s.Replaced != 2 || s.Deleted != 1 {
		t.Fatalf("err=%v %+v", err, s)
	}
	if h.record(drop.Address) != nil || len(h.link.targets) != 1 {
		t.Errorf("record %+v, live targets %v", h.record(drop.Address), h.link.targets)
	}
}

func TestAdoptWritesStateOnly(t *testing.T) {
	h := newHarness(t)
	if _, err := h.link.CreateJWTConnection(context.Background(), client.JWTRequest{Name: "prod_org", PrivateKey: secret.New("k")}); err != nil {
		t.Fatal(err)
	}
	before := h.link.mutations()
	c := with(jwtConn("prod_org"), plan.Adopt)
	c.RemoteID = h.link.conns["prod_org"].ID
	c.Before = &plan.Snapshot{Attrs: map[string]string{"status": "connected"}}
	_, s, err := h.apply(context.Background(), fastOpts(), c)
	if err != nil || s.Adopted != 1 {
		t.Fatalf("adopt: %v %+v", err, s)
	}
	if h.link.mutations() != before {
		t.Error("adopt sent a mutating request")
	}
	if r := h.record(c.Address); r == nil || r.Origin != state.Adopted || r.Phase != state.Applied || r.RemoteID != c.RemoteID {
		t.Errorf("state = %+v", r)
	}
}

func TestCancelStopsSchedulingRecordsPendingAndReportsInterrupted(t *testing.T) {
	h := newHarness(t)
	h.link.stuck["slow_org"] = true
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts := fastOpts()
	opts.Parallelism = 1
	// Cancel once the first POST is answered: the wait is interrupted,
	// the rest sends nothing (zz_org, started at once, waits for the
	// slot: its intent alone is saved).
	var once sync.Once
	go func() {
		for h.link.mutations() == 0 {
			time.Sleep(time.Millisecond)
		}
		once.Do(cancel)
	}()
	_, s, err := h.apply(ctx, opts, jwtConn("slow_org"), publication("slow_org", "API"), jwtConn("zz_org"))
	if !errors.Is(err, ErrInterrupted) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want interrupted", err)
	}
	if !s.Interrupted || s.Pending+s.Skipped != 3 || s.Created != 0 {
		t.Errorf("summary = %+v", s)
	}
	if h.link.calls["POST connection"] != 1 {
		t.Error("a change sent its create after the interrupt")
	}
	h.reopen()
	if r := h.record(addr.Connection(app, "slow_org")); r == nil || r.Phase != state.Pending || r.RemoteID == "" {
		t.Errorf("state after interrupt = %+v", r)
	}
	if r := h.record(addr.Connection(app, "zz_org")); r != nil && (r.Phase != state.Intent || r.RemoteID != "") {
		t.Errorf("zz_org's state after interrupt = %+v, want nothing or its intent alone", r)
	}
}

func TestNoopParentPendingIsWaitedOnFirst(t *testing.T) {
	h := newHarness(t)
	h.link.pendingReads = 3
	if _, err := h.link.CreateJWTConnection(context.Background(), client.JWTRequest{Name: "prod_org", PrivateKey: secret.New("k")}); err != nil {
		t.Fatal(err)
	}
	parent := with(jwtConn("prod_org"), plan.Noop)
	parent.Wait = true
	obs, s, err := h.apply(context.Background(), fastOpts(), parent, publication("prod_org", "API"))
	if err != nil || s.Unchanged != 1 || s.Created != 1 {
		t.Fatalf("apply: %v %+v", err, s)
	}
	if obs.find(EventStatus, parent.Address) == nil {
		t.Error("no status events while waiting on the parent")
	}
}

func TestInterruptLetsAnInFlightPostFinishWithinGrace(t *testing.T) {
	h := newHarness(t)
	h.link.postDelay = 150 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	h.link.inPost = cancel // Ctrl-C while the POST is in flight
	opts := fastOpts()
	opts.Grace = time.Minute
	_, s, err := h.apply(ctx, opts, jwtConn("prod_org"))
	if !errors.Is(err, ErrInterrupted) || s.Failed != 0 {
		t.Fatalf("err = %v, summary %+v", err, s)
	}
	live, ok := h.link.conns["prod_org"]
	if !ok {
		t.Fatal("the in-flight POST did not finish")
	}
	if r := h.record(addr.Connection(app, "prod_org")); r == nil || r.RemoteID != live.ID {
		t.Errorf("state = %+v, want the created id %s recorded", r, live.ID)
	}
}

func TestInterruptBeyondGraceLeavesTheIntent(t *testing.T) {
	h := newHarness(t)
	h.link.postDelay = 10 * time.Minute
	ctx, cancel := context.WithCancel(context.Background())
	h.link.inPost = cancel // Ctrl-C while the POST is in flight
	opts := fastOpts()
	opts.Grace = 50 * time.Millisecond
	start := time.Now()
	_, s, err := h.apply(ctx, opts, jwtConn("prod_org"))
	if !errors.Is(err, ErrInterrupted) || s.Failed != 0 || s.Pending != 1 {
		t.Fatalf("err = %v, summary %+v; want interrupted, nothing failed", err, s)
	}
	if d := time.Since(start); d > time.Minute {
		t.Errorf("apply took %s: grace not enforced", d)
	}
	if r := h.record(addr.Connection(app, "prod_org")); r == nil || r.Phase != state.Intent {
		t.Errorf("state = %+v, want the create intent", r)
	}
}

// deletedConn creates prod_org and deletes it: it stays disconnecting for
// the next reads reads of it (lingering reads more as disconnected), and
// holds its name meanwhile.
func (h *harness) deletedConn(reads, lingering int) string {
	h.t.Helper()
	if _, err := h.link.CreateJWTConnection(context.Background(), client.JWTRequest{Name: "prod_org", PrivateKey: secret.New("k")}); err != nil {
		h.t.Fatal(err)
	}
	h.link.deleteReads, h.link.lingerReads = reads, lingering
	c, err := h.link.DeleteConnection(context.Background(), "prod_org")
	if err != nil {
		h.t.Fatal(err)
	}
	h.link.calls = map[string]int{}
	h.link.log = nil
	return c.ID
}

// A create sent while a deleted resource still holds the name (the plan
// did not see it: a race) is answered 409; apply waits for the name to be
// free and posts again, whether the deleted resource lingers as
// disconnecting or, after that, as disconnected.
func TestConflictWithADeletedResourceWaitsForItToGoThenCreates(t *testing.T) {
	for _, tc := range []struct {
		name             string
		reads, lingering int
	}{
		{"disconnecting", 5, 0},
		{"then disconnected", 2, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			oldID := h.deletedConn(tc.reads, tc.lingering)
			obs, s, err := h.apply(context.Background(), fastOpts(), jwtConn("prod_org"))
			if err != nil || s.Created != 1 {
				t.Fatalf("apply: %v %+v", err, s)
			}
			if got, want := h.link.logged(), []string{"POST connection prod_org", "POST connection prod_org"}; !slices.Equal(got, want) {
				t.Errorf("calls = %v, want %v (a 409, then the create once the name is free)", got, want)
			}
			live := h.link.conns["prod_org"]
			if live == nil || live.ID == oldID || live.Status != client.StatusConnected {
				t.Fatalf("live = %+v, old id %s", live, oldID)
			}
			if r := h.record(addr.Connection(app, "prod_org")); r == nil || r.RemoteID != live.ID || r.Phase != state.Applied {
				t.Errorf("state = %+v", r)
			}
			if ev := obs.find(EventStatus, addr.Connection(app, "prod_org")); ev == nil || ev.RemoteID != oldID || !strings.Contains(ev.Message, "waiting for the deleted connection to go") {
				t.Errorf("no event says what it waits for: %+v", ev)
			}
		})
	}
}

// A create planned while the resource was being deleted (the plan saw it
// disconnecting: an earlier run's replace stopped during its delete) waits
// for the delete to finish before posting, so it is not refused.
func TestCreateOfADisconnectingResourceWaitsBeforePosting(t *testing.T) {
	h := newHarness(t)
	oldID := h.deletedConn(5, 0)
	c := jwtConn("prod_org")
	c.Wait, c.RemoteID = true, oldID
	c.Before = &plan.Snapshot{Attrs: map[string]string{"id": oldID, "status": client.StatusDisconnecting}}
	_, s, err := h.apply(context.Background(), fastOpts(), c)
	if err != nil || s.Created != 1 {
		t.Fatalf("apply: %v %+v", err, s)
	}
	if got := h.link.logged(); !slices.Equal(got, []string{"POST connection prod_org"}) {
		t.Errorf("calls = %v, want one create once the old one was gone", got)
	}
	if live := h.link.conns["prod_org"]; live == nil || live.ID == oldID {
		t.Errorf("live = %+v", live)
	}
}

// A deleted resource that does not go within --timeout leaves the create
// pending (exit code 3), naming what holds the name; its intent stays in
// state, and the next run creates it once the name is free.
func TestNameHeldPastTheTimeoutIsPendingAndTheNextRunCreates(t *testing.T) {
	h := newHarness(t)
	oldID := h.deletedConn(1_000_000, 0)
	opts := fastOpts()
	opts.Timeout = 200 * time.Millisecond
	_, s, err := h.apply(context.Background(), opts, jwtConn("prod_org"))
	var pe *PendingError
	if !errors.As(err, &pe) || len(s.StillPending) != 1 || s.Failed != 0 {
		t.Fatalf("err = %v, summary %+v; want it pending", err, s)
	}
	p := s.StillPending[0]
	if p.Address != addr.Connection(app, "prod_org") || p.RemoteID != oldID || p.Status != client.StatusDisconnecting ||
		!strings.Contains(p.Message, "the name prod_org is still held by a deleted connection") || !strings.Contains(p.Message, "the next apply waits for it to go") {
		t.Errorf("pending = %+v", p)
	}
	h.reopen()
	if r := h.record(addr.Connection(app, "prod_org")); r == nil || r.Phase != state.Intent || r.Operation != "create" || r.RemoteID != "" {
		t.Errorf("state = %+v, want the create intent", r)
	}

	h.link.mu.Lock()
	h.link.reads[oldID] = 0
	h.link.mu.Unlock()
	if _, s, err := h.apply(context.Background(), fastOpts(), jwtConn("prod_org")); err != nil || s.Created != 1 {
		t.Fatalf("next run: %v %+v", err, s)
	}
	if live := h.link.conns["prod_org"]; live == nil || live.ID == oldID || h.record(addr.Connection(app, "prod_org")).RemoteID != live.ID {
		t.Errorf("live = %+v, state %+v", live, h.record(addr.Connection(app, "prod_org")))
	}
}

// A noop whose only difference is the protect flag is recorded in state
// with no API call at all; a dry run says so and writes nothing.
func TestStateOnlyNoopRecordsProtectWithoutACall(t *testing.T) {
	h := newHarness(t)
	if _, _, err := h.apply(context.Background(), fastOpts(), jwtConn("prod_org")); err != nil {
		t.Fatal(err)
	}
	a := addr.Connection(app, "prod_org")
	before := *h.record(a)
	if before.Protect {
		t.Fatalf("created unprotected, recorded %+v", before)
	}
	noop := func(protect bool) *plan.Change {
		c := with(jwtConn("prod_org"), plan.Noop)
		c.Desired.(*manifest.Connection).Protect = protect
		c.Protected, c.StateOnly, c.RemoteID = protect, true, before.RemoteID
		c.Before = &plan.Snapshot{Attrs: map[string]string{"id": before.RemoteID, "status": client.StatusConnected}}
		return c
	}
	h.link.calls = map[string]int{}

	opts := fastOpts()
	opts.DryRun = true
	obs, _, err := h.apply(context.Background(), opts, noop(true))
	if err != nil {
		t.Fatal(err)
	}
	if ev := obs.find(EventDone, a); ev == nil || ev.Message != "would record protect: true in state" {
		t.Errorf("dry run event = %+v", ev)
	}
	if h.record(a).Protect {
		t.Error("the dry run wrote state")
	}

	for _, protect := range []bool{true, false} {
		obs, s, err := h.apply(context.Background(), fastOpts(), noop(protect))
		if err != nil || s.Unchanged != 1 {
			t.Fatalf("apply: %v %+v", err, s)
		}
		r := h.record(a)
		if r.Protect != protect || r.RemoteID != before.RemoteID || r.InputsDigest != before.InputsDigest || r.Origin != before.Origin || r.Phase != state.Applied {
			t.Errorf("protect %t: state = %+v, was %+v", protect, r, before)
		}
		if ev := obs.find(EventDone, a); ev == nil || ev.Message != fmt.Sprintf("recorded protect: %t in state", protect) {
			t.Errorf("event = %+v", ev)
		}
	}
	if len(h.link.calls) != 0 {
		t.Errorf("API calls = %v, want none", h.link.calls)
	}
}

// pendingFailing is a recorder whose save of a pending record fails, as a
// full disk would.
type pendingFailing struct{ st *state.Store }

var errDiskFull = errors.New("disk full")

func (p pendingFailing) Update(ctx context.Context, fn func(*state.State) error) error {
	probe := p.st.Snapshot()
	if err := fn(probe); err != nil {
		return err
	}
	for _, r := range probe.Resources {
		if r.Phase == state.Pending {
			return errDiskFull
		}
	}
	return p.st.Update(ctx, fn)
}

// TestPendingRecordSavedBesideTheWaitStillGatesTheChange checks the
// pending record of an accepted create, saved while the change already
// polls: when that save fails the change fails with its error, its
// dependent does not start, no applied record follows it, and Apply
// returns only once the write is over.
func TestPendingRecordSavedBesideTheWaitStillGatesTheChange(t *testing.T) {
	h := newHarness(t)
	h.link.pendingReads = 2
	conn, pub := jwtConn("prod_org"), publication("prod_org", "AcmeAPI")
	links := func(string) (linkAPI, error) { return h.link, nil }
	s, err := run(context.Background(), &plan.Plan{Changes: []*plan.Change{conn, pub}}, links, pendingFailing{h.store}, &recorded{}, fastOpts())
	var fe *FailedError
	if !errors.As(err, &fe) || len(fe.RootCauses) != 1 || fe.RootCauses[0].Address != conn.Address || !strings.Contains(fe.RootCauses[0].Message, "disk full") {
		t.Fatalf("err = %v, want the connection failed by its pending record's save", err)
	}
	if s.Skipped != 1 || h.link.calls["POST publication"] != 0 {
		t.Fatalf("summary %+v, %d publication posts: the dependent of a change whose write failed must not start", s, h.link.calls["POST publication"])
	}
	if r := h.record(conn.Address); r == nil || r.Phase != state.Intent {
		t.Fatalf("record = %+v, want the intent alone (no applied record after the failed pending one)", r)
	}
}
