package reliability

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/emulator"
)

// faultApps is the fleet size of the fault suite.
const faultApps = 2

// TestFaultsConverge applies the fleet under 10 % 503s, 5 % 429s with
// Retry-After, 2 % dropped connections before the work and 2 % after it
// (the ambiguous POST or DELETE), with latency jitter, over seeded runs:
// each run, re-applied until an apply exits 0, must reach the world the
// fault-free run reaches, with nothing created twice and an empty second
// plan.
func TestFaultsConverge(t *testing.T) {
	n := runs(3, 20)
	base := newFleet(t, faultApps, defaultEmulator())
	start := time.Now()
	base.applyUntilDone(1)
	baseWall := time.Since(start)
	want, _ := normalWorld(t, base.srv.Emulator.World())
	baseRequests := total(base.srv.Emulator.Requests())
	if got := countResources(base.srv.Emulator.World()); got != faultApps*resourcesPerApp {
		t.Fatalf("fault-free run made %d resources, want %d", got, faultApps*resourcesPerApp)
	}
	t.Logf("fault-free: %d resources, %d requests, %v", faultApps*resourcesPerApp, baseRequests, baseWall.Round(10*time.Millisecond))

	first := seedFor("RELIABILITY_FAULT_SEED", 1)
	var (
		mu                           sync.Mutex
		walls                        []time.Duration
		attempts, extra, republished int
		allSeen                      faultsSeen
	)
	// The runs mostly wait (backoff, Retry-After, polls), so they overlap:
	// a group of parallel subtests, bounded by -parallel.
	t.Run("runs", func(t *testing.T) {
		for i := range n {
			seed := int64(first) + int64(i)
			t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
				t.Parallel()
				faultRun(t, seed, want, baseRequests, func(wall time.Duration, tries, reqs, pubs int, seen faultsSeen) {
					mu.Lock()
					defer mu.Unlock()
					allSeen.s503 += seen.s503
					allSeen.s429 += seen.s429
					allSeen.dropped += seen.dropped
					allSeen.droppedWrites += seen.droppedWrites
					walls = append(walls, wall)
					attempts += tries
					extra += reqs - baseRequests
					republished += pubs
				})
			})
		}
	})
	t.Logf("faults: %d runs, %d apply attempts in all, wall %s, %.1f extra requests per run, client saw %s in all, %d extra publishes",
		n, attempts, stats(walls), float64(extra)/float64(n), allSeen, republished)
}

// faultRun is one seeded run; it reports its figures to done.
func faultRun(t *testing.T, seed int64, want string, baseRequests int, done func(wall time.Duration, tries, reqs, pubs int, seen faultsSeen)) {
	eo := defaultEmulator()
	eo.Seed = seed
	eo.ErrorRate, eo.Retry429Rate, eo.DropRate, eo.DropAfterRate = 0.10, 0.05, 0.02, 0.02
	eo.Latency, eo.Jitter = 3*time.Millisecond, 3*time.Millisecond
	f := newFleet(t, faultApps, eo)
	start := time.Now()
	rs := f.applyUntilDone(5, "--log-level", "debug")
	wall := time.Since(start)
	var seen faultsSeen
	for _, r := range rs {
		seen.add(r.stderr)
		if r.code != 0 {
			t.Logf("seed %d: an apply exited %d, the next converged: %s", seed, r.code, errorLines(r.stderr))
		}
	}
	reqs := total(f.srv.Emulator.Requests())
	f.srv.Emulator.SetFaults(emulator.Faults{})
	s := f.srv.Emulator.World()
	f.assertCreates(1)
	got, counts := normalWorld(t, s)
	if got != want {
		t.Errorf("world differs from the fault-free run:\n%s\nwant:\n%s", got, want)
	}
	pubs := 0
	for _, c := range counts {
		pubs += c - 1
	}
	f.assertNoopPlan()
	t.Logf("seed %d: %d apply attempt(s), %v, %d requests (%+d vs fault-free), client saw %s, %d extra publish(es) of the same bytes",
		seed, len(rs), wall.Round(10*time.Millisecond), reqs, reqs-baseRequests, seen, pubs)
	done(wall, len(rs), reqs, pubs, seen)
}

// faultsSeen counts the faults the client met, from its debug log of
// every HTTP attempt ("http request … status=503 … attempt=2").
type faultsSeen struct{ s503, s429, dropped, droppedWrites int }

func (f *faultsSeen) add(log string) {
	for _, l := range strings.Split(log, "\n") {
		if !strings.Contains(l, `msg="http request"`) {
			continue
		}
		switch {
		case strings.Contains(l, " status=503 "):
			f.s503++
		case strings.Contains(l, " status=429 "):
			f.s429++
		case strings.Contains(l, " status=0 ") || strings.Contains(l, " error="):
			f.dropped++
			if !strings.Contains(l, " method=GET ") {
				f.droppedWrites++ // an ambiguous outcome: resolved by a lookup
			}
		}
	}
}

func (f faultsSeen) String() string {
	return fmt.Sprintf("%d 503s, %d 429s, %d lost answers (%d of a POST or DELETE)", f.s503, f.s429, f.dropped, f.droppedWrites)
}

// errorLines keeps the failures of a failed run's stderr: the error and
// the progress lines of failed changes.
func errorLines(stderr string) string {
	var out []string
	for _, l := range strings.Split(stderr, "\n") {
		if !strings.Contains(l, "level=DEBUG") && (strings.Contains(l, "error") || strings.Contains(l, "fail")) {
			out = append(out, strings.TrimSpace(l))
		}
	}
	return strings.Join(out, " | ")
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
