package testkit

import (
	"maps"
	"slices"
	"testing"

	"github.com/applinkctl/applinkctl/internal/emulator"
)

// Checkpoint is what an emulator has created so far and which resource
// instances it holds, at one moment: two checkpoints taken around runs of
// one manifest tell whether anything was created more often than the
// change needed.
type Checkpoint struct {
	// Creates are the emulator's successful creates per address.
	Creates map[string]int
	// IDs names the instance at each address the world holds: the remote
	// id of a connection, authorization or target; a publication, which
	// has none and dies with its connection, by its connection's id.
	IDs map[string]string
}

// TakeCheckpoint reads srv's creates and world.
func TakeCheckpoint(srv *emulator.Server) Checkpoint {
	return Checkpoint{Creates: srv.Emulator.Creates(), IDs: WorldIDs(srv.Emulator.World())}
}

// WorldIDs maps each address of s to the instance there (see Checkpoint).
func WorldIDs(s emulator.Snapshot) map[string]string {
	ids := map[string]string{}
	for _, a := range s.Apps {
		for _, ad := range a.Addons {
			for _, c := range ad.Connections {
				k := a.Name + "/connection/" + c.Name
				ids[k] = c.ID
				for _, t := range c.Targets {
					ids[k+"/target/"+t.APIName] = t.ID
				}
				for _, p := range c.Publications {
					ids[k+"/publication/"+p.ClientName] = "publication under " + c.ID
				}
			}
			for _, au := range ad.Authorizations {
				ids[a.Name+"/authorization/"+au.Name] = au.ID
			}
		}
	}
	return ids
}

// Since is how many times each address was created between from and c.
func (c Checkpoint) Since(from Checkpoint) map[string]int {
	d := map[string]int{}
	for k, n := range c.Creates {
		if n -= from.Creates[k]; n != 0 {
			d[k] = n
		}
	}
	return d
}

// AssertCreates judges the creates between from and to, two checkpoints
// around runs of one manifest (killed or not): one manifest needs at most
// one create per address, a replace being a delete and one create. When
// the runs ended converged it is exact: an address whose instance changed
// was created exactly once, one whose instance did not, never.
func AssertCreates(tb testing.TB, from, to Checkpoint, converged bool) {
	tb.Helper()
	d := to.Since(from)
	keys := maps.Clone(d)
	if converged {
		for k := range to.IDs {
			keys[k] = 0
		}
	}
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		n := d[k]
		switch {
		case n > 1:
			tb.Errorf("%s created %d times for one manifest (want at most once)", k, n)
		case !converged:
		case to.IDs[k] == "":
			// Gone at the end: a converged run deleted it, or never
			// declared it; at most once is all that can be said.
		case to.IDs[k] == from.IDs[k] && n != 0:
			tb.Errorf("%s created %d times although the same instance %s was there before and after", k, n, to.IDs[k])
		case to.IDs[k] != from.IDs[k] && n != 1:
			tb.Errorf("%s is a new instance (%s, was %q) but was created %d times", k, to.IDs[k], from.IDs[k], n)
		}
	}
}

// AssertCreatedOnce checks that each of addrs was created exactly once in
// the emulator's life: resources no manifest change ever replaced.
func AssertCreatedOnce(tb testing.TB, srv *emulator.Server, addrs ...string) {
	tb.Helper()
	c := srv.Emulator.Creates()
	for _, a := range addrs {
		if c[a] != 1 {
			tb.Errorf("%s created %d times, want exactly once (creates: %v)", a, c[a], c)
		}
	}
}
