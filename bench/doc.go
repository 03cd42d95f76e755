// Command bench measures the figures of docs/performance.md (`make bench`):
// the request budget and wall time of a no-op plan, apply from empty
// against the critical-path bound, polling efficiency, scale, and behaviour
// under the account's rate limit; and the cost of big valid input (a 10 MB
// manifest, a 10 MB spec) to the applinkctl binary. Everything runs against
// the in-process emulator on loopback with injected latency, so the figures
// are repeatable on any machine and touch no Heroku account.
//
// Each timing figure is the median of several runs (-runs, $BENCH_RUNS, 5
// by default) with its spread. The run writes bench/results.json, then
// renders docs/performance.md from it and performance.md.tmpl (report.go):
// every figure on the page, in its table and in its prose, comes from that
// file, and the settings of the run (latencies, delays, limits) from this
// package's constants; none is written by hand. `-render` regenerates the
// page from the committed results alone, which is what the tests check.
package main
