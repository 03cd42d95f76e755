package manifest

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Big valid input has a bounded cost. These tests count allocations, never
// time, so they hold on a loaded machine; each compares an input with one
// four times bigger, or bounds a cost that the fixed code pays once.

// specOf is an OpenAPI 3 document (YAML) of n resources: a collection and
// an item path with four operations, and a component schema each.
func specOf(n int) string {
	var b strings.Builder
	b.WriteString("openapi: 3.0.3\ninfo: {title: Test API, version: \"1\"}\npaths:\n")
	for i := range n {
		fmt.Fprintf(&b, `  /things%[1]d:
    get:
      operationId: list%[1]d
      x-sfdc: {heroku: {authorization: {permissionSet: Things_Perm}}}
      parameters:
        - {name: limit, in: query, schema: {type: integer, minimum: 1}}
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {type: array, items: {$ref: '#/components/schemas/Thing%[1]d'}}
    post:
      operationId: create%[1]d
      requestBody:
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Thing%[1]d'}
      responses:
        "201": {description: created}
  /things%[1]d/{id}:
    parameters:
      - {name: id, in: path, required: true, schema: {type: string}}
    get:
      operationId: get%[1]d
      responses:
        "200": {description: ok}
    delete:
      operationId: delete%[1]d
      responses:
        "204": {description: deleted}
`, i)
	}
	b.WriteString("components:\n  schemas:\n")
	for i := range n {
		fmt.Fprintf(&b, "    Thing%d:\n      type: object\n      properties:\n        id: {type: string}\n        name: {type: string, maxLength: 80}\n", i)
	}
	return b.String()
}

// writeFleetOf writes a manifest of apps apps, each with a Data Cloud
// connection of targets targets and a Salesforce connection of pubs
// publications that all name the one spec, and the spec; it returns the
// manifest's directory.
func writeFleetOf(t *testing.T, apps, targets, pubs int, spec string) string {
	t.Helper()
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("version: 1\napps:\n")
	for a := range apps {
		fmt.Fprintf(&b, "  app-%05d:\n    connections:\n", a)
		if targets > 0 {
			b.WriteString("      events_dc:\n        type: datacloud\n        data_action_targets:\n")
		}
		for i := range targets {
			fmt.Fprintf(&b, "          Target_%03d:\n            target_endpoint: /hook/%d\n", i, i)
		}
		b.WriteString("      crm_org:\n        type: salesforce\n        login_url: ${LOGIN_URL:-https://login.salesforce.com}\n        publications:\n")
		for i := range pubs {
			fmt.Fprintf(&b, "          Api_%03d:\n            spec: api/openapi.yaml\n            permission_set: Things_Perm\n", i)
		}
	}
	for name, body := range map[string]string{"applink.yaml": b.String(), "api/openapi.yaml": spec} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// loadCost loads dir and returns the allocations and bytes it took; the
// manifest must be valid.
func loadCost(t *testing.T, dir string) (allocs, bytes uint64) {
	t.Helper()
	opsMemo.reset() // every Load decodes its specs afresh
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, problems, err := Load([]string{dir}, Options{LookupEnv: func(string) (string, bool) { return "", false }})
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(problems) != 0 {
		t.Fatalf("problems: %v", problems)
	}
	return after.Mallocs - before.Mallocs, after.TotalAlloc - before.TotalAlloc
}

// A spec that every publication names is read and checked once: n
// publications of an n-resource spec cost in proportion to n, where reading
// the spec per publication cost n², sixteen times more at 4n.
func TestSharedSpecCostIsLinear(t *testing.T) {
	const n = 12
	small, _ := loadCost(t, writeFleetOf(t, 1, 0, n, specOf(n)))
	big, _ := loadCost(t, writeFleetOf(t, 1, 0, 4*n, specOf(4*n)))
	if ratio := float64(big) / float64(small); ratio > 6 {
		t.Errorf("4× the publications and spec took %.1f× the allocations (%d vs %d): want about 4×, as for reading the spec once", ratio, big, small)
	}
}

// A manifest costs in proportion to its size: 4× the apps take about 4×
// the allocations of the decode, validation and model. (A guard: nothing
// here was superlinear in allocations, but a cost per value that grows
// with the file would be.)
func TestManifestCostIsLinear(t *testing.T) {
	const apps = 25
	spec := specOf(1)
	small, _ := loadCost(t, writeFleetOf(t, apps, 20, 5, spec))
	big, _ := loadCost(t, writeFleetOf(t, 4*apps, 20, 5, spec))
	if ratio := float64(big) / float64(small); ratio > 5 {
		t.Errorf("4× the apps took %.1f× the allocations (%d vs %d): want about 4×", ratio, big, small)
	}
}

// The position of every value of a manifest costs a few bytes per byte of
// the file: a tree of line and column numbers rather than a map keyed by a
// JSON pointer spelling out every ancestor (about 7 bytes per byte).
func TestPositionsBytesPerByte(t *testing.T) {
	dir := writeFleetOf(t, 100, 20, 5, specOf(1))
	data, err := os.ReadFile(filepath.Join(dir, "applink.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	live := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	var ps problems
	d := &doc{file: "applink.yaml"}
	if parseYAML(data, d, func(string) (string, bool) { return "", false }, &ps) == nil || len(ps.list) != 0 {
		t.Fatalf("parse: %v", ps.list)
	}
	withPos := live()
	d.pos = nil
	without := live()
	runtime.KeepAlive(d)
	if per := float64(withPos-without) / float64(len(data)); per > 4 {
		t.Errorf("positions of a %d-byte manifest take %.1f bytes per byte, want at most 4", len(data), per)
	}
}

// Plan asks for the operations of every publication's spec after Load has
// checked it: the answer comes from the check, not from decoding the spec
// again, and is the one a decode gives.
func TestOperationsReuseTheCheck(t *testing.T) {
	spec := specOf(20)
	dir := writeFleetOf(t, 1, 0, 1, spec)
	loadCost(t, dir)
	// (Not testing.AllocsPerRun: its warm-up call would fill the memo.)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	got, err := Operations([]byte(spec))
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if allocs := after.Mallocs - before.Mallocs; allocs > 100 {
		t.Errorf("Operations after Load took %d allocations: the spec was decoded again", allocs)
	}
	opsMemo.reset()
	want, err := Operations([]byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") || len(want) != 80 {
		t.Errorf("operations from the check differ from a decode's: %d vs %d", len(got), len(want))
	}
	got[0] = "changed by the caller"
	if again, _ := Operations([]byte(spec)); again[0] == got[0] {
		t.Error("a caller's change to the list reached the next caller")
	}
}
