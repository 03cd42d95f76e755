package testkit_test

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/emulator"
	"github.com/applinkctl/applinkctl/internal/testkit"
)

// TestMain doubles as the process a Gate kills: with GATE_CHILD_URL set,
// this binary sends GATE_CHILD_POSTS writes (and a read before each) to
// that emulator one after another, printing each answer, then sleeps
// GATE_CHILD_SLEEP and exits GATE_CHILD_EXIT.
func TestMain(m *testing.M) {
	if u := os.Getenv("GATE_CHILD_URL"); u != "" {
		os.Exit(gateChild(u))
	}
	os.Exit(m.Run())
}

func gateChild(url string) int {
	posts, _ := strconv.Atoi(os.Getenv("GATE_CHILD_POSTS"))
	for i := range posts {
		if res, err := http.Get(url + "/addons/none/connections"); err == nil {
			res.Body.Close()
		}
		res, err := http.Post(url+"/addons/none/connections/salesforce", "application/json", strings.NewReader(`{"connection_name":"abc"}`))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		res.Body.Close()
		fmt.Printf("write %d answered %d\n", i+1, res.StatusCode)
	}
	d, _ := time.ParseDuration(os.Getenv("GATE_CHILD_SLEEP"))
	time.Sleep(d)
	code, _ := strconv.Atoi(os.Getenv("GATE_CHILD_EXIT"))
	return code
}

func TestGateKillsAtTheChosenWrite(t *testing.T) {
	srv, gate := testkit.GatedEmulator(t, emulator.Options{})
	child := func(posts int, sleep string, exit int) *exec.Cmd {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), "GATE_CHILD_URL="+srv.URL, "GATE_CHILD_POSTS="+strconv.Itoa(posts),
			"GATE_CHILD_SLEEP="+sleep, "GATE_CHILD_EXIT="+strconv.Itoa(exit))
		return cmd
	}
	const route = "POST /addons/{addon_id}/connections/salesforce"
	seen := func() int {
		n := srv.Emulator.Requests()[route]
		srv.Emulator.ResetRequests()
		return n
	}

	// Held at the third write and dropped: the emulator sees two.
	r := gate.Run(t, child(5, "0s", 0), testkit.KillPlan{At: 3, Hold: true})
	if !r.Killed || r.Clean() || r.Code != -1 || r.Mutations != 3 || strings.Count(r.Stdout, "answered") != 2 {
		t.Errorf("held and dropped: %s", r)
	}
	if n := seen(); n != 2 {
		t.Errorf("held and dropped: the emulator saw %d writes, want 2", n)
	}
	// Held and served: the emulator sees three, the process none answered.
	r = gate.Run(t, child(5, "0s", 0), testkit.KillPlan{At: 3, Hold: true, Serve: true})
	if !r.Killed || r.Mutations != 3 || strings.Count(r.Stdout, "answered") != 2 {
		t.Errorf("held and served: %s", r)
	}
	if n := seen(); n != 3 {
		t.Errorf("held and served: the emulator saw %d writes, want 3", n)
	}
	// Killed a moment after a write went through, while it sleeps. The
	// moment counts from the write's arrival at the gate; the process must
	// have had its answer and printed it by then, which on a loaded
	// machine can take far longer than the few milliseconds it usually
	// does, so the moment is long, and still far short of the sleep. (A
	// gate that killed at the write's arrival would leave one answer.)
	r = gate.Run(t, child(2, "1m", 0), testkit.KillPlan{At: 2, After: 3 * time.Second})
	if !r.Killed || r.Mutations != 2 || strings.Count(r.Stdout, "answered") != 2 {
		t.Errorf("killed after: %s", r)
	}
	seen()
	// A process that ends before its kill is not killed, and its exit
	// code is kept.
	for _, code := range []int{0, 3} {
		r = gate.Run(t, child(2, "0s", code), testkit.KillPlan{At: 3, Hold: true})
		if r.Killed || r.Code != code || r.Clean() != (code == 0) || r.Mutations != 2 {
			t.Errorf("exit %d before the kill: %s", code, r)
		}
	}
}
