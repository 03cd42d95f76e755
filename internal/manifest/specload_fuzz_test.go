package manifest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzFastSpec feeds arbitrary bytes to the fast spec reader: it must never
// panic, and when it answers, its document must be kin-openapi's.
func FuzzFastSpec(f *testing.F) {
	for _, glob := range []string{"../../examples/*/api/*.yaml", "../../testdata/validate/*/api/*.yaml", "../../testdata/validate/*/api/*.json", "../../testdata/plan/_shared/orders_*.yaml"} {
		files, _ := filepath.Glob(glob)
		for _, p := range files {
			if data, err := os.ReadFile(p); err == nil {
				f.Add(data)
			}
		}
	}
	f.Add([]byte(specOf(2)))
	f.Add([]byte(`{"openapi": "3.0.3", "info": {"title": "T", "version": "1"}, "paths": {"/a": {"get": {"responses": {"200": {"description": "ok"}}}}}, "components": {"schemas": {"A": {"type": "string"}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		fast, ok := fastSpec(data)
		if !ok {
			return
		}
		if h, err := readSpecHeader(data, ""); err != nil || h.swagger != "" || !strings.HasPrefix(h.openapi, "3.") {
			t.Fatalf("the fast way answered for a spec whose header the slow way refuses: %+v, %v", h, err)
		}
		slow, err := loadSpec(data, false)
		if err != nil {
			t.Fatalf("the fast way read a spec kin-openapi refuses: %v", err)
		}
		a, errA := json.Marshal(fast)
		b, errB := json.Marshal(slow)
		if errA != nil || errB != nil || string(a) != string(b) {
			t.Fatalf("documents differ (%v, %v):\nfast %s\nkin  %s", errA, errB, a, b)
		}
	})
}
