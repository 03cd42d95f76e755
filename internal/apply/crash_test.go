package apply_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/apply"
	"github.com/applinkctl/applinkctl/internal/client"
	"github.com/applinkctl/applinkctl/internal/plan"
	"github.com/applinkctl/applinkctl/internal/secret"
	"github.com/applinkctl/applinkctl/internal/testkit"
)

// crashGenerations is how many times TestCrashSafety changes the
// manifest; crashRunsPerGeneration bounds the apply processes run (and
// mostly killed) on each.
const (
	crashGenerations       = 6
	crashRunsPerGeneration = 3
)

// TestCrashSafety kills apply processes (this test binary re-executed as
// TestCrashChild) with SIGKILL in the middle of a change: at a seeded
// mutating request of the run, either while the emulator holds that
// request (then carrying it out or not: the client died waiting for the
// answer, or before sending it) or a moment after it went through. The
// Data Cloud login URL flips every generation, so creates, replaces and
// cascades are all cut short somewhere; every other generation is then
// finished, so kills land on fresh work and on work left half done by an
// earlier manifest. Each process must exit 0 or die by the kill; at least
// a third of them must be killed mid-change; each generation creates
// every address at most once, exactly once for each new instance when it
// ends converged; what no generation replaces is created once in all;
// and the last manifest converges.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("kills subprocesses; skipped with -short")
	}
	eo := defaultEmulator()
	eo.Dir = filepath.Join(t.TempDir(), "emulator")
	eo.AsyncDelay["connection"] = 60 * time.Millisecond
	eo.AsyncDelay["target"] = 60 * time.Millisecond
	eo.AsyncDelay["delete"] = 60 * time.Millisecond
	srv, gate := testkit.GatedEmulator(t, eo)
	e := newEnvOn(t, srv)

	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("APPLY_CRASH_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("APPLY_CRASH_SEED=%q: %v", s, err)
		}
		seed = v
	}
	t.Logf("seed %d (set APPLY_CRASH_SEED to repeat)", seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	logins := []string{"https://login.salesforce.com", "https://test.salesforce.com"}
	runs, killed := 0, 0
	for g := range crashGenerations {
		e.manifest(quickstart, logins[g%2])
		from := testkit.TakeCheckpoint(srv)
		converged := false
		var transcript []string
		last := from
		note := func(what string) {
			now := testkit.TakeCheckpoint(srv)
			transcript = append(transcript, fmt.Sprintf("%s\ncreated: %v", what, now.Since(last)))
			last = now
		}
		for range crashRunsPerGeneration {
			k := crashPlan(rng)
			r := gate.Run(t, e.childCommand(), k)
			note(r.String())
			runs++
			switch {
			case r.Killed:
				killed++
			case r.Code != 0:
				t.Fatalf("generation %d: an apply process exited %d instead of 0 or dying by the kill:\n%s", g, r.Code, r)
			}
			if r.Clean() {
				converged = true
				break
			}
		}
		// Odd generations are finished; the others leave their work cut
		// short for the next manifest to take over.
		if !converged && g%2 == 1 {
			s, err := e.apply(context.Background(), plan.Options{}, opts())
			if err != nil {
				t.Fatalf("generation %d: no convergence after the crashes: %v %+v", g, err, s)
			}
			note(fmt.Sprintf("apply to completion: %+v", s))
			converged = true
		}
		if converged {
			e.assertConverged()
		}
		failed := t.Failed()
		testkit.AssertCreates(t, from, testkit.TakeCheckpoint(srv), converged)
		if !failed && t.Failed() {
			for i, r := range transcript {
				t.Logf("generation %d (login %s), run %d: %s", g, logins[g%2], i+1, r)
			}
		}
	}
	t.Logf("%d of %d apply processes killed mid-change", killed, runs)
	if 3*killed < runs {
		t.Errorf("only %d of %d apply processes were killed mid-change; want at least a third", killed, runs)
	}
	// Nothing but the Data Cloud connection and its targets was ever
	// meant to be replaced.
	testkit.AssertCreatedOnce(t, srv, "acme-api/connection/prod_org",
		"acme-api/connection/prod_org/publication/AcmeOrders", "acme-api/authorization/ci_auth")
}

// crashPlan draws where an apply process dies: mostly while one of its
// first three writes is held, else up to 150 ms after one of its first
// two went through.
func crashPlan(rng *rand.Rand) testkit.KillPlan {
	if rng.IntN(3) < 2 {
		return testkit.KillPlan{At: 1 + rng.IntN(3), Hold: true, Serve: rng.IntN(2) == 0}
	}
	return testkit.KillPlan{At: 1 + rng.IntN(2), After: time.Duration(rng.IntN(150)) * time.Millisecond}
}

// childCommand is this test binary running TestCrashChild against e.
func (e *env) childCommand() *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "APPLY_CRASH_CHILD=1", "APPLY_CRASH_DIR="+e.dir,
		"APPLY_CRASH_URL="+e.srv.URL, "APPLY_CRASH_KEY="+e.srv.APIKey)
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// TestCrashChild is the apply process TestCrashSafety kills. Run by
// itself it has nothing to do.
func TestCrashChild(t *testing.T) {
	if os.Getenv("APPLY_CRASH_CHILD") != "1" {
		t.Skip("helper process of TestCrashSafety")
	}
	plat, err := client.New(client.Config{BaseURL: os.Getenv("APPLY_CRASH_URL"), APIKey: secret.New(os.Getenv("APPLY_CRASH_KEY"))})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, plat: plat, dir: os.Getenv("APPLY_CRASH_DIR")}
	pr, err := e.tryPrepare(plan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// The plan, for the transcript the parent shows when it fails.
	for _, c := range pr.plan.Changes {
		if c.Action != plan.Noop || c.Wait {
			fmt.Fprintf(os.Stderr, "plan: %s %s %v (wait %v)\n", c.Action, c.Address, c.Reasons, c.Wait)
		}
	}
	if _, err := apply.Apply(context.Background(), pr.plan, pr.links, pr.store, nil, opts()); err != nil {
		t.Fatal(err)
	}
}
