package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
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
	// 80 targets through 16 slots: five waves, four more than the path.
	if got := targetWaveFloor(issueFleet, rt, d, 16); got != 1400*time.Millisecond {
		t.Errorf("target wave floor at 16 %v, want 1.4s (the path and 4 more POSTs)", got)
	}
	if got := targetWaveFloor(noDC, rt, d, 16); got != 700*time.Millisecond {
		t.Errorf("target wave floor without targets %v, want the critical path", got)
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

// The committed page is what rendering the committed results gives, byte
// for byte: no figure on it was edited by hand after the run, and a change
// to the template is not committed without the page it renders.
func TestPageIsRenderedFromResults(t *testing.T) {
	res, err := readResults("results.json")
	if err != nil {
		t.Fatal(err)
	}
	got, err := render(res)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join("..", "docs", "performance.md"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatalf("docs/performance.md is not what bench/results.json renders; run go run ./bench -render -out bench/results.json -doc docs/performance.md (or make bench) and commit both")
	}
}

// numberWithUnit is a figure typed into prose: a number followed by a unit
// of time, size, ratio or share.
var numberWithUnit = regexp.MustCompile(`\d[\d.,]*\s?(ms|s|min|MB|MiB|GB|kB|×|%)(\W|$)`)

// The template's prose types no figure: every number with a unit on the
// page comes from the results or the bench's settings, through an action.
func TestTemplateTypesNoFigure(t *testing.T) {
	actions := regexp.MustCompile(`\{\{.*?\}\}`)
	for i, line := range strings.Split(pageTemplate, "\n") {
		prose := actions.ReplaceAllString(line, "")
		if m := numberWithUnit.FindString(prose); m != "" {
			t.Errorf("performance.md.tmpl:%d: %q types a figure: generate it from the results or a setting\n\t%s", i+1, m, line)
		}
	}
}

// The prose check catches what it is meant to, and not the words it must
// leave alone.
func TestNumberWithUnit(t *testing.T) {
	for _, s := range []string{"took 1.83 s", "(9.1×)", "12.3 s at 16", "about 290 MB", "20 % of", "50 ms", "5.6 to 8.5 s."} {
		if !numberWithUnit.MatchString(s) {
			t.Errorf("%q not caught", s)
		}
	}
	for _, s := range []string{"20 apps", "4 Platform requests", "figure 3", "10⁶ bytes", "2 cores", "p16.wall"} {
		if numberWithUnit.MatchString(s) {
			t.Errorf("%q caught", s)
		}
	}
}

// Runs are merged into their median; a timing figure gets its spread; a
// target is tested against the median; a comparison's met is null.
func TestAggregate(t *testing.T) {
	var runs [][]Figure
	for _, v := range []float64{1.5, 1.1, 1.3, 9, 1.2} {
		runs = append(runs, []Figure{
			timed(goal("apply.ratio", v, "×", "≤ 1.2", atMost(1.2))),
			timed(info("apply.wall", v*2, "s")),
			info("apply.requests", 900, "requests"),
		})
	}
	figs := aggregate(runs)
	if len(figs) != 3 {
		t.Fatalf("%d figures", len(figs))
	}
	r, w, n := figs[0], figs[1], figs[2]
	if r.Value != 1.3 || *r.Min != 1.1 || *r.Max != 9 || r.Runs != 5 || r.Met == nil || *r.Met {
		t.Errorf("ratio %+v: want median 1.3 of 5 runs, 1.1–9, not met", r)
	}
	if w.Value != 2.6 || w.Met != nil || spread(w) != "2.2–18" {
		t.Errorf("wall %+v: want median 2.6, spread 2.2–18, met null", w)
	}
	if n.Value != 900 || n.Min != nil || n.Runs != 0 {
		t.Errorf("requests %+v: want 900, no spread", n)
	}
	if got := median([]float64{4, 1, 3, 2}); got != 2.5 {
		t.Errorf("median of an even count %g", got)
	}
	b, err := json.Marshal(figs)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"name":"apply.wall","value":2.6,"unit":"s","runs":5,"min":2.2,"max":18,"target":"none (comparison)","met":null`, `"met":false`, `"name":"apply.requests","value":900,"unit":"requests","target":"none (comparison)","met":null`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON lacks %s:\n%s", want, b)
		}
	}
}

// The committed results mark every comparison null and every target
// true or false, and give each timing figure its runs and spread.
func TestCommittedResults(t *testing.T) {
	res, err := readResults("results.json")
	if err != nil {
		t.Fatal(err)
	}
	if res.Run.Runs < 1 || len(res.Figures) == 0 {
		t.Fatalf("results: %+v", res.Run)
	}
	for _, f := range res.Figures {
		if (f.Target == comparison) != (f.Met == nil) {
			t.Errorf("%s: target %q, met %v", f.Name, f.Target, f.Met)
		}
		if f.Min != nil && (f.Runs != res.Run.Runs || *f.Min > f.Value || f.Value > *f.Max) {
			t.Errorf("%s: %g over %d runs, spread %s", f.Name, f.Value, f.Runs, spread(f))
		}
	}
	for _, name := range []string{"apply_from_empty.p16.wall", "noop_plan.p64.wall", "polling.1s.detection_delay", "rate_limit.wall", "scale.5000.time", "big_input.manifest.validate.time"} {
		found := false
		for _, f := range res.Figures {
			if f.Name == name {
				found = f.Min != nil
			}
		}
		if !found {
			t.Errorf("%s: no spread in the results", name)
		}
	}
}

// A page naming a figure the results lack is an error, not a blank.
func TestRenderMissingFigure(t *testing.T) {
	if _, err := render(Results{}); !errors.Is(err, errNoFigure) {
		t.Fatalf("err = %v, want errNoFigure", err)
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
