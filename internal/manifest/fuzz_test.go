package manifest_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/manifest"
)

// FuzzLoad feeds arbitrary bytes to Load as a manifest: it must never
// panic, must answer quickly, and a failure must always be an InvalidError.
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob("../../testdata/validate/*/*.y*ml")
	seeds = append(seeds, "../../examples/quickstart/applink.yaml", "../../examples/fleet/billing.yaml")
	for _, s := range seeds {
		if data, err := os.ReadFile(s); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("version: 1\napps:\n  a: {connections: {x: {type: salesforce, jwt: {client_id: a, username: b, private_key_env: K}}}}\n"))
	f.Add([]byte("{version: 1, apps: {a: &x {}, b: *x}}"))
	p := filepath.Join(f.TempDir(), "applink.yaml") // one per worker process, rewritten per input
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		// A hang would stall the fuzzer silently; crashing the worker
		// makes the engine save the input under testdata/fuzz instead.
		timer := time.AfterFunc(20*time.Second, func() { panic("manifest.Load did not return within 20s") })
		defer timer.Stop()
		m, problems, err := manifest.Load([]string{p}, manifest.Options{LookupEnv: func(string) (string, bool) { return "", false }, MaxFileSize: 1 << 20})
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Load took %v", d)
		}
		if err != nil {
			if _, ok := err.(*manifest.InvalidError); !ok {
				t.Errorf("error %T is not an *InvalidError", err)
			}
			if m != nil {
				t.Error("manifest returned with an error")
			}
			if len(problems) == 0 {
				t.Error("error without problems")
			}
			return
		}
		if m == nil {
			t.Fatal("nil manifest without error")
		}
		_ = m.Counts()
	})
}
