// Command bench measures the figures of docs/performance.md (`make bench`): the
// request budget and wall time of a no-op plan, apply from empty against the
// critical-path bound, polling efficiency, scale, and behaviour under the
// account's rate limit; and the cost of big valid input (a 10 MB manifest, a 10
// MB spec) to the applinkctl binary. Everything runs against the in-process
// emulator on loopback with injected latency, so the figures are repeatable on
// any machine and touch no Heroku account. It prints a table and writes
// bench/results.json; docs/performance.md explains each figure.
//
// Every number is measured in this run or computed from counts measured in
// it (the bounds and the Heroku CLI models); none is written by hand.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/sync/errgroup"
)

func main() {
	os.Exit(run())
}

func run() int {
	out := flag.String("out", "bench/results.json", "where to write the figures")
	child := flag.String("scale-child", "", "internal: measure validate + plan of this manifest and print the result")
	rlApps := flag.Int("ratelimit-apps", 4, "apps of the fleet applied under the 75-a-minute bucket")
	doc := flag.String("doc", "", "also refresh the generated table of this Markdown page (docs/performance.md)")
	only := flag.String("only", "", "comma-separated groups to run (plan-apply, scale, big-input, polling, ratelimit); empty runs all")
	bigBin := flag.String("big-input-bin", "", "measure this applinkctl binary in the big-input figures instead of building this module's")
	rss := flag.Bool("rss-run", false, "internal: run the command given as arguments and print its wall time and peak RSS")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *rss {
		if err := rssRun(ctx, flag.Args()); err != nil {
			fmt.Fprintln(os.Stderr, "bench: rss-run:", err)
			return 1
		}
		return 0
	}
	if *child != "" {
		if err := scaleChild(ctx, *child); err != nil {
			fmt.Fprintln(os.Stderr, "bench: scale child:", err)
			return 1
		}
		return 0
	}
	started := time.Now()
	figs, err := measure(ctx, *rlApps, *bigBin, groups(*only))
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	printTable(figs)
	b, err := json.MarshalIndent(figs, "", "  ")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "bench: wrote %s\n", *out)
	if *doc != "" {
		if err := updateDoc(*doc, figs, time.Since(started)); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 1
		}
		fmt.Fprintf(os.Stderr, "bench: refreshed %s\n", *doc)
	}
	return 0
}

// measure runs the seven figures. Polling (4) and the rate limit (6) spend
// most of their time waiting, so they run beside the others to keep the
// whole under a few minutes on two cores; big input (7) runs after them.
func measure(ctx context.Context, rlApps int, bigBin string, want func(string) bool) ([]Figure, error) {
	tmp, err := os.MkdirTemp("", "applinkctl-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	key, err := newKey()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	log := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "[%6.1fs] "+format+"\n", append([]any{time.Since(start).Seconds()}, args...)...)
	}

	var polling [3][]Figure
	var limited []Figure
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	bg, bctx := errgroup.WithContext(ctx)
	for i, d := range []time.Duration{time.Second, 10 * time.Second, 60 * time.Second} {
		if !want("polling") {
			break
		}
		bg.Go(func() error {
			f, err := figure4(bctx, key, d, log)
			if err != nil {
				return fmt.Errorf("polling %v: %w", d, err)
			}
			polling[i] = f
			return nil
		})
	}
	bg.Go(func() error {
		if !want("ratelimit") {
			return nil
		}
		s := issueFleet
		s.Apps = rlApps
		f, err := figure6(bctx, tmp, key, s, 75, 10, log)
		if err != nil {
			return fmt.Errorf("rate limit: %w", err)
		}
		limited = f
		return nil
	})

	fg := func() ([]Figure, error) {
		var figs []Figure
		if want("plan-apply") {
			f3, e, err := figure3(bctx, tmp, key, log)
			if err != nil {
				return nil, fmt.Errorf("apply from empty: %w", err)
			}
			f12, err := figure1and2(bctx, e, issueFleet, log)
			e.close()
			if err != nil {
				return nil, fmt.Errorf("no-op plan: %w", err)
			}
			figs = append(append(figs, f12...), f3...)
		}
		if want("scale") {
			f5, err := figure5(bctx, tmp, key, log)
			if err != nil {
				return nil, fmt.Errorf("scale: %w", err)
			}
			figs = append(figs, f5...)
		}
		return figs, nil
	}
	front, ferr := fg()
	if ferr != nil {
		cancel() // stop the background figures too
	}
	berr := bg.Wait()
	if ferr != nil {
		return nil, ferr
	}
	if berr != nil {
		return nil, berr
	}
	figs := front
	for _, p := range polling {
		figs = append(figs, p...)
	}
	figs = append(figs, limited...)
	// Big input (7) last, alone: its runs keep both cores busy, which
	// would disturb the timing of the others.
	if want("big-input") {
		f7, err := figure7(ctx, tmp, key, bigBin, log)
		if err != nil {
			return nil, fmt.Errorf("big input: %w", err)
		}
		figs = append(figs, f7...)
	}
	log("done")
	return figs, nil
}

// printTable writes the figures as an aligned table on stdout.
func printTable(figs []Figure) {
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tvalue\tunit\ttarget\tmet")
	for _, f := range figs {
		met := "yes"
		if !f.Met {
			met = "NO"
		}
		if f.Target == "none (comparison)" {
			met = "-"
		}
		fmt.Fprintf(tw, "%s\t%g\t%s\t%s\t%s\n", f.Name, f.Value, f.Unit, f.Target, met)
	}
	_ = tw.Flush()
}

// groups parses -only: a set of group names, or every group when empty.
func groups(only string) func(string) bool {
	if strings.TrimSpace(only) == "" {
		return func(string) bool { return true }
	}
	names := strings.Split(only, ",")
	for i := range names {
		names[i] = strings.TrimSpace(names[i])
	}
	return func(g string) bool { return slices.Contains(names, g) }
}
