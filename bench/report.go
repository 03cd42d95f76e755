package main

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"strings"
	"text/template"
	"time"

	"github.com/applinkctl/applinkctl/internal/apply"
	"github.com/applinkctl/applinkctl/internal/client"
	"github.com/applinkctl/applinkctl/internal/fsutil"
)

// Results is bench/results.json: the run's context and its figures. The
// page docs/performance.md is rendered from it alone, so that regenerating
// it from the committed file reproduces the committed page.
type Results struct {
	Run     Run      `json:"run"`
	Figures []Figure `json:"figures"`
}

// Run is where and how the figures were measured.
type Run struct {
	Date    string  `json:"date"` // UTC, to the minute
	OS      string  `json:"os"`
	Arch    string  `json:"arch"`
	CPUs    int     `json:"cpus"`
	Go      string  `json:"go"`
	Runs    int     `json:"runs"`    // of each timing figure
	Seconds float64 `json:"seconds"` // the whole of make bench
}

func thisRun(runs int, took time.Duration) Run {
	return Run{Date: time.Now().UTC().Format("2006-01-02 15:04 MST"), OS: runtime.GOOS, Arch: runtime.GOARCH,
		CPUs: runtime.NumCPU(), Go: runtime.Version(), Runs: runs, Seconds: math.Round(took.Seconds())}
}

// writeResults writes res to path through a temp file, so a failure
// leaves the old file.
func writeResults(path string, res Results) error {
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	return writeFile(path, append(b, '\n'))
}

func readResults(path string) (Results, error) {
	var res Results
	b, err := os.ReadFile(path)
	if err != nil {
		return res, err
	}
	if err := json.Unmarshal(b, &res); err != nil {
		return res, fmt.Errorf("%s: %w", path, err)
	}
	return res, nil
}

//go:embed performance.md.tmpl
var pageTemplate string

// renderFile renders the page at doc from the results at out.
func renderFile(out, doc string) error {
	res, err := readResults(out)
	if err != nil {
		return err
	}
	page, err := render(res)
	if err != nil {
		return err
	}
	return writeFile(doc, page)
}

var errNoFigure = errors.New("no such figure in the results")

// settings are the run's inputs the page quotes, from the constants the
// bench and the engine use: the page never types them either.
func settings() map[string]string {
	ms := func(d time.Duration) string { return fmt.Sprintf("%d ms", d.Milliseconds()) }
	var delays []string
	for _, d := range pollDelays {
		delays = append(delays, fmt.Sprintf("%g s", d.Seconds()))
	}
	if n := len(delays); n > 1 {
		delays[n-2] += " or " + delays[n-1]
		delays = delays[:n-1]
	}
	return map[string]string{
		"latency":         ms(latency),
		"provisioning":    ms(provisioning),
		"async":           ms(2*latency + provisioning),
		"two_round_trips": ms(2 * latency),
		"cli_poll":        fmt.Sprintf("%g s", cliPoll.Seconds()),
		"poll_initial":    ms(apply.DefaultPollInitial),
		"wait_fraction":   fmt.Sprintf("%g %%", client.WaitFraction*100),
		"oauth_approval":  ms(oauthApproval),
		"poll_delays":     strings.Join(delays, ", "),
		// client.Wait's defaults (internal/client/wait.go).
		"wait_initial":      ms(waitInitial),
		"wait_max":          fmt.Sprintf("%g s", waitMax.Seconds()),
		"wait_cap_from":     fmt.Sprintf("%g s", waitMax.Seconds()/client.WaitFraction),
		"bucket_per_minute": fmt.Sprint(rlPerMinute),
		"bucket_burst":      fmt.Sprint(rlBurst),
	}
}

// render is the page: performance.md.tmpl with the figures of res.
func render(res Results) ([]byte, error) {
	byName := make(map[string]Figure, len(res.Figures))
	for _, f := range res.Figures {
		byName[f.Name] = f
	}
	fig := func(name string) (Figure, error) {
		f, ok := byName[name]
		if !ok {
			return f, fmt.Errorf("%w: %s", errNoFigure, name)
		}
		return f, nil
	}
	set := settings()
	funcs := template.FuncMap{
		// v is a figure's value (the median of a timing figure).
		"v": func(name string) (string, error) {
			f, err := fig(name)
			return fmt.Sprintf("%g", f.Value), err
		},
		// spread is a timing figure's "min–max over n runs".
		"spread": func(name string) (string, error) {
			f, err := fig(name)
			if err == nil && f.Min == nil {
				err = fmt.Errorf("figure %s has no spread", name)
			}
			return spread(f), err
		},
		// per divides a figure by another (a count of round trips, say).
		"per": func(name, by string) (string, error) {
			f, err := fig(name)
			if err != nil {
				return "", err
			}
			g, err := fig(by)
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("%g", round(f.Value/g.Value)), nil
		},
		// trips is a figure in seconds as round trips of the injected
		// latency.
		"trips": func(name string) (string, error) {
			f, err := fig(name)
			return fmt.Sprintf("%g", math.Round(f.Value/latency.Seconds())), err
		},
		// target is a figure's target.
		"target": func(name string) (string, error) {
			f, err := fig(name)
			return f.Target, err
		},
		// set is one of the run's settings.
		"set": func(name string) (string, error) {
			s, ok := set[name]
			if !ok {
				return "", fmt.Errorf("no setting %s", name)
			}
			return s, nil
		},
		"table": func() string { return table(res) },
	}
	t, err := template.New("performance.md").Funcs(funcs).Option("missingkey=error").Parse(pageTemplate)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, res); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// table renders the figures with the run's context.
func table(res Results) string {
	var b strings.Builder
	r := res.Run
	fmt.Fprintf(&b, "Run of %s on %s/%s, %d CPUs, %s; each timing figure is the median of %d runs, with their spread; `make bench` took %g s.\n\n",
		r.Date, r.OS, r.Arch, r.CPUs, r.Go, r.Runs, r.Seconds)
	b.WriteString("| figure | value | spread | unit | target | met |\n|---|---:|---:|---|---|---|\n")
	for _, f := range res.Figures {
		fmt.Fprintf(&b, "| `%s` | %g | %s | %s | %s | %s |\n", f.Name, f.Value, spread(f), f.Unit, f.Target, metText(f.Met, "**no**", "—"))
	}
	return b.String()
}

// spread is "min–max" of a timing figure, "" for others.
func spread(f Figure) string {
	if f.Min == nil || f.Max == nil {
		return ""
	}
	return fmt.Sprintf("%g–%g", *f.Min, *f.Max)
}

// metText says whether a target is met: yes, no, or none for a
// comparison.
func metText(met *bool, no, none string) string {
	switch {
	case met == nil:
		return none
	case *met:
		return "yes"
	}
	return no
}

// writeFile replaces path with b atomically.
func writeFile(path string, b []byte) error { return fsutil.WriteFileAtomic(path, b, 0o644) }
