package apply

import (
	"time"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/plan"
)

// EventType says what happened to one change during apply.
type EventType string

// Event types, in the order a change normally sees them.
const (
	EventStarted          EventType = "started"             // the change began (after its dependencies were ready)
	EventStatus           EventType = "status"              // a new live status was seen while waiting
	EventWaitingOnBrowser EventType = "waiting_for_browser" // an OAuth flow needs a person at RedirectURI
	EventDone             EventType = "done"                // the change reached its goal
	EventFailed           EventType = "failed"              // the change failed; Message says why
	EventSkipped          EventType = "skipped"             // not run: Message names the failed dependency, or the interrupt
	EventPending          EventType = "pending"             // timed out while still pending; resumable
)

// Event is one step of one change, sent to the Observer as it happens.
// It carries no secret: redirect URIs are the only URLs, and they hold none.
type Event struct {
	Time        time.Time
	Address     addr.Address
	Action      plan.Action
	Type        EventType
	Status      string        // live status, when known
	RemoteID    string        // live id, when known
	Message     string        // reason for failed/skipped/pending, or a note (done: "would create" in a dry run, "deleted with its connection")
	RedirectURI string        // EventWaitingOnBrowser only
	Elapsed     time.Duration // since the change started
	DryRun      bool
}

// Summary counts the outcome of a whole apply.
type Summary struct {
	Created, Replaced, Republished, Deleted, Adopted, Unchanged int
	Failed, Skipped, Pending                                    int
	Wall                                                        time.Duration
	// Started and Ended are when the run began and ended, by apply's
	// clock (Options.Now); History records them.
	Started, Ended time.Time
	DryRun         bool
	Interrupted    bool
	// RootCauses are the failures that are not merely "skipped because a
	// dependency failed"; only these make the final error.
	RootCauses []Failure
	// StillPending lists resources that timed out while pending, with ids.
	StillPending []Failure
}

// Failure is one resource that did not reach its goal.
type Failure struct {
	Address  addr.Address
	RemoteID string
	Status   string
	Message  string
}

// Observer receives apply's events; views implement it. Calls are serialized
// by the engine, so implementations need no locking.
type Observer interface {
	Event(Event)
	Done(Summary)
}
