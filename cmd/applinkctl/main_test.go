package main

import (
	"flag"
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
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
	testscript.Run(t, testscript.Params{Dir: "testdata/script", UpdateScripts: *update, Cmds: scriptCmds})
}
