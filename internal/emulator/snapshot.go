package emulator

import "sort"

// Snapshot is a deep copy of the world at one moment, with statuses
// computed, for test assertions ("no duplicate creates") and GET
// /_emulator/world. Everything is sorted by name. It holds no secrets: no
// add-on tokens, no keys.
type Snapshot struct {
	Apps          []AppSnapshot          `json:"apps"`
	ConnectedApps []ConnectedAppSnapshot `json:"connected_apps"`
}

// AppSnapshot is one app and its AppLink add-ons.
type AppSnapshot struct {
	ID     string          `json:"id"`
	Name   string          `json:"name"`
	Addons []AddonSnapshot `json:"addons"`
}

// AddonSnapshot is one add-on's resources.
type AddonSnapshot struct {
	ID             string                  `json:"id"`
	Name           string                  `json:"name"`
	Attachment     string                  `json:"attachment"`
	Connections    []ConnectionSnapshot    `json:"connections"`
	Authorizations []AuthorizationSnapshot `json:"authorizations"`
}

// GrantSnapshot is what connections and authorizations share: the
// grant to an org, how it was made and its status.
type GrantSnapshot struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	OrgType  string `json:"org_type"`
	Method   string `json:"method"`
	Status   string `json:"status"`
	ErrorID  string `json:"error_id,omitempty"`
	LoginURL string `json:"login_url,omitempty"`
	ClientID string `json:"client_id,omitempty"`
	Username string `json:"username,omitempty"`
	Alias    string `json:"alias,omitempty"`
}

// ConnectionSnapshot is a connection with its targets and publications.
type ConnectionSnapshot struct {
	GrantSnapshot
	Targets      []TargetSnapshot      `json:"targets"`
	Publications []PublicationSnapshot `json:"publications"`
}

// AuthorizationSnapshot is an authorization: a grant and nothing more.
type AuthorizationSnapshot = GrantSnapshot

// TargetSnapshot is a data action target.
type TargetSnapshot struct {
	ID             string `json:"id"`
	Label          string `json:"label"`
	APIName        string `json:"api_name"`
	TargetEndpoint string `json:"target_endpoint"`
	Type           string `json:"type"`
	Status         string `json:"status"`
}

// PublicationSnapshot is a publication: what was uploaded last and how
// many times this client name was published.
type PublicationSnapshot struct {
	ClientName        string   `json:"client_name"`
	ESRID             string   `json:"esr_id"`
	ESRName           string   `json:"esr_name"` // as the API lists it (see VariantESRName)
	SpecName          string   `json:"spec_name"`
	SpecSHA256        string   `json:"spec_sha256"`
	Files             []string `json:"files"`
	ExternalClientApp string   `json:"external_client_app,omitempty"`
	PermissionSet     string   `json:"permission_set,omitempty"`
	ConnectedApp      string   `json:"connected_app,omitempty"`
	Count             int      `json:"count"`
}

// ConnectedAppSnapshot is a connected app known to the Salesforce side.
type ConnectedAppSnapshot struct {
	ClientID   string   `json:"client_id"`
	Registered bool     `json:"registered"` // false: trusted on first use
	Usernames  []string `json:"usernames,omitempty"`
}

// grantSnapshot is g with the status it has now.
func grantSnapshot(g *grant, status string, err *apiError) GrantSnapshot {
	s := GrantSnapshot{ID: g.ID, Name: g.Name, OrgType: g.OrgType, Method: g.Method, Status: status,
		LoginURL: g.LoginURL, ClientID: g.ClientID, Username: g.Username, Alias: g.Alias}
	if err != nil {
		s.ErrorID = err.ID
	}
	return s
}

// World returns a snapshot of the whole world.
func (e *Emulator) World() Snapshot {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.settle() {
		_ = e.persist() // best effort: the snapshot itself is right either way
	}
	s := Snapshot{Apps: []AppSnapshot{}, ConnectedApps: []ConnectedAppSnapshot{}}
	for _, a := range sortedApps(e.w.Apps) {
		as := AppSnapshot{ID: a.ID, Name: a.Name, Addons: []AddonSnapshot{}}
		for _, ad := range a.Addons {
			ads := AddonSnapshot{ID: ad.ID, Name: ad.Name, Attachment: ad.Attachment, Connections: []ConnectionSnapshot{}, Authorizations: []AuthorizationSnapshot{}}
			for _, c := range ad.Connections {
				st, er, _ := e.connectionStatus(c)
				cs := ConnectionSnapshot{GrantSnapshot: grantSnapshot(&c.grant, st, er), Targets: []TargetSnapshot{}, Publications: []PublicationSnapshot{}}
				for _, t := range c.Targets {
					ts, _ := e.targetStatus(t)
					cs.Targets = append(cs.Targets, TargetSnapshot{ID: t.ID, Label: t.Label, APIName: t.APIName, TargetEndpoint: t.TargetEndpoint, Type: t.Type, Status: ts})
				}
				sort.Slice(cs.Targets, func(i, j int) bool { return cs.Targets[i].APIName < cs.Targets[j].APIName })
				for _, p := range c.Publications {
					cs.Publications = append(cs.Publications, PublicationSnapshot{ClientName: p.ClientName, ESRID: p.ESRID, ESRName: e.esrNameOf(p.ClientName), SpecName: p.SpecName,
						SpecSHA256: p.SpecSHA256, Files: append([]string{}, p.Files...), ExternalClientApp: p.ExternalClientApp,
						PermissionSet: p.PermissionSet, ConnectedApp: p.ConnectedApp, Count: p.Count})
				}
				sort.Slice(cs.Publications, func(i, j int) bool { return cs.Publications[i].ClientName < cs.Publications[j].ClientName })
				ads.Connections = append(ads.Connections, cs)
			}
			sort.Slice(ads.Connections, func(i, j int) bool { return ads.Connections[i].Name < ads.Connections[j].Name })
			for _, au := range ad.Authorizations {
				st, er, _ := e.authorizationStatus(au)
				ads.Authorizations = append(ads.Authorizations, grantSnapshot(&au.grant, st, er))
			}
			sort.Slice(ads.Authorizations, func(i, j int) bool { return ads.Authorizations[i].Name < ads.Authorizations[j].Name })
			as.Addons = append(as.Addons, ads)
		}
		s.Apps = append(s.Apps, as)
	}
	for _, ca := range e.w.ConnectedApps {
		s.ConnectedApps = append(s.ConnectedApps, ConnectedAppSnapshot{ClientID: ca.ClientID, Registered: ca.Registered, Usernames: append([]string(nil), ca.Usernames...)})
	}
	sort.Slice(s.ConnectedApps, func(i, j int) bool { return s.ConnectedApps[i].ClientID < s.ConnectedApps[j].ClientID })
	return s
}
