package main

import (
	"flag"
	"os"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/applinkctl/applinkctl/internal/emulator"
)

var update = flag.Bool("update", false, "rewrite the cmp files of testdata/script/*.txtar")

// TestMain lets testscript run the in-process CLI as the "applinkctl" command.
// (testscript.Main, not the deprecated RunMain that staticcheck refuses.)
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"applinkctl": func() { os.Exit(run(os.Args, streams{os.Stdin, os.Stdout, os.Stderr})) },
	})
}

// TestScripts runs the end-to-end CLI scripts in testdata/script.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{Dir: "testdata/script", UpdateScripts: *update,
		Cmds: map[string]func(*testscript.TestScript, bool, []string){"realapi": realAPI}})
}

// realAPI is the script command `realapi APP...`: it starts an emulator on
// a loopback port for the rest of the script, with those apps (one AppLink
// add-on each), and points HEROKU_API_URL and HEROKU_API_KEY at it, so
// commands without --sandbox run against it as against the Heroku API.
func realAPI(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! realapi")
	}
	srv, err := emulator.Start(emulator.Options{
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
