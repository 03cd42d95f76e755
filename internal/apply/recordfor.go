package apply

import (
	"github.com/applinkctl/applinkctl/internal/plan"
	"github.com/applinkctl/applinkctl/internal/state"
)

// recordFor is plan's record of an applied change. TODO(h7): switch to
// plan.RecordFor once it lands; until then only kind, id and status.
func recordFor(c *plan.Change, remoteID, status string) *state.Resource {
	return &state.Resource{Kind: c.Kind, RemoteID: remoteID, Status: status}
}
