//go:build !unix

package pgtest

import (
	"os"
	"syscall"
)

// account is never set here: only a Unix root needs to switch users.
type account struct{ uid, gid int }

// procAttr is empty on systems without Unix credentials and process
// groups (Windows): the package builds there, and the tests that need a
// throwaway cluster run it as the current user.
func procAttr(*account, bool) *syscall.SysProcAttr { return &syscall.SysProcAttr{} }

// alive reports whether a process with this pid exists.
func alive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	_ = p.Release()
	return true
}

// killGroup kills the server; it has no group of its own here.
func killGroup(p *os.Process) { _ = p.Kill() }
