package planfile_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/planfile"
)

// FuzzReadPlanFile feeds arbitrary bytes to ReadPlanFile as a saved plan
// (apply trusts what it reads to decide what to create and delete): it must
// never panic, every refusal must wrap ErrPlanFileCorrupt or
// ErrPlanFileVersion, and a plan it accepts must survive a write and a
// second read unchanged.
func FuzzReadPlanFile(f *testing.F) {
	// The JSON plans of internal/view's goldens are plan files of version 1.
	seeds, _ := filepath.Glob("../view/testdata/*/plan.json")
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"format_version":"1"}`))
	f.Add([]byte(`{"format_version":"99"}`))
	f.Add([]byte(`{"format_version":null}`))
	f.Add([]byte(`[]`))
	f.Add([]byte("\xff\xfe\x00"))
	dir := f.TempDir()
	in, out := filepath.Join(dir, "in.json"), filepath.Join(dir, "out.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		// A hang would stall the fuzzer silently; crashing the worker makes
		// the engine keep the input under testdata/fuzz.
		timer := time.AfterFunc(10*time.Second, func() { panic("ReadPlanFile did not return within 10s") })
		defer timer.Stop()
		if err := os.WriteFile(in, data, 0o600); err != nil {
			t.Fatal(err)
		}
		p, err := planfile.Read(in)
		if err != nil {
			if !errors.Is(err, planfile.ErrCorrupt) && !errors.Is(err, planfile.ErrVersion) {
				t.Fatalf("refusal %q wraps neither ErrPlanFileCorrupt nor ErrPlanFileVersion", err)
			}
			if p != nil {
				t.Fatal("a plan returned with an error")
			}
			return
		}
		if p == nil {
			t.Fatal("nil plan without error")
		}
		if err := planfile.Write(out, p); err != nil {
			t.Fatalf("an accepted plan cannot be written back: %v", err)
		}
		first, _ := os.ReadFile(out)
		p2, err := planfile.Read(out)
		if err != nil {
			t.Fatalf("a plan written by WritePlanFile is refused: %v", err)
		}
		if err := planfile.Write(out, p2); err != nil {
			t.Fatal(err)
		}
		second, _ := os.ReadFile(out)
		if !bytes.Equal(first, second) {
			t.Fatalf("round trip not stable:\n%s\n---\n%s", first, second)
		}
	})
}
