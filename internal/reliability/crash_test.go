package reliability

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/emulator"
	"github.com/applinkctl/applinkctl/internal/pgtest"
	"github.com/applinkctl/applinkctl/internal/state"
)

// workspace is the Postgres workspace every suite names explicitly, so the
// test can open the same state the CLI writes.
const workspace = "reliability"

var unlockRE = regexp.MustCompile(`applinkctl state unlock (\S+)`)

// TestCrashesFile and TestCrashesPostgres SIGKILL applinkctl apply at
// seeded random moments, flipping the Data Cloud login URL every run
// so creates, replaces and cascades are all cut short somewhere, and show
// that nothing is ever created twice, that the lock left behind can be
// recovered (file: the stale lock message names the `state unlock` that
// breaks it; Postgres: the advisory lock dies with the session), and that
// a complete run then converges with state matching the world.
func TestCrashesFile(t *testing.T) { crashSuite(t, "") }

func TestCrashesPostgres(t *testing.T) {
	crashSuite(t, pgState(t))
}

func crashSuite(t *testing.T, stateURL string) {
	n := runs(3, 30)
	eo := defaultEmulator()
	for k := range eo.AsyncDelay {
		eo.AsyncDelay[k] = 150 * time.Millisecond // a wider window to die in
	}
	f := newFleet(t, 2, eo)
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
	killed, staleBroken := 0, 0
	var recoveries []time.Duration
	for i := range n {
		f.manifest(logins[i%2])
		// First a complete-or-killed apply...
		at := time.Duration(20+rng.IntN(900)) * time.Millisecond
		for range 2 {
			r, k := f.killedApply(at, extra...)
			if k {
				killed++
				break
			}
			// A lock left by the previous kill: break it as its message
			// says, and run the kill again.
			if !f.breakStaleLock(r, stateURL != "") {
				break
			}
			staleBroken++
		}
		assertNoDuplicates(t, f.srv.Emulator.World())
		// ...then, every other run, recover and finish before the next kill,
		// so kills land on fresh work as well as on resumed work.
		if i%2 == 1 {
			start := time.Now()
			_, broken := f.applyRecovering(stateURL != "", extra...)
			staleBroken += broken
			recoveries = append(recoveries, time.Since(start))
			assertNoDuplicates(t, f.srv.Emulator.World())
		}
	}
	start := time.Now()
	_, broken := f.applyRecovering(stateURL != "", extra...)
	staleBroken += broken
	recoveries = append(recoveries, time.Since(start))
	f.assertNoopPlan(extra...)
	s := f.srv.Emulator.World()
	assertNoDuplicates(t, s)
	if got := countResources(s); got != 2*resourcesPerApp {
		t.Errorf("world holds %d resources, want %d", got, 2*resourcesPerApp)
	}
	f.assertStateMatches(stateURL, s)
	t.Logf("crashes (%s): %d runs, %d killed by SIGKILL, %d stale locks broken with state unlock, recovery apply %s",
		backend, n, killed, staleBroken, stats(recoveries))
}

// killedApply starts an apply and SIGKILLs it after at unless it ends
// first; it reports whether it killed.
func (f *fleet) killedApply(at time.Duration, extra ...string) (result, bool) {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	args := applyArgs(extra...)
	cmd := f.command(ctx, args...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	if err := cmd.Start(); err != nil {
		f.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	killed := false
	select {
	case <-done:
	case <-time.After(at):
		_ = cmd.Process.Signal(syscall.SIGKILL) // no deferred code, no grace
		<-done
		killed = true
	}
	return result{args: args, stdout: out.String(), stderr: errb.String(), code: cmd.ProcessState.ExitCode(), took: time.Since(start)}, killed
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
	if u := f.run("state", "unlock", "-f", ".", m[1]); u.code != 0 {
		f.t.Fatalf("state unlock:\n%s", u)
	}
	return true
}

// applyRecovering applies until exit 0. A stale file lock is broken with the
// command its message names; with Postgres no lock may be left at all. It
// returns every apply and how many locks it broke.
func (f *fleet) applyRecovering(postgres bool, extra ...string) ([]result, int) {
	f.t.Helper()
	var rs []result
	broken := 0
	for range 4 {
		r := f.run(applyArgs(extra...)...)
		rs = append(rs, r)
		if r.code == 0 {
			return rs, broken
		}
		// Anything but a lock (e.g. a resource the kill left failed) the
		// next run handles by itself.
		if f.breakStaleLock(r, postgres) {
			broken++
		}
	}
	f.t.Fatalf("no successful apply after recovering:\n%s", rs[len(rs)-1])
	return rs, broken
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
		for _, a := range []addr.Address{
			addr.Address(app + "/connection/prod_org"), addr.Address(app + "/connection/prod_org/publication/AcmeOrders"),
			addr.Address(app + "/connection/events_dc"), addr.Address(app + "/connection/events_dc/target/Order_Events"),
			addr.Address(app + "/connection/events_dc/target/Customer_Updates"), addr.Address(app + "/authorization/ci_auth"),
		} {
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
		f.t.Errorf("state holds %d records, want %d: %v", len(st.Resources), len(f.apps)*resourcesPerApp, keys(st.Resources))
	}
}

func keys[V any](m map[addr.Address]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, string(k))
	}
	return out
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
// process holds. The next apply must either judge it stale or name a way
// to break it that works. It runs in the soak only, because today neither
// holds: apply answers "locked by another run that has not recorded itself
// yet; try again shortly" forever and `state unlock` refuses the empty id
// (see docs/reliability.md, "Known weaknesses").
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
