//go:build unix

package pgtest

import (
	"os"
	"syscall"
)

// account is the user the server runs as when the tests run as root
// (PostgreSQL refuses to run as root).
type account struct{ uid, gid int }

// procAttr runs initdb or the server as account when set; the server also
// gets its own process group, so kill takes its children too, and on Linux
// dies with the test binary (see deathSignal).
func procAttr(as *account, server bool) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{}
	if as != nil {
		a.Credential = &syscall.Credential{Uid: uint32(as.uid), Gid: uint32(as.gid)}
	}
	if server {
		a.Setpgid = true
		deathSignal(a)
	}
	return a
}

// alive reports whether a process with this pid exists.
func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

// killGroup kills the server's whole process group.
func killGroup(p *os.Process) { _ = syscall.Kill(-p.Pid, syscall.SIGKILL) }
