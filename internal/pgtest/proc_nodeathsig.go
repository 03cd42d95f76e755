//go:build unix && !linux

package pgtest

import "syscall"

// deathSignal does nothing where the kernel has no Pdeathsig (macOS, the
// BSDs): there a server whose test binary was killed keeps running until
// someone stops it; removeAbandoned still deletes its directory.
func deathSignal(*syscall.SysProcAttr) {}
