package emulator

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Variants are the answers the public sources leave open, each a
// plausible behaviour of the real AppLink API that the emulator can take
// on instead of its default. A client that is right wherever the sources
// are silent works under every one of them, alone or together; the test
// suites are run once per variant (make test-variants) to show it.
const (
	// VariantLinger keeps deleted connections and authorizations listed
	// as "disconnected" for Options.Linger after their delete has ended,
	// their name still taken (a create answers 409) until they go. By
	// default a deleted connection goes once its disconnecting phase
	// ends and a deleted authorization goes at once.
	VariantLinger = "linger"
	// VariantESRName gives each publication an esr_name derived from the
	// client name it was published with (sanitised and suffixed, see
	// esrNameOf) instead of the client name itself.
	VariantESRName = "esr-name"
	// VariantNulls leaves unknown org fields (id, instance_url, a
	// publication's org_id) out of answers instead of sending null, and
	// has authorizations carry created_via_app as connections do.
	VariantNulls = "nulls"
	// VariantStatuses answers creates 201 instead of 202, deletes of a
	// connection or an authorization 204 with no body, and a publish 202
	// with no body.
	VariantStatuses = "statuses"
	// VariantFailedChildren refuses to list the data action targets or
	// publications of a connection that is not usable: 422 for a failed
	// one, 500 for one being deleted (disconnecting, or disconnected
	// under linger). By default such lists are answered.
	VariantFailedChildren = "failed-children"
)

// AllVariants are the variant names, in the order the docs list them.
var AllVariants = []string{VariantLinger, VariantESRName, VariantNulls, VariantStatuses, VariantFailedChildren}

// DefaultLinger is how long VariantLinger keeps a deleted connection or
// authorization listed when Options.Linger is 0: long enough that a
// client polling every 100ms meets it several times, short enough that a
// replace does not make a test slow.
const DefaultLinger = time.Second

// VariantsEnv names the environment variable that sets the variants of
// the in-process emulators of --sandbox and of the test suites
// (internal/testkit), so that a whole suite can be run under a variant
// (APPLINKCTL_EMULATOR_VARIANTS=linger,nulls) without changing a test.
const VariantsEnv = "APPLINKCTL_EMULATOR_VARIANTS"

// ParseVariants reads a comma-separated list of variant names ("" is
// none). An unknown name is an error naming the known ones.
func ParseVariants(s string) ([]string, error) {
	var out []string
	for _, v := range strings.Split(s, ",") {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		if !slices.Contains(AllVariants, v) {
			return nil, fmt.Errorf("unknown variant %q: want %s", v, strings.Join(AllVariants, ", "))
		}
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out, nil
}

// VariantsFromEnv reads VariantsEnv through lookupEnv: nil when unset or
// empty, an error naming the variable when a name is unknown.
func VariantsFromEnv(lookupEnv func(string) (string, bool)) ([]string, error) {
	v, _ := lookupEnv(VariantsEnv)
	out, err := ParseVariants(v)
	if err != nil {
		return nil, fmt.Errorf("%s=%q: %w", VariantsEnv, v, err)
	}
	return out, nil
}

// is reports whether variant v is on.
func (e *Emulator) is(v string) bool { return e.variants[v] }

// Variants are the variants this emulator runs with, in AllVariants order.
func (e *Emulator) Variants() []string {
	var out []string
	for _, v := range AllVariants {
		if e.variants[v] {
			out = append(out, v)
		}
	}
	return out
}

// lingerFor is how long a deleted grant stays listed as disconnected
// once its delete has ended: 0 unless VariantLinger is on.
func (e *Emulator) lingerFor() time.Duration {
	if !e.is(VariantLinger) {
		return 0
	}
	return e.linger
}

// createdStatus is the status of a create's answer.
func (e *Emulator) createdStatus() int {
	if e.is(VariantStatuses) {
		return 201
	}
	return 202
}

// esrNameOf is the name of the External Service Registration a publish
// of clientName makes. By default it is the client name; under
// VariantESRName it is the client name with every character a Salesforce
// developer name cannot hold replaced by "_", and a suffix derived from
// the whole client name, so that no client can guess one from the other
// while republishing the same client name keeps its registration's name.
func (e *Emulator) esrNameOf(clientName string) string {
	if !e.is(VariantESRName) {
		return clientName
	}
	var b strings.Builder
	for _, r := range clientName {
		if r < 128 && (isLetter(byte(r)) || isDigit(byte(r))) {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String() + "_" + strings.ToLower(sfID("", clientName)[:5])
}

// childrenRefused answers the refusal of a children list (targets or
// publications) of c under VariantFailedChildren; false means the list
// may be answered.
func (e *Emulator) childrenRefused(w writerFunc, c *connection, what string) bool {
	if !e.is(VariantFailedChildren) {
		return false
	}
	switch st, _, _ := e.connectionStatus(c); st {
	case "failed":
		w(422, "validation_failed", "Connection "+c.Name+" is failed: its "+what+" cannot be listed.")
	case "disconnecting", "disconnected":
		w(500, "server_error", "Internal server error listing the "+what+" of connection "+c.Name+".")
	default:
		return false
	}
	return true
}

// writerFunc answers an error: status, id, message.
type writerFunc func(status int, id, message string)
