package main

import (
	"strings"
	"sync"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/applinkctl/applinkctl/internal/emulator"
	"github.com/applinkctl/applinkctl/internal/testkit"
)

// Scripts that need an emulator they control (the script commands
// emulate and emulate-advance, registered in TestScripts) use it rather than the sandbox's fixed delays, which a
// loaded machine can outrun or lag behind:
//
//	emulate APP [KIND=DELAY ...]  start an emulator knowing APP (one add-on)
//	                              with those async delays (connection,
//	                              authorization, target, delete), browser
//	                              flows approving themselves at once, and
//	                              point HEROKU_API_URL/HEROKU_API_KEY at it
//	emulate-advance DURATION      move that emulator's clock forward

// scriptClocks are the clocks of the scripts' emulators, by script.
var scriptClocks sync.Map // *testscript.TestScript → *testkit.Clock

func emulateCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: emulate APP [KIND=DELAY ...]")
	}
	clock := &testkit.Clock{}
	opts := emulator.Options{Now: clock.Now, ApproveOAuthAfter: time.Millisecond, AsyncDelay: map[string]time.Duration{}}
	for _, a := range args[1:] {
		k, v, ok := strings.Cut(a, "=")
		d, err := time.ParseDuration(v)
		if !ok || err != nil {
			ts.Fatalf("emulate: %q: want KIND=DURATION", a)
		}
		opts.AsyncDelay[k] = d
	}
	srv, err := emulator.Start(opts)
	ts.Check(err)
	ts.Defer(func() { _ = srv.Close() })
	if _, err := srv.Emulator.SeedApp(args[0], 1); err != nil {
		ts.Fatalf("emulate: %v", err)
	}
	scriptClocks.Store(ts, clock)
	ts.Defer(func() { scriptClocks.Delete(ts) })
	ts.Setenv("HEROKU_API_URL", srv.URL)
	ts.Setenv("HEROKU_API_KEY", srv.APIKey)
}

func emulateAdvanceCmd(ts *testscript.TestScript, neg bool, args []string) {
	c, ok := scriptClocks.Load(ts)
	if neg || len(args) != 1 || !ok {
		ts.Fatalf("usage: emulate-advance DURATION, after emulate")
	}
	d, err := time.ParseDuration(args[0])
	ts.Check(err)
	c.(*testkit.Clock).Advance(d)
}
