package apply

import (
	"sync"
	"time"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/manifest"
)

// readiness learns, within one run, how long resources of one class (a
// kind, with its type and method: a Data Cloud OAuth connection, a
// Salesforce JWT authorization, a target) take to be ready after their
// creating request was answered, so that the waits of the others poll when
// they are likely to be ready rather than on the schedule alone.
//
// Each settled wait tells it an interval: its last poll that found the
// resource still provisioning and its first that found it settled, both
// timed from the creating request's answer. Over the last readinessWindow
// settled waits of a class, the latest "still provisioning" (lo) and the
// earliest "settled" (hi) bound the provisioning time if it is the same for
// all of them (lo < hi). The next waits of the class then poll at hi, where
// every one of those resources was ready, and, while the bounds are more
// than readinessStep apart, also halfway between them, which narrows them
// for the waits after. When the intervals disagree (lo ≥ hi: the time
// varies more than the polls can tell apart), it proposes nothing until
// the disagreeing ones have left the window.
//
// It only ever adds polls to client.Wait's schedule (see client.Ahead), at
// most two a wait, so readiness is never seen later than without it. On
// the emulator, where provisioning takes a fixed time, the waits that
// follow the first few see their resource ready within a few
// milliseconds; against the real API, whose times vary, it costs at most
// those two polls a wait (docs/apply.md, "Polling learns within a run").
type readiness struct {
	mu      sync.Mutex
	classes map[string]*settledWaits
}

const (
	// readinessWindow is how many of a class's latest settled waits
	// bound its provisioning time.
	readinessWindow = 16
	// readinessStep is the narrowest bounds worth halving: closer polls
	// would tell apart less than the jitter of one round trip.
	readinessStep = 5 * time.Millisecond
)

// settledWaits is a ring of a class's latest settled waits.
type settledWaits struct {
	lo, hi [readinessWindow]time.Duration
	n      int // waits recorded, at most readinessWindow
	next   int // where the next one goes
}

// bounds returns the latest "still provisioning" and the earliest
// "settled" over the window; ok is false before any wait settled.
func (s *settledWaits) bounds() (lo, hi time.Duration, ok bool) {
	if s == nil || s.n == 0 {
		return 0, 0, false
	}
	lo, hi = s.lo[0], s.hi[0]
	for i := 1; i < s.n; i++ {
		lo, hi = max(lo, s.lo[i]), min(hi, s.hi[i])
	}
	return lo, hi, true
}

// settled records one wait of class: its last poll that found the
// resource provisioning (lo) and its first that found it settled (hi).
func (r *readiness) settled(class string, lo, hi time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.classes == nil {
		r.classes = map[string]*settledWaits{}
	}
	s := r.classes[class]
	if s == nil {
		s = &settledWaits{}
		r.classes[class] = s
	}
	s.lo[s.next], s.hi[s.next] = lo, hi
	s.next = (s.next + 1) % readinessWindow
	s.n = min(s.n+1, readinessWindow)
}

// next is the poll the class's bounds propose after last, before
// scheduled; scheduled itself when they propose none.
func (r *readiness) next(class string, last, scheduled time.Duration) time.Duration {
	r.mu.Lock()
	lo, hi, ok := r.classes[class].bounds()
	r.mu.Unlock()
	if !ok || lo >= hi {
		return scheduled
	}
	if mid := lo + (hi-lo)/2; hi-lo > readinessStep && mid > last && mid < scheduled {
		return mid
	}
	if hi > last && hi < scheduled {
		return hi
	}
	return scheduled
}

// waitAhead is one wait's client.Ahead: it keeps the wait's interval and
// gives it to its class's readiness once the resource settled.
type waitAhead struct {
	r        *readiness
	class    string
	provLast time.Duration // the last poll that found it provisioning
	added    int           // polls brought forward so far, at most maxAdded
}

// maxAdded bounds the polls one wait makes on top of its schedule, however
// the bounds move while it waits.
const maxAdded = 2

func (w *waitAhead) Polled(at time.Duration, terminal bool) {
	if !terminal {
		w.provLast = max(w.provLast, at)
		return
	}
	w.r.settled(w.class, w.provLast, at)
}

func (w *waitAhead) Next(last, scheduled time.Duration) time.Duration {
	if w.added >= maxAdded {
		return scheduled
	}
	at := w.r.next(w.class, last, scheduled)
	if at > last && at < scheduled {
		w.added++
	}
	return at
}

// createClass is the readiness class of a connection or authorization
// create: its kind, org type and method.
func createClass(kind addr.Kind, org manifest.OrgType, browser bool) string {
	method := "jwt"
	if browser {
		method = "oauth"
	}
	return string(kind) + " " + string(org) + " " + method
}
