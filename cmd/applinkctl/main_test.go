package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/applinkctl/applinkctl/internal/emulator"
	"github.com/applinkctl/applinkctl/internal/safehttp"
	"github.com/applinkctl/applinkctl/internal/testkit"
)

var update = flag.Bool("update", false, "rewrite the cmp files of testdata/script/*.txtar")

// TestMain lets testscript run the in-process CLI as the "applinkctl" command.
// (testscript.Main, not the deprecated RunMain that staticcheck refuses.)
//
// With APPLINKCTL_TEST_DEADLINE set (a duration), a run still going after
// it exits 124 with a message: a script whose command would hang (on a
// named pipe, say, where neither SIGINT nor SIGTERM helps) then fails
// promptly instead of stalling the test binary until go test's timeout.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"applinkctl": func() {
			if d, err := time.ParseDuration(os.Getenv("APPLINKCTL_TEST_DEADLINE")); err == nil {
				time.AfterFunc(d, func() {
					fmt.Fprintf(os.Stderr, "applinkctl: still running after APPLINKCTL_TEST_DEADLINE=%s\n", d)
					os.Exit(124)
				})
			}
			os.Exit(run(os.Args, streams{os.Stdin, os.Stdout, os.Stderr}))
		},
	})
}

// TestScripts runs the end-to-end CLI scripts in testdata/script. The
// scripts' environment is clean but for APPLINKCTL_EMULATOR_PAGE_SIZE and
// APPLINKCTL_EMULATOR_VARIANTS, passed on so that the --sandbox and
// realapi scripts can be run with every list paged or under a variant.
// $QUICKSTART is examples/quickstart, for scripts that copy it as a
// newcomer would.
func TestScripts(t *testing.T) {
	quickstart, err := filepath.Abs(filepath.Join("..", "..", "examples", "quickstart"))
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir:           "testdata/script",
		UpdateScripts: *update,
		Setup: func(env *testscript.Env) error {
			env.Setenv("QUICKSTART", quickstart)
			for _, k := range []string{emulator.PageSizeEnv, emulator.VariantsEnv} {
				if v, ok := os.LookupEnv(k); ok {
					env.Setenv(k, v)
				}
			}
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"mkfifo":          mkfifoCmd,
			"realapi":         realAPI,
			"startemulator":   startEmulator,
			"httppost":        httpPost,
			"emulate":         emulateCmd,
			"emulate-advance": emulateAdvanceCmd,
		},
	})
}

// realAPI is the script command `realapi APP...`: it starts an emulator on
// a loopback port for the rest of the script, with those apps (one AppLink
// add-on each), and points HEROKU_API_URL and HEROKU_API_KEY at it, so
// commands without --sandbox run against it as against the Heroku API.
func realAPI(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! realapi")
	}
	// The script's environment, so that a script can set either knob.
	lookup := func(k string) (string, bool) { v := ts.Getenv(k); return v, v != "" }
	variants, err := emulator.VariantsFromEnv(lookup)
	ts.Check(err)
	pageSize, err := emulator.PageSizeFromEnv(lookup)
	ts.Check(err)
	srv, err := emulator.Start(emulator.Options{
		Variants: variants, PageSize: pageSize,
		ApproveOAuthAfter: 20 * time.Millisecond,
		AsyncDelay: map[string]time.Duration{emulator.KindConnection: 50 * time.Millisecond,
			emulator.KindAuthorization: 50 * time.Millisecond, emulator.KindTarget: 50 * time.Millisecond,
			emulator.KindDelete: 50 * time.Millisecond},
	})
	ts.Check(err)
	ts.Defer(func() { _ = srv.Close() })
	for _, app := range args {
		_, err := srv.Emulator.SeedApp(app, 1)
		ts.Check(err)
	}
	ts.Setenv("HEROKU_API_URL", srv.URL)
	ts.Setenv("HEROKU_API_KEY", srv.APIKey)
}

// mkfifoCmd is the scripts' "mkfifo PATH...": named pipes to point
// applinkctl at, which no txtar archive can hold.
func mkfifoCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: mkfifo PATH...")
	}
	for _, a := range args {
		ts.Check(testkit.MakeFifo(ts.MkAbs(a)))
	}
}

// emulatorLines are the settings `applinkctl emulator` prints on stdout.
var emulatorLines = []string{"HEROKU_API_URL", "HEROKU_API_KEY", "SALESFORCE_LOGIN_URL"}

// startEmulator is the script command `startemulator [FLAG...]`: it runs
// `applinkctl emulator FLAG...` (in the test process) for the rest of the
// script and sets the NAME=VALUE lines it prints (emulatorLines, all of
// which it must print within 30 s) in the script's environment, as
// `export $(cat emulator.env)` does for a person.
func startEmulator(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! startemulator")
	}
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		app := newApp(streams{In: strings.NewReader(""), Out: pw, Err: io.Discard})
		done <- app.RunContext(ctx, append([]string{"applinkctl", "emulator"}, args...))
		pw.Close()
	}()
	ts.Defer(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			ts.Logf("startemulator: the emulator did not stop within 30s")
		}
	})
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		_, _ = io.Copy(io.Discard, pr)
	}()
	setting := regexp.MustCompile(`^([A-Z_]+)=(.*)$`)
	seen := map[string]bool{}
	timeout := time.After(30 * time.Second)
	for len(seen) < len(emulatorLines) {
		select {
		case l, ok := <-lines:
			if !ok {
				err := <-done
				done <- err // for the deferred stop
				ts.Fatalf("startemulator: the emulator stopped (%v) having printed only %v", err, seen)
			}
			m := setting.FindStringSubmatch(l)
			if m == nil {
				ts.Fatalf("startemulator: unexpected line on stdout: %q", l)
			}
			ts.Setenv(m[1], m[2])
			seen[m[1]] = true
		case <-timeout:
			ts.Fatalf("startemulator: in 30s the emulator printed %v, not all of %v", seen, emulatorLines)
		}
	}
	for _, name := range emulatorLines {
		if !seen[name] {
			ts.Fatalf("startemulator: no %s line", name)
		}
	}
	go func() { // keep the pipe drained
		for range lines {
		}
	}()
}

// httpPost is the script command `httppost URL FILE`: it POSTs FILE as JSON
// to URL, which must be loopback (an emulator's admin route), and fails
// unless the answer is 2xx.
func httpPost(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: httppost URL FILE")
	}
	u, err := url.Parse(args[0])
	ts.Check(err)
	if !safehttp.IsLoopback(u.Hostname()) {
		ts.Fatalf("httppost: %s is not loopback", args[0])
	}
	body, err := os.ReadFile(ts.MkAbs(args[1]))
	ts.Check(err)
	c := &http.Client{Transport: &http.Transport{}, Timeout: 30 * time.Second} // no proxy
	res, err := c.Post(u.String(), "application/json", strings.NewReader(string(body)))
	ts.Check(err)
	answer, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	res.Body.Close()
	if res.StatusCode/100 != 2 {
		ts.Fatalf("httppost %s: %s: %s", args[0], res.Status, answer)
	}
}
