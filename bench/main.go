package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
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
	runs := flag.Int("runs", defaultRuns(), "runs of each timing figure, reported as their median and spread (default $BENCH_RUNS, else 5)")
	render := flag.Bool("render", false, "only regenerate the -doc page from the -out results, measuring nothing")
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
	if *render {
		if err := renderFile(*out, *doc); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 1
		}
		fmt.Fprintf(os.Stderr, "bench: rendered %s from %s\n", *doc, *out)
		return 0
	}
	if *runs < 1 {
		fmt.Fprintf(os.Stderr, "bench: -runs %d: want at least 1\n", *runs)
		return 2
	}
	started := time.Now()
	figs, err := measure(ctx, *rlApps, *bigBin, *runs, groups(*only))
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	printTable(figs)
	res := Results{Run: thisRun(*runs, time.Since(started)), Figures: figs}
	if err := writeResults(*out, res); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "bench: wrote %s\n", *out)
	if *doc != "" {
		if err := renderFile(*out, *doc); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 1
		}
		fmt.Fprintf(os.Stderr, "bench: rendered %s\n", *doc)
	}
	return 0
}

// defaultRuns is $BENCH_RUNS, else 5.
func defaultRuns() int {
	if n, err := strconv.Atoi(os.Getenv("BENCH_RUNS")); err == nil {
		return n
	}
	return 5
}

// measure runs the seven figures, each timing runs times. Polling (4) and
// the rate limit (6) spend most of their time waiting, so their runs go
// beside each other and the others to keep the whole within minutes on two
// cores; big input (7) runs after them.
func measure(ctx context.Context, rlApps int, bigBin string, runs int, want func(string) bool) ([]Figure, error) {
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

	delays := pollDelays
	polling := make([][][]Figure, len(delays))
	limited := make([][]Figure, runs)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	bg, bctx := errgroup.WithContext(ctx)
	// The polling (4) and rate-limit (6) figures mostly sleep, so they run
	// beside the others; but their emulators and clients still take the
	// cores in bursts, so they start only once the apply and no-op plan
	// timings (3, 1, 2), whose spread is the machine's, are measured.
	background := func() {
		for i, d := range delays {
			if !want("polling") {
				break
			}
			polling[i] = make([][]Figure, runs)
			for r := range runs {
				bg.Go(func() error {
					f, err := figure4(bctx, key, d, log)
					if err != nil {
						return fmt.Errorf("polling %v: %w", d, err)
					}
					polling[i][r] = f
					return nil
				})
			}
		}
		for r := range runs {
			if !want("ratelimit") {
				break
			}
			bg.Go(func() error {
				s := issueFleet
				s.Apps = rlApps
				f, err := figure6(bctx, filepath.Join(tmp, fmt.Sprintf("ratelimit-%d", r)), key, s, rlPerMinute, rlBurst, log)
				if err != nil {
					return fmt.Errorf("rate limit: %w", err)
				}
				limited[r] = f
				return nil
			})
		}
	}

	fg := func() ([]Figure, error) {
		var figs []Figure
		if want("plan-apply") {
			f3, e, err := figure3(bctx, tmp, key, runs, log)
			if err != nil {
				return nil, fmt.Errorf("apply from empty: %w", err)
			}
			f12, err := figure1and2(bctx, e, issueFleet, runs, log)
			e.close()
			if err != nil {
				return nil, fmt.Errorf("no-op plan: %w", err)
			}
			figs = append(append(figs, f12...), f3...)
		}
		background()
		if want("scale") {
			f5, err := figure5(bctx, tmp, key, runs, log)
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
		figs = append(figs, aggregate(p)...)
	}
	if want("ratelimit") {
		figs = append(figs, aggregate(limited)...)
	}
	// Big input (7) last, alone: its runs keep both cores busy, which
	// would disturb the timing of the others.
	if want("big-input") {
		f7, err := figure7(ctx, tmp, key, bigBin, runs, log)
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
	fmt.Fprintln(tw, "figure\tmedian\tspread\tunit\ttarget\tmet")
	for _, f := range figs {
		fmt.Fprintf(tw, "%s\t%g\t%s\t%s\t%s\t%s\n", f.Name, f.Value, spread(f), f.Unit, f.Target, metText(f.Met, "NO", "-"))
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
