package state_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/pgtest"
	"github.com/applinkctl/applinkctl/internal/state"
	"github.com/applinkctl/applinkctl/internal/testkit"
)

// backendKind makes fresh state locations of one backend, so every
// conformance case runs against the file and the Postgres backend alike.
type backendKind struct {
	name string
	// newURL returns the --state URL of a fresh, empty state.
	newURL func(t *testing.T) string
	// store writes raw bytes as the stored state, bypassing the backend,
	// to simulate corruption and newer versions.
	store func(t *testing.T, url, body string)
	// staleAfterKill: a killed holder's lock is reported stale and must be
	// broken by hand (file), rather than freed by the server (Postgres).
	staleAfterKill bool
	// breakLock takes the held lock away from its live holder the way an
	// administrator would: the lock file removed (by hand, or by state
	// unlock on another host sharing the file), the lock's database
	// session ended with pg_terminate_backend.
	breakLock func(t *testing.T, url string)
	// lostCause is a word the holder's *LockLostError must contain.
	lostCause string
}

func kinds() []backendKind {
	return []backendKind{
		{
			name: "file",
			newURL: func(t *testing.T) string {
				return "file://" + filepath.Join(t.TempDir(), ".applinkctl", "state.json")
			},
			store: func(t *testing.T, url, body string) {
				p := strings.TrimPrefix(url, "file://")
				testkit.WriteFile(t, filepath.Dir(p), filepath.Base(p), body)
			},
			staleAfterKill: true,
			breakLock: func(t *testing.T, url string) {
				if err := os.Remove(strings.TrimPrefix(url, "file://") + ".lock"); err != nil {
					t.Fatal(err)
				}
			},
			lostCause: "the lock file",
		},
		{
			name: "postgres",
			newURL: func(t *testing.T) string {
				return pgtest.Start(t) + "&workspace=conformance"
			},
			store: func(t *testing.T, url, body string) {
				ctx := context.Background()
				b := open(t, url, state.OpenOptions{}) // creates the tables
				_ = b
				c, err := pgx.Connect(ctx, strings.TrimSuffix(url, "&workspace=conformance"))
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close(ctx)
				if _, err := c.Exec(ctx, `INSERT INTO applinkctl.states (workspace, serial, lineage, body) VALUES ('conformance', 7, 'x', $1::jsonb)
					ON CONFLICT (workspace) DO UPDATE SET body = excluded.body`, body); err != nil {
					t.Fatal(err)
				}
			},
			breakLock: func(t *testing.T, url string) {
				terminateLockSession(t, strings.TrimSuffix(url, "&workspace=conformance"), "conformance")
			},
			lostCause: "pg_terminate_backend",
		},
	}
}

// terminateLockSession ends the database session holding workspace's lock
// with the command docs/state.md gives administrators.
func terminateLockSession(t *testing.T, dsn, workspace string) {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var ok bool
	if err := c.QueryRow(ctx, `SELECT pg_terminate_backend(backend_pid) FROM applinkctl.locks WHERE workspace = $1`, workspace).Scan(&ok); err != nil || !ok {
		t.Fatalf("pg_terminate_backend of the lock session = %v, %v", ok, err)
	}
}

// eachBackend runs f as a subtest per backend.
func eachBackend(t *testing.T, f func(t *testing.T, k backendKind)) {
	for _, k := range kinds() {
		t.Run(k.name, func(t *testing.T) { f(t, k) })
	}
}

func open(t *testing.T, url string, opts state.OpenOptions) state.Backend {
	t.Helper()
	b, err := state.Open(context.Background(), url, opts)
	if err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func load(t *testing.T, b state.Backend) *state.State {
	t.Helper()
	s, err := b.Load(context.Background())
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return s
}

func sampleResource(i int) (addr.Address, *state.Resource) {
	return addr.Connection("acme-api", fmt.Sprintf("org%d", i)), &state.Resource{
		Kind: addr.KindConnection, RemoteID: fmt.Sprintf("id-%d", i), Origin: state.Created, Phase: state.Applied,
		Status: "connected", InputsDigest: "sha256:abc", KeyFingerprint: "sha256:def",
		SpecGzip: state.CompressSpec([]byte(`{"openapi":"3.0.0"}`)), SpecName: "api-spec.json",
		UpdatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), UpdatedBy: "alice",
	}
}

func TestConformanceLoadEmpty(t *testing.T) {
	eachBackend(t, func(t *testing.T, k backendKind) {
		url := k.newURL(t)
		s := load(t, open(t, url, state.OpenOptions{}))
		if s.Version != state.Version || s.Serial != 0 || s.Lineage == "" || len(s.Resources) != 0 || s.Resources == nil {
			t.Fatalf("empty state = %+v", s)
		}
		// A plan saved against empty state must not look stale to an apply
		// in another process.
		if d := load(t, open(t, url, state.OpenOptions{})).Digest(); d != s.Digest() {
			t.Fatalf("empty state digest changed between loads: %s, %s", s.Digest(), d)
		}
	})
}

func TestConformanceSaveLoadRoundTrip(t *testing.T) {
	eachBackend(t, func(t *testing.T, k backendKind) {
		ctx := context.Background()
		url := k.newURL(t)
		b := open(t, url, state.OpenOptions{})
		s := load(t, b)
		a, r := sampleResource(1)
		s.Resources[a] = r
		if err := b.Save(ctx, s); err != nil {
			t.Fatal(err)
		}
		if s.Serial != 1 {
			t.Fatalf("serial after first save = %d, want 1", s.Serial)
		}
		got := load(t, open(t, url, state.OpenOptions{}))
		if got.Digest() != s.Digest() {
			t.Fatalf("reloaded digest %s != saved %s", got.Digest(), s.Digest())
		}
		spec, err := state.DecompressSpec(got.Resources[a].SpecGzip)
		if err != nil || string(spec) != `{"openapi":"3.0.0"}` {
			t.Fatalf("spec round trip = %q, %v", spec, err)
		}
		delete(s.Resources, a)
		if err := b.Save(ctx, s); err != nil || s.Serial != 2 {
			t.Fatalf("second save: serial %d, %v", s.Serial, err)
		}
		if got := load(t, b); len(got.Resources) != 0 || got.Serial != 2 {
			t.Fatalf("after delete: %+v", got)
		}
	})
}

func TestConformanceCompareAndSwapConflict(t *testing.T) {
	eachBackend(t, func(t *testing.T, k backendKind) {
		ctx := context.Background()
		url := k.newURL(t)
		b1, b2 := open(t, url, state.OpenOptions{}), open(t, url, state.OpenOptions{})
		s1, s2 := load(t, b1), load(t, b2)
		a, r := sampleResource(1)
		s1.Resources[a] = r
		if err := b1.Save(ctx, s1); err != nil {
			t.Fatal(err)
		}
		a2, r2 := sampleResource(2)
		s2.Resources[a2] = r2
		err := b2.Save(ctx, s2)
		var ce *state.ConflictError
		if !errors.As(err, &ce) || ce.Expected != 0 || ce.Found != 1 {
			t.Fatalf("concurrent save error = %v, want *ConflictError 0 vs 1", err)
		}
		if s2.Serial != 0 {
			t.Fatalf("failed save changed the serial to %d", s2.Serial)
		}
		got := load(t, b2)
		if _, ok := got.Resources[a]; !ok || len(got.Resources) != 1 {
			t.Fatalf("the conflicting save overwrote the first: %v", got.Resources)
		}
	})
}

// TestConformanceConflictAfterOwnSave checks the compare-and-swap of a
// backend whose own save was the last it saw: another writer's save since
// (or a state put back by hand) must still be found, however the backend
// remembers what it wrote.
func TestConformanceConflictAfterOwnSave(t *testing.T) {
	eachBackend(t, func(t *testing.T, k backendKind) {
		ctx := context.Background()
		url := k.newURL(t)
		b1, b2 := open(t, url, state.OpenOptions{}), open(t, url, state.OpenOptions{})
		s1 := load(t, b1)
		a, r := sampleResource(1)
		s1.Resources[a] = r
		if err := b1.Save(ctx, s1); err != nil {
			t.Fatal(err)
		}
		// The other writer saves on top of b1's save.
		s2 := load(t, b2)
		a2, r2 := sampleResource(2)
		s2.Resources[a2] = r2
		if err := b2.Save(ctx, s2); err != nil || s2.Serial != 2 {
			t.Fatalf("second writer: serial %d, %v", s2.Serial, err)
		}
		stale := s1.Clone()
		delete(stale.Resources, a)
		err := b1.Save(ctx, stale)
		var ce *state.ConflictError
		if !errors.As(err, &ce) || ce.Expected != 1 || ce.Found != 2 {
			t.Fatalf("save over another writer's = %v, want *ConflictError 1 vs 2", err)
		}
		if got := load(t, b1); got.Serial != 2 || len(got.Resources) != 2 {
			t.Fatalf("the stale save overwrote the other writer's: serial %d, %v", got.Serial, got.Resources)
		}
		// b1 saves again on what is stored, then b2 goes back to its own
		// save (serial 2) as a restore would: b1's serial 3 is stale too.
		cur := load(t, b1)
		cur.Resources[a] = r
		if err := b1.Save(ctx, cur); err != nil || cur.Serial != 3 {
			t.Fatalf("save on the stored state: serial %d, %v", cur.Serial, err)
		}
		if k.name != "file" {
			return // a Postgres state keeps its serial in a column of its own
		}
		body, err := json.Marshal(s2)
		if err != nil {
			t.Fatal(err)
		}
		k.store(t, url, string(body))
		if err := b1.Save(ctx, cur); !errors.As(err, &ce) || ce.Expected != 3 || ce.Found != 2 {
			t.Fatalf("save over a state put back by hand = %v, want *ConflictError 3 vs 2", err)
		}
	})
}

func TestConformanceRefusesCorruptAndNewer(t *testing.T) {
	eachBackend(t, func(t *testing.T, k backendKind) {
		ctx := context.Background()
		cases := []struct {
			name, body string
			check      func(error) bool
		}{
			{"newer", `{"version": 99, "serial": 7, "lineage": "x", "resources": {}}`, func(err error) bool {
				var ve *state.VersionError
				return errors.As(err, &ve) && ve.Found == 99
			}},
			{"no version", `{"serial": 7, "lineage": "x"}`, func(err error) bool {
				var ce *state.CorruptError
				return errors.As(err, &ce)
			}},
		}
		if k.name == "file" {
			// Postgres's jsonb refuses to store these; Save there checks the
			// stored format version only, not every record.
			isCorrupt := func(err error) bool {
				var ce *state.CorruptError
				return errors.As(err, &ce)
			}
			cases = append(cases, []struct {
				name, body string
				check      func(error) bool
			}{
				{"garbage", "{not json", isCorrupt},
				{"bad resource", `{"version": 1, "serial": 7, "lineage": "x", "resources": {"a/connection/b": {"kind": 5}}}`, isCorrupt},
			}...)
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				url := k.newURL(t)
				k.store(t, url, c.body)
				b := open(t, url, state.OpenOptions{})
				_, err := b.Load(ctx)
				if !c.check(err) {
					t.Fatalf("load = %v", err)
				}
				if err := b.Save(ctx, &state.State{Version: 1, Serial: 7, Lineage: "x"}); err == nil {
					t.Fatal("save over unreadable state succeeded")
				}
				if _, err := b.Load(ctx); !c.check(err) {
					t.Fatalf("after refused save, load = %v: the stored state was replaced", err)
				}
			})
		}
	})
}

func TestConformanceLockExclusion(t *testing.T) {
	eachBackend(t, func(t *testing.T, k backendKind) {
		ctx := context.Background()
		url := k.newURL(t)
		b1, b2 := open(t, url, state.OpenOptions{}), open(t, url, state.OpenOptions{})
		holder := state.NewLockInfo("apply")
		holder.Who, holder.CIRunURL = "alice", "https://ci.example/run/1"
		release, err := b1.Lock(ctx, holder, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, err = b2.Lock(ctx, state.NewLockInfo("apply"), 0)
		var le *state.LockedError
		if !errors.As(err, &le) || le.Holder.ID != holder.ID || le.Stale {
			t.Fatalf("second lock = %v, want *LockedError naming %s", err, holder.ID)
		}
		for _, want := range []string{"alice@", "apply", "ci: https://ci.example/run/1", "applinkctl state unlock " + holder.ID} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("lock error %q does not mention %q", err, want)
			}
		}
		if err := b2.ForceUnlock(ctx, holder.ID); err == nil {
			t.Error("force unlock of a live holder succeeded")
		}
		if err := b2.ForceUnlock(ctx, "not-the-id"); err == nil {
			t.Error("force unlock with a wrong id succeeded")
		}
		if err := release(); err != nil {
			t.Fatal(err)
		}
		if err := release(); err != nil {
			t.Fatalf("second release: %v", err)
		}
		rel2, err := b2.Lock(ctx, state.NewLockInfo("apply"), 0)
		if err != nil {
			t.Fatalf("lock after release: %v", err)
		}
		_ = rel2()
	})
}

func TestConformanceLockWaitThenAcquire(t *testing.T) {
	eachBackend(t, func(t *testing.T, k backendKind) {
		ctx := context.Background()
		url := k.newURL(t)
		b1, b2 := open(t, url, state.OpenOptions{}), open(t, url, state.OpenOptions{})
		release, err := b1.Lock(ctx, state.NewLockInfo("apply"), 0)
		if err != nil {
			t.Fatal(err)
		}
		// The holder lets go a moment later. The waiter must not have the
		// lock before then: releasing is set before the release starts,
		// which a wall-clock bound cannot tell on a loaded machine (a
		// stall between arming the timer and reading the clock shortens
		// the measured wait).
		var releasing atomic.Bool
		done := make(chan error, 1)
		time.AfterFunc(400*time.Millisecond, func() {
			releasing.Store(true)
			done <- release()
		})
		rel2, err := b2.Lock(ctx, state.NewLockInfo("apply"), time.Minute)
		if err != nil {
			t.Fatalf("waiting lock: %v", err)
		}
		defer rel2()
		if !releasing.Load() {
			t.Fatal("acquired before the holder released")
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

func TestConformanceLockTimeoutNamesHolder(t *testing.T) {
	eachBackend(t, func(t *testing.T, k backendKind) {
		ctx := context.Background()
		url := k.newURL(t)
		b1, b2 := open(t, url, state.OpenOptions{}), open(t, url, state.OpenOptions{})
		holder := state.NewLockInfo("apply")
		release, err := b1.Lock(ctx, holder, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer release()
		start := time.Now()
		_, err = b2.Lock(ctx, state.NewLockInfo("apply"), 600*time.Millisecond)
		var le *state.LockedError
		if !errors.As(err, &le) || le.Holder.ID != holder.ID {
			t.Fatalf("lock = %v, want *LockedError naming %s", err, holder.ID)
		}
		if el := time.Since(start); el < 550*time.Millisecond || el > time.Minute {
			t.Fatalf("gave up after %v, want about 600ms", el)
		}
		// Cancelling the context stops the wait early.
		cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		start = time.Now()
		_, err = b2.Lock(cctx, state.NewLockInfo("apply"), time.Minute)
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 30*time.Second { // not the minute
			t.Fatalf("cancelled wait = %v after %v", err, time.Since(start))
		}
	})
}

// TestConformanceLockWaitSaysWhoHolds waits for a held lock with a short
// timeout: the wait is announced at once on the context's writer, naming
// the holder as its lock records it, with how long it has waited; a wait
// of 0 fails at once and announces nothing.
func TestConformanceLockWaitSaysWhoHolds(t *testing.T) {
	eachBackend(t, func(t *testing.T, k backendKind) {
		var out bytes.Buffer
		ctx := state.WithLockWaitOutput(context.Background(), &out)
		url := k.newURL(t)
		b1, b2 := open(t, url, state.OpenOptions{}), open(t, url, state.OpenOptions{})
		holder := state.NewLockInfo("state unprotect")
		release, err := b1.Lock(ctx, holder, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer release()
		if out.Len() != 0 {
			t.Fatalf("a lock taken at once announced %q", out.String())
		}
		if _, err := b2.Lock(ctx, state.NewLockInfo("apply"), 0); err == nil {
			t.Fatal("second lock taken")
		}
		if out.Len() != 0 {
			t.Fatalf("a lock refused at once (no --lock-timeout) announced %q", out.String())
		}
		// Long enough that the first attempt, however slow on a loaded
		// machine, fails before the timeout and announces the wait.
		_, err = b2.Lock(ctx, state.NewLockInfo("apply"), 2*time.Second)
		var le *state.LockedError
		if !errors.As(err, &le) {
			t.Fatalf("lock = %v, want *LockedError", err)
		}
		got := out.String()
		want := "state " + b2.Describe() + " is locked by " + holder.Who + "@" + holder.Host + " (pid "
		if !strings.HasPrefix(got, want) || !strings.Contains(got, ", state unprotect, since ") ||
			!regexp.MustCompile(`; waited [01]s of --lock-timeout 2s\n`).MatchString(got) {
			t.Fatalf("wait notice %q, want it to start %q and name the operation and the wait", got, want)
		}
	})
}

// TestConformanceKilledHolder kills a process holding the lock. Postgres
// frees the lock with the session; the file lock is reported stale with the
// command to break it, and breaking it lets the next run in.
func TestConformanceKilledHolder(t *testing.T) {
	eachBackend(t, func(t *testing.T, k backendKind) {
		ctx := context.Background()
		url := k.newURL(t)
		open(t, url, state.OpenOptions{}) // Postgres: create the tables before the helper races us
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), envHelper+"=hold-lock", envURL+"="+url)
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(out).ReadString('\n')
		if err != nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("helper did not take the lock: %v", err)
		}
		id := strings.TrimSpace(line)
		b := open(t, url, state.OpenOptions{})
		_, err = b.Lock(ctx, state.NewLockInfo("apply"), 0)
		var le *state.LockedError
		if !errors.As(err, &le) || le.Holder.ID != id || le.Stale {
			t.Fatalf("lock while the helper lives = %v", err)
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()

		if k.staleAfterKill {
			_, err = b.Lock(ctx, state.NewLockInfo("apply"), 0)
			if !errors.As(err, &le) || !le.Stale || le.Holder.ID != id || !strings.Contains(err.Error(), "applinkctl state unlock "+id) {
				t.Fatalf("lock after the holder died = %v, want a stale *LockedError naming the unlock command", err)
			}
			if err := b.ForceUnlock(ctx, id); err != nil {
				t.Fatalf("unlock: %v", err)
			}
		}
		release, err := b.Lock(ctx, state.NewLockInfo("apply"), 10*time.Second)
		if err != nil {
			t.Fatalf("lock after the holder died: %v", err)
		}
		if err := release(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestConformanceHistory(t *testing.T) {
	eachBackend(t, func(t *testing.T, k backendKind) {
		ctx := context.Background()
		b := open(t, k.newURL(t), state.OpenOptions{})
		if h, err := b.History(ctx, 0); err != nil || len(h) != 0 {
			t.Fatalf("empty history = %v, %v", h, err)
		}
		base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		for i := range 3 {
			r := state.HistoryRecord{Workspace: "w", Started: base.Add(time.Duration(i) * time.Hour), Ended: base.Add(time.Duration(i)*time.Hour + time.Minute),
				Who: "alice", Host: "h", GitCommit: fmt.Sprintf("c%d", i), PlanHash: "sha256:p", Summary: map[string]int{"created": i}, Outcome: "success"}
			if err := b.AppendHistory(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		all, err := b.History(ctx, 0)
		if err != nil || len(all) != 3 {
			t.Fatalf("history = %v, %v", all, err)
		}
		if all[0].GitCommit != "c2" || all[2].GitCommit != "c0" || all[0].Summary["created"] != 2 || !all[0].Started.Equal(base.Add(2*time.Hour)) {
			t.Fatalf("history not newest first or fields lost: %+v", all)
		}
		if two, _ := b.History(ctx, 2); len(two) != 2 || two[0].GitCommit != "c2" {
			t.Fatalf("history limit 2 = %+v", two)
		}
	})
}

// TestConformanceStoreConcurrentUpdates has many goroutines record at once,
// as apply's walk does; every update must land.
func TestConformanceStoreConcurrentUpdates(t *testing.T) {
	eachBackend(t, func(t *testing.T, k backendKind) {
		ctx := context.Background()
		url := k.newURL(t)
		st, err := state.NewStore(ctx, open(t, url, state.OpenOptions{}))
		if err != nil {
			t.Fatal(err)
		}
		const n = 24
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = st.Update(ctx, func(s *state.State) error {
					a, r := sampleResource(i)
					r.Phase = state.Intent
					s.Resources[a] = r
					return nil
				})
				if errs[i] == nil {
					errs[i] = st.Update(ctx, func(s *state.State) error {
						a, _ := sampleResource(i)
						s.Resources[a].Phase = state.Applied
						return nil
					})
				}
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		failed := st.Update(ctx, func(*state.State) error { return errors.New("boom") })
		if failed == nil || failed.Error() != "boom" {
			t.Fatalf("update error = %v", failed)
		}
		got := load(t, open(t, url, state.OpenOptions{}))
		if got.Serial != 2*n || len(got.Resources) != n {
			t.Fatalf("stored serial %d with %d resources, want %d and %d", got.Serial, len(got.Resources), 2*n, n)
		}
		for a, r := range got.Resources {
			if r.Phase != state.Applied {
				t.Errorf("%s: phase %s", a, r.Phase)
			}
		}
		if snap := st.Snapshot(); snap.Digest() != got.Digest() {
			t.Fatal("snapshot differs from the stored state")
		}
	})
}

// TestConformanceTwoProcesses races two applies in two processes on one
// state. Without waiting exactly one mutates and the other fails naming it;
// with waiting both mutate, one after the other, and no update is lost.
// The holder keeps the lock until its rival has met it (refused, or
// started its attempt), so the race does not depend on timing.
func TestConformanceTwoProcesses(t *testing.T) {
	eachBackend(t, func(t *testing.T, k backendKind) {
		for _, wait := range []string{"0s", "1m"} {
			t.Run("wait="+wait, func(t *testing.T) {
				url := k.newURL(t)
				open(t, url, state.OpenOptions{}) // Postgres: tables first
				type line struct {
					proc int
					text string
				}
				lines := make(chan line, 64) // never blocks the readers, even after a failure
				var ins []io.WriteCloser
				var cmds []*exec.Cmd
				for i := range 2 {
					cmd := exec.Command(os.Args[0])
					cmd.Env = append(os.Environ(), envHelper+"=lock-write", envURL+"="+url, "APPLINKCTL_STATE_TEST_WAIT="+wait)
					cmd.Stderr = os.Stderr
					in, err := cmd.StdinPipe()
					if err != nil {
						t.Fatal(err)
					}
					out, err := cmd.StdoutPipe()
					if err != nil {
						t.Fatal(err)
					}
					if err := cmd.Start(); err != nil {
						t.Fatal(err)
					}
					go func() {
						sc := bufio.NewScanner(out)
						for sc.Scan() {
							lines <- line{i, sc.Text()}
						}
						lines <- line{i, "exit"}
					}()
					ins, cmds = append(ins, in), append(cmds, cmd)
				}
				defer func() {
					for _, in := range ins {
						_ = in.Close()
					}
				}()
				for _, in := range ins {
					_, _ = io.WriteString(in, "go\n")
				}
				// Let a holder go once the other process has met the lock:
				// refused (no wait), started its attempt (wait), or ended.
				var oks, lockeds []string
				last := []string{"", ""}
				holding, exited := -1, 0
				timeout := time.After(5 * time.Minute)
				for exited < 2 {
					var l line
					select {
					case l = <-lines:
					case <-timeout:
						t.Fatalf("helpers still running after 5 minutes; last said %q", last)
					}
					verdict, id, _ := strings.Cut(l.text, " ")
					switch verdict {
					case "exit":
						exited++
					case "trying":
					case "holding":
						if last[1-l.proc] == "holding" {
							t.Fatal("both processes hold the lock at once")
						}
						holding = l.proc
					case "ok":
						oks = append(oks, id)
					case "locked":
						lockeds = append(lockeds, id)
					default:
						t.Fatalf("helper said %q", l.text)
					}
					if verdict != "exit" {
						last[l.proc] = verdict
					}
					if holding >= 0 {
						other := last[1-holding]
						if other == "locked" || other == "ok" || other == "trying" && wait != "0s" {
							_, _ = io.WriteString(ins[holding], "done\n")
							holding = -1
						}
					}
				}
				for _, cmd := range cmds {
					if err := cmd.Wait(); err != nil {
						t.Fatalf("helper: %v", err)
					}
				}
				got := load(t, open(t, url, state.OpenOptions{}))
				if wait == "0s" {
					if len(oks) != 1 || len(lockeds) != 1 || lockeds[0] != oks[0] {
						t.Fatalf("ok %v, locked by %v: want one winner named by the loser", oks, lockeds)
					}
					if got.Serial != 1 || len(got.Resources) != 1 {
						t.Fatalf("stored serial %d with %d resources, want 1 and 1", got.Serial, len(got.Resources))
					}
					return
				}
				if len(oks) != 2 || got.Serial != 2 || len(got.Resources) != 2 {
					t.Fatalf("ok %v; stored serial %d with %d resources, want both applied", oks, got.Serial, len(got.Resources))
				}
			})
		}
	})
}

// TestConformanceIntentSurvivesKill: an apply killed between recording an
// intent and recording the result leaves the intent for the next run,
// which (after the lock is free) can record the result.
func TestConformanceIntentSurvivesKill(t *testing.T) {
	eachBackend(t, func(t *testing.T, k backendKind) {
		ctx := context.Background()
		url := k.newURL(t)
		open(t, url, state.OpenOptions{})
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), envHelper+"=intent-then-die", envURL+"="+url)
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if _, err := bufio.NewReader(out).ReadString('\n'); err != nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("helper: %v", err)
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()

		b := open(t, url, state.OpenOptions{})
		if k.staleAfterKill {
			_, err := b.Lock(ctx, state.NewLockInfo("apply"), 0)
			var le *state.LockedError
			if !errors.As(err, &le) || !le.Stale {
				t.Fatalf("lock after kill = %v", err)
			}
			if err := b.ForceUnlock(ctx, le.Holder.ID); err != nil {
				t.Fatal(err)
			}
		}
		release, err := b.Lock(ctx, state.NewLockInfo("apply"), 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer release()
		st, err := state.NewStore(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		a := addr.Connection("acme-api", "prod")
		r := st.Snapshot().Resources[a]
		if r == nil || r.Phase != state.Intent || r.Operation != "create" {
			t.Fatalf("after the kill the record is %+v, want the create intent", r)
		}
		if err := st.Update(ctx, func(s *state.State) error {
			s.Resources[a].Phase, s.Resources[a].RemoteID = state.Applied, "c-1"
			return nil
		}); err != nil {
			t.Fatalf("recording the result: %v", err)
		}
	})
}

// TestConformanceLostLockFencesWrites takes the lock away from a live
// holder. Its very next write is refused, even before its heartbeat has
// noticed; a new holder can lock and write; the old holder's store reports
// the loss with its cause within a few heartbeats; and its release leaves
// the new holder's lock alone.
func TestConformanceLostLockFencesWrites(t *testing.T) {
	eachBackend(t, func(t *testing.T, k backendKind) {
		ctx := context.Background()
		url := k.newURL(t)
		b1 := open(t, url, state.OpenOptions{})
		rel1, err := b1.Lock(ctx, state.NewLockInfo("apply"), 0)
		if err != nil {
			t.Fatal(err)
		}
		st1, err := state.NewStore(ctx, b1)
		if err != nil {
			t.Fatal(err)
		}
		a, r := sampleResource(1)
		r.Phase = state.Intent
		if err := st1.Update(ctx, func(s *state.State) error { s.Resources[a] = r; return nil }); err != nil {
			t.Fatal(err)
		}
		if st1.LockLost() == nil || st1.LockErr() != nil {
			t.Fatal("a store under a held lock has nothing to watch, or reports it lost")
		}

		broken := time.Now()
		k.breakLock(t, url)
		b2 := open(t, url, state.OpenOptions{})
		holder := state.NewLockInfo("apply")
		rel2, err := b2.Lock(ctx, holder, 30*time.Second) // Postgres ends the session asynchronously
		if err != nil {
			t.Fatalf("lock after the holder's was broken: %v", err)
		}
		defer rel2()

		var lost *state.LockLostError
		err = st1.Update(ctx, func(s *state.State) error { s.Resources[a].Phase = state.Applied; return nil })
		if !errors.As(err, &lost) || !strings.Contains(err.Error(), "lost the state lock") {
			t.Fatalf("write of the run that lost its lock = %v, want *LockLostError", err)
		}
		s := load(t, b1)
		if err := b1.Save(ctx, s); !errors.As(err, &lost) {
			t.Fatalf("direct save of the run that lost its lock = %v, want *LockLostError", err)
		}
		if got := load(t, b2); got.Serial != 1 || got.Resources[a].Phase != state.Intent {
			t.Fatalf("stored state after refused writes: serial %d, %+v; want the intent at serial 1", got.Serial, got.Resources[a])
		}

		select {
		case <-st1.LockLost():
			t.Logf("loss noticed %v after the lock was broken", time.Since(broken).Round(time.Millisecond))
		case <-time.After(30 * time.Second):
			t.Fatal("the holder never noticed it lost the lock")
		}
		if err := st1.LockErr(); !errors.As(err, &lost) || !strings.Contains(err.Error(), k.lostCause) {
			t.Fatalf("lock error = %v, want a *LockLostError naming %q", err, k.lostCause)
		}

		st2, err := state.NewStore(ctx, b2)
		if err != nil {
			t.Fatal(err)
		}
		if err := st2.Update(ctx, func(s *state.State) error { s.Resources[a].Phase = state.Applied; return nil }); err != nil {
			t.Fatalf("the new holder cannot write: %v", err)
		}
		if err := rel1(); err != nil {
			t.Fatalf("release of a lost lock: %v", err)
		}
		if err := b1.Save(ctx, load(t, b1)); !errors.As(err, &lost) {
			t.Fatalf("save after releasing a lost lock = %v, want *LockLostError", err)
		}
		_, err = open(t, url, state.OpenOptions{}).Lock(ctx, state.NewLockInfo("apply"), 0)
		var le *state.LockedError
		if !errors.As(err, &le) || le.Holder.ID != holder.ID {
			t.Fatalf("lock while the new holder holds it = %v; the old holder's release broke it", err)
		}
	})
}

// TestConformanceReleasedLockWritesUnlocked: a lock given up cleanly does
// not poison its backend; later writes are unlocked ones, checked by
// serial alone, as for a backend that never locked.
func TestConformanceReleasedLockWritesUnlocked(t *testing.T) {
	eachBackend(t, func(t *testing.T, k backendKind) {
		ctx := context.Background()
		b := open(t, k.newURL(t), state.OpenOptions{})
		rel, err := b.Lock(ctx, state.NewLockInfo("apply"), 0)
		if err != nil {
			t.Fatal(err)
		}
		st, err := state.NewStore(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		if err := rel(); err != nil {
			t.Fatal(err)
		}
		if st.LockLost() != nil || st.LockErr() != nil {
			t.Fatal("a released lock is still watched")
		}
		if err := b.Save(ctx, load(t, b)); err != nil {
			t.Fatalf("save after a clean release: %v", err)
		}
	})
}

// TestConformanceMigratedMarker: once Migrate has verified the copy, the
// source is marked: a fresh Open, a Lock and a Save of a backend opened
// before the migration all fail with a *MigratedError naming the new
// state; another state of the same place is not affected; a rerun of
// Migrate reports it already done; UndoMigration clears the marker.
func TestConformanceMigratedMarker(t *testing.T) {
	eachBackend(t, func(t *testing.T, k backendKind) {
		ctx := context.Background()
		url := k.newURL(t)
		before := open(t, url, state.OpenOptions{}) // opened before the migration
		s := load(t, before)
		a, r := sampleResource(1)
		s.Resources[a] = r
		if err := before.Save(ctx, s); err != nil {
			t.Fatal(err)
		}
		src := open(t, url, state.OpenOptions{IgnoreMigrated: true})
		dst := open(t, "file://"+filepath.Join(t.TempDir(), "new", "state.json"), state.OpenOptions{})
		if _, err := state.Migrate(ctx, src, dst); err != nil {
			t.Fatal(err)
		}
		// Both histories say where the state went and came from.
		newest := func(b state.Backend) string {
			t.Helper()
			h, err := b.History(ctx, 1)
			if err != nil || len(h) != 1 || h[0].Outcome != "success" || h[0].Who == "" {
				t.Fatalf("history of %s = %+v, %v", b.Describe(), h, err)
			}
			return h[0].Operation
		}
		if got, want := newest(dst), "state migrate from "+src.Describe(); got != want {
			t.Errorf("the new state's newest history record is %q, want %q", got, want)
		}
		if got, want := newest(src), "state migrate to "+dst.Describe(); got != want {
			t.Errorf("the old state's newest history record is %q, want %q", got, want)
		}
		isMigrated := func(what string, err error) {
			t.Helper()
			var me *state.MigratedError
			if !errors.As(err, &me) || me.Migration.To != dst.Describe() || me.Migration.Digest != s.Digest() ||
				!strings.Contains(err.Error(), "was migrated to "+dst.Describe()) {
				t.Fatalf("%s = %v, want a *MigratedError naming %s", what, err, dst.Describe())
			}
		}
		_, err := state.Open(ctx, url, state.OpenOptions{})
		isMigrated("open", err)
		_, err = before.Lock(ctx, state.NewLockInfo("apply"), 0)
		isMigrated("lock", err)
		isMigrated("save", before.Save(ctx, s))
		// The failed Lock released what it took: the source is free.
		if release, err := src.Lock(ctx, state.NewLockInfo("test"), 0); err != nil {
			t.Fatalf("lock after a refused lock: %v", err)
		} else if err := release(); err != nil {
			t.Fatal(err)
		}
		if k.name == "postgres" {
			other := strings.Replace(url, "workspace=conformance", "workspace=other", 1)
			if _, err := state.Open(ctx, other, state.OpenOptions{}); err != nil {
				t.Fatalf("another workspace: %v", err)
			}
		}
		res, err := state.Migrate(ctx, src, dst)
		if err != nil || res.Already == nil || res.Already.To != dst.Describe() {
			t.Fatalf("rerun = %+v, %v", res, err)
		}
		if _, err := state.UndoMigration(ctx, src, dst); err != nil {
			t.Fatal(err)
		}
		if got, want := newest(src), "state migrate --undo (back from "+dst.Describe()+")"; got != want {
			t.Errorf("after undo, the old state's newest history record is %q, want %q", got, want)
		}
		if got := load(t, open(t, url, state.OpenOptions{})); got.Digest() != s.Digest() {
			t.Fatalf("after undo: %+v", got)
		}
	})
}
