package apply_test

import (
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/apply"
	"github.com/applinkctl/applinkctl/internal/client"
	"github.com/applinkctl/applinkctl/internal/plan"
	"github.com/applinkctl/applinkctl/internal/secret"
)

// TestCrashSafety kills apply runs with SIGKILL at seeded random moments
// (re-executing this test binary as the apply process, against the
// emulator on a loopback port with its world persisted), flipping the
// manifest between runs so creates, replaces and cascades are all cut
// short somewhere, then shows that the next complete run converges with
// nothing created twice.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("kills subprocesses; skipped with -short")
	}
	eo := defaultEmulator()
	eo.Dir = filepath.Join(t.TempDir(), "emulator")
	eo.AsyncDelay["connection"] = 60 * time.Millisecond
	eo.AsyncDelay["target"] = 60 * time.Millisecond
	eo.AsyncDelay["delete"] = 60 * time.Millisecond
	e := newEnv(t, eo)

	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("APPLY_CRASH_SEED"); s != "" {
		seed = 0
		for _, c := range s {
			seed = seed*10 + uint64(c-'0')
		}
	}
	t.Logf("seed %d (set APPLY_CRASH_SEED to repeat)", seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	logins := []string{"https://login.salesforce.com", "https://test.salesforce.com"}
	killed := 0
	for i := range 15 {
		e.manifest(quickstart, logins[i/3%2])
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "APPLY_CRASH_CHILD=1", "APPLY_CRASH_DIR="+e.dir,
			"APPLY_CRASH_URL="+e.srv.URL, "APPLY_CRASH_KEY="+e.srv.APIKey)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(time.Duration(20+rng.IntN(300)) * time.Millisecond):
			_ = cmd.Process.Kill() // SIGKILL: no deferred code, no grace
			<-done
			killed++
		}
		assertNoDuplicates(t, e.srv.Emulator.World())
	}
	t.Logf("%d of 15 runs killed", killed)

	// The last manifest, applied to completion, converges.
	var err error
	var s apply.Summary
	for range 3 {
		if s, err = e.apply(context.Background(), plan.Options{}, opts()); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("no convergence after the crashes: %v %+v", err, s)
	}
	e.assertConverged()
}

// TestCrashChild is the apply process TestCrashSafety kills.
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
	if _, err := apply.Apply(context.Background(), pr.plan, pr.world, pr.store, nil, opts()); err != nil {
		t.Fatal(err)
	}
}
