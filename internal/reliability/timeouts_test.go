package reliability

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/client"
	"github.com/applinkctl/applinkctl/internal/emulator"
	"github.com/applinkctl/applinkctl/internal/liveread"
	"github.com/applinkctl/applinkctl/internal/manifest"
	"github.com/applinkctl/applinkctl/internal/secret"
	"github.com/applinkctl/applinkctl/internal/testkit"
)

// TestPendingTimeoutExits3 leaves the data action targets pending far
// longer than apply's --timeout: apply must stop waiting at the timeout,
// exit 3, and name each pending resource with its id so a later run can
// resume it. (The timeout is generous for the connections, which settle
// in well under a second, so a loaded machine does not leave them pending
// too.)
func TestPendingTimeoutExits3(t *testing.T) {
	eo := defaultEmulator()
	eo.AsyncDelay[emulator.KindTarget] = time.Hour
	f := newFleet(t, 1, eo)
	r := f.run("apply", "-f", ".", "--auto-approve", "--wait-for-browser", "--timeout", "3s")
	if r.code != 3 {
		t.Fatalf("want exit 3 (still pending):\n%s", r)
	}
	if r.took > time.Minute {
		t.Errorf("apply took %v with --timeout 3s", r.took)
	}
	out := r.stdout + r.stderr
	n := 0
	for _, a := range f.srv.Emulator.World().Apps {
		for _, c := range a.Addons[0].Connections {
			for _, tg := range c.Targets {
				ad := a.Name + "/connection/" + c.Name + "/target/" + tg.APIName
				if !strings.Contains(out, ad) || !strings.Contains(out, tg.ID) {
					t.Errorf("the pending target %s (id %s) is not named with its id:\n%s", ad, tg.ID, r)
				}
				n++
			}
		}
	}
	if n != 2 {
		t.Errorf("%d targets in the world, want 2", n)
	}
	t.Logf("pending: apply --timeout 3s exited 3 after %v naming %d pending targets with their ids", r.took.Round(10*time.Millisecond), n)
}

// blackHole is a loopback listener that accepts connections and never
// answers, as a server that hangs does.
func blackHole(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return // closed by the cleanup below
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return "http://" + ln.Addr().String()
}

// TestServerNeverAnswers points the live read at a server that accepts
// and never answers: with a short client timeout and retry budget, Read
// must give up within the bound with an error naming the app. (The CLI's
// own bounds, 30 s per response and a 60 s retry budget, are exercised in
// the soak run by TestServerNeverAnswersCLI.)
func TestServerNeverAnswers(t *testing.T) {
	f := newFleet(t, 1, defaultEmulator())
	url := blackHole(t)
	plat, err := client.New(client.Config{BaseURL: url, APIKey: secret.New("k"),
		HTTPClient: &httpClientTimeout,
		Retry:      client.RetryPolicy{MaxAttempts: 3, BaseDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond, Budget: 2 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	key := string(testKey(t).pem)
	m := testkit.LoadManifest(t, manifest.Options{LookupEnv: func(k string) (string, bool) {
		if k == "RELIABILITY_JWT_KEY" {
			return key, true
		}
		return os.LookupEnv(k)
	}}, filepath.Join(f.dir, "applink.yaml"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	_, _, err = liveread.Read(ctx, plat, m, 4)
	took := time.Since(start)
	if err == nil {
		t.Fatal("a read from a server that never answers succeeded")
	}
	if !strings.Contains(err.Error(), f.apps[0]) {
		t.Errorf("the error does not name the app %s: %v", f.apps[0], err)
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || took > 20*time.Second {
		t.Errorf("the read took %v: the client's own bounds did not stop it", took)
	}
	t.Logf("server never answers: live read gave up after %v (300 ms per request, 3 attempts, 2 s budget): %v", took.Round(10*time.Millisecond), err)
}

// TestServerNeverAnswersCLI is the same with the real CLI and its default
// bounds, so it takes about a minute and runs only in the soak.
func TestServerNeverAnswersCLI(t *testing.T) {
	if !soak() {
		t.Skip("waits out the CLI's default client bounds (about a minute); run with APPLINKCTL_SOAK=1 (make soak)")
	}
	f := newFleet(t, 1, defaultEmulator())
	f.env = append(f.env, "HEROKU_API_URL="+blackHole(t)) // later entries win
	r := f.run("plan", "-f", ".")
	if r.code != 1 || !strings.Contains(r.stderr, f.apps[0]) {
		t.Errorf("want exit 1 with an error naming %s:\n%s", f.apps[0], r)
	}
	if r.took > 3*time.Minute {
		t.Errorf("plan took %v", r.took)
	}
	t.Logf("server never answers (CLI defaults): plan exited %d after %v: %s", r.code, r.took.Round(time.Second), strings.TrimSpace(r.stderr))
}

// TestTokenEndpointHangs runs validate --preflight against a Salesforce
// token endpoint that accepts and never answers: the preflight must give
// up after its per-request timeout (10 s) with exit 1 and a message naming
// the resource and the endpoint. It waits out that timeout, so it runs
// only in the soak.
func TestTokenEndpointHangs(t *testing.T) {
	if !soak() {
		t.Skip("waits out the preflight's 10 s per-request timeout; run with APPLINKCTL_SOAK=1 (make soak)")
	}
	f := newFleet(t, 1, defaultEmulator())
	if h := f.run("validate", "--help"); !strings.Contains(h.stdout+h.stderr, "--preflight") {
		t.Fatalf("applinkctl validate has no --preflight flag:\n%s", h)
	}
	hole := blackHole(t)
	f.write("applink.yaml", `version: 1
apps:
  `+f.apps[0]+`:
    connections:
      prod_org:
        type: salesforce
        login_url: `+hole+`
        jwt:
          client_id: cid
          username: api.user@acme.example
          private_key_file: keys/server.key
`)
	r := f.run("validate", "-f", ".", "--preflight")
	addr := f.apps[0] + "/connection/prod_org"
	if r.code != 1 || !strings.Contains(r.stdout+r.stderr, addr) {
		t.Errorf("want exit 1 naming %s:\n%s", addr, r)
	}
	if r.took > 30*time.Second {
		t.Errorf("validate --preflight took %v against a hanging token endpoint", r.took)
	}
	t.Logf("token endpoint hangs: validate --preflight exited %d after %v: %s", r.code, r.took.Round(100*time.Millisecond), strings.TrimSpace(r.stdout+r.stderr))
}
