//go:build unix

package state

import (
	"errors"
	"io"
	"os"
	"syscall"
)

// oNoFollow makes open fail on a symbolic link in the last component.
const oNoFollow = syscall.O_NOFOLLOW

// flockTry takes an exclusive flock without blocking; false when another
// open file holds it.
func flockTry(f *os.File) (bool, error) {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return false, nil
	}
	return err == nil, err
}

func flockRelease(f *os.File) { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }

// flockDir holds an exclusive flock on a directory for the short
// read-compare-rename of Save.
func flockDir(dir string) (func(), error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(d.Fd()), syscall.LOCK_EX); err != nil {
		d.Close()
		return nil, err
	}
	return func() { _ = syscall.Flock(int(d.Fd()), syscall.LOCK_UN); d.Close() }, nil
}

// flockDirTry is flockDir without waiting: ok is false when a write holds
// the directory's flock now.
func flockDirTry(dir string) (unlock func(), ok bool, err error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, false, err
	}
	if ok, err := flockTry(d); err != nil || !ok {
		d.Close()
		return nil, false, err
	}
	return func() { flockRelease(d); d.Close() }, true, nil
}

// processAlive reports whether pid runs on this host. EPERM means it runs
// under another user.
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func readLimited(r io.Reader, n int64) ([]byte, error) { return io.ReadAll(io.LimitReader(r, n)) }
