package specdiff

import (
	"testing"

	"github.com/oasdiff/oasdiff/checker"
)

// Every check raised to breaking is one oasdiff has: config skips an
// unknown id (oasdiff would end the process on it), so a check renamed
// by an oasdiff upgrade would silently stop being breaking.
func TestRaisedChecksExist(t *testing.T) {
	known := checker.GetCheckLevels()
	for _, id := range raised {
		if _, ok := known[id]; !ok {
			t.Errorf("raised check %q is not an oasdiff check", id)
		}
		if got := config().LogLevels[id]; got != checker.ERR {
			t.Errorf("check %q: level %v, want breaking", id, got)
		}
	}
}
