package client

// SetLimiterRate sets the refill rate the limiter assumes, so tests can see
// pacing without waiting for Heroku's real 75 a minute.
func SetLimiterRate(p *Platform, perSecond float64) {
	p.t.lim.mu.Lock()
	defer p.t.lim.mu.Unlock()
	p.t.lim.refill = perSecond
}
