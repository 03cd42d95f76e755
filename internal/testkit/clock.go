package testkit

import (
	"sync/atomic"
	"time"
)

// Clock is the real clock plus an offset a test moves forward. Given as
// an emulator's Options.Now, it lets a status take "an hour" that ends
// exactly when the test calls Advance: a wait that must time out, then
// resume, never races how fast a loaded machine runs the rest.
type Clock struct{ skew atomic.Int64 }

// Now is the wall clock plus every Advance so far.
func (c *Clock) Now() time.Time { return time.Now().Add(time.Duration(c.skew.Load())) }

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) { c.skew.Add(int64(d)) }
