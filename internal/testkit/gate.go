package testkit

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/emulator"
)

// Gate sits in front of an emulator and lets a crash test kill an apply
// process in the middle of a change rather than at a wall-clock moment,
// which on a loaded machine lands anywhere: before the first request, or
// after the run ended. It counts the run's mutating requests (POST, PUT,
// PATCH, DELETE to the AppLink routes under /addons/) and, at the one a
// KillPlan names, either holds it until the process is dead or lets it
// through and kills a little later.
type Gate struct {
	mu      sync.Mutex
	n       int           // mutating requests since Arm
	at      int           // the request that triggers; 0: none
	hold    bool          // hold the at-th request until released
	trigger chan struct{} // closed when the at-th request arrives
	release chan bool     // a held request's fate: true serves it
	handled chan struct{} // closed once a held request was handled
	held    bool          // a request is held now
	// conns counts the server's open connections, so that a run ends only
	// once the emulator is done with all its dead process sent.
	conns int
	ts    *httptest.Server
}

// GatedEmulator starts an emulator with opts behind a Gate, on a loopback
// port, closed when the test ends.
func GatedEmulator(tb testing.TB, opts emulator.Options) (*emulator.Server, *Gate) {
	tb.Helper()
	e, err := emulator.New(opts)
	if err != nil {
		tb.Fatalf("testkit: start the emulator: %v", err)
	}
	g := &Gate{}
	ts := httptest.NewUnstartedServer(g.wrap(e))
	ts.Config.ConnState = g.connState
	ts.Start()
	g.ts = ts
	e.SetBaseURL(ts.URL)
	tb.Cleanup(func() {
		g.disarm(true) // a held request would keep Close waiting
		ts.Close()
	})
	return &emulator.Server{URL: ts.URL, APIKey: e.APIKey(), Emulator: e, Close: func() error { ts.Close(); return nil }}, g
}

// mutating reports whether r may change the world.
func mutating(r *http.Request) bool {
	return r.Method != http.MethodGet && r.Method != http.MethodHead && strings.HasPrefix(r.URL.Path, "/addons/")
}

// connState counts open connections: a hijacked one is the handler's,
// which is done with it.
func (g *Gate) connState(_ net.Conn, st http.ConnState) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch st {
	case http.StateNew:
		g.conns++
	case http.StateClosed, http.StateHijacked:
		g.conns--
	}
}

// quiesce closes every client connection, so that nothing the dead
// process sent can still reach the emulator, and waits until the server
// has finished with all of them: the next run then sees the world this one
// left rather than racing a late request of a dead process.
func (g *Gate) quiesce(tb testing.TB) {
	tb.Helper()
	g.ts.CloseClientConnections()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Millisecond) {
		g.mu.Lock()
		n := g.conns
		g.mu.Unlock()
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("testkit: %d connections to the emulator still open a minute after the process ended", n)
		}
	}
}

func (g *Gate) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if mutating(r) {
			g.mu.Lock()
			g.n++
			var release chan bool
			var handled chan struct{}
			if g.at > 0 && g.n == g.at {
				close(g.trigger)
				if g.hold {
					release, handled, g.held = g.release, g.handled, true
				}
			}
			g.mu.Unlock()
			if release != nil {
				defer close(handled)
				if !<-release {
					// The client died before sending it: the emulator
					// never sees it.
					panic(http.ErrAbortHandler)
				}
			}
		}
		h.ServeHTTP(w, r)
	})
}

// arm starts counting a new run's requests and sets its trigger.
func (g *Gate) arm(at int, hold bool) <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n, g.at, g.hold, g.held = 0, at, hold, false
	g.trigger, g.release, g.handled = make(chan struct{}), make(chan bool, 1), make(chan struct{})
	return g.trigger
}

// disarm stops triggering and lets a held request go, served or not,
// waiting until the emulator is done with it (before quiesce closes its
// connection); it returns the run's mutating requests.
func (g *Gate) disarm(serve bool) int {
	g.mu.Lock()
	held, handled := g.held, g.handled
	if held {
		g.release <- serve
		g.held = false
	}
	g.at = 0
	n := g.n
	g.mu.Unlock()
	if held {
		<-handled
	}
	return n
}

// KillPlan says where a run dies: at its At-th mutating request (1 is
// the first). With Hold the request is held until the process is dead and
// then, as Serve says, handed to the emulator (the client died waiting for
// the answer; the emulator carries it out as far as a server does whose
// client is gone) or dropped (it died before the request arrived); without
// Hold the request goes through and the process is killed After later, in
// whatever it does next (waiting, polling, writing state).
type KillPlan struct {
	At          int
	Hold, Serve bool
	After       time.Duration
}

func (k KillPlan) String() string {
	if k.Hold {
		return fmt.Sprintf("held at mutating request %d (then served: %v)", k.At, k.Serve)
	}
	return fmt.Sprintf("%v after mutating request %d", k.After, k.At)
}

// Run is one process run through the gate.
type Run struct {
	Plan           KillPlan
	Stdout, Stderr string
	// Killed: the process died by SIGKILL, which the gate sends only once
	// the run's At-th mutating request has arrived: killed mid-change.
	Killed bool
	// Code is the exit code of a process that exited by itself (-1 for one
	// killed or never started).
	Code int
	// Mutations is how many mutating requests the emulator saw from it.
	Mutations int
	Took      time.Duration
}

// Clean reports an exit 0.
func (r Run) Clean() bool { return !r.Killed && r.Code == 0 }

func (r Run) String() string {
	how := fmt.Sprintf("exit %d", r.Code)
	if r.Killed {
		how = "killed " + r.Plan.String()
	}
	return fmt.Sprintf("%s after %v, %d mutating requests (kill plan: %s)\nstdout:\n%s\nstderr:\n%s",
		how, r.Took.Round(time.Millisecond), r.Mutations, r.Plan, r.Stdout, r.Stderr)
}

// Run starts cmd (stdout and stderr captured) and kills it with SIGKILL
// as k says, unless it exits first. Only one run may go through the gate
// at a time. It fails tb only when cmd cannot start or a process that was
// never signalled dies by a signal; any other outcome is the caller's to
// judge.
func (g *Gate) Run(tb testing.TB, cmd *exec.Cmd, k KillPlan) Run {
	tb.Helper()
	if k.At < 1 {
		tb.Fatalf("testkit: kill plan %+v: At counts from 1", k)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	trigger := g.arm(k.At, k.Hold)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		g.disarm(false)
		tb.Fatalf("testkit: start %s: %v", cmd.Path, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var waitErr error
	exited, signalled := false, false
	select {
	case waitErr = <-done:
		exited = true
	case <-trigger:
		if !k.Hold && k.After > 0 {
			t := time.NewTimer(k.After)
			select {
			case waitErr = <-done:
				exited = true
			case <-t.C:
			}
			t.Stop()
		}
		if !exited {
			signalled = true
			_ = cmd.Process.Signal(syscall.SIGKILL) // no deferred code, no grace
			waitErr = <-done
		}
	}
	r := Run{Plan: k, Took: time.Since(start), Code: -1}
	r.Mutations = g.disarm(k.Serve)
	g.quiesce(tb)
	r.Stdout, r.Stderr = out.String(), errb.String()
	var ee *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &ee) {
		tb.Fatalf("testkit: wait for %s: %v", cmd.Path, waitErr)
	}
	ps := cmd.ProcessState
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		if !signalled || ws.Signal() != syscall.SIGKILL {
			tb.Fatalf("testkit: %s died by %v, which the gate did not send:\n%s", cmd.Path, ws.Signal(), r)
		}
		r.Killed = true
		return r
	}
	r.Code = ps.ExitCode()
	return r
}
