package client

import "time"

// SetLimiterRate sets the refill rate the limiter assumes, so tests can see
// pacing without waiting for Heroku's real 75 a minute.
func SetLimiterRate(p *Platform, perSecond float64) {
	p.t.lim.mu.Lock()
	defer p.t.lim.mu.Unlock()
	p.t.lim.refill = perSecond
}

// NextInterval is Wait's sleep after waited, so tests can check its
// schedule without timing a loaded machine's timers.
func NextInterval(waited time.Duration, opts WaitOptions) time.Duration {
	return nextInterval(waited, opts)
}
