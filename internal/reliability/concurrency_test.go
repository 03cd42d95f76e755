package reliability

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/emulator"
	"github.com/applinkctl/applinkctl/internal/testkit"
)

// slowEmulator keeps an apply busy long enough for rivals to meet it.
func slowEmulator() emulator.Options {
	eo := defaultEmulator()
	for k := range eo.AsyncDelay {
		eo.AsyncDelay[k] = 300 * time.Millisecond
	}
	return eo
}

// applyOutcome is one concurrent apply: its result, pid and JSON summary.
type applyOutcome struct {
	result
	pid     int
	changed int // created + replaced + republished + deleted + adopted
	first   time.Time
	last    time.Time
}

// startApplies starts n applies at once (JSON progress on stdout) and
// waits for all of them.
func (f *fleet) startApplies(n int, extra ...string) []applyOutcome {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	args := applyArgs(append([]string{"--format", "json"}, extra...)...)
	cmds := make([]*exec.Cmd, n)
	for i := range cmds {
		cmds[i] = f.command(ctx, args...)
	}
	out := make([]applyOutcome, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, cmd := range cmds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			var so, se strings.Builder
			cmd.Stdout, cmd.Stderr = &so, &se
			t0 := time.Now()
			err := cmd.Start()
			if err == nil {
				out[i].pid = cmd.Process.Pid
				err = cmd.Wait()
			}
			out[i].result = result{args: args, stdout: so.String(), stderr: se.String(), code: cmd.ProcessState.ExitCode(), took: time.Since(t0)}
			if err != nil && cmd.ProcessState == nil {
				out[i].code = -1
			}
		}()
	}
	close(start)
	wg.Wait()
	for i := range out {
		out[i].parseEvents(f.t)
	}
	return out
}

// parseEvents reads the JSON event stream: the summary's counts and the
// span of the change events.
func (o *applyOutcome) parseEvents(t *testing.T) {
	sc := bufio.NewScanner(strings.NewReader(o.stdout))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var ev struct {
			Type                                             string `json:"type"`
			Time                                             string `json:"time"`
			Action                                           string `json:"action"`
			Created, Replaced, Republished, Deleted, Adopted int
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Errorf("apply --format json wrote a line that is not JSON: %q", sc.Text())
			continue
		}
		if ev.Type == "summary" {
			o.changed = ev.Created + ev.Replaced + ev.Republished + ev.Deleted + ev.Adopted
			continue
		}
		if ev.Action == "" || ev.Action == "noop" {
			continue
		}
		if tm, err := time.Parse(time.RFC3339Nano, ev.Time); err == nil {
			if o.first.IsZero() || tm.Before(o.first) {
				o.first = tm
			}
			if tm.After(o.last) {
				o.last = tm
			}
		}
	}
}

// TestConcurrentApplies starts two and then four applies at once on one
// state: without --lock-timeout exactly one mutates and the others fail at
// once naming it; with --lock-timeout they queue, each plans after the
// previous holder is done, so again exactly one mutates and the others
// find nothing to do, and no two mutate at the same time.
func TestConcurrentApplies(t *testing.T) {
	for _, n := range []int{2, 4} {
		t.Run(fmt.Sprintf("applies=%d", n), func(t *testing.T) {
			f := newFleet(t, 1, slowEmulator())
			f.env = append(f.env, "USER=rival") // the holder's name in lock messages

			outs := f.startApplies(n)
			winner := exactlyOneMutates(t, outs)
			refused := 0
			for i, o := range outs {
				if i == winner || (o.code == 0 && o.changed == 0) {
					continue // the winner, or a rival that started after it ended
				}
				refused++
				if o.code != 1 || !strings.Contains(o.stderr, "state is locked by") ||
					!strings.Contains(o.stderr, fmt.Sprintf("pid %d", outs[winner].pid)) {
					t.Errorf("a rival apply does not fail naming the holder (pid %d):\n%s", outs[winner].pid, o.result)
				}
			}
			f.assertCreates(1)

			// Waiting rivals: replace the Data Cloud connection, all queue.
			f.manifest("https://test.salesforce.com")
			outs = f.startApplies(n, "--lock-timeout", "60s")
			winner = exactlyOneMutates(t, outs)
			var waits []time.Duration
			for i, o := range outs {
				if o.code != 0 {
					t.Errorf("a waiting apply failed:\n%s", o.result)
				}
				if i != winner {
					waits = append(waits, o.took)
				}
			}
			f.assertCreates(2) // the Data Cloud connection and its targets once more
			f.assertNoopPlan()
			t.Logf("%d applies at once: %d refused at once naming the holder; with --lock-timeout the holder took %v and the others, queued, %s",
				n, refused, outs[winner].took.Round(10*time.Millisecond), stats(waits))
		})
	}
}

// exactlyOneMutates finds the one apply that changed something, failing t
// unless there is exactly one, and checks no other apply's change events
// overlap its own.
func exactlyOneMutates(t *testing.T, outs []applyOutcome) int {
	t.Helper()
	winner := -1
	for i, o := range outs {
		if o.changed == 0 {
			continue
		}
		if winner >= 0 {
			t.Fatalf("two applies mutated:\n%s\n---\n%s", outs[winner].result, o.result)
		}
		winner = i
	}
	if winner < 0 {
		for _, o := range outs {
			t.Log(o.result)
		}
		t.Fatal("no apply mutated")
	}
	w := outs[winner]
	for i, o := range outs {
		if i != winner && !o.first.IsZero() && o.first.Before(w.last) && w.first.Before(o.last) {
			t.Errorf("apply %d's changes overlap the holder's", i)
		}
	}
	return winner
}

// TestReadsDuringApply runs plan and drift while an apply holds the lock:
// they answer at once (no lock taken, no wait), see the world as it is
// (changes still to make: exit 2), and the apply is not disturbed. The
// connections and authorizations take an hour of the emulator's clock,
// moved on once both have answered: the apply is still running while they
// read, however slow the machine.
func TestReadsDuringApply(t *testing.T) {
	var clock testkit.Clock
	eo := slowEmulator()
	eo.Now = clock.Now
	for _, k := range []string{emulator.KindConnection, emulator.KindAuthorization} {
		eo.AsyncDelay[k] = time.Hour
	}
	f := newFleet(t, 1, eo)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	args := applyArgs("--format", "json")
	cmd := f.command(ctx, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var se strings.Builder
	cmd.Stderr = &se
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait for the first change to start: the lock is held from before
	// planning until the summary.
	var so strings.Builder
	sc := bufio.NewScanner(stdout)
	started := false
	for sc.Scan() {
		so.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), `"type":"started"`) {
			started = true
			break
		}
	}
	if !started {
		_ = cmd.Wait()
		t.Fatalf("apply never started a change:\n%s\n%s", so.String(), se.String())
	}
	// The apply cannot end before they return (its clock moves on only
	// after): a read that waited for the lock would wait until f.run's
	// bound kills it (exit -1), and one refused would say "locked", so the
	// checks below need no wall-time bound, which a loaded machine breaks.
	plan := f.run("plan", "-f", ".", "--detailed-exitcode", "--format", "json")
	drift := f.run("drift", "-f", ".", "--format", "json")
	clock.Advance(time.Hour) // now the apply may finish
	for sc.Scan() {
		so.WriteString(sc.Text() + "\n")
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the apply was disturbed: %v\n%s\n%s", err, so.String(), se.String())
	}
	for _, r := range []result{plan, drift} {
		if r.code != 2 || strings.Contains(r.stderr, "locked") {
			t.Errorf("during an apply, want exit 2 (changes still to make) and no lock:\n%s", r)
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
			t.Errorf("%s --format json: %v\n%s", r.args[0], err, r.stdout)
		}
	}
	f.assertNoopPlan()
	t.Logf("during an apply: plan answered in %v, drift in %v", plan.took.Round(time.Millisecond), drift.took.Round(time.Millisecond))
}
