package main

import (
	"flag"
	"os"
	"path/filepath"
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

// TestScripts runs the end-to-end CLI scripts in testdata/script. $QUICKSTART
// is examples/quickstart, for scripts that copy it as a newcomer would.
func TestScripts(t *testing.T) {
	quickstart, err := filepath.Abs(filepath.Join("..", "..", "examples", "quickstart"))
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{Dir: "testdata/script", UpdateScripts: *update,
		Setup: func(env *testscript.Env) error {
			env.Setenv("QUICKSTART", quickstart)
			return nil
		}})
}
