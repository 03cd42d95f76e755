package apply

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/applinkctl/applinkctl/internal/client"
)

// fakeLink is an in-memory AppLink add-on for engine tests: names are
// unique (409), statuses advance one step per read after pendingReads
// reads, and faults can be scripted per route. It counts every call.
type fakeLink struct {
	mu      sync.Mutex
	seq     int
	conns   map[string]*client.Connection
	auths   map[string]*client.Authorization
	targets map[string]*client.DataActionTargetDetail // conn/apiName
	pubs    map[string]client.Publication             // conn/client
	reads   map[string]int                            // reads left before a pending status settles, by id
	calls   map[string]int                            // "POST connection", "GET connection", …
	log     []string                                  // mutating calls in order, "POST connection x"

	// pendingReads is how many reads a new resource stays pending.
	pendingReads int
	// stuck names resources that never settle (by name).
	stuck map[string]bool
	// fail names resources whose create settles as failed.
	fail map[string]bool
	// ambiguous names resources whose next POST answers ambiguously;
	// the value says whether the server created it anyway.
	ambiguous map[string]bool
	// postErr names resources whose POST fails with this error.
	postErr map[string]error
	// deleteReads is how many reads a deleted resource stays disconnecting.
	deleteReads int
	// lingerReads is how many reads more a deleted connection stays
	// listed as disconnected, its name still taken, before it goes.
	lingerReads int
	// esrSuffix is appended to a client name to make its esr_name (the
	// API derives esr_name somehow: nothing says it is the client name).
	esrSuffix string
	// silentPublish answers a publish with no body: nothing identifies
	// the registration it made.
	silentPublish bool
	// publishDelay is how long a publish takes: long enough that two
	// publishes run side by side would overlap.
	publishDelay time.Duration
	pubSerial    int
	// deleted marks the connections being deleted, by id.
	deleted map[string]bool
	// postDelay is how long a connection POST takes; ctx cuts it short
	// as a dropped connection would (an ambiguous outcome).
	postDelay time.Duration
	// inPost, when set, is called as each connection POST starts, before
	// postDelay: a test interrupts a run during a POST from there rather
	// than at a wall-clock moment that a loaded machine may reach before
	// the POST or after it.
	inPost func()
}

func newFakeLink() *fakeLink {
	return &fakeLink{
		conns: map[string]*client.Connection{}, auths: map[string]*client.Authorization{},
		targets: map[string]*client.DataActionTargetDetail{}, pubs: map[string]client.Publication{},
		reads: map[string]int{}, calls: map[string]int{}, deleted: map[string]bool{},
		stuck: map[string]bool{}, fail: map[string]bool{}, ambiguous: map[string]bool{}, postErr: map[string]error{},
	}
}

func (f *fakeLink) count(k string) { f.calls[k]++ }

func (f *fakeLink) mutations() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for k, v := range f.calls {
		if !strings.HasPrefix(k, "GET") {
			n += v
		}
	}
	return n
}

func (f *fakeLink) logged() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.log...)
}

func (f *fakeLink) newID() string {
	f.seq++
	return fmt.Sprintf("id-%03d", f.seq)
}

// prePost applies scripted faults; it returns done=true with the error to
// answer when the POST must not proceed normally.
func (f *fakeLink) prePost(kind, name string) (created bool, err error) {
	f.count("POST " + kind)
	f.log = append(f.log, "POST "+kind+" "+name)
	if e, ok := f.postErr[name]; ok {
		delete(f.postErr, name)
		return false, e
	}
	if c, ok := f.ambiguous[name]; ok {
		delete(f.ambiguous, name)
		amb := &client.AmbiguousError{Method: "POST", Path: "/" + kind, Err: fmt.Errorf("connection reset")}
		return c, amb
	}
	return true, nil
}

func conflict(kind string) error {
	return &client.ConflictError{APIError: &client.APIError{Method: "POST", Path: "/" + kind, Status: 409, ID: "conflict", Message: "name taken"}}
}

func notFound(kind string) error {
	return &client.APIError{Method: "GET", Path: "/" + kind, Status: 404, ID: "record_not_found"}
}

// step advances a pending status as reads happen.
func (f *fakeLink) step(id, name, status string, pending bool, final string) string {
	if !pending || f.stuck[name] {
		return status
	}
	if f.reads[id] > 0 {
		f.reads[id]--
		return status
	}
	return final
}

func (f *fakeLink) connFinal(c *client.Connection) {
	name := c.Org.ConnectionName
	switch c.Status {
	case client.StatusConnecting:
		final := client.StatusConnected
		if f.fail[name] {
			final = client.StatusFailed
		}
		c.Status = f.step(c.ID, name, c.Status, true, final)
		if c.Status == client.StatusFailed {
			c.Error = &client.ErrorInfo{ID: "org_connection_failed", Message: "could not connect"}
		}
		if c.Status != client.StatusConnecting {
			c.RedirectURI = ""
		}
	case client.StatusDisconnecting, client.StatusDisconnected:
		if !f.deleted[c.ID] {
			return
		}
		if f.reads[c.ID] > 0 {
			f.reads[c.ID]--
			return
		}
		if c.Status == client.StatusDisconnecting && f.lingerReads > 0 {
			c.Status, f.reads[c.ID] = client.StatusDisconnected, f.lingerReads
			return
		}
		delete(f.conns, name)
		delete(f.deleted, c.ID)
		for k := range f.targets {
			if strings.HasPrefix(k, name+"/") {
				delete(f.targets, k)
			}
		}
		for k := range f.pubs {
			if strings.HasPrefix(k, name+"/") {
				delete(f.pubs, k)
			}
		}
	}
}

func (f *fakeLink) GetConnection(_ context.Context, key string) (*client.Connection, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("GET connection")
	var c *client.Connection
	for _, v := range f.conns {
		if v.ID == key || v.Org.ConnectionName == key {
			c = v
		}
	}
	if c == nil {
		return nil, notFound("connection")
	}
	f.connFinal(c)
	if _, ok := f.conns[c.Org.ConnectionName]; !ok {
		return nil, notFound("connection")
	}
	cp := *c
	return &cp, nil
}

func (f *fakeLink) createConn(ctx context.Context, name, orgType string, jwt bool) (*client.Connection, error) {
	if f.inPost != nil {
		f.inPost()
	}
	if f.postDelay > 0 {
		select {
		case <-time.After(f.postDelay):
		case <-ctx.Done():
			return nil, &client.AmbiguousError{Method: "POST", Path: "/connection", Err: ctx.Err()}
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	created, err := f.prePost("connection", name)
	if created {
		if _, ok := f.conns[name]; ok {
			return nil, conflict("connection")
		}
		c := &client.Connection{ID: f.newID(), Status: client.StatusConnecting, Org: client.Org{ConnectionName: name, Type: orgType}}
		if !jwt {
			c.RedirectURI = "https://login.example/oauth/" + c.ID
		}
		f.reads[c.ID] = f.pendingReads
		f.conns[name] = c
		if err == nil {
			cp := *c
			return &cp, nil
		}
	}
	return nil, err
}

func (f *fakeLink) CreateConnection(ctx context.Context, orgType string, req client.ConnectRequest) (*client.Connection, error) {
	t := client.OrgTypeSalesforce
	if orgType == "datacloud" {
		t = client.OrgTypeDataCloud
	}
	return f.createConn(ctx, req.Name, t, false)
}

func (f *fakeLink) CreateJWTConnection(ctx context.Context, req client.JWTRequest) (*client.Connection, error) {
	if req.PrivateKey.IsZero() {
		return nil, fmt.Errorf("no key")
	}
	return f.createConn(ctx, req.Name, client.OrgTypeSalesforce, true)
}

func (f *fakeLink) DeleteConnection(_ context.Context, name string) (*client.Connection, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("DELETE connection")
	f.log = append(f.log, "DELETE connection "+name)
	c, ok := f.conns[name]
	if !ok {
		return nil, notFound("connection")
	}
	c.Status = client.StatusDisconnecting
	f.reads[c.ID] = f.deleteReads
	f.deleted[c.ID] = true
	cp := *c
	return &cp, nil
}

func (f *fakeLink) GetAuthorization(_ context.Context, key string) (*client.Authorization, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("GET authorization")
	for _, a := range f.auths {
		if a.ID == key || a.Org.DeveloperName == key {
			name := a.Org.DeveloperName
			if a.Status == client.StatusAuthorizing {
				final := client.StatusAuthorized
				if f.fail[name] {
					final = client.StatusFailed
				}
				a.Status = f.step(a.ID, name, a.Status, true, final)
				if a.Status != client.StatusAuthorizing {
					a.RedirectURI = ""
				}
			}
			cp := *a
			return &cp, nil
		}
	}
	return nil, notFound("authorization")
}

func (f *fakeLink) createAuth(name string, jwt bool) (*client.Authorization, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	created, err := f.prePost("authorization", name)
	if created {
		if _, ok := f.auths[name]; ok {
			return nil, conflict("authorization")
		}
		a := &client.Authorization{ID: f.newID(), Status: client.StatusAuthorizing, Org: client.Org{DeveloperName: name}}
		if !jwt {
			a.RedirectURI = "https://login.example/oauth/" + a.ID
		}
		f.reads[a.ID] = f.pendingReads
		f.auths[name] = a
		if err == nil {
			cp := *a
			return &cp, nil
		}
	}
	return nil, err
}

func (f *fakeLink) CreateAuthorization(_ context.Context, _ string, req client.ConnectRequest) (*client.Authorization, error) {
	return f.createAuth(req.Name, false)
}

func (f *fakeLink) CreateJWTAuthorization(_ context.Context, _ string, req client.JWTRequest) (*client.Authorization, error) {
	return f.createAuth(req.Name, true)
}

func (f *fakeLink) DeleteAuthorization(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("DELETE authorization")
	f.log = append(f.log, "DELETE authorization "+name)
	if _, ok := f.auths[name]; !ok {
		return notFound("authorization")
	}
	delete(f.auths, name)
	return nil
}

func (f *fakeLink) GetDataActionTarget(_ context.Context, conn, apiName string) (*client.DataActionTargetDetail, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("GET target")
	t, ok := f.targets[conn+"/"+apiName]
	if !ok {
		return nil, notFound("target")
	}
	if t.Status == client.StatusPending {
		final := client.StatusCreated
		if f.fail[apiName] {
			final = client.StatusCreationFailed
		}
		t.Status = f.step(t.ID, apiName, t.Status, true, final)
	}
	cp := *t
	return &cp, nil
}

func (f *fakeLink) CreateDataActionTarget(_ context.Context, conn string, req client.TargetRequest) (*client.DataActionTargetDetail, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	created, err := f.prePost("target", req.APIName)
	if created {
		c, ok := f.conns[conn]
		if !ok || c.Status != client.StatusConnected {
			return nil, &client.ValidationError{APIError: &client.APIError{Method: "POST", Path: "/targets", Status: 422, ID: "validation_failed", Message: "connection is not connected"}}
		}
		if _, ok := f.targets[conn+"/"+req.APIName]; ok {
			return nil, conflict("target")
		}
		t := &client.DataActionTargetDetail{ID: f.newID(), APIName: req.APIName, Label: req.Label, Status: client.StatusPending, TargetEndpoint: req.TargetEndpoint, Type: req.Type}
		f.reads[t.ID] = f.pendingReads
		f.targets[conn+"/"+req.APIName] = t
		if err == nil {
			cp := *t
			return &cp, nil
		}
	}
	return nil, err
}

func (f *fakeLink) Publish(_ context.Context, conn string, req client.PublishRequest) (*client.Publication, error) {
	time.Sleep(f.publishDelay)
	f.mu.Lock()
	defer f.mu.Unlock()
	created, err := f.prePost("publication", req.ClientName)
	if created {
		c, ok := f.conns[conn]
		if !ok || c.Status != client.StatusConnected {
			return nil, &client.ValidationError{APIError: &client.APIError{Method: "POST", Path: "/apps", Status: 422, ID: "validation_failed", Message: "connection is not connected"}}
		}
		f.pubSerial++
		p := client.Publication{ConnectionName: conn, ESRName: req.ClientName + f.esrSuffix, ESRID: fmt.Sprintf("esr-%s-%d", req.ClientName, f.pubSerial)}
		f.pubs[conn+"/"+req.ClientName] = p
		if err == nil && !f.silentPublish {
			return &p, nil
		}
	}
	return nil, err
}

func (f *fakeLink) ListPublications(_ context.Context, conn string) ([]client.Publication, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("GET publications")
	var out []client.Publication
	for k, p := range f.pubs {
		if strings.HasPrefix(k, conn+"/") {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ESRName < out[j].ESRName })
	return out, nil
}
