package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/emulator"
	"github.com/applinkctl/applinkctl/internal/state"
	"github.com/applinkctl/applinkctl/internal/testkit"
)

// These tests run the applinkctl program as a separate process (the copy of
// the test binary that TestMain puts on $PATH as "applinkctl", whose main is
// the CLI's), so that it can be killed like a real run: SIGKILL leaves no
// deferred code a chance, SIGINT goes through the CLI's own handling.

const resumeManifest = `version: 1
apps:
  acme-api:
    connections:
      events_dc:
        type: datacloud
        login_url: LOGIN_URL
        data_action_targets:
          Order_Events:
            target_endpoint: /handleDataCloudDataChangeEvent
`

// slowDeleteEnv is an emulator whose deletes last until the test says
// otherwise: its clock jumps forward by an hour when finishDeletes is
// called, and a delete takes half an hour, so a run can be stopped while
// a connection is disconnecting with no race against the delete.
type slowDeleteEnv struct {
	t      *testing.T
	srv    *emulator.Server
	dir    string
	offset atomic.Int64
}

func newSlowDeleteEnv(t *testing.T) *slowDeleteEnv {
	t.Helper()
	if _, err := exec.LookPath("applinkctl"); err != nil {
		t.Fatalf("TestMain should have put applinkctl on $PATH: %v", err)
	}
	e := &slowDeleteEnv{t: t, dir: t.TempDir()}
	e.srv = testkit.Emulator(t, emulator.Options{
		ApproveOAuthAfter: 20 * time.Millisecond,
		AsyncDelay:        map[string]time.Duration{emulator.KindDelete: 30 * time.Minute},
		Now:               func() time.Time { return time.Now().Add(time.Duration(e.offset.Load())) },
	})
	testkit.SeedApp(t, e.srv, "acme-api", 1)
	e.manifest("https://login.salesforce.com")
	return e
}

func (e *slowDeleteEnv) manifest(login string) {
	testkit.WriteFile(e.t, e.dir, "applink.yaml", strings.ReplaceAll(resumeManifest, "LOGIN_URL", login))
}

// finishDeletes moves the emulator's clock past every delete in progress.
func (e *slowDeleteEnv) finishDeletes() { e.offset.Add(int64(time.Hour)) }

// command is applinkctl with args, as a child process pointed at the
// emulator, with its state beside the manifest.
func (e *slowDeleteEnv) command(args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	cmd := exec.Command("applinkctl", args...)
	cmd.Dir = e.dir
	cmd.Env = append(os.Environ(), "HEROKU_API_URL="+e.srv.URL, "HEROKU_API_KEY="+e.srv.APIKey, "APPLINKCTL_STATE=", "NO_COLOR=1")
	var out, errs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errs
	return cmd, &out, &errs
}

// run runs applinkctl to its end.
func (e *slowDeleteEnv) run(args ...string) (string, string, int) {
	e.t.Helper()
	cmd, out, errs := e.command(args...)
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		e.t.Fatalf("applinkctl %v: %v", args, err)
	}
	return out.String(), errs.String(), cmd.ProcessState.ExitCode()
}

func (e *slowDeleteEnv) applyArgs() []string {
	return []string{"apply", "-f", "applink.yaml", "--auto-approve", "--wait-for-browser", "--timeout", "2m"}
}

func (e *slowDeleteEnv) conn() emulator.ConnectionSnapshot {
	for _, a := range e.srv.Emulator.World().Apps {
		for _, ad := range a.Addons {
			for _, c := range ad.Connections {
				if c.Name == "events_dc" {
					return c
				}
			}
		}
	}
	return emulator.ConnectionSnapshot{}
}

// connGets is how many times the connection was read by name or id.
func (e *slowDeleteEnv) connGets() int {
	n := 0
	for k, v := range e.srv.Emulator.Requests() {
		if strings.HasPrefix(k, "GET ") && strings.HasSuffix(k, "/connections/{connection}") {
			n += v
		}
	}
	return n
}

// breakStaleLock releases a lock left by a killed run, as a person would:
// with the command the lock error names.
func (e *slowDeleteEnv) breakStaleLock() {
	e.t.Helper()
	b, err := state.Open(context.Background(), "", state.OpenOptions{ManifestDir: e.dir})
	if err != nil {
		e.t.Fatal(err)
	}
	defer b.Close()
	release, err := b.Lock(context.Background(), state.NewLockInfo("test"), 0)
	var le *state.LockedError
	switch {
	case err == nil:
		_ = release()
	case errors.As(err, &le) && le.Stale:
		e.t.Logf("breaking the stale lock %s", le.Holder.ID)
		if out, errs, code := e.run("state", "unlock", "-f", "applink.yaml", le.Holder.ID); code != 0 {
			e.t.Fatalf("state unlock: %d\n%s\n%s", code, out, errs)
		}
	default:
		e.t.Fatalf("lock after the killed run: %v", err)
	}
}

// interruptReplace applies a login_url change (a replace) and stops the
// run with sig once the old connection is disconnecting.
func (e *slowDeleteEnv) interruptReplace(sig syscall.Signal) {
	e.t.Helper()
	e.manifest("https://test.salesforce.com")
	cmd, out, errs := e.command(e.applyArgs()...)
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.After(time.Minute)
	for e.conn().Status != "disconnecting" {
		select {
		case <-done:
			e.t.Fatalf("apply ended before its delete was seen: %d\nstdout:\n%s\nstderr:\n%s", cmd.ProcessState.ExitCode(), out, errs)
		case <-deadline:
			_ = cmd.Process.Kill()
			<-done
			e.t.Fatalf("the connection was never disconnecting\nstderr:\n%s", errs)
		case <-time.After(5 * time.Millisecond):
		}
	}
	if err := cmd.Process.Signal(sig); err != nil {
		e.t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		<-done
		e.t.Fatalf("apply did not stop on %v\nstderr:\n%s", sig, errs)
	}
	if sig == syscall.SIGINT && cmd.ProcessState.ExitCode() != exitInterrupted {
		e.t.Fatalf("apply on SIGINT: exit %d, want %d\nstderr:\n%s", cmd.ProcessState.ExitCode(), exitInterrupted, errs)
	}
}

// resumeWhileDisconnecting runs apply again while the old connection is
// still disconnecting, lets the delete finish once the run has read it a
// few times (it must be waiting on it, not creating), and returns how the
// run ended.
func (e *slowDeleteEnv) resumeWhileDisconnecting() (string, string, int) {
	e.t.Helper()
	if s := e.conn().Status; s != "disconnecting" {
		e.t.Fatalf("before the resume the connection is %q, want disconnecting", s)
	}
	gets := e.connGets()
	cmd, out, errs := e.command(e.applyArgs()...)
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	finished := false
	timeout := time.After(3 * time.Minute)
	for {
		select {
		case <-done:
			return out.String(), errs.String(), cmd.ProcessState.ExitCode()
		case <-timeout:
			_ = cmd.Process.Kill()
			<-done
			e.t.Fatalf("the resumed apply did not end\nstderr:\n%s", errs)
		case <-time.After(5 * time.Millisecond):
		}
		// The plan reads it once; a run waiting on it reads it again.
		if !finished && e.connGets() >= gets+3 {
			e.finishDeletes()
			finished = true
		}
	}
}

func testResumeInterruptedReplace(t *testing.T, sig syscall.Signal) {
	e := newSlowDeleteEnv(t)
	out, errs, code := e.run(e.applyArgs()...)
	wantCode(t, code, 0, out, errs)
	oldID := e.conn().ID

	e.interruptReplace(sig)
	e.breakStaleLock()
	st, err := func() (*state.State, error) {
		b, err := state.Open(context.Background(), "", state.OpenOptions{ManifestDir: e.dir})
		if err != nil {
			return nil, err
		}
		defer b.Close()
		return b.Load(context.Background())
	}()
	if err != nil {
		t.Fatal(err)
	}
	if r := st.Resources[addr.Connection("acme-api", "events_dc")]; r == nil || r.Phase == state.Applied {
		t.Fatalf("after the %v the connection's record is %+v, want an unfinished one", sig, r)
	}

	// A delete that outlasts --timeout leaves the create pending (exit 3),
	// naming what holds the name; state keeps the create to resume.
	out, errs, code = e.run("apply", "-f", "applink.yaml", "--auto-approve", "--wait-for-browser", "--timeout", "1s")
	wantCode(t, code, exitPending, out, errs)
	if !strings.Contains(errs, "acme-api/connection/events_dc (id "+oldID+", status disconnecting): the name events_dc is still held by a deleted connection after 1s; the next apply waits for it to go, then creates it") {
		t.Errorf("stderr of the apply that timed out:\n%s", errs)
	}

	out, errs, code = e.resumeWhileDisconnecting()
	wantCode(t, code, 0, out, errs)
	t.Logf("the resumed apply:\n%s%s", out, errs)
	c := e.conn()
	if c.ID == "" || c.ID == oldID || c.Status != "connected" || c.LoginURL != "https://test.salesforce.com" || len(c.Targets) != 1 {
		t.Errorf("after the resume events_dc = %+v (old id %s)", c, oldID)
	}
	out, errs, code = e.run("plan", "-f", "applink.yaml", "--detailed-exitcode")
	wantCode(t, code, 0, out, errs)
	if !strings.Contains(out, "No changes.") {
		t.Errorf("plan after the resume:\n%s", out)
	}
}

// TestResumeReplaceKilledDuringItsDelete: kill -9 while a replace's delete
// is in progress; the next apply waits for the delete to finish and creates
// the connection again.
func TestResumeReplaceKilledDuringItsDelete(t *testing.T) {
	testResumeInterruptedReplace(t, syscall.SIGKILL)
}

// TestResumeReplaceInterruptedDuringItsDelete is the same with Ctrl-C.
func TestResumeReplaceInterruptedDuringItsDelete(t *testing.T) {
	testResumeInterruptedReplace(t, syscall.SIGINT)
}
