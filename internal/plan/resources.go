package plan

import (
	"fmt"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/live"
	"github.com/applinkctl/applinkctl/internal/manifest"
	"github.com/applinkctl/applinkctl/internal/statedata"
)

// orgLive is what the API returns of a connection or an authorization, in
// one shape so the two share their rules.
type orgLive struct {
	id, status string
	err        *live.ErrorInfo
	typ        manifest.OrgType
	username   string
	method     string // JWT | OAuth | ""
	alias      string
}

// orgWant is the desired immutable inputs of a connection or authorization.
type orgWant struct {
	typ      manifest.OrgType
	loginURL string
	jwt      *manifest.JWT
	alias    string // authorizations with JWT only
}

func (w orgWant) snapshot() *Snapshot {
	s := &Snapshot{Attrs: map[string]string{"type": string(w.typ)}}
	if w.loginURL != "" {
		s.Attrs["login_url"] = w.loginURL
	}
	if w.jwt != nil {
		s.Attrs["client_id"] = w.jwt.ClientID
		s.Attrs["username"] = w.jwt.Username
		s.Attrs["key_fingerprint"] = w.jwt.KeyFingerprint
	}
	if w.alias != "" {
		s.Attrs["alias"] = w.alias
	}
	return s
}

// beforeSnapshot is what exists: live values, completed from state where the
// API returns nothing (login_url, client id, key fingerprint).
func beforeSnapshot(lv *orgLive, sr *statedata.Resource) *Snapshot {
	s := &Snapshot{Attrs: map[string]string{}}
	if lv != nil {
		put(s, "id", lv.id)
		put(s, "status", lv.status)
		put(s, "type", string(lv.typ))
		// The org user of a browser OAuth flow is whoever logged in: not an
		// input, so not shown as one.
		if lv.method == "JWT" || (lv.method == "" && sr != nil && sr.ClientID != "") {
			put(s, "username", lv.username)
		}
		put(s, "alias", lv.alias)
	}
	if sr != nil {
		put(s, "login_url", sr.LoginURL)
		put(s, "client_id", sr.ClientID)
		if _, ok := s.Attrs["username"]; !ok {
			put(s, "username", sr.Username)
		}
		put(s, "key_fingerprint", sr.KeyFingerprint)
	}
	return s
}

func put(s *Snapshot, k, v string) {
	if v != "" {
		s.Attrs[k] = v
	}
}

// orgStatus classifies a connection's or authorization's status.
type orgStatus struct {
	pending func(string) bool // waited on, not replaced
	broken  func(string) bool // replaced
}

var (
	connStatus = orgStatus{
		pending: func(s string) bool { return s == live.StatusConnecting },
		broken:  func(s string) bool { return s == live.StatusFailed },
	}
	authStatus = orgStatus{
		pending: func(s string) bool { return s == live.StatusAuthorizing },
		broken:  func(s string) bool { return s == live.StatusFailed },
	}
)

// deleted reports a status of a connection or authorization that is
// deleted but still listed: disconnecting while its delete runs, or
// disconnected for as long as the API keeps it listed. Either way it is
// as good as absent: it is created again (once its name is free), not
// replaced, and it fails nothing.
func deleted(status string) bool {
	return status == live.StatusDisconnecting || status == live.StatusDisconnected
}

// decideOrg applies the replace rules (docs/design.md, "Plan rules") to a
// connection or authorization.
func (d *differ) decideOrg(c *Change, lv *orgLive, sr *statedata.Resource, want orgWant, st orgStatus) {
	c.After = want.snapshot()
	if lv == nil || deleted(lv.status) {
		c.Action = Create
		if lv != nil {
			// Being deleted or deleted (by someone else or an interrupted
			// replace), and still listed: wait for it to go, then create
			// it again.
			c.RemoteID, c.Wait = lv.id, true
			c.Before = beforeSnapshot(lv, sr)
			c.Reasons = []string{fmt.Sprintf("status is %s: created again once it is gone", lv.status)}
			switch {
			case sr == nil:
				d.find(c.Address, Pending, "declared but not created yet (a deleted one, %s, still holds the name)", lv.status)
			case sr.Phase != statedata.Applied && sr.Phase != "":
				c.Resumed = true
				d.find(c.Address, Pending, "%s", unfinished(sr))
			default:
				d.find(c.Address, Missing, "status is %s: treated as deleted out of band", lv.status)
			}
			return
		}
		d.createReasons(c, sr)
		return
	}
	c.RemoteID = lv.id
	c.Before = beforeSnapshot(lv, sr)

	var reasons []string
	liveDiffers := false // an input differs from live (not only from state)
	if lv.typ != "" && lv.typ != want.typ {
		reasons = append(reasons, fmt.Sprintf("type changed (%s → %s)", lv.typ, want.typ))
		liveDiffers = true
	}
	usernameSeen := false
	if want.jwt != nil && lv.username != "" && (lv.method == "" || lv.method == "JWT") {
		usernameSeen = true
		if lv.username != want.jwt.Username {
			reasons = append(reasons, fmt.Sprintf("username changed (%s → %s)", lv.username, want.jwt.Username))
			liveDiffers = true
		}
	}
	if want.alias != "" && lv.alias != "" && lv.alias != want.alias {
		reasons = append(reasons, fmt.Sprintf("alias changed (%s → %s)", lv.alias, want.alias))
		liveDiffers = true
	}
	if lv.method != "" && (lv.method == "JWT") != (want.jwt != nil) {
		reasons = append(reasons, fmt.Sprintf("connection method changed (%s → %s)", lv.method, methodOf(want.jwt)))
		liveDiffers = true
	}
	if sr != nil {
		if normLoginURL(sr.LoginURL) != normLoginURL(want.loginURL) {
			reasons = append(reasons, fmt.Sprintf("login_url changed (%s → %s)", normLoginURL(sr.LoginURL), normLoginURL(want.loginURL)))
		}
		hadJWT := sr.ClientID != ""
		switch {
		case lv.method != "":
			// compared with live above
		case hadJWT != (want.jwt != nil):
			reasons = append(reasons, fmt.Sprintf("connection method changed (%s → %s)", methodOfBool(hadJWT), methodOf(want.jwt)))
		}
		if hadJWT && want.jwt != nil {
			if sr.ClientID != want.jwt.ClientID {
				reasons = append(reasons, "jwt client_id changed")
			}
			if !usernameSeen && sr.Username != "" && sr.Username != want.jwt.Username {
				reasons = append(reasons, fmt.Sprintf("username changed (%s → %s)", sr.Username, want.jwt.Username))
			}
			if sr.KeyFingerprint != want.jwt.KeyFingerprint {
				reasons = append(reasons, "key fingerprint changed")
			}
		}
	}
	statusBroken := st.broken(lv.status)
	if statusBroken {
		reasons = append(reasons, failedReason(lv.status, lv.err))
	}
	if d.replace[c.Address] {
		reasons = append(reasons, "replacement requested with --replace")
	}
	if len(reasons) > 0 {
		c.Action, c.Reasons = Replace, reasons
		switch {
		case statusBroken:
			d.find(c.Address, Changed, "%s", failedReason(lv.status, lv.err))
		case liveDiffers && sr != nil && sr.InputsDigest != "" && sr.InputsDigest == InputsDigest(c.Desired):
			d.find(c.Address, Changed, "%s", reasons[0])
		case len(reasons) == 1 && d.replace[c.Address]:
		default:
			d.find(c.Address, Pending, "%s", reasons[0])
		}
		return
	}
	d.settled(c, sr, lv.status, st.pending(lv.status))
}

// settled decides a live resource whose inputs match: noop, adopt, or a
// wait on a pending status or an earlier run's unfinished record.
func (d *differ) settled(c *Change, sr *statedata.Resource, status string, pending bool) {
	c.Wait = pending
	switch {
	case sr == nil:
		c.Action = Adopt
		if pending {
			c.Reasons = []string{fmt.Sprintf("exists live but not in state: recorded without changes (status is %s: waited on)", status)}
		} else {
			c.Reasons = []string{"exists live but not in state: recorded without changes"}
		}
		d.find(c.Address, Pending, "exists live but not in state: the next apply adopts it")
	case sr.Phase != statedata.Applied && sr.Phase != "":
		c.Action, c.Resumed = Adopt, true
		c.Reasons = []string{fmt.Sprintf("%s; it exists live (%s): recorded", unfinished(sr), status)}
		if pending {
			c.Reasons = []string{fmt.Sprintf("%s; it exists live (%s): waited on, then recorded", unfinished(sr), status)}
		}
		d.find(c.Address, Pending, "%s", unfinished(sr))
	case pending:
		c.Action = Noop
		c.Reasons = []string{fmt.Sprintf("status is %s: waited on", status)}
		d.find(c.Address, Pending, "status is %s", status)
	default:
		c.Action = Noop
	}
}

// createReasons explains a create of something not live.
func (d *differ) createReasons(c *Change, sr *statedata.Resource) {
	switch {
	case sr == nil:
		c.Reasons = []string{"does not exist live"}
		d.find(c.Address, Pending, "declared but not created yet")
	case sr.Phase == statedata.Intent:
		c.Resumed = true
		c.Reasons = []string{fmt.Sprintf("an earlier run was interrupted before its %s took effect: not found live", opOr(sr.Operation, "create"))}
		d.find(c.Address, Pending, "an earlier run was interrupted before its %s took effect", opOr(sr.Operation, "create"))
	default:
		c.Reasons = []string{"recorded in state but not found live (deleted out of band)"}
		d.find(c.Address, Missing, "recorded in state but not found live (deleted out of band)")
	}
}

// unfinished says what an earlier run left in state.
func unfinished(sr *statedata.Resource) string {
	if sr.Phase == statedata.Pending {
		return "an earlier run stopped waiting for it"
	}
	return fmt.Sprintf("an earlier run was interrupted during its %s", opOr(sr.Operation, "change"))
}

func opOr(op, def string) string {
	if op == "" {
		return def
	}
	return op
}

func methodOf(j *manifest.JWT) string { return methodOfBool(j != nil) }

func methodOfBool(jwt bool) string {
	if jwt {
		return "JWT"
	}
	return "OAuth"
}

// connection plans one declared connection.
func (d *differ) connection(dc *manifest.Connection) *Change {
	a := dc.Address()
	c := d.add(&Change{Address: a, Kind: addr.KindConnection, Desired: dc, Protected: dc.Protect})
	var lv *orgLive
	if lc := d.liveApp(dc.App).Connections[dc.Name]; lc != nil {
		lv = &orgLive{id: lc.ID, status: lc.Status, err: lc.Error, typ: orgType(lc.Org.Type),
			username: lc.Org.Username, method: lc.ConnectionMethod, alias: ""}
	}
	d.decideOrg(c, lv, d.record(a), orgWant{typ: dc.Type, loginURL: dc.LoginURL, jwt: dc.JWT}, connStatus)
	markProtect(c, d.record(a), dc.Protect)
	return c
}

// markProtect marks a noop whose record holds another protect flag than
// the manifest declares, for apply to record the declared one (see
// Change.StateOnly). Every other action records it anyway.
func markProtect(c *Change, sr *statedata.Resource, protect bool) {
	if c.Action == Noop && sr != nil && sr.Protect != protect {
		c.StateOnly = true
	}
}

// authorization plans one declared authorization.
func (d *differ) authorization(da *manifest.Authorization) {
	a := da.Address()
	c := d.add(&Change{Address: a, Kind: addr.KindAuthorization, Desired: da, Protected: da.Protect})
	var lv *orgLive
	if la := d.liveApp(da.App).Authorizations[da.DeveloperName]; la != nil {
		lv = &orgLive{id: la.ID, status: la.Status, err: la.Error, typ: orgType(la.Org.Type),
			username: la.Org.Username, method: la.ConnectionMethod, alias: la.Alias}
	}
	want := orgWant{typ: da.Type, loginURL: da.LoginURL, jwt: da.JWT}
	if da.JWT != nil {
		want.alias = da.Alias
	}
	d.decideOrg(c, lv, d.record(a), want, authStatus)
	markProtect(c, d.record(a), da.Protect)
}

// targetSnapshot is a target's comparable fields.
func targetSnapshot(label, apiName, endpoint, typ string) *Snapshot {
	s := &Snapshot{Attrs: map[string]string{}}
	put(s, "label", label)
	put(s, "api_name", apiName)
	put(s, "target_endpoint", endpoint)
	put(s, "type", typ)
	return s
}

// target plans one declared data action target under its connection's
// change. There is no target delete, so a target whose fields changed can
// only be recreated with its connection: the change is blocked and names
// that way out.
func (d *differ) target(dt *manifest.Target, parent *Change) {
	a := dt.Address()
	c := d.add(&Change{Address: a, Kind: addr.KindTarget, Desired: dt, DependsOn: []addr.Address{parent.Address}})
	c.After = targetSnapshot(dt.Label, dt.APIName, dt.TargetEndpoint, dt.Type)
	sr := d.record(a)
	var lt *live.Target
	for i, t := range d.liveApp(dt.App).Targets[dt.Connection] {
		if t.Label == dt.Label {
			lt = &d.liveApp(dt.App).Targets[dt.Connection][i]
			break
		}
	}
	if lt != nil {
		c.RemoteID = lt.ID
		c.Before = targetSnapshot(lt.Label, lt.APIName, lt.TargetEndpoint, lt.Type)
		put(c.Before, "id", lt.ID)
		put(c.Before, "status", lt.Status)
	}
	why := d.unlisted(dt.App, dt.Connection)
	if parent.Action == Replace {
		c.CausedBy = parent.Address
		c.Reasons = []string{"recreated with its connection"}
		c.Action = Create
		if lt != nil {
			c.Action = Replace
		}
		if why != "" {
			d.unknown(c, why)
		}
		return
	}
	if why != "" && parent.Action != Create {
		// The targets could not be listed: whether this one exists is
		// unknown. Recorded, apply reads it by its api_name (waiting on
		// it, or creating it if that read finds nothing); not recorded, it
		// is created, and a 409 makes apply read and record it instead.
		if sr != nil {
			c.Action, c.Wait = Noop, true
		} else {
			c.Action = Create
			c.Reasons = []string{"does not exist live, as far as can be known"}
		}
		d.unknown(c, why)
		return
	}
	if _, listed := d.liveApp(dt.App).Targets[dt.Connection]; !listed && parent.Before != nil && sr != nil && parent.Action != Create {
		// The connection exists but its targets could not be listed (it is
		// still connecting): nothing is known against the record.
		c.Action, c.Wait = Noop, true
		c.Reasons = []string{"its connection is " + parent.Before.Attrs["status"] + ": checked once it is connected"}
		d.find(a, Pending, "its connection is %s", parent.Before.Attrs["status"])
		return
	}
	if lt == nil {
		c.Action = Create
		if parent.Action == Create && sr != nil && sr.Phase == statedata.Applied {
			c.Reasons = []string{"its connection is created again"}
			d.find(a, Missing, "recorded in state but not found live (deleted out of band)")
			return
		}
		d.createReasons(c, sr)
		return
	}
	var reasons []string
	cmpField := func(name, live, want string) {
		if live != want {
			reasons = append(reasons, fmt.Sprintf("%s changed (%s → %s)", name, orNone(live), orNone(want)))
		}
	}
	cmpField("api_name", lt.APIName, dt.APIName)
	cmpField("target_endpoint", lt.TargetEndpoint, dt.TargetEndpoint)
	if lt.Type != "" {
		cmpField("type", lt.Type, dt.Type)
	}
	fieldsDiffer := len(reasons) > 0
	if lt.Status == live.StatusCreationFailed {
		reasons = append(reasons, "status is "+lt.Status)
	}
	if d.replace[a] {
		reasons = append(reasons, "replacement requested with --replace")
	}
	if len(reasons) > 0 {
		c.Action, c.Reasons = Replace, reasons
		c.Blocked = fmt.Sprintf("a data action target cannot be changed alone (the API has no target delete): run with --replace %s to recreate the connection and all its targets", parent.Address)
		c.Unblock = []addr.Address{parent.Address}
		switch {
		case lt.Status == live.StatusCreationFailed:
			d.find(a, Changed, "status is %s", lt.Status)
		case fieldsDiffer && sr != nil && sr.InputsDigest == InputsDigest(dt):
			d.find(a, Changed, "%s", reasons[0])
		case fieldsDiffer:
			d.find(a, Pending, "%s", reasons[0])
		}
		d.fix(a, Options{Replace: []string{string(parent.Address)}})
		return
	}
	pending := lt.Status != "" && !live.TargetTerminal(lt.Status)
	d.settled(c, sr, lt.Status, pending)
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
