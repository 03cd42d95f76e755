package main

import (
	"flag"
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/applinkctl/applinkctl/internal/emulator"
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
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:           "testdata/script",
		UpdateScripts: *update,
		Setup: func(env *testscript.Env) error {
			for _, k := range []string{emulator.PageSizeEnv, emulator.VariantsEnv} {
				if v, ok := os.LookupEnv(k); ok {
					env.Setenv(k, v)
				}
			}
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"mkfifo":  mkfifoCmd,
			"realapi": realAPI,
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
		ts.Check(syscall.Mkfifo(ts.MkAbs(a), 0o600))
	}
}
