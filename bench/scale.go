package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/applinkctl/applinkctl/internal/client"
	"github.com/applinkctl/applinkctl/internal/emulator"
	"github.com/applinkctl/applinkctl/internal/liveread"
	"github.com/applinkctl/applinkctl/internal/plan"
	"github.com/applinkctl/applinkctl/internal/secret"
	"github.com/applinkctl/applinkctl/internal/state"
)

// scaleShape has 50 resources per app (2 Data Cloud connections of 20
// targets, a Salesforce connection with 5 publications, 2 authorizations),
// so that 50,000 resources are 1,000 apps rather than 4,500.
func scaleShape(resources int) shape {
	return shape{Apps: resources / 50, DataCloud: 2, TargetsPerDC: 20, Salesforce: 1, PubsPerSF: 5, Auths: 2}
}

// scaleResult is what the child process reports on stdout.
type scaleResult struct {
	Seconds    float64 `json:"seconds"`
	Allocs     uint64  `json:"allocs"`
	AllocBytes uint64  `json:"alloc_bytes"`
	PeakRSSKB  int64   `json:"peak_rss_kb"`
	Requests   int64   `json:"requests"`
	Changes    int     `json:"changes"`
}

// Environment of the child: the emulator's URL and key. The key travels
// by environment, not argv, where any process could read it.
const (
	envURL = "APPLINKCTL_BENCH_URL"
	envKey = "APPLINKCTL_BENCH_KEY"
)

// scaleChild is the measured process: validate (load) the manifest, read
// the live world, diff against an empty state, as `applinkctl plan` does.
// It prints one scaleResult.
func scaleChild(ctx context.Context, path string) error {
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	m, err := loadFleet(path)
	if err != nil {
		return err
	}
	p, err := client.New(client.Config{BaseURL: os.Getenv(envURL), APIKey: secret.New(os.Getenv(envKey))})
	if err != nil {
		return err
	}
	b, err := state.Open(ctx, "file://"+filepath.Join(filepath.Dir(path), "state.json"), state.OpenOptions{})
	if err != nil {
		return err
	}
	defer b.Close()
	st, err := b.Load(ctx)
	if err != nil {
		return err
	}
	w, _, err := liveread.Read(ctx, p, m, 4)
	if err != nil {
		return err
	}
	pl, err := plan.Diff(m, w, st, plan.Options{})
	if err != nil {
		return err
	}
	wall := time.Since(start)
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	hwm, err := peakRSS()
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(scaleResult{
		Seconds: wall.Seconds(), Allocs: after.Mallocs - before.Mallocs, AllocBytes: after.TotalAlloc - before.TotalAlloc,
		PeakRSSKB: hwm, Requests: p.Requests(), Changes: len(pl.Changes),
	})
}

// peakRSS reads VmHWM, the process's peak resident set, from /proc.
func peakRSS() (int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("peak rss: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("peak rss: VmHWM %q: %w", rest, err)
			}
			return kb, nil
		}
	}
	return 0, fmt.Errorf("peak rss: no VmHWM in /proc/self/status")
}

// runScale measures one size in a fresh child process (so its peak RSS is its
// own) against an emulator served by this process with no latency.
func runScale(ctx context.Context, tmp string, key []byte, resources int) (*scaleResult, error) {
	s := scaleShape(resources)
	dir := filepath.Join(tmp, fmt.Sprintf("scale-%d", resources))
	path, err := writeFleet(dir, s, key)
	if err != nil {
		return nil, err
	}
	srv, err := emulator.Start(emulator.Options{RateLimitPerMinute: unlimited, RateLimitBurst: unlimited})
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	for i := range s.Apps {
		if _, err := srv.Emulator.SeedApp(appName(i), 1); err != nil {
			return nil, err
		}
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, self, "-scale-child", path)
	cmd.Env = append(os.Environ(), envURL+"="+srv.URL, envKey+"="+srv.APIKey)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("scale %d: child: %w: %s", resources, err, strings.TrimSpace(errb.String()))
	}
	var r scaleResult
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		return nil, fmt.Errorf("scale %d: child answer: %w", resources, err)
	}
	if r.Changes != resources {
		return nil, fmt.Errorf("scale %d: plan has %d changes: %w", resources, r.Changes, errNotConverged)
	}
	return &r, nil
}

// figure5 measures 500, 5,000 and 50,000 resources.
func figure5(ctx context.Context, tmp string, key []byte, log func(string, ...any)) ([]Figure, error) {
	sizes := []int{500, 5000, 50000}
	res := make([]*scaleResult, len(sizes))
	var figs []Figure
	for i, n := range sizes {
		// Best time of three (the machine is shared), the highest peak RSS.
		var r *scaleResult
		var rss int64
		for range 3 {
			x, err := runScale(ctx, tmp, key, n)
			if err != nil {
				return nil, err
			}
			rss = max(rss, x.PeakRSSKB)
			if r == nil || x.Seconds < r.Seconds {
				r = x
			}
		}
		r.PeakRSSKB = rss
		res[i] = r
		log("scale %d: %.3fs, %d allocs, peak RSS %d MB, %d requests", n, r.Seconds, r.Allocs, r.PeakRSSKB/1024, r.Requests)
		tgtT, metT := "none (comparison)", true
		tgtM, metM := "none (comparison)", true
		if n == 5000 {
			tgtT, metT = "< 1", r.Seconds < 1
			tgtM, metM = "< 200", float64(r.PeakRSSKB)/1024 < 200
		}
		pre := fmt.Sprintf("scale.%d", n)
		figs = append(figs,
			Figure{Name: pre + ".time", Value: round(r.Seconds), Unit: "s", Target: tgtT, Met: metT},
			Figure{Name: pre + ".peak_rss", Value: round(float64(r.PeakRSSKB) / 1024), Unit: "MB", Target: tgtM, Met: metM},
			info(pre+".allocs", float64(r.Allocs), "allocations"),
			info(pre+".alloc_bytes", round(float64(r.AllocBytes)/(1<<20)), "MB"),
			info(pre+".requests", float64(r.Requests), "requests"),
		)
	}
	// Close to linear: the cost per resource at 50,000 is within 1.5× of
	// its cost at 5,000.
	per := func(i int) float64 { return res[i].Seconds / float64(sizes[i]) }
	growth := per(2) / per(1)
	allocGrowth := (float64(res[2].Allocs) / float64(sizes[2])) / (float64(res[1].Allocs) / float64(sizes[1]))
	figs = append(figs,
		Figure{Name: "scale.time_per_resource_50000_vs_5000", Value: round(growth), Unit: "×", Target: "≤ 1.5 (close to linear)", Met: growth <= 1.5},
		Figure{Name: "scale.allocs_per_resource_50000_vs_5000", Value: round(allocGrowth), Unit: "×", Target: "≤ 1.5 (close to linear)", Met: allocGrowth <= 1.5},
	)
	return figs, nil
}
