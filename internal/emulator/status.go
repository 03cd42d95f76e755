package emulator

import "time"

// Statuses (docs/api.md, "Answers applinkctl accepts"), computed from
// timestamps on read.

const (
	orgSalesforce = "SalesforceOrg"
	orgDataCloud  = "DataCloudOrg"
	methodOAuth   = "OAuth"
	methodJWT     = "JWT"
)

// approvedAt is when an OAuth grant's browser flow was approved, by a GET of
// its redirect_uri or by ApproveOAuthAfter; ok is false while nobody has.
func (e *Emulator) approvedAt(g *grant) (time.Time, bool) {
	if g.ApprovedAt != nil {
		return *g.ApprovedAt, true
	}
	if e.oauth > 0 {
		t := g.CreatedAt.Add(e.oauth)
		if !e.now().Before(t) {
			return t, true
		}
	}
	return time.Time{}, false
}

// grantStatus is the status of a connection (pending "connecting", done
// "connected") or authorization ("authorizing", "authorized"), and when it
// reached a terminal state (zero while pending).
func (e *Emulator) grantStatus(g *grant, kind, pending, done string) (string, *apiError, time.Time) {
	if g.Override != nil {
		return g.Override.Status, g.Override.Error, g.ModifiedAt
	}
	if g.ReadyAt != nil {
		if g.Error != nil {
			return "failed", g.Error, *g.ReadyAt
		}
		return done, nil, *g.ReadyAt
	}
	var start time.Time
	if g.Method == methodOAuth {
		t, ok := e.approvedAt(g)
		if !ok {
			return pending, nil, time.Time{}
		}
		start = t
	} else {
		start = g.CreatedAt
	}
	end := start.Add(e.delay[kind])
	if e.now().Before(end) {
		return pending, nil, time.Time{}
	}
	if g.Error != nil {
		return "failed", g.Error, end
	}
	return done, nil, end
}

// established reports whether a grant reached its org, whatever an admin
// override says since: the org's id and instance URL are known from then on.
func (e *Emulator) established(g *grant, kind string) bool {
	if g.ReadyAt != nil {
		return g.Error == nil
	}
	start := g.CreatedAt
	if g.Method == methodOAuth {
		t, ok := e.approvedAt(g)
		if !ok {
			return false
		}
		start = t
	}
	return g.Error == nil && !e.now().Before(start.Add(e.delay[kind]))
}

// connectionStatus is disconnecting for the delete delay after a delete,
// then (only seen under VariantLinger: settle removes it otherwise)
// disconnected until it goes.
func (e *Emulator) connectionStatus(c *connection) (string, *apiError, time.Time) {
	if c.DeletedAt != nil {
		if end := c.DeletedAt.Add(e.delay[KindDelete]); !e.now().Before(end) {
			return "disconnected", nil, end
		}
		return "disconnecting", nil, *c.DeletedAt
	}
	return e.grantStatus(&c.grant, KindConnection, "connecting", "connected")
}

// authorizationStatus is disconnected once deleted (only seen under
// VariantLinger: a deleted authorization is gone at once otherwise).
func (e *Emulator) authorizationStatus(a *authorization) (string, *apiError, time.Time) {
	if a.DeletedAt != nil {
		return "disconnected", nil, *a.DeletedAt
	}
	return e.grantStatus(&a.grant, KindAuthorization, "authorizing", "authorized")
}

// targetStatus walks pending → creating → generating_signing_key → created
// in equal thirds of the target delay.
func (e *Emulator) targetStatus(t *target) (string, *apiError) {
	if t.Override != nil {
		return t.Override.Status, t.Override.Error
	}
	if t.ReadyAt != nil {
		return "created", nil
	}
	d := e.delay[KindTarget]
	el := e.now().Sub(t.CreatedAt)
	switch {
	case el >= d:
		return "created", nil
	case el < d/3:
		return "pending", nil
	case el < 2*d/3:
		return "creating", nil
	default:
		return "generating_signing_key", nil
	}
}

// settle records what time has done: browser flows approved by the timer,
// pending resources that reached their end, and connections whose
// disconnecting phase is over (removed with their targets and
// publications) or, under VariantLinger, deleted connections and
// authorizations whose time as disconnected is over. Recording it makes the world independent of the options
// of the next run that loads it (a sandbox world served later by a plain
// emulator keeps its approvals). It reports whether the world changed.
// Callers hold e.mu.
func (e *Emulator) settle() bool {
	now := e.now()
	changed := false
	settleGrant := func(g *grant, kind string) {
		if g.ApprovedAt == nil && g.Method == methodOAuth {
			if t, ok := e.approvedAt(g); ok {
				g.ApprovedAt, changed = &t, true
			}
		}
		if g.ReadyAt == nil && g.Override == nil {
			if _, _, end := e.grantStatus(g, kind, "", ""); !end.IsZero() {
				g.ReadyAt, changed = &end, true
			}
		}
	}
	for _, a := range e.w.Apps {
		for _, ad := range a.Addons {
			for _, c := range append([]*connection(nil), ad.Connections...) {
				if c.DeletedAt != nil && !now.Before(c.DeletedAt.Add(e.delay[KindDelete]+e.lingerFor())) {
					ad.Connections = without(ad.Connections, c)
					changed = true
					continue
				}
				settleGrant(&c.grant, KindConnection)
				for _, t := range c.Targets {
					if t.ReadyAt == nil && t.Override == nil && !now.Before(t.CreatedAt.Add(e.delay[KindTarget])) {
						ready := t.CreatedAt.Add(e.delay[KindTarget])
						t.ReadyAt, changed = &ready, true
					}
				}
			}
			for _, au := range append([]*authorization(nil), ad.Authorizations...) {
				if au.DeletedAt != nil && !now.Before(au.DeletedAt.Add(e.lingerFor())) {
					ad.Authorizations = without(ad.Authorizations, au)
					changed = true
					continue
				}
				settleGrant(&au.grant, KindAuthorization)
			}
		}
	}
	return changed
}

// connected reports whether a connection's status is connected now.
func (e *Emulator) connected(c *connection) bool {
	s, _, _ := e.connectionStatus(c)
	return s == "connected"
}
