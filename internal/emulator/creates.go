package emulator

import "net/http"

// Creates counts the creates the emulator carried out, per resource, so a
// test can tell "created once" from "created, lost, created again". A 409
// on a taken name cannot show that: a client that deletes and recreates,
// or recreates after the first instance went away, meets no conflict.
//
// Keys are applinkctl addresses, without the add-on (an app's add-ons
// share its keys):
//
//	APP/connection/NAME
//	APP/authorization/DEVELOPER_NAME
//	APP/connection/NAME/target/API_NAME
//	APP/connection/NAME/publication/CLIENT_NAME
//
// A create counts when the emulator does it and answers 2xx — also when a
// drop-after fault then loses that answer, since the resource exists all
// the same. Refused creates (409, 422, injected faults before the work)
// do not count, nor does publishing a client name again, which replaces
// the registration rather than creating one. Counts live as long as the
// Emulator value: a restart on the same Dir starts them at zero.
func (e *Emulator) Creates() map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]int, len(e.creates))
	for k, v := range e.creates {
		out[k] = v
	}
	return out
}

// created counts one create of the resource at key. Callers hold e.mu and
// have persisted the new resource.
func (e *Emulator) created(key string) {
	if e.creates == nil {
		e.creates = map[string]int{}
	}
	e.creates[key]++
}

// adminCreates answers GET /_emulator/creates.
func (e *Emulator) adminCreates(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, e.Creates())
}
