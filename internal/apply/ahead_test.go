package apply

import (
	"testing"
	"time"
)

// TestReadinessProposesPollsWhereTheClassWasReady checks the bounds
// readiness draws from settled waits: nothing before one settled; then a
// poll halfway between the latest "still provisioning" and the earliest
// "settled", and one at the latter; only the latter once they are close;
// nothing while the waits disagree, until the disagreeing one left the
// window; and never a poll outside (last, scheduled).
func TestReadinessProposesPollsWhereTheClassWasReady(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	var r readiness
	const class = "target"
	check := func(what string, last, scheduled, want int) {
		t.Helper()
		if got := r.next(class, ms(last), ms(scheduled)); got != ms(want) {
			t.Errorf("%s: next after %dms, scheduled %dms = %v, want %dms", what, last, scheduled, got, want)
		}
	}
	check("nothing settled yet", 100, 200, 200)
	r.settled(class, ms(400), ms(500))
	check("before the bounds", 200, 300, 300)
	check("halfway", 400, 500, 450)
	check("at the earliest settled", 450, 550, 500)
	check("past the bounds", 500, 600, 600)
	if got := r.next("connection salesforce jwt", ms(400), ms(500)); got != ms(500) {
		t.Errorf("another class learnt from targets: %v", got)
	}
	r.settled(class, ms(450), ms(480))
	check("narrowed", 400, 500, 465)
	r.settled(class, ms(478), ms(600))
	check("close bounds: only the earliest settled", 470, 500, 480)
	r.settled(class, ms(490), ms(560)) // still provisioning after another was ready
	check("waits that disagree", 470, 500, 500)
	// The wait it disagrees with, (450, 480], is the second oldest of
	// the window: it leaves after window-2 more.
	for range readinessWindow - 3 {
		r.settled(class, ms(400), ms(600))
	}
	check("the wait it disagrees with is still in the window", 470, 600, 600)
	r.settled(class, ms(400), ms(600))
	check("once it left the window", 470, 600, 525)
}

// TestWaitAheadAddsAtMostTwoPolls checks the bound on the polls one wait
// adds, however the class's bounds move while it waits.
func TestWaitAheadAddsAtMostTwoPolls(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	var r readiness
	w := &waitAhead{r: &r, class: "target"}
	r.settled("target", ms(400), ms(500))
	added := 0
	last := ms(0)
	for _, s := range [][2]int{{440, 480}, {460, 470}, {465, 468}} {
		scheduled := last + ms(1000)
		if at := w.Next(last, scheduled); at > last && at < scheduled {
			added++
			last = at
		}
		r.settled("target", ms(s[0]), ms(s[1]))
	}
	if added != maxAdded {
		t.Errorf("%d polls added while the bounds kept narrowing, want %d", added, maxAdded)
	}
}
