//go:build unix

package main

import (
	"fmt"
	"os"
	"runtime"
	"syscall"
	"time"
)

// childUsage is the peak resident set in bytes and the CPU time of a
// finished child process, from its rusage.
func childUsage(ps *os.ProcessState) (rss float64, cpu time.Duration, err error) {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0, 0, fmt.Errorf("no rusage on %s", runtime.GOOS)
	}
	rss = float64(ru.Maxrss) * 1024 // kilobytes on Linux
	if runtime.GOOS == "darwin" {
		rss = float64(ru.Maxrss) // bytes on macOS
	}
	return rss, time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}
