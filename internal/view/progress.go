package view

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/apply"
	"github.com/applinkctl/applinkctl/internal/plan"
)

// NewProgress returns the observer the apply command shows people. On a
// terminal (tty) it keeps one live line per running resource (action,
// current status, elapsed time) redrawn in place with ANSI escapes, and
// moves each line into the scrolling log once its resource finishes, so the
// redrawn region stays as small as the parallelism. Elsewhere (CI logs,
// pipes) it writes one timestamped line per event, which greps and diffs
// well. Either way it ends with RenderSummary.
func NewProgress(w io.Writer, tty bool, opts Options) apply.Observer {
	if !tty {
		return &plainProgress{w: w, opts: opts}
	}
	width := 0
	if f, ok := w.(*os.File); ok {
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil {
			width = cols
		}
	}
	return &liveProgress{w: w, opts: opts, width: width, rows: map[addr.Address]*liveRow{}}
}

// liveTick is how often the live view refreshes elapsed times between
// events: a resource can wait minutes without a new status.
const liveTick = time.Second

// eventTime is when an event happened: the engine's stamp, else the clock.
func eventTime(ev apply.Event, opts Options) time.Time {
	if !ev.Time.IsZero() {
		return ev.Time
	}
	return opts.now()
}

// elapsed formats a duration the way people read it in a log: 1.2s, 2m3.4s.
func elapsed(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	return d.Round(100 * time.Millisecond).String()
}

// eventText is what happened, without address or time: "connecting (1.2s)",
// "failed: org_connection_failed (3s)".
func eventText(ev apply.Event) string {
	s := eventBody(ev)
	switch ev.Type {
	case apply.EventStarted, apply.EventSkipped:
		return s // nothing has elapsed: the change did not run (yet)
	case apply.EventDone:
		if ev.DryRun && ev.Status != "" && !strings.Contains(s, ev.Status) {
			// The live status the rehearsal read, named as one: a bare
			// "created" before "would create again" would read as a deed.
			return s + " (status " + ev.Status + ", " + elapsed(ev.Elapsed) + ")"
		}
	}
	return s + " (" + elapsed(ev.Elapsed) + ")"
}

// eventBody is eventText without the elapsed time.
func eventBody(ev apply.Event) string {
	var s string
	switch ev.Type {
	case apply.EventStarted:
		s = "started"
		if ev.DryRun {
			// A rehearsal reads and decides; nothing starts that changes.
			s = "checking"
		}
	case apply.EventStatus:
		s = ev.Status
		if s == "" {
			s = "waiting"
		}
	case apply.EventWaitingOnBrowser:
		s = "waiting for a person to approve in a browser: " + ev.RedirectURI
	case apply.EventDone:
		if ev.DryRun {
			// What the run would do ("would create"), never "done", which
			// reads as if it had.
			s = dryRunNote(ev)
			break
		}
		s = "done"
		if ev.Status != "" {
			s = ev.Status + ", done"
		}
		if ev.Message != "" {
			s += ": " + ev.Message
		}
	case apply.EventFailed:
		s = "failed"
		if ev.Message != "" {
			s += ": " + ev.Message
		}
	case apply.EventSkipped:
		s = "skipped"
		if m := strings.TrimPrefix(ev.Message, "skipped: "); m != "" {
			s += ": " + m
		}
	case apply.EventPending:
		s = "still pending"
		var in []string
		if ev.Status != "" {
			in = append(in, "status "+ev.Status)
		}
		if ev.RemoteID != "" {
			in = append(in, "id "+ev.RemoteID)
		}
		if len(in) > 0 {
			s += " (" + strings.Join(in, ", ") + ")"
		}
		if ev.Message != "" {
			s += ": " + ev.Message
		}
	default:
		s = string(ev.Type)
		if ev.Message != "" {
			s += ": " + ev.Message
		}
	}
	return s
}

// dryRunNote is what a dry run found a change would do: the engine's note
// ("would create", "unchanged"); eventText adds the live status it read.
func dryRunNote(ev apply.Event) string {
	if ev.Message == "" {
		return "nothing to do"
	}
	return ev.Message
}

// actionLabel is the action as shown in progress lines, marked in a dry run
// so no one mistakes a rehearsal log for a real one.
func actionLabel(ev apply.Event) string {
	a := string(ev.Action)
	if a == "" {
		a = string(plan.Noop)
	}
	if ev.DryRun {
		a += " (dry run)"
	}
	return a
}

func eventColor(t apply.EventType) string {
	switch t {
	case apply.EventDone:
		return ansiGreen
	case apply.EventFailed:
		return ansiRed
	case apply.EventSkipped, apply.EventPending, apply.EventWaitingOnBrowser:
		return ansiYellow
	}
	return ""
}

// plainProgress writes "2026-01-02T15:04:05Z ADDR ACTION: TEXT" lines.
type plainProgress struct {
	w    io.Writer
	opts Options
}

func (p *plainProgress) Event(ev apply.Event) {
	ts := eventTime(ev, p.opts).UTC().Format(time.RFC3339)
	fmt.Fprintf(p.w, "%s %s %s: %s\n", ts, ev.Address, actionLabel(ev),
		paint(p.opts.Color, eventColor(ev.Type), eventText(ev)))
}

func (p *plainProgress) Done(s apply.Summary) { RenderSummary(p.w, s, p.opts) }

// liveRow is one running resource in the live view.
type liveRow struct {
	addr   addr.Address
	action string
	text   string
	start  time.Time // when the change started, from the first event's Time − Elapsed
	order  int
}

// liveProgress is the terminal view: finished lines scroll, running lines
// are redrawn below them.
type liveProgress struct {
	// mu serializes the engine's calls with the refresh ticker.
	mu    sync.Mutex
	stop  chan struct{} // closed by Done; nil until the ticker starts
	w     io.Writer
	opts  Options
	width int // terminal columns, 0 when unknown: rows are not cut
	rows  map[addr.Address]*liveRow
	next  int
	drawn int // lines of the live region currently on screen
}

func (p *liveProgress) Event(ev apply.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.startTicker()
	now := eventTime(ev, p.opts)
	var permanent []string
	switch ev.Type {
	case apply.EventDone, apply.EventFailed, apply.EventSkipped, apply.EventPending:
		delete(p.rows, ev.Address)
		permanent = append(permanent, p.finalLine(ev))
	case apply.EventWaitingOnBrowser:
		// The URL must stay on screen until the person acts, so it goes to
		// the scrolling log as well as to the row.
		permanent = append(permanent, fmt.Sprintf("%s %s: open %s to authorize it", ev.Address, actionLabel(ev), ev.RedirectURI))
		fallthrough
	default:
		r := p.rows[ev.Address]
		if r == nil {
			r = &liveRow{addr: ev.Address, start: now.Add(-ev.Elapsed), order: p.next}
			p.next++
			p.rows[ev.Address] = r
		}
		r.action = actionLabel(ev)
		r.text = eventBody(ev) // elapsed is recomputed at every redraw
		if ev.Type == apply.EventWaitingOnBrowser {
			r.text = "waiting for browser approval"
		}
	}
	p.redraw(permanent, now)
}

func (p *liveProgress) finalLine(ev apply.Event) string {
	mark := map[apply.EventType]string{
		apply.EventDone: "✓", apply.EventFailed: "✗", apply.EventSkipped: "-", apply.EventPending: "…",
	}[ev.Type]
	line := fmt.Sprintf("%s %s %s: %s", mark, ev.Address, actionLabel(ev), eventText(ev))
	return paint(p.opts.Color, eventColor(ev.Type), p.cut(line))
}

// redraw erases the live region, prints the new permanent lines, and draws
// the running rows again in the order they started.
func (p *liveProgress) redraw(permanent []string, now time.Time) {
	var b strings.Builder
	if p.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA\x1b[J", p.drawn)
	}
	for _, l := range permanent {
		b.WriteString(l + "\n")
	}
	rows := make([]*liveRow, 0, len(p.rows))
	for _, r := range p.rows {
		rows = append(rows, r)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].order < rows[j].order })
	for _, r := range rows {
		line := fmt.Sprintf("%s %s %s: %s (%s)", "⋯", r.addr, r.action, r.text, elapsed(now.Sub(r.start)))
		b.WriteString(paint(p.opts.Color, ansiCyan, p.cut(line)) + "\n")
	}
	p.drawn = len(rows)
	_, _ = io.WriteString(p.w, b.String())
}

// cut keeps a line within the terminal width: a wrapped line would make the
// cursor-up count wrong and smear the live region.
func (p *liveProgress) cut(s string) string {
	if p.width <= 1 {
		return s
	}
	r := []rune(s)
	if len(r) < p.width {
		return s
	}
	return string(r[:p.width-2]) + "…"
}

// startTicker starts, once, the goroutine that redraws the running rows so
// their elapsed times move; Done stops it. A fake clock (Options.Now) never
// advances by itself, so with one there is nothing to refresh and no ticker.
func (p *liveProgress) startTicker() {
	if p.stop != nil || p.opts.Now != nil {
		return
	}
	p.stop = make(chan struct{})
	stop := p.stop
	go func() {
		t := time.NewTicker(liveTick)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				p.mu.Lock()
				if len(p.rows) > 0 {
					p.redraw(nil, p.opts.now())
				}
				p.mu.Unlock()
			}
		}
	}()
}

func (p *liveProgress) Done(s apply.Summary) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stop != nil {
		close(p.stop)
		p.stop = nil
	}
	if p.drawn > 0 {
		fmt.Fprintf(p.w, "\x1b[%dA\x1b[J", p.drawn)
		p.drawn = 0
	}
	p.rows = map[addr.Address]*liveRow{}
	RenderSummary(p.w, s, p.opts)
}

// RenderSummary writes the end of an apply: a headline with every count and
// the wall time ("Apply complete: 3 created, … in 4.2s."), then the root
// causes of failure and the resources still pending with their ids, which a
// later run resumes.
func RenderSummary(w io.Writer, s apply.Summary, opts Options) {
	var b strings.Builder
	head, col := "Apply complete", ansiGreen
	switch {
	case s.Interrupted:
		head, col = "Apply interrupted", ansiYellow
	case s.Failed > 0:
		head, col = "Apply failed", ansiRed
	case s.Pending > 0:
		head, col = "Apply incomplete", ansiYellow
	}
	parts := []string{
		fmt.Sprintf("%d created", s.Created), fmt.Sprintf("%d replaced", s.Replaced),
		fmt.Sprintf("%d republished", s.Republished), fmt.Sprintf("%d deleted", s.Deleted),
		fmt.Sprintf("%d adopted", s.Adopted), fmt.Sprintf("%d unchanged", s.Unchanged),
	}
	if s.DryRun {
		// Nothing was created or deleted: say what would have been, in
		// the plan's words.
		head = strings.Replace(head, "Apply", "Dry run", 1) + " (nothing was changed)"
		parts = []string{
			fmt.Sprintf("would create %d", s.Created), fmt.Sprintf("replace %d", s.Replaced),
			fmt.Sprintf("republish %d", s.Republished), fmt.Sprintf("delete %d", s.Deleted),
			fmt.Sprintf("adopt %d", s.Adopted), fmt.Sprintf("leave %d unchanged", s.Unchanged),
		}
	}
	if s.Failed > 0 {
		parts = append(parts, fmt.Sprintf("%d failed", s.Failed))
	}
	if s.Skipped > 0 {
		parts = append(parts, fmt.Sprintf("%d skipped", s.Skipped))
	}
	if s.Pending > 0 {
		parts = append(parts, fmt.Sprintf("%d still pending", s.Pending))
	}
	b.WriteString(paint(opts.Color, col, head+":") + " " + strings.Join(parts, ", ") + " in " + elapsed(s.Wall) + ".\n")
	if len(s.RootCauses) > 0 {
		b.WriteString("\nFailed:\n")
		for _, f := range sortedFailures(s.RootCauses) {
			line := "  " + string(f.Address)
			if f.Message != "" {
				line += ": " + f.Message
			}
			b.WriteString(paint(opts.Color, ansiRed, line) + "\n")
		}
	}
	if len(s.StillPending) > 0 {
		b.WriteString("\nStill pending (the next plan or apply resumes waiting on them):\n")
		for _, f := range sortedFailures(s.StillPending) {
			line := "  " + string(f.Address)
			var in []string
			if f.RemoteID != "" {
				in = append(in, "id "+f.RemoteID)
			}
			if f.Status != "" {
				in = append(in, "status "+f.Status)
			}
			if len(in) > 0 {
				line += " (" + strings.Join(in, ", ") + ")"
			}
			if f.Message != "" {
				line += ": " + f.Message
			}
			b.WriteString(line + "\n")
		}
	}
	_, _ = io.WriteString(w, b.String())
}

func sortedFailures(fs []apply.Failure) []apply.Failure {
	out := append([]apply.Failure(nil), fs...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Address < out[j].Address })
	return out
}

// NewJSONEvents returns the observer of `apply --format json`: one JSON
// object per line per event, then one of type "summary". The wire structs
// are this package's own (documented in docs/plan-format.md), so tools do
// not break when the engine's types change.
func NewJSONEvents(w io.Writer) apply.Observer { return &jsonEvents{w: w} }

type jsonEvents struct{ w io.Writer }

// jsonEvent is one apply event on the wire.
type jsonEvent struct {
	FormatVersion string `json:"format_version"`
	Type          string `json:"type"`
	Time          string `json:"time"`
	Address       string `json:"address"`
	Action        string `json:"action"`
	Status        string `json:"status"`
	RemoteID      string `json:"remote_id"`
	Message       string `json:"message"`
	RedirectURI   string `json:"redirect_uri"`
	ElapsedMS     int64  `json:"elapsed_ms"`
	DryRun        bool   `json:"dry_run"`
}

// jsonApplySummary is the last line of an apply's JSON event stream.
type jsonApplySummary struct {
	FormatVersion string            `json:"format_version"`
	Type          string            `json:"type"`
	Created       int               `json:"created"`
	Replaced      int               `json:"replaced"`
	Republished   int               `json:"republished"`
	Deleted       int               `json:"deleted"`
	Adopted       int               `json:"adopted"`
	Unchanged     int               `json:"unchanged"`
	Failed        int               `json:"failed"`
	Skipped       int               `json:"skipped"`
	Pending       int               `json:"pending"`
	WallMS        int64             `json:"wall_ms"`
	DryRun        bool              `json:"dry_run"`
	Interrupted   bool              `json:"interrupted"`
	RootCauses    []jsonFailureWire `json:"root_causes"`
	StillPending  []jsonFailureWire `json:"still_pending"`
}

type jsonFailureWire struct {
	Address  string `json:"address"`
	RemoteID string `json:"remote_id"`
	Status   string `json:"status"`
	Message  string `json:"message"`
}

func (j *jsonEvents) Event(ev apply.Event) {
	t := ""
	if !ev.Time.IsZero() {
		t = ev.Time.UTC().Format(time.RFC3339Nano)
	}
	j.line(jsonEvent{
		FormatVersion: FormatVersion,
		Type:          string(ev.Type),
		Time:          t,
		Address:       string(ev.Address),
		Action:        string(ev.Action),
		Status:        ev.Status,
		RemoteID:      ev.RemoteID,
		Message:       ev.Message,
		RedirectURI:   ev.RedirectURI,
		ElapsedMS:     ev.Elapsed.Milliseconds(),
		DryRun:        ev.DryRun,
	})
}

func (j *jsonEvents) Done(s apply.Summary) {
	j.line(jsonApplySummary{
		FormatVersion: FormatVersion,
		Type:          "summary",
		Created:       s.Created, Replaced: s.Replaced, Republished: s.Republished,
		Deleted: s.Deleted, Adopted: s.Adopted, Unchanged: s.Unchanged,
		Failed: s.Failed, Skipped: s.Skipped, Pending: s.Pending,
		WallMS:       s.Wall.Milliseconds(),
		DryRun:       s.DryRun,
		Interrupted:  s.Interrupted,
		RootCauses:   failuresWire(s.RootCauses),
		StillPending: failuresWire(s.StillPending),
	})
}

func failuresWire(fs []apply.Failure) []jsonFailureWire {
	out := []jsonFailureWire{}
	for _, f := range sortedFailures(fs) {
		out = append(out, jsonFailureWire{Address: string(f.Address), RemoteID: f.RemoteID, Status: f.Status, Message: f.Message})
	}
	return out
}

func (j *jsonEvents) line(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		return // the wire structs hold only strings, numbers and bools
	}
	_, _ = j.w.Write(append(b, '\n'))
}
