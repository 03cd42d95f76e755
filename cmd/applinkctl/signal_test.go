package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/emulator"
	"github.com/applinkctl/applinkctl/internal/testkit"
)

// These tests run applinkctl as its own process (the test binary, which
// testscript.Main installs on $PATH as "applinkctl") so that real signals
// reach it, against an emulator whose JWT connection POST is held open
// (the call in flight) while another connection is slow to settle.

const signalManifest = `version: 1
apps:
  sig-app:
    connections:
      prod_org:
        type: salesforce
        jwt:
          client_id: cid
          username: api.user@acme.example
          private_key_file: keys/server.key
      events_dc:
        type: datacloud
        data_action_targets:
          Order_Events:
            target_endpoint: /handleDataCloudDataChangeEvent
`

// heldPosts wraps the emulator: a JWT connection POST is done by the
// emulator and then its answer is held until release (or until the client
// gives up), as a slow network holds a call in flight.
type heldPosts struct {
	next    http.Handler
	arrived chan struct{}
	open    chan struct{}
	once    sync.Once
}

func (h *heldPosts) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/connections/salesforce/jwt") {
		h.next.ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	h.next.ServeHTTP(rec, r)
	select {
	case h.arrived <- struct{}{}:
	default:
	}
	select {
	case <-h.open:
	case <-r.Context().Done():
		return // the client abandoned the call
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

func (h *heldPosts) release() { h.once.Do(func() { close(h.open) }) }

// syncBuffer collects a process's output while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls cond until it holds, failing the test after a deadline
// generous enough for a loaded machine.
func waitFor(t *testing.T, what string, cond func() bool, diag func() string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s\n%s", what, diag())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSecondSignalStillReleasesTheLock(t *testing.T) {
	bin, err := exec.LookPath("applinkctl")
	if err != nil {
		t.Fatalf("testscript.Main installs applinkctl on $PATH: %v", err)
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			em, err := emulator.New(emulator.Options{
				ApproveOAuthAfter: 20 * time.Millisecond,
				// Slow statuses: events_dc is still connecting when the
				// signals come.
				AsyncDelay: map[string]time.Duration{emulator.KindConnection: 2 * time.Second, emulator.KindTarget: 200 * time.Millisecond},
			})
			if err != nil {
				t.Fatal(err)
			}
			held := &heldPosts{next: em, arrived: make(chan struct{}, 1), open: make(chan struct{})}
			srv := httptest.NewServer(held)
			defer srv.Close()
			defer held.release()
			em.SetBaseURL(srv.URL)
			if _, err := em.SeedApp("sig-app", 1); err != nil {
				t.Fatal(err)
			}

			dir := signalDir(t)
			command := func(ctx context.Context, args ...string) *exec.Cmd {
				return signalCommand(ctx, bin, dir, srv.URL, em.APIKey(), args...)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			applyArgs := []string{"apply", "-f", "applink.yaml", "--auto-approve", "--wait-for-browser"}

			cmd := command(ctx, applyArgs...)
			var stdout, stderr syncBuffer
			exited, diag := startSignalRun(t, cmd, &stdout, &stderr)

			// A call in flight and a resource waited on.
			select {
			case <-held.arrived:
			case err := <-exited:
				t.Fatalf("apply ended before its JWT connection POST: %v\n%s", err, diag())
			case <-time.After(2 * time.Minute):
				t.Fatalf("the JWT connection POST never came\n%s", diag())
			}
			waitFor(t, "events_dc to be created", func() bool {
				return em.Requests()["POST /addons/{addon_id}/connections/datacloud"] > 0
			}, diag)

			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the first signal's notice", func() bool {
				return strings.Contains(stderr.String(), "Interrupted: finishing in-flight calls")
			}, diag)
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			waitInterrupted(t, exited, "apply did not exit after the second signal", diag)
			if !strings.Contains(stderr.String(), "Aborting: in-flight calls are abandoned") {
				t.Errorf("no notice of the abort\n%s", diag())
			}

			// The lock is released and nothing temporary is left.
			stateDir := filepath.Join(dir, ".applinkctl")
			entries, err := os.ReadDir(stateDir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if e.Name() != "state.json" && e.Name() != "state.history.jsonl" {
					t.Errorf("left in %s: %s\n%s", stateDir, e.Name(), diag())
				}
			}

			// The next apply converges with no manual step; then nothing
			// is left to do.
			held.release()
			run := func(args ...string) (string, string, int) {
				c := command(ctx, args...)
				var o, e bytes.Buffer
				c.Stdout, c.Stderr = &o, &e
				err := c.Run()
				code := 0
				var ee *exec.ExitError
				if errors.As(err, &ee) {
					code = ee.ExitCode()
				} else if err != nil {
					t.Fatal(err)
				}
				return o.String(), e.String(), code
			}
			out, errs, code := run(applyArgs...)
			if code != 0 || !strings.Contains(errs, "Apply complete") {
				t.Fatalf("the next apply: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
			}
			out, errs, code = run("plan", "-f", "applink.yaml", "--detailed-exitcode")
			if code != 0 || !strings.Contains(out, "No changes.") {
				t.Fatalf("plan after: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
			}
			// Nothing was created twice.
			n := 0
			for _, a := range em.World().Apps {
				for _, ad := range a.Addons {
					n += len(ad.Connections)
				}
			}
			if n != 2 {
				t.Errorf("%d connections live, want 2: %+v", n, em.World().Apps)
			}
		})
	}
}

// signalDir is a directory with the signal tests' manifest and its key.
func signalDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	testkit.WriteFile(t, dir, "keys/server.key", testkit.RSAKeyPEM(t, 2048, 0))
	testkit.WriteFile(t, dir, "applink.yaml", signalManifest)
	return dir
}

// signalCommand is applinkctl run as its own process in dir, against the
// API at apiURL and nothing else of the test's environment.
func signalCommand(ctx context.Context, bin, dir, apiURL, apiKey string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "NO_COLOR=1",
		"HEROKU_API_URL=" + apiURL, "HEROKU_API_KEY=" + apiKey}
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// startSignalRun starts cmd with its output in stdout and stderr; the
// channel gets its exit, and diag shows its output for a failure message.
func startSignalRun(t *testing.T, cmd *exec.Cmd, stdout, stderr *syncBuffer) (exited <-chan error, diag func() string) {
	t.Helper()
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	return done, func() string { return "stdout:\n" + stdout.String() + "\nstderr:\n" + stderr.String() }
}

// waitInterrupted waits for the run to exit with the interrupted code;
// never within two minutes fails with what.
func waitInterrupted(t *testing.T, exited <-chan error, what string, diag func() string) {
	t.Helper()
	var ee *exec.ExitError
	select {
	case err := <-exited:
		if !errors.As(err, &ee) || ee.ExitCode() != exitInterrupted {
			t.Fatalf("exit: %v, want code %d\n%s", err, exitInterrupted, diag())
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("%s\n%s", what, diag())
	}
}

// heldGets holds every GET until the client gives up, so that a run is
// reading the live world when the signal comes.
type heldGets struct {
	next    http.Handler
	arrived chan struct{}
}

func (h *heldGets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		h.next.ServeHTTP(w, r)
		return
	}
	select {
	case h.arrived <- struct{}{}:
	default:
	}
	<-r.Context().Done()
}

// TestInterruptedDryRunSaysWhatItDoes: Ctrl-C during apply --dry-run says
// it stops a run that holds no lock and writes no state, not that it is
// saving state and releasing a lock; and it leaves neither behind.
func TestInterruptedDryRunSaysWhatItDoes(t *testing.T) {
	bin, err := exec.LookPath("applinkctl")
	if err != nil {
		t.Fatalf("testscript.Main installs applinkctl on $PATH: %v", err)
	}
	em, err := emulator.New(emulator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	held := &heldGets{next: em, arrived: make(chan struct{}, 1)}
	srv := httptest.NewServer(held)
	defer srv.Close()
	em.SetBaseURL(srv.URL)
	if _, err := em.SeedApp("sig-app", 1); err != nil {
		t.Fatal(err)
	}
	dir := signalDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := signalCommand(ctx, bin, dir, srv.URL, em.APIKey(), "apply", "-f", "applink.yaml", "--dry-run")
	var stdout, stderr syncBuffer
	exited, diag := startSignalRun(t, cmd, &stdout, &stderr)
	select {
	case <-held.arrived:
	case err := <-exited:
		t.Fatalf("the dry run ended before reading: %v\n%s", err, diag())
	case <-time.After(2 * time.Minute):
		t.Fatalf("the dry run never read the live world\n%s", diag())
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	waitInterrupted(t, exited, "the dry run did not stop after the signal", diag)
	errs := stderr.String()
	if !strings.Contains(errs, "Interrupted: stopping the dry run (it holds no lock and writes no state)") {
		t.Errorf("no dry-run notice\n%s", diag())
	}
	if strings.Contains(errs, "context canceled") || !regexp.MustCompile(`(?m)^interrupted`).MatchString(errs) {
		t.Errorf("the run does not end by saying it was interrupted (or says context canceled)\n%s", diag())
	}
	if strings.Contains(errs, "lock") && strings.Contains(errs, "releasing") || strings.Contains(errs, "saving") {
		t.Errorf("the notice speaks of saving state or releasing a lock\n%s", diag())
	}
	if _, err := os.Stat(filepath.Join(dir, ".applinkctl")); err == nil {
		t.Errorf("the dry run left %s behind", filepath.Join(dir, ".applinkctl"))
	}
}
