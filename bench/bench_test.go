package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/manifest"
)

// The generated fleet is valid and declares what docs/performance.md says it
// does.
func TestIssueFleetManifest(t *testing.T) {
	key, err := newKey()
	if err != nil {
		t.Fatal(err)
	}
	path, err := writeFleet(t.TempDir(), issueFleet, key)
	if err != nil {
		t.Fatal(err)
	}
	m, err := loadFleet(path)
	if err != nil {
		t.Fatal(err)
	}
	want := manifest.Counts{Apps: 20, Connections: 60, Authorizations: 40, Targets: 80, Publications: 40}
	if got := m.Counts(); got != want {
		t.Fatalf("counts %+v, want %+v", got, want)
	}
	if issueFleet.resources() != 220 || issueFleet.connsWithChildren() != 3 {
		t.Fatalf("resources %d, connections with children %d", issueFleet.resources(), issueFleet.connsWithChildren())
	}
	if got := scaleShape(5000).resources(); got != 5000 {
		t.Fatalf("scale shape of 5000 has %d resources", got)
	}
}

// A broken fleet manifest is an error that lists its problems.
func TestLoadFleetReportsProblems(t *testing.T) {
	path := filepath.Join(t.TempDir(), "applink.yaml")
	if err := os.WriteFile(path, []byte("version: 1\napps:\n  a b:\n    connections: {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadFleet(path); err == nil || !strings.Contains(err.Error(), "applink.yaml") {
		t.Fatalf("err = %v, want the manifest's problems", err)
	}
}

// The bounds and the CLI model are computed from counts, per their
// definitions in docs/performance.md.
func TestModels(t *testing.T) {
	rt, d := 50*time.Millisecond, 500*time.Millisecond
	if got := criticalPath(issueFleet, rt, d); got != 1200*time.Millisecond {
		t.Errorf("critical path %v, want 1.2s (connection then target: 2 × (POST + 500ms + GET))", got)
	}
	noDC := shape{Apps: 1, Salesforce: 1, PubsPerSF: 1, Auths: 1}
	if got := criticalPath(noDC, rt, d); got != 700*time.Millisecond {
		t.Errorf("critical path without Data Cloud %v, want 700ms (connection, then POST + read-back)", got)
	}
	// 180 asynchronous creates × (3 round trips + one 5 s poll and its
	// round trip) + 40 publications × 3 round trips.
	wall, reqs := cliApplyModel(issueFleet, rt, d)
	if wall != 180*(150*time.Millisecond+5050*time.Millisecond)+40*150*time.Millisecond || reqs != 220*6+180 {
		t.Errorf("cli model %v %d", wall, reqs)
	}
	if got := slotWork(issueFleet, rt, d); got != 112*time.Second {
		t.Errorf("slot work %v, want 112s", got)
	}
}

func TestUpdateDoc(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.md")
	page := "# P\n\nbefore\n" + docBegin + "\nstale\n" + docEnd + "\nafter\n"
	if err := os.WriteFile(path, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	figs := []Figure{{Name: "a", Value: 1.5, Unit: "s", Target: "≤ 2", Met: true}, {Name: "b", Value: 3, Unit: "×", Target: "≤ 1", Met: false}, info("c", 7, "requests")}
	if err := updateDoc(path, figs, time.Minute); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	got := string(b)
	for _, want := range []string{"before\n", "| `a` | 1.5 | s | ≤ 2 | yes |", "| `b` | 3 | × | ≤ 1 | **no** |", "| `c` | 7 | requests | none (comparison) | – |", docEnd + "\nafter\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("page lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "stale") {
		t.Errorf("old table kept:\n%s", got)
	}
	if err := os.WriteFile(path, []byte("no markers"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := updateDoc(path, figs, time.Minute); !errors.Is(err, errNoMarkers) {
		t.Fatalf("err = %v, want errNoMarkers", err)
	}
}

func TestGroups(t *testing.T) {
	all := groups("")
	some := groups("scale, polling")
	if !all("ratelimit") || !some("polling") || !some("scale") || some("ratelimit") {
		t.Fatal("groups: wrong selection")
	}
}

func TestPeakRSS(t *testing.T) {
	kb, err := peakRSS()
	if err != nil {
		t.Skip("no /proc:", err)
	}
	if kb <= 0 {
		t.Fatalf("VmHWM %d kB", kb)
	}
}

// The big inputs are the same bytes every run, valid, and of the size asked.
func TestBigInputs(t *testing.T) {
	const size = 300_000
	y := bigSpecYAML(size)
	if len(y) < size || string(y) != string(bigSpecYAML(size)) {
		t.Fatalf("YAML spec of %d bytes, or not deterministic", len(y))
	}
	j, err := bigSpecJSON(size)
	if err != nil {
		t.Fatal(err)
	}
	if len(j) < size {
		t.Fatalf("JSON spec of %d bytes", len(j))
	}
	key, err := newKey()
	if err != nil {
		t.Fatal(err)
	}
	for name, spec := range map[string][]byte{"openapi.yaml": y, "openapi.json": j} {
		dir, err := writeSpecManifest(filepath.Join(t.TempDir(), name), name, spec, key)
		if err != nil {
			t.Fatal(err)
		}
		m, err := loadFleet(filepath.Join(dir, "applink.yaml"))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if c := m.Counts(); c.Publications != 1 {
			t.Fatalf("%s: %+v", name, c)
		}
		ops, err := manifest.Operations(spec)
		if err != nil || len(ops) == 0 || len(ops)%5 != 0 { // five a resource
			t.Fatalf("%s: %d operations, %v", name, len(ops), err)
		}
	}
	path, resources, err := writeBigManifest(t.TempDir(), key, size)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := loadFleet(path); err != nil || resources%50 != 0 {
		t.Fatalf("big manifest of %d resources: %v", resources, err)
	}
}
