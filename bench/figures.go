package main

import (
	"context"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/applinkctl/applinkctl/internal/apply"
	"github.com/applinkctl/applinkctl/internal/client"
	"github.com/applinkctl/applinkctl/internal/emulator"
	"github.com/applinkctl/applinkctl/internal/live"
	"github.com/applinkctl/applinkctl/internal/liveread"
	"github.com/applinkctl/applinkctl/internal/plan"
	"github.com/applinkctl/applinkctl/internal/secret"
)

// Figure is one measured or computed number of bench/results.json.
//
// A figure measured over several runs is their median: Runs, Min and Max
// then say how many runs and their spread. Met is null for a figure given
// only for comparison, which has no target to meet.
type Figure struct {
	Name   string   `json:"name"`
	Value  float64  `json:"value"`
	Unit   string   `json:"unit"`
	Runs   int      `json:"runs,omitempty"`
	Min    *float64 `json:"min,omitempty"`
	Max    *float64 `json:"max,omitempty"`
	Target string   `json:"target"`
	Met    *bool    `json:"met"`

	// check is the target, tested against the median once the runs are
	// aggregated; nil for a comparison.
	check func(float64) bool
	// timing marks a wall or CPU time (or a ratio of one), which varies
	// between runs: its spread is reported.
	timing bool
}

// comparison is the Target of a figure given only for comparison.
const comparison = "none (comparison)"

// info is a figure with no target of its own, given for comparison.
func info(name string, v float64, unit string) Figure {
	return Figure{Name: name, Value: v, Unit: unit, Target: comparison}
}

// goal is a figure held to target, which check tests.
func goal(name string, v float64, unit, target string, check func(float64) bool) Figure {
	return Figure{Name: name, Value: v, Unit: unit, Target: target, check: check}
}

// timed marks f as a timing figure (see Figure.timing).
func timed(f Figure) Figure {
	f.timing = true
	return f
}

// atMost and below are the usual checks.
func atMost(limit float64) func(float64) bool { return func(v float64) bool { return v <= limit } }
func below(limit float64) func(float64) bool  { return func(v float64) bool { return v < limit } }

// aggregate merges the figures of several runs by name, in the first
// run's order: the value is the median of the runs' (a run without the
// figure does not count), a timing figure gets its spread, and a target is
// tested against the median.
func aggregate(runs [][]Figure) []Figure {
	if len(runs) == 0 {
		return nil
	}
	values := map[string][]float64{}
	var order []Figure
	for _, run := range runs {
		for _, f := range run {
			if _, ok := values[f.Name]; !ok {
				order = append(order, f)
			}
			values[f.Name] = append(values[f.Name], f.Value)
		}
	}
	out := make([]Figure, 0, len(order))
	for _, f := range order {
		vs := values[f.Name]
		f.Value = round(median(vs))
		if f.timing {
			lo, hi := round(slices.Min(vs)), round(slices.Max(vs))
			f.Runs, f.Min, f.Max = len(vs), &lo, &hi
		}
		if f.check != nil {
			met := f.check(f.Value)
			f.Met = &met
		}
		out = append(out, f)
	}
	return out
}

// median of vs (not empty): the middle value, or the mean of the two
// middle ones.
func median(vs []float64) float64 {
	s := slices.Sorted(slices.Values(vs))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// round keeps figures readable: 3 significant decimals.
func round(v float64) float64 { return math.Round(v*1000) / 1000 }

// The figures of docs/performance.md share these settings.
const (
	latency      = 50 * time.Millisecond  // per request, figures 2, 3, 6
	provisioning = 500 * time.Millisecond // asynchronous work, figure 3
	// cliPoll is the Heroku CLI's polling interval (docs/api.md).
	cliPoll = 5 * time.Second
	// cliResolve is what each CLI command spends before its AppLink call:
	// 5 Platform requests (docs/api.md), in 2 dependent round trips
	// (4 in parallel, then the SSO call).
	cliResolveRequests = 5
	cliResolveTrips    = 2
	// oauthApproval is how soon the emulator approves a browser OAuth
	// flow, as a person who clicks at once would.
	oauthApproval = time.Millisecond
	// The account bucket of figure 6: Heroku's 4,500 requests an hour,
	// holding 10.
	rlPerMinute = 75
	rlBurst     = 10
	// client.Wait's defaults, quoted by the page.
	waitInitial = 250 * time.Millisecond
	waitMax     = 5 * time.Second
)

// pollDelays are the provisioning times of figure 4.
var pollDelays = []time.Duration{time.Second, 10 * time.Second, 60 * time.Second}

// nopObserver ignores apply's events.
type nopObserver struct{}

func (nopObserver) Event(apply.Event)  {}
func (nopObserver) Done(apply.Summary) {}

// applyRun is the outcome of one apply from empty.
type applyRun struct {
	parallelism int
	wall        time.Duration
	requests    int64
	summary     apply.Summary
	env         *env
}

// applyFromEmpty applies s against a fresh emulator with the figure-3
// settings and times apply.Apply alone (the read and diff before it are
// figure 1 and 2's subject). The env is returned open for reuse.
func applyFromEmpty(ctx context.Context, dir string, key []byte, s shape, par int, opts emulator.Options) (*applyRun, error) {
	path, err := writeFleet(dir, s, key)
	if err != nil {
		return nil, err
	}
	m, err := loadFleet(path)
	if err != nil {
		return nil, err
	}
	e, err := newEnv(ctx, dir, m, opts)
	if err != nil {
		return nil, err
	}
	w, links, err := liveread.Read(ctx, e.p, m, par)
	if err != nil {
		e.close()
		return nil, err
	}
	p, err := plan.Diff(m, w, e.store.Snapshot(), plan.Options{})
	if err != nil {
		e.close()
		return nil, err
	}
	before := e.p.Requests()
	start := time.Now()
	sum, err := apply.Apply(ctx, p, links, e.store, nopObserver{}, apply.Options{Parallelism: par, WaitForBrowser: true})
	wall := time.Since(start)
	if err != nil {
		e.close()
		return nil, fmt.Errorf("apply at parallelism %d: %w", par, err)
	}
	if sum.Created != s.resources() {
		e.close()
		return nil, fmt.Errorf("apply at parallelism %d: created %d of %d: %w", par, sum.Created, s.resources(), errNotConverged)
	}
	return &applyRun{parallelism: par, wall: wall, requests: e.p.Requests() - before, summary: sum, env: e}, nil
}

// criticalPath is figure 3's bound for an apply from empty: the longest
// chain of dependent round trips and provisioning delays. Each
// asynchronous create costs its POST, the provisioning delay, and one GET
// that sees it ready; a publication costs its POST and the read-back of its
// id; a child starts once its parent is ready.
func criticalPath(s shape, rt, delay time.Duration) time.Duration {
	async := 2*rt + delay
	chain := time.Duration(0)
	if s.Auths > 0 {
		chain = max(chain, async)
	}
	if s.Salesforce > 0 {
		c := async
		if s.PubsPerSF > 0 {
			c += 2 * rt
		}
		chain = max(chain, c)
	}
	if s.DataCloud > 0 {
		c := async
		if s.TargetsPerDC > 0 {
			c += async
		}
		chain = max(chain, c)
	}
	return chain
}

// targetWaveFloor is a lower bound tighter than the critical path at
// parallelism par: the Data Cloud connections' targets can only be posted
// once their connection is ready, through par slots, so in ⌈targets/par⌉
// waves of a round trip each, of which the critical path counts one.
func targetWaveFloor(s shape, rt, delay time.Duration, par int) time.Duration {
	bound := criticalPath(s, rt, delay)
	targets := s.Apps * s.DataCloud * s.TargetsPerDC
	if targets == 0 {
		return bound
	}
	waves := (targets + par - 1) / par
	return bound + time.Duration(waves-1)*rt
}

// slotWork is the least total time that changes occupy a parallelism slot
// (the engine holds a slot while a change waits for its resource), so
// slotWork/P is a second lower bound at parallelism P.
func slotWork(s shape, rt, delay time.Duration) time.Duration {
	pa := s.perApp()
	async := pa.Connections + pa.Authorizations + pa.Targets
	return time.Duration(s.Apps) * (time.Duration(async)*(2*rt+delay) + time.Duration(pa.Publications)*2*rt)
}

// cliApplyModel is the Heroku CLI sequence for the same creates, one command
// at a time: each resolves the app again (5 requests, 2 round trips), posts,
// and for asynchronous resources polls every 5 s (the first poll 5 s after
// the POST) until ready. It returns the modelled time and requests.
func cliApplyModel(s shape, rt, delay time.Duration) (time.Duration, int) {
	pa := s.perApp()
	async := s.Apps * (pa.Connections + pa.Authorizations + pa.Targets)
	pubs := s.Apps * pa.Publications
	polls := int(math.Ceil(float64(delay) / float64(cliPoll)))
	if polls < 1 {
		polls = 1
	}
	perAsync := time.Duration(cliResolveTrips+1)*rt + time.Duration(polls)*(cliPoll+rt)
	perPub := time.Duration(cliResolveTrips+1) * rt
	t := time.Duration(async)*perAsync + time.Duration(pubs)*perPub
	reqs := (async + pubs) * (cliResolveRequests + 1)
	reqs += async * polls
	return t, reqs
}

// figure3 applies the fleet of docs/performance.md from empty at each
// parallelism, runs times, and returns its figures and the last run's env
// (applied, open) for figures 1 and 2.
func figure3(ctx context.Context, tmp string, key []byte, runs int, log func(string, ...any)) ([]Figure, *env, error) {
	opts := emulator.Options{
		Latency:            latency,
		AsyncDelay:         map[string]time.Duration{emulator.KindConnection: provisioning, emulator.KindAuthorization: provisioning, emulator.KindTarget: provisioning},
		ApproveOAuthAfter:  oauthApproval,
		RateLimitPerMinute: unlimited, RateLimitBurst: unlimited,
	}
	s := issueFleet
	bound := criticalPath(s, latency, provisioning)
	work := slotWork(s, latency, provisioning)
	var all [][]Figure
	var last *env
	for run := range runs {
		var figs []Figure
		for _, par := range []int{4, 8, 16} {
			dir := filepath.Join(tmp, fmt.Sprintf("apply-r%d-p%d", run, par))
			r, err := applyFromEmpty(ctx, dir, key, s, par, opts)
			if err != nil {
				if last != nil {
					last.close()
				}
				return nil, nil, err
			}
			slotBound := max(bound, work/time.Duration(par))
			log("apply run %d p=%d: %v (%d requests), critical path %v, slot bound %v", run+1, par, r.wall.Round(time.Millisecond), r.requests, bound, slotBound)
			ratio := r.wall.Seconds() / bound.Seconds()
			name := fmt.Sprintf("apply_from_empty.p%d.", par)
			ratioFig := info(name+"ratio_to_critical_path", ratio, "×")
			if par == 16 {
				ratioFig = goal(ratioFig.Name, ratio, "×", "≤ 1.2", atMost(1.2))
			}
			figs = append(figs,
				timed(info(name+"wall", r.wall.Seconds(), "s")),
				timed(ratioFig),
				timed(info(name+"ratio_to_slot_bound", r.wall.Seconds()/slotBound.Seconds(), "×")),
				info(name+"requests", float64(r.requests), "requests"),
				info(name+"target_wave_floor_ratio", round(targetWaveFloor(s, latency, provisioning, par).Seconds()/bound.Seconds()), "×"),
			)
			if last != nil {
				last.close()
			}
			last = r.env
		}
		all = append(all, figs)
	}
	cliT, cliReqs := cliApplyModel(s, latency, provisioning)
	figs := append(aggregate(all),
		info("apply_from_empty.critical_path_bound", round(bound.Seconds()), "s"),
		info("apply_from_empty.slot_work", round(work.Seconds()), "slot·s"),
		info("apply_from_empty.cli_sequence_model.wall", round(cliT.Seconds()), "s"),
		info("apply_from_empty.cli_sequence_model.requests", float64(cliReqs), "requests"),
	)
	return figs, last, nil
}

// route classes of the emulator's request counts.
func isPlatform(route string) bool { return strings.HasPrefix(route, "GET /apps/") }

// figure1and2 plans the applied fleet of e: no change expected. Figure 1 is
// its requests by route against the budget and the two comparisons;
// figure 2 its wall time at several parallelisms, runs times each, against
// the bound of dependent round trips.
func figure1and2(ctx context.Context, e *env, s shape, runs int, log func(string, ...any)) ([]Figure, error) {
	noop := func(par int) (time.Duration, map[string]int, error) {
		e.srv.Emulator.ResetRequests()
		start := time.Now()
		w, _, err := liveread.Read(ctx, e.p, e.m, par)
		if err != nil {
			return 0, nil, err
		}
		p, err := plan.Diff(e.m, w, e.store.Snapshot(), plan.Options{})
		if err != nil {
			return 0, nil, err
		}
		wall := time.Since(start)
		if p.HasChanges() {
			return 0, nil, fmt.Errorf("no-op plan at parallelism %d has changes: %w", par, errNotConverged)
		}
		return wall, e.srv.Emulator.Requests(), nil
	}
	_, reqs, err := noop(4)
	if err != nil {
		return nil, err
	}
	routes := slices.Sorted(maps.Keys(reqs))
	platform, applink, lists, single := 0, 0, 0, 0
	for _, r := range routes {
		log("  %-70s %5d", r, reqs[r])
		n := reqs[r]
		switch {
		case isPlatform(r):
			platform += n
		case strings.HasSuffix(r, "/connections") || strings.HasSuffix(r, "/authorizations"):
			applink += n
			lists += n
		case strings.HasPrefix(r, "GET /addons/"):
			applink += n
			if strings.HasSuffix(r, "/data_action_targets") || strings.Contains(r, "/apps/") {
				continue
			}
			single += n
		default:
			applink += n
			single += n
		}
	}
	var sso int
	for _, r := range routes {
		if isPlatform(r) && strings.HasSuffix(r, "/sso") {
			sso += reqs[r]
		}
	}
	children := applink - lists - single
	total := platform + applink
	apps := s.Apps
	connsWithChildren := apps * s.connsWithChildren()
	// (a) one GET per resource after the same resolution; publications
	// have no single GET, so each costs the list of its connection.
	perResource := platform + s.resources()
	// (b) the CLI: one command per read our plan makes (a list per add-on
	// kind, a list per connection with children), each resolving the app
	// again with 5 Platform requests.
	cliCommands := lists + children
	cliModel := cliCommands * (cliResolveRequests + 1)
	figs := []Figure{
		goal("noop_plan.platform_requests_per_app", round(float64(platform)/float64(apps)), "requests/app", "≤ 4", atMost(4)),
		info("noop_plan.platform_sso_per_app", round(float64(sso)/float64(apps)), "requests/app"),
		goal("noop_plan.list_calls_per_addon", round(float64(lists)/float64(apps)), "requests/add-on", "≤ 2", atMost(2)),
		goal("noop_plan.child_calls_per_connection_with_children", round(float64(children)/float64(connsWithChildren)), "requests/connection", "≤ 1", atMost(1)),
		goal("noop_plan.single_resource_gets", float64(single), "requests", "0", atMost(0)),
		info("noop_plan.requests_total", float64(total), "requests"),
		info("noop_plan.model_one_get_per_resource", float64(perResource), "requests"),
		info("noop_plan.model_heroku_cli_sequence", float64(cliModel), "requests"),
	}
	for _, r := range routes {
		figs = append(figs, info("noop_plan.route "+r, float64(reqs[r]), "requests"))
	}
	figs = aggregate([][]Figure{figs}) // the targets, tested

	// Figure 2: dependent round trips of a no-op plan: the parallel
	// resolution GETs, the SSO call, the lists, the per-connection children.
	const trips = 4
	bound := time.Duration(trips) * latency
	var timings [][]Figure
	for range runs {
		var run []Figure
		for _, par := range []int{4, 16, 64} {
			wall, _, err := noop(par)
			if err != nil {
				return nil, err
			}
			ratio := wall.Seconds() / bound.Seconds()
			log("no-op plan p=%d: %v, bound %v", par, wall.Round(time.Millisecond), bound)
			// The target is for plan as users run it: reads at the default
			// bound. Lower bounds are throttles a user chooses to spare a
			// shared rate limit (plan --parallelism N), shown for comparison.
			ratioFig := info(fmt.Sprintf("noop_plan.p%d.ratio_to_round_trip_bound", par), ratio, "×")
			if par == live.DefaultReadConcurrency {
				ratioFig = goal(ratioFig.Name, ratio, "×", "≤ 1.5", atMost(1.5))
			}
			run = append(run, timed(info(fmt.Sprintf("noop_plan.p%d.wall", par), wall.Seconds(), "s")), timed(ratioFig))
		}
		timings = append(timings, run)
	}
	figs = append(figs, aggregate(timings)...)
	for _, par := range []int{4, 16, 64} {
		// The best this parallelism allows with the read's three barriers.
		ceil := func(n int) int { return (n + par - 1) / par }
		parBound := time.Duration(2*ceil(apps)+ceil(2*apps)+ceil(connsWithChildren)) * latency
		figs = append(figs, info(fmt.Sprintf("noop_plan.p%d.barrier_bound", par), round(parBound.Seconds()), "s"))
	}
	figs = append(figs, info("noop_plan.round_trip_bound", round(bound.Seconds()), "s"))
	return figs, nil
}

// figure4 measures one provisioning time d: a JWT connection created with
// the emulator's AsyncDelay d, then polled with client.Wait's defaults.
func figure4(ctx context.Context, key []byte, d time.Duration, log func(string, ...any)) ([]Figure, error) {
	srv, err := emulator.Start(emulator.Options{
		Latency:            latency,
		AsyncDelay:         map[string]time.Duration{emulator.KindConnection: d},
		RateLimitPerMinute: unlimited, RateLimitBurst: unlimited,
	})
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	if _, err := srv.Emulator.SeedApp("poll-app", 1); err != nil {
		return nil, err
	}
	p, err := client.New(client.Config{BaseURL: srv.URL, APIKey: secret.New(srv.APIKey)})
	if err != nil {
		return nil, err
	}
	link, err := p.Resolve(ctx, "poll-app", "")
	if err != nil {
		return nil, err
	}
	c, err := link.CreateJWTConnection(ctx, client.JWTRequest{Name: "poll_conn", ClientID: "3MVG9benchConsumerKey",
		Username: "api.user@bench.example", PrivateKey: secret.New(string(key))})
	if err != nil {
		return nil, err
	}
	// The emulator starts the clock when it creates the connection (its
	// created_at, same process, same clock); readiness is d after that.
	// Without created_at, the answer's arrival is the closest estimate.
	created := c.CreatedAt.Time
	if created.IsZero() {
		created = time.Now()
	}
	ready := created.Add(d)
	polls := 0
	var seen []string
	got, err := client.Wait(ctx, func(ctx context.Context) (*client.Connection, error) {
		polls++
		v, err := link.GetConnection(ctx, c.ID)
		if err == nil {
			seen = append(seen, fmt.Sprintf("%.2fs %s", time.Since(created).Seconds(), v.Status))
		}
		return v, err
	}, func(c *client.Connection) string { return c.Status }, client.ConnectionTerminal, client.WaitOptions{})
	detected := time.Now()
	if err != nil {
		return nil, err
	}
	log("polling %v: answers after creation: %s", d, strings.Join(seen, ", "))
	if got.Status != client.StatusConnected {
		return nil, fmt.Errorf("poll %v: status %s: %w", d, got.Status, errNotConverged)
	}
	delay := max(detected.Sub(ready), 0)
	allowed := d/5 + 250*time.Millisecond
	// A geometric schedule that just meets the delay target (each interval
	// 20 % of the time waited, from 250 ms) needs this many polls: the
	// logarithmic budget the polls are held to.
	logBudget := 1 + int(math.Ceil(math.Log(float64(d)/float64(250*time.Millisecond))/math.Log(1.2)))
	name := fmt.Sprintf("polling.%gs", d.Seconds())
	return []Figure{
		timed(goal(name+".detection_delay", delay.Seconds(), "s", fmt.Sprintf("≤ %gs (20%% + 250 ms)", allowed.Seconds()), atMost(allowed.Seconds()))),
		goal(name+".polls", float64(polls), "polls", fmt.Sprintf("≤ %d (log budget)", logBudget), atMost(float64(logBudget))),
	}, nil
}

// figure6 applies a fleet of s from empty (read, diff, apply: what one
// `applinkctl apply` sends) against an emulator bucket of perMin requests a
// minute holding burst, and compares the time with the bucket's floor.
func figure6(ctx context.Context, dir string, key []byte, s shape, perMin, burst int, log func(string, ...any)) ([]Figure, error) {
	path, err := writeFleet(dir, s, key)
	if err != nil {
		return nil, err
	}
	m, err := loadFleet(path)
	if err != nil {
		return nil, err
	}
	e, err := newEnv(ctx, dir, m, emulator.Options{
		Latency:            latency,
		AsyncDelay:         map[string]time.Duration{emulator.KindConnection: provisioning, emulator.KindAuthorization: provisioning, emulator.KindTarget: provisioning},
		ApproveOAuthAfter:  oauthApproval,
		RateLimitPerMinute: perMin, RateLimitBurst: burst,
	})
	if err != nil {
		return nil, err
	}
	defer e.close()
	start := time.Now()
	userErrors := 0
	w, links, err := liveread.Read(ctx, e.p, m, 4)
	if err != nil {
		return nil, fmt.Errorf("rate limit: read: %w", err)
	}
	p, err := plan.Diff(m, w, e.store.Snapshot(), plan.Options{})
	if err != nil {
		return nil, err
	}
	sum, err := apply.Apply(ctx, p, links, e.store, nopObserver{}, apply.Options{WaitForBrowser: true})
	wall := time.Since(start)
	if err != nil {
		userErrors++
		fmt.Fprintf(os.Stderr, "rate limit: apply: %v\n", err)
	}
	userErrors += sum.Failed
	answered := e.statuses.responses.Load()
	limited := e.statuses.tooMany.Load()
	admitted := answered - limited
	floor := time.Duration(float64(max(admitted-int64(burst), 0)) / float64(perMin) * float64(time.Minute))
	ratio := wall.Seconds() / floor.Seconds()
	// What the whole fleet of docs/performance.md would need, scaled from this
	// one by apps.
	fullReqs := float64(admitted) * float64(issueFleet.Apps) / float64(s.Apps)
	fullFloor := time.Duration(max(fullReqs-float64(burst), 0) / float64(perMin) * float64(time.Minute))
	log("rate limit: %d apps, %v, %d requests admitted, %d answered 429 and retried, floor %v", s.Apps, wall.Round(time.Millisecond), admitted, limited, floor.Round(time.Millisecond))
	return []Figure{
		goal("rate_limit.errors_reaching_user", float64(userErrors), "errors", "0", atMost(0)),
		info("rate_limit.429_answers_absorbed", float64(limited), "answers"),
		info("rate_limit.requests_admitted", float64(admitted), "requests"),
		timed(info("rate_limit.wall", wall.Seconds(), "s")),
		info("rate_limit.bucket_floor", round(floor.Seconds()), "s"),
		timed(goal("rate_limit.ratio_to_floor", ratio, "×", "≤ 1.25", atMost(1.25))),
		info("rate_limit.fleet_apps", float64(s.Apps), "apps"),
		info("rate_limit.full_fleet_requests_estimate", round(fullReqs), "requests"),
		info("rate_limit.full_fleet_floor_estimate", round(fullFloor.Seconds()), "s"),
	}, nil
}
