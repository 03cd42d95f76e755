//go:build !unix

package main

import (
	"fmt"
	"os"
	"runtime"
	"time"
)

// childUsage needs a Unix rusage for the peak resident set; the big-input
// figures are measured on Unix only.
func childUsage(*os.ProcessState) (float64, time.Duration, error) {
	return 0, 0, fmt.Errorf("the big-input figures need a Unix rusage, not available on %s", runtime.GOOS)
}
