package reliability

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// hostileBound is a hang guard, not a performance target: every hostile
// manifest must be refused well within it, on a loaded machine too (the
// slowest, many-apps, took up to 3.7 s with every core busy, where a 2 s
// bound failed; the log shows the slowest of each run).
const hostileBound = 30 * time.Second

// hostileManifests are inputs meant to hang, exhaust or crash a YAML
// loader, by name.
func hostileManifests() map[string]string {
	rng := rand.New(rand.NewPCG(8, 8))
	binary := make([]byte, 64<<10)
	for i := range binary {
		binary[i] = byte(rng.UintN(256))
	}
	laughs := "version: 1\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
	for i := 1; i < 12; i++ {
		laughs += fmt.Sprintf("a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	laughs += "apps: *a11\n"
	var deepMap strings.Builder
	deepMap.WriteString("version: 1\napps:\n")
	for i := range 3000 {
		deepMap.WriteString(strings.Repeat(" ", i+2) + fmt.Sprintf("k%d:\n", i))
	}
	var manyApps strings.Builder
	manyApps.WriteString("version: 1\napps:\n")
	for i := range 5000 {
		fmt.Fprintf(&manyApps, "  app-%d: {connections: {c: {type: bogus}}}\n", i)
	}
	return map[string]string{
		"huge":            "version: 1\napps:\n" + strings.Repeat("# padding padding padding padding padding padding\n", 500_000), // 25 MB
		"long-scalar":     "version: 1\napps:\n  a:\n    connections:\n      " + strings.Repeat("x", 4<<20) + ": {type: salesforce}\n",
		"deep-flow":       "version: 1\napps: " + strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000) + "\n",
		"deep-flow-open":  strings.Repeat("{a: ", 50_000),
		"deep-block":      deepMap.String(),
		"billion-laughs":  laughs,
		"alias-cycle":     "version: 1\napps: &x {a: *x}\n",
		"merge-bomb":      "version: 1\nb: &b {a: 1}\napps:\n" + strings.Repeat("  <<: *b\n", 10_000),
		"binary":          string(binary),
		"nul-bytes":       "version: 1\napps:\n  a\x00b: {}\n",
		"invalid-utf8":    "version: 1\napps:\n  \xff\xfe\xfd: {connections: {c: {type: salesforce}}}\n",
		"utf16-bom":       "\xff\xfev\x00e\x00r\x00",
		"many-documents":  strings.Repeat("---\nversion: 1\n", 100_000),
		"many-apps":       manyApps.String(),
		"tabs":            "version: 1\napps:\n\ta: {}\n",
		"unterminated":    "version: 1\napps: {a: \"unterminated\n",
		"huge-int":        "version: 1" + strings.Repeat("9", 100_000) + "\n",
		"env-bomb":        "version: 1\napps:\n  a:\n    addon: " + strings.Repeat("${UNSET_VAR_X}", 200_000) + "\n",
		"tag-abuse":       "version: !!binary AAAA\napps: !!set {? a}\n",
		"empty":           "",
		"only-whitespace": strings.Repeat(" \n", 10_000),
	}
}

// TestHostileManifests validates each hostile manifest with the real CLI:
// exit 1, an error on stderr naming the file, no panic, well within
// hostileBound.
func TestHostileManifests(t *testing.T) {
	f := newFleet(t, 1, defaultEmulator())
	var worst time.Duration
	worstName := ""
	cases := hostileManifests()
	names := make([]string, 0, len(cases))
	for n := range cases {
		names = append(names, n)
	}
	sortStrings(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			file := "hostile-" + name + ".yaml"
			f.write(file, cases[name])
			r := f.run("validate", "-f", file)
			if r.code != 1 {
				t.Errorf("want exit 1:\n%.2000s", r)
			}
			if !strings.Contains(r.stderr+r.stdout, file) {
				t.Errorf("the error does not name %s:\n%.2000s", file, r)
			}
			for _, bad := range []string{"panic", "goroutine ", "runtime error"} {
				if strings.Contains(r.stderr, bad) {
					t.Errorf("stderr shows %q:\n%.2000s", bad, r)
				}
			}
			// A clear error is a short one; a guard against echoing the
			// input back many times over.
			if n := len(r.stdout) + len(r.stderr); n > 4<<20 {
				t.Errorf("%d bytes of output", n)
			} else if n > 64<<10 {
				t.Logf("note: %d bytes of output for one problem", n)
			}
			if r.took > hostileBound {
				t.Errorf("took %v (hang guard %v)", r.took, hostileBound)
			}
			if r.took > worst {
				worst, worstName = r.took, name
			}
			first := ""
			for _, l := range strings.Split(r.stdout+r.stderr, "\n") {
				if strings.Contains(l, file) {
					first = strings.TrimSpace(strings.ReplaceAll(l, f.dir+"/", ""))
					break
				}
			}
			t.Logf("%s (%d bytes): exit %d after %v: %.160s", name, len(cases[name]), r.code, r.took.Round(time.Millisecond), first)
		})
	}
	t.Logf("hostile manifests: %d cases, slowest %s at %v (bound %v)", len(cases), worstName, worst.Round(time.Millisecond), hostileBound)
}
