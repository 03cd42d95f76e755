package reliability

import (
	"context"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/applinkctl/applinkctl/internal/emulator"
	"github.com/applinkctl/applinkctl/internal/testkit"
)

// TestLostPostgresLockNeverOverlaps ends the database session holding an
// apply's state lock with pg_terminate_backend (what docs/state.md tells
// administrators to do with a stale lock) while that apply waits on slow
// connections, and at once starts a second apply on the same state. The
// emulator's request timeline must show that no mutating call of the first
// run happened after the second run's first: the first run stops (exit 1,
// naming the cause) instead of carrying on beside the second, which
// resumes from the first run's intents and creates nothing twice.
//
// The two runs reach one emulator through two listeners, so the timeline's
// Host tells their requests apart whatever the client sends.
func TestLostPostgresLockNeverOverlaps(t *testing.T) {
	stateURL := pgState(t)
	eo := defaultEmulator()
	// Long enough to kill the first run while it waits on its
	// connections; the targets and the publication come only after.
	eo.AsyncDelay[emulator.KindConnection] = 5 * time.Second
	eo.AsyncDelay[emulator.KindAuthorization] = 5 * time.Second
	emu, err := emulator.New(eo)
	if err != nil {
		t.Fatal(err)
	}
	frontA, frontB := httptest.NewServer(emu), httptest.NewServer(emu)
	t.Cleanup(frontA.Close)
	t.Cleanup(frontB.Close)
	hostA, hostB := strings.TrimPrefix(frontA.URL, "http://"), strings.TrimPrefix(frontB.URL, "http://")

	f := &fleet{t: t, dir: t.TempDir(), apps: []string{"rel-a"}, eo: eo,
		srv: &emulator.Server{URL: frontA.URL, APIKey: emu.APIKey(), Emulator: emu, Close: func() error { return nil }}}
	if _, err := emu.SeedApp("rel-a", 1); err != nil {
		t.Fatal(err)
	}
	f.write("keys/server.key", string(testKey(t).pem))
	f.write("api/openapi.yaml", testkit.OrdersSpec)
	f.manifest("https://login.salesforce.com")
	f.env = append(f.env, "APPLINKCTL_STATE="+stateURL)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	type run struct {
		cmd  *exec.Cmd
		res  result
		done chan struct{}
	}
	start := func(extraEnv ...string) *run {
		args := applyArgs()
		r := &run{cmd: f.command(ctx, args...), done: make(chan struct{})}
		r.cmd.Env = append(r.cmd.Env, extraEnv...)
		go func() {
			r.res = wait(r.cmd, args)
			close(r.done)
		}()
		return r
	}

	a := start()
	// The first wave is every resource without a parent: two connections
	// and an authorization. Wait until run A has sent all three and none
	// is in flight: it is then waiting on them.
	const firstWave = 3
	waitFor(t, ctx, a.done, "run A to send its first mutating calls", func() bool {
		sent, running := 0, 0
		for _, r := range emu.Timeline().Requests {
			if r.Host == hostA && r.Mutating() {
				sent++
				if r.End == nil {
					running++
				}
			}
		}
		return sent >= firstWave && running == 0
	})

	killed := time.Now()
	terminateLockSession(t, ctx, stateURL)
	b := start("HEROKU_API_URL=" + frontB.URL)
	<-a.done
	stopped := time.Since(killed)
	<-b.done

	if a.res.code != 1 || !strings.Contains(a.res.stderr, "lost the state lock") || !strings.Contains(a.res.stderr, "pg_terminate_backend") {
		t.Errorf("run A did not stop naming the lost lock:\n%s", a.res)
	}
	if b.res.code != 0 {
		t.Errorf("run B failed:\n%s", b.res)
	}

	var lastA, firstB time.Time
	var mutA, mutB []string
	for _, r := range emu.Timeline().Requests {
		if !r.Mutating() {
			continue
		}
		if r.End == nil {
			t.Errorf("%s %s still running after both runs ended", r.Host, r.Route)
			continue
		}
		switch r.Host {
		case hostA:
			mutA = append(mutA, r.Route)
			if r.End.After(lastA) {
				lastA = *r.End
			}
		case hostB:
			mutB = append(mutB, r.Route)
			if firstB.IsZero() || r.Start.Before(firstB) {
				firstB = r.Start
			}
		}
	}
	t.Logf("run A: %d mutating calls, stopped %v after its lock session was terminated; run B: %d mutating calls, the first %v after A's last ended",
		len(mutA), stopped.Round(time.Millisecond), len(mutB), firstB.Sub(lastA).Round(time.Millisecond))
	if len(mutA) != firstWave {
		t.Errorf("run A made %d mutating calls, want only its first %d: %v", len(mutA), firstWave, mutA)
	}
	if len(mutB) == 0 || firstB.Before(lastA) {
		t.Errorf("mutating calls overlap: run A's last ended at %s, run B's first started at %s\nA: %v\nB: %v",
			lastA.Format(time.RFC3339Nano), firstB.Format(time.RFC3339Nano), mutA, mutB)
	}
	for _, route := range mutB {
		if strings.HasSuffix(route, "/jwt") || strings.HasSuffix(route, "/connections/datacloud") {
			t.Errorf("run B created again what run A had started (%s): the intents were not resumed", route)
		}
	}
	f.assertCreates(1) // nothing created twice, counted by the emulator
	f.assertNoopPlan()
}

// waitFor polls cond until it holds; it fails t if done closes first (the
// process it watches ended) or ctx ends.
func waitFor(t *testing.T, ctx context.Context, done <-chan struct{}, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-done:
			t.Fatalf("gave up waiting for %s: the process ended", what)
		case <-ctx.Done():
			t.Fatalf("gave up waiting for %s: %v", what, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// terminateLockSession ends the database session holding the suites'
// workspace lock, as an administrator breaking a lock would.
func terminateLockSession(t *testing.T, ctx context.Context, stateURL string) {
	t.Helper()
	u, err := url.Parse(stateURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Del("workspace")
	u.RawQuery = q.Encode()
	c, err := pgx.Connect(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	var ok bool
	if err := c.QueryRow(ctx, `SELECT pg_terminate_backend(backend_pid) FROM applinkctl.locks WHERE workspace = $1`, workspace).Scan(&ok); err != nil || !ok {
		t.Fatalf("pg_terminate_backend of the lock session = %v, %v", ok, err)
	}
}
