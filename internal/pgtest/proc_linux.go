package pgtest

import "syscall"

// deathSignal has the kernel kill the server when the test binary dies
// without stopping it.
func deathSignal(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }
