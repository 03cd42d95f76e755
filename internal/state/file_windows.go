//go:build windows

package state

import (
	"errors"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/windows"
)

// oNoFollow is 0: Windows has no O_NOFOLLOW, so openNoFollow looks for a
// link before it opens.
const oNoFollow = 0

// flockTry takes an exclusive lock on the file's first byte without
// waiting; false when another open file holds it.
func flockTry(f *os.File) (bool, error) {
	err := windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, new(windows.Overlapped))
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) {
		return false, nil
	}
	return err == nil, err
}

func flockRelease(f *os.File) {
	_ = windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, new(windows.Overlapped))
}

// dirLockName is the file whose lock stands for the directory's: Windows
// cannot lock a directory handle.
const dirLockName = ".applinkctl.dirlock"

// flockDir holds an exclusive lock for the directory for the short
// read-compare-rename of Save.
func flockDir(dir string) (func(), error) {
	d, err := os.OpenFile(filepath.Join(dir, dirLockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := windows.LockFileEx(windows.Handle(d.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK, 0, 1, 0, new(windows.Overlapped)); err != nil {
		d.Close()
		return nil, err
	}
	return func() { flockRelease(d); d.Close() }, nil
}

// flockDirTry is flockDir without waiting: ok is false when a write holds
// the directory's lock now.
func flockDirTry(dir string) (unlock func(), ok bool, err error) {
	d, err := os.OpenFile(filepath.Join(dir, dirLockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, false, err
	}
	if ok, err := flockTry(d); err != nil || !ok {
		d.Close()
		return nil, false, err
	}
	return func() { flockRelease(d); d.Close() }, true, nil
}

// processAlive reports whether pid runs on this host; a process that
// cannot be opened for lack of rights runs under another user.
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pid))
	if err != nil {
		return errors.Is(err, windows.ERROR_ACCESS_DENIED)
	}
	defer windows.CloseHandle(h)
	var code uint32
	if err := windows.GetExitCodeProcess(h, &code); err != nil {
		return true
	}
	const stillActive = 259
	return code == stillActive
}

func readLimited(r io.Reader, n int64) ([]byte, error) { return io.ReadAll(io.LimitReader(r, n)) }
