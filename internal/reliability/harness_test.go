package reliability

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/emulator"
	"github.com/applinkctl/applinkctl/internal/pgtest"
	"github.com/applinkctl/applinkctl/internal/testkit"
)

// cli is the applinkctl binary every suite runs, built once by TestMain.
var cli string

// soak reports whether the long numbers were asked for (make soak).
func soak() bool { return os.Getenv("APPLINKCTL_SOAK") == "1" }

// runs picks the quick count for make test or the soak count.
func runs(quick, long int) int {
	if soak() {
		return long
	}
	return quick
}

func TestMain(m *testing.M) {
	code := func() int {
		dir, err := os.MkdirTemp("", "applinkctl-reliability-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "reliability:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		cli = filepath.Join(dir, "applinkctl")
		// The suites need the real binary: the main package cannot be
		// imported, and a process of its own is what SIGKILL and the
		// lock tests are about.
		build := exec.Command("go", "build", "-o", cli, "github.com/applinkctl/applinkctl/cmd/applinkctl")
		build.Stderr = os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "reliability: build applinkctl:", err)
			return 1
		}
		code := m.Run()
		pgtest.Stop()
		return code
	}()
	os.Exit(code)
}

// keyMaterial is one generated RSA key in the forms a leak could take.
type keyMaterial struct {
	pem     []byte
	der     []byte
	derB64  string   // the DER as one base64 line
	pemBody []string // the base64 lines of the PEM body
}

// testKey is the binary's one 2048-bit RSA key (testkit generates it
// once) in the forms the suites look for in output.
func testKey(t testing.TB) *keyMaterial {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(testkit.RSAKey(t, 2048, 0))
	if err != nil {
		t.Fatal(err)
	}
	km := &keyMaterial{der: der, pem: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})}
	for _, l := range strings.Split(string(km.pem), "\n") {
		if l != "" && !strings.HasPrefix(l, "-----") {
			km.pemBody = append(km.pemBody, l)
		}
	}
	km.derB64 = strings.Join(km.pemBody, "")
	return km
}

// appBlock is one app of the fleet: testkit.QuickstartApp, the
// authorization's key from the environment.
var appBlock = strings.ReplaceAll(testkit.QuickstartApp, "AUTH_KEY", "private_key_env: RELIABILITY_JWT_KEY")

// resourcesPerApp is what appBlock declares.
const resourcesPerApp = 6

// fleet is a test directory with a manifest of n apps, its key and spec,
// and an emulator on a loopback port that knows the apps.
type fleet struct {
	t    *testing.T
	dir  string
	apps []string
	srv  *emulator.Server
	eo   emulator.Options
	env  []string // extra environment for every command
	// tokens are the add-on tokens of the seeded apps' config vars.
	tokens []string
	// gate, when set, sits in front of the emulator so a crash test can
	// kill an apply at one of its writes (newGatedFleet).
	gate *testkit.Gate
}

// defaultEmulator is quick but asynchronous, so every wait path is taken.
func defaultEmulator() emulator.Options {
	return emulator.Options{
		ApproveOAuthAfter: 30 * time.Millisecond,
		AsyncDelay: map[string]time.Duration{emulator.KindConnection: 60 * time.Millisecond,
			emulator.KindAuthorization: 60 * time.Millisecond, emulator.KindTarget: 60 * time.Millisecond,
			emulator.KindDelete: 60 * time.Millisecond},
	}
}

func newFleet(t *testing.T, apps int, eo emulator.Options) *fleet {
	t.Helper()
	return newFleetOn(t, apps, eo, false)
}

// newGatedFleet is newFleet with its emulator behind a testkit.Gate. It
// cannot be restarted.
func newGatedFleet(t *testing.T, apps int, eo emulator.Options) *fleet {
	t.Helper()
	return newFleetOn(t, apps, eo, true)
}

func newFleetOn(t *testing.T, apps int, eo emulator.Options, gated bool) *fleet {
	t.Helper()
	f := &fleet{t: t, dir: t.TempDir(), eo: eo}
	if f.eo.Dir == "" {
		f.eo.Dir = filepath.Join(t.TempDir(), "emulator")
	}
	for i := range apps {
		f.apps = append(f.apps, fmt.Sprintf("rel-%c", 'a'+i))
	}
	if gated {
		f.srv, f.gate = testkit.GatedEmulator(t, f.eo)
		f.seed()
	} else {
		f.start()
	}
	k := testKey(t)
	f.write("keys/server.key", string(k.pem))
	f.write("api/openapi.yaml", testkit.OrdersSpec)
	f.manifest("https://login.salesforce.com")
	return f
}

// start (re)starts the emulator on a fresh port with the fleet's options;
// the world persists in eo.Dir across restarts.
func (f *fleet) start() {
	f.t.Helper()
	if f.gate != nil {
		f.t.Fatal("a gated fleet's emulator cannot be restarted")
	}
	f.srv = testkit.Emulator(f.t, f.eo)
	f.seed()
}

// seed creates the fleet's apps the emulator does not know yet.
func (f *fleet) seed() {
	f.t.Helper()
	for _, a := range f.apps {
		sa, err := f.srv.Emulator.SeedApp(a, 1)
		if errors.Is(err, emulator.ErrExists) {
			continue
		}
		if err != nil {
			f.t.Fatal(err)
		}
		for _, ad := range sa.Addons {
			for k, v := range ad.ConfigVars {
				if strings.HasSuffix(k, "_TOKEN") {
					f.tokens = append(f.tokens, v)
				}
			}
		}
	}
}

func (f *fleet) write(rel, body string) {
	f.t.Helper()
	testkit.WriteFile(f.t, f.dir, rel, body)
}

// manifest writes applink.yaml with the Data Cloud connections' login URL
// set to dcLoginURL (changing it replaces them and their targets).
func (f *fleet) manifest(dcLoginURL string) {
	var b strings.Builder
	b.WriteString("version: 1\napps:\n")
	for _, a := range f.apps {
		b.WriteString(strings.NewReplacer("APP", a, "LOGIN_URL", dcLoginURL).Replace(appBlock))
	}
	f.write("applink.yaml", b.String())
}

// result is one finished command.
type result struct {
	args           []string
	stdout, stderr string
	code           int
	took           time.Duration
}

func (r result) String() string {
	return fmt.Sprintf("applinkctl %s: exit %d after %v\nstdout:\n%s\nstderr:\n%s", strings.Join(r.args, " "), r.code, r.took.Round(time.Millisecond), r.stdout, r.stderr)
}

// command prepares applinkctl with args in the fleet's directory, talking
// to the fleet's emulator.
func (f *fleet) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, cli, args...)
	cmd.Dir = f.dir
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + f.dir, // no ~/.netrc of the person running the tests
		"HEROKU_API_URL=" + f.srv.URL,
		"HEROKU_API_KEY=" + f.srv.APIKey,
		"RELIABILITY_JWT_KEY=" + string(testKey(f.t).pem),
		"NO_COLOR=1",
	}, f.env...)
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// run runs applinkctl to completion (bounded by a generous timeout).
func (f *fleet) run(args ...string) result {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	return wait(f.command(ctx, args...), args)
}

func wait(cmd *exec.Cmd, args []string) result {
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	r := result{args: args, stdout: out.String(), stderr: errb.String(), took: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		r.code = -1
		r.stderr += "\n(run: " + err.Error() + ")"
	}
	return r
}

// applyArgs is a non-interactive apply of the fleet.
func applyArgs(extra ...string) []string {
	return append([]string{"apply", "-f", ".", "--auto-approve", "--wait-for-browser", "--timeout", "60s"}, extra...)
}

// applyUntilDone applies until an apply exits 0, at most n times, and
// returns every attempt.
func (f *fleet) applyUntilDone(n int, extra ...string) []result {
	f.t.Helper()
	var rs []result
	for range n {
		r := f.run(applyArgs(extra...)...)
		rs = append(rs, r)
		if r.code == 0 {
			return rs
		}
	}
	f.t.Fatalf("no successful apply in %d attempts; last:\n%s", n, rs[len(rs)-1])
	return rs
}

// assertNoopPlan checks that a plan finds nothing to do (exit 0 with
// --detailed-exitcode).
func (f *fleet) assertNoopPlan(extra ...string) {
	f.t.Helper()
	r := f.run(append([]string{"plan", "-f", ".", "--detailed-exitcode"}, extra...)...)
	if r.code != 0 {
		f.t.Errorf("second plan is not empty:\n%s", r)
	}
}

// normalWorld is the emulator's world with ids, times and the per-run
// names of apps masked, as JSON: two worlds that converged the same way
// compare equal. Publication counts are kept apart (a publish retried
// after a lost answer republishes the same bytes, which is no duplicate).
func normalWorld(t *testing.T, s emulator.Snapshot) (string, map[string]int) {
	t.Helper()
	counts := map[string]int{}
	for i := range s.Apps {
		a := &s.Apps[i]
		a.ID = ""
		for j := range a.Addons {
			ad := &a.Addons[j]
			ad.ID, ad.Name = "", ""
			for k := range ad.Connections {
				c := &ad.Connections[k]
				c.ID, c.Alias = "", ""
				for l := range c.Targets {
					c.Targets[l].ID = ""
				}
				for l := range c.Publications {
					p := &c.Publications[l]
					counts[a.Name+"/"+c.Name+"/"+p.ClientName] = p.Count
					p.ESRID, p.Count = "", 0
				}
			}
			for k := range ad.Authorizations {
				ad.Authorizations[k].ID = ""
			}
		}
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b), counts
}

// assertCreates checks the emulator's creates over its life: every
// address of the fleet created exactly once, except the Data Cloud
// connections and their targets, created dcCreates times (1 + the
// replaces the test made).
func (f *fleet) assertCreates(dcCreates int) {
	f.t.Helper()
	want := map[string]int{}
	for _, app := range f.apps {
		for _, a := range testkit.QuickstartAddresses(app) {
			want[a] = 1
			if strings.Contains(a, "/events_dc") {
				want[a] = dcCreates
			}
		}
	}
	testkit.AssertCreateCounts(f.t, f.srv, want)
}

// countResources counts connections, targets, publications and
// authorizations in the world.
func countResources(s emulator.Snapshot) int {
	n := 0
	for _, a := range s.Apps {
		for _, ad := range a.Addons {
			n += len(ad.Authorizations)
			for _, c := range ad.Connections {
				n += 1 + len(c.Targets) + len(c.Publications)
			}
		}
	}
	return n
}

// stats summarises durations for the logs and docs.
func stats(ds []time.Duration) string {
	if len(ds) == 0 {
		return "n=0"
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	r := func(d time.Duration) string { return d.Round(10 * time.Millisecond).String() }
	return "n=" + strconv.Itoa(len(s)) + " min " + r(s[0]) + " median " + r(s[len(s)/2]) + " max " + r(s[len(s)-1]) + " mean " + r(sum/time.Duration(len(s)))
}

// seedFor reads a repeatable seed from name, else uses fallback; the
// caller logs it so a failure can be replayed.
func seedFor(name string, fallback uint64) uint64 {
	if v, err := strconv.ParseUint(os.Getenv(name), 10, 64); err == nil {
		return v
	}
	return fallback
}

var accessTokenRE = regexp.MustCompile(`[0-9A-Za-z]{15}![0-9a-f]{48}`)

// httpClientTimeout is a client that gives up on a silent server fast.
var httpClientTimeout = http.Client{Timeout: 300 * time.Millisecond}

func sortStrings(s []string) { sort.Strings(s) }
