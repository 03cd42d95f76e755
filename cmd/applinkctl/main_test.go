package main

import (
	"flag"
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
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

// TestScripts runs the end-to-end CLI scripts in testdata/script.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:           "testdata/script",
		UpdateScripts: *update,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"mkfifo": mkfifoCmd,
		},
	})
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
