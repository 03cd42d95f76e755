// Package reliability holds applinkctl's reliability suites as Go tests:
// injected faults, SIGKILLed applies, concurrent applies on one state,
// hostile input, secrets in every output, and bounded waits. They drive
// the real applinkctl binary (built once per test run) against the
// emulator on a loopback port, because what has to hold is what a user
// sees: exit codes, messages, state files, locks.
//
// The fast share runs in `make test`; `make soak` sets APPLINKCTL_SOAK=1
// for the full numbers (20 fault runs, 30 crash runs). Figures go
// to the test log (go test -v) and to docs/reliability.md.
package reliability
