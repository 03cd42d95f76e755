package reliability

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/emulator"
	"github.com/applinkctl/applinkctl/internal/pgtest"
	"github.com/applinkctl/applinkctl/internal/state"
	"github.com/applinkctl/applinkctl/internal/testkit"
)

// workspace is the Postgres workspace every suite names explicitly, so the
// test can open the same state the CLI writes.
const workspace = "reliability"

// unlockRE finds the unlock command a lock error prints, which the test
// runs as printed (its words are plain here: no quoting needed).
var unlockRE = regexp.MustCompile(`applinkctl (state unlock [^\n]*\S)`)

// TestCrashesFile and TestCrashesPostgres SIGKILL applinkctl apply in the
// middle of a change: at a seeded write of the run, either while the
// emulator holds that write (then carrying it out or not: the process
// died waiting for the answer, or before sending it) or a moment after it
// went through, flipping the Data Cloud login URL every run so creates,
// replaces and cascades are all cut short somewhere. Every apply must exit
// 0, die by the kill, or (file state only) be refused by the stale lock a
// kill left, with the `state unlock` that breaks it; at least a third of
// the applies must be killed mid-change. Each manifest creates every
// address at most once (exactly once per new instance when it ends
// converged), what no manifest replaces is created once in all, a
// Postgres lock dies with its session, and a complete run converges with
// state matching the world.
func TestCrashesFile(t *testing.T) { crashSuite(t, "") }

func TestCrashesPostgres(t *testing.T) {
	crashSuite(t, pgState(t))
}

func crashSuite(t *testing.T, stateURL string) {
	n := runs(3, 30)
	eo := defaultEmulator()
	for k := range eo.AsyncDelay {
		eo.AsyncDelay[k] = 150 * time.Millisecond // more to cut short per write
	}
	f := newGatedFleet(t, 2, eo)
	backend := "file"
	if stateURL != "" {
		backend = "postgres"
		f.env = append(f.env, "APPLINKCTL_STATE="+stateURL)
	}
	var extra []string
	seed := seedFor("RELIABILITY_CRASH_SEED", uint64(time.Now().UnixNano()))
	t.Logf("%s: seed %d (set RELIABILITY_CRASH_SEED to repeat)", backend, seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	logins := []string{"https://login.salesforce.com", "https://test.salesforce.com"}
	applies, killed, staleBroken := 0, 0, 0
	var recoveries []time.Duration
	for i := range n {
		f.manifest(logins[i%2])
		from := testkit.TakeCheckpoint(f.srv)
		converged := false
		// First an apply killed mid-change (or done before its kill)...
		for attempt := 0; ; attempt++ {
			if attempt == 3 {
				t.Fatalf("run %d: refused by a stale lock three times", i)
			}
			r := f.killedApply(crashPlan(rng), extra...)
			if r.Killed {
				applies++
				killed++
				break
			}
			if r.Code == 0 {
				applies++
				converged = true
				break
			}
			// A lock left by the previous kill: break it as its message
			// says, and run the kill again. Any other exit is a failure.
			if !f.breakStaleLock(asResult(r), stateURL != "") {
				t.Fatalf("run %d: an apply exited %d instead of 0 or dying by the kill:\n%s", i, r.Code, r)
			}
			staleBroken++
		}
		// ...then, every other run and at the end, recover and finish, so
		// kills land on fresh work as well as on work an earlier manifest
		// left half done.
		if i%2 == 1 || i == n-1 {
			start := time.Now()
			broken := f.applyRecovering(stateURL != "", extra...)
			staleBroken += broken
			recoveries = append(recoveries, time.Since(start))
			converged = true
		}
		testkit.AssertCreates(t, from, testkit.TakeCheckpoint(f.srv), converged)
	}
	f.assertNoopPlan(extra...)
	s := f.srv.Emulator.World()
	if got := countResources(s); got != 2*resourcesPerApp {
		t.Errorf("world holds %d resources, want %d", got, 2*resourcesPerApp)
	}
	// Only the Data Cloud connections and their targets were ever replaced.
	for _, app := range f.apps {
		testkit.AssertCreatedOnce(t, f.srv, app+"/connection/prod_org",
			app+"/connection/prod_org/publication/AcmeOrders", app+"/authorization/ci_auth")
	}
	f.assertStateMatches(stateURL, s)
	t.Logf("crashes (%s): %d runs, %d of %d applies killed mid-change by SIGKILL, %d stale locks broken with state unlock, recovery apply %s",
		backend, n, killed, applies, staleBroken, stats(recoveries))
	if 3*killed < applies {
		t.Errorf("only %d of %d applies were killed mid-change; want at least a third", killed, applies)
	}
}

// crashPlan draws where an apply dies: mostly while one of its first
// three writes is held, else up to 300 ms after one of its first two went
// through.
func crashPlan(rng *rand.Rand) testkit.KillPlan {
	if rng.IntN(3) < 2 {
		return testkit.KillPlan{At: 1 + rng.IntN(3), Hold: true, Serve: rng.IntN(2) == 0}
	}
	return testkit.KillPlan{At: 1 + rng.IntN(2), After: time.Duration(rng.IntN(300)) * time.Millisecond}
}

// killedApply runs an apply through the fleet's gate, killed as k says
// unless it ends first.
func (f *fleet) killedApply(k testkit.KillPlan, extra ...string) testkit.Run {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	return f.gate.Run(f.t, f.command(ctx, applyArgs(extra...)...), k)
}

// asResult is a finished gated run as the harness reports commands.
func asResult(r testkit.Run) result {
	return result{args: applyArgs(), stdout: r.Stdout, stderr: r.Stderr, code: r.Code, took: r.Took}
}

// breakStaleLock breaks the lock r was refused for, with the command its
// message names, and reports whether it did. With Postgres no lock may
// outlive its holder, so finding one fails the test.
func (f *fleet) breakStaleLock(r result, postgres bool) bool {
	f.t.Helper()
	if r.code == 0 || !strings.Contains(r.stderr, "state is locked") {
		return false
	}
	if postgres {
		f.t.Fatalf("a Postgres lock survived its killed holder:\n%s", r)
	}
	m := unlockRE.FindStringSubmatch(r.stderr)
	if m == nil || !strings.Contains(r.stderr, "stale lock") {
		f.t.Fatalf("a lock left by a killed apply is not reported as stale with its unlock command:\n%s", r)
	}
	if u := f.run(strings.Fields(m[1])...); u.code != 0 {
		f.t.Fatalf("state unlock:\n%s", u)
	}
	return true
}

// applyRecovering applies until exit 0: after a kill, the first apply may
// be refused by the stale file lock the kill left, which it breaks with
// the command the message names (with Postgres no lock may be left at
// all). Any other failure fails the test. It returns how many locks it
// broke.
func (f *fleet) applyRecovering(postgres bool, extra ...string) int {
	f.t.Helper()
	broken := 0
	for range 2 {
		r := f.run(applyArgs(extra...)...)
		if r.code == 0 {
			return broken
		}
		if broken > 0 || !f.breakStaleLock(r, postgres) {
			f.t.Fatalf("a recovering apply failed:\n%s", r)
		}
		broken++
	}
	f.t.Fatal("no successful apply after breaking the stale lock")
	return broken
}

// assertStateMatches checks the recorded state against the world: every
// declared address applied, no intent left over, and every remote id one
// the world holds.
func (f *fleet) assertStateMatches(stateURL string, s emulator.Snapshot) {
	f.t.Helper()
	ctx := context.Background()
	b, err := state.Open(ctx, stateURL, state.OpenOptions{ManifestDir: f.dir, Workspace: workspace})
	if err != nil {
		f.t.Fatal(err)
	}
	defer b.Close()
	st, err := b.Load(ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, a := range s.Apps {
		for _, ad := range a.Addons {
			for _, c := range ad.Connections {
				ids[c.ID] = true
				for _, tg := range c.Targets {
					ids[tg.ID] = true
				}
			}
			for _, au := range ad.Authorizations {
				ids[au.ID] = true
			}
		}
	}
	for _, app := range f.apps {
		for _, s := range testkit.QuickstartAddresses(app) {
			a := addr.Address(s)
			r := st.Resources[a]
			switch {
			case r == nil:
				f.t.Errorf("state has no record of %s", a)
			case r.Phase != state.Applied:
				f.t.Errorf("state: %s is %s (%s), want applied", a, r.Phase, r.Operation)
			case a.Kind() != addr.KindPublication && !ids[r.RemoteID]:
				f.t.Errorf("state: %s records id %s, which the world does not hold", a, r.RemoteID)
			}
		}
	}
	if len(st.Resources) != len(f.apps)*resourcesPerApp {
		f.t.Errorf("state holds %d records, want %d: %v", len(st.Resources), len(f.apps)*resourcesPerApp, slices.Sorted(maps.Keys(st.Resources)))
	}
}

// pgState is a fresh Postgres state URL naming the suites' workspace
// (plan has no --workspace flag; the URL's ?workspace= serves every verb).
// Without PostgreSQL it skips t.
func pgState(t *testing.T) string {
	u := pgtest.Start(t)
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	return fmt.Sprintf("%s%sworkspace=%s", u, sep, workspace)
}

// TestLockLeftEmpty is the narrowest crash window of the file lock: a run
// killed (or a machine losing power) after creating state.json.lock and
// before writing its holder into it leaves an empty lock file that no
// process holds. The next apply must clear it and go on.
func TestLockLeftEmpty(t *testing.T) {
	// A run killed between creating the lock file and writing its holder
	// leaves an empty file no process holds; the next apply clears it.
	f := newFleet(t, 1, defaultEmulator())
	lock := filepath.Join(f.dir, ".applinkctl", "state.json.lock")
	if err := os.MkdirAll(filepath.Dir(lock), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(lock, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(lock, old, old); err != nil {
		t.Fatal(err)
	}
	if r := f.run(applyArgs()...); r.code != 0 {
		t.Fatalf("an empty lock file left by a killed run blocks the next apply:\n%s", r)
	}
	if _, err := os.Stat(lock); !os.IsNotExist(err) {
		t.Fatalf("lock file still there after the apply: %v", err)
	}
}
