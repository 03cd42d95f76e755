package manifest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"unicode"

	"github.com/applinkctl/applinkctl/internal/fsutil"
	"github.com/applinkctl/applinkctl/internal/secret"
)

// Options tune Load. The zero value reads the environment with
// os.LookupEnv and caps each file at 10 MiB.
type Options struct {
	// LookupEnv resolves ${VAR} and private_key_env; tests inject a map.
	LookupEnv func(string) (string, bool)
	// MaxFileSize caps manifest, spec, metadata and key files, checked
	// before a file is read.
	MaxFileSize int64
}

// Counts is how many resources of each kind a manifest declares, for the
// summary line of validate.
type Counts struct {
	Apps, Connections, Authorizations, Targets, Publications int
}

// Counts counts the manifest's resources.
func (m *Manifest) Counts() Counts {
	var c Counts
	for _, a := range m.Apps {
		c.Apps++
		c.Authorizations += len(a.Authorizations)
		for _, conn := range a.Connections {
			c.Connections++
			c.Targets += len(conn.Targets)
			c.Publications += len(conn.Publications)
		}
	}
	return c
}

// Load reads manifest files and directories (every *.yaml and *.yml in a
// directory, not recursive, sorted by name), merges them, expands ${VAR},
// validates each file against Schema() and then semantically, loads private
// keys and checks specs. It reports every problem at once, sorted: when any
// is an error it returns (nil, problems, *InvalidError); warnings alone come
// back with the manifest and a nil error.
func Load(paths []string, opts Options) (*Manifest, []Problem, error) {
	if opts.LookupEnv == nil {
		opts.LookupEnv = os.LookupEnv
	}
	if opts.MaxFileSize <= 0 {
		opts.MaxFileSize = defaultMaxFileSize
	}
	l := &loader{opts: opts, keys: map[string]keyResult{}, specs: map[specKey]*specCheck{}}
	files := l.collect(paths)
	var docs []*doc
	for _, f := range files {
		if d := l.parseFile(f); d != nil {
			docs = append(docs, d)
		}
	}
	m := l.build(docs)
	l.checkClientIDs()
	list := l.ps.sorted()
	if l.ps.hasErrors() {
		return nil, list, &InvalidError{Problems: list}
	}
	return m, list, nil
}

type loader struct {
	opts  Options
	ps    problems
	keys  map[string]keyResult // by absolute key file path
	jwts  []jwtUse             // every JWT block with a usable key, in load order
	specs map[specKey]*specCheck
}

// specKey names a spec file: its absolute path and the path messages show.
type specKey struct{ abs, shown string }

type keyResult struct {
	pem         []byte
	fingerprint string
	mode        fs.FileMode // of the file read, for the permissions warning
	err         error
}

// fileRef is one manifest file to read. dir and name are set for a file
// found in a -f directory, which is read with readIn so that a link in the
// directory cannot lead outside it.
type fileRef struct{ shown, abs, dir, name string }

// collect expands the -f arguments into manifest files, in order, each once.
func (l *loader) collect(paths []string) []fileRef {
	var out []fileRef
	seen := map[string]bool{}
	add := func(shown, dir, name string) {
		abs, err := filepath.Abs(shown)
		if err != nil {
			abs = shown
		}
		if seen[abs] {
			return
		}
		seen[abs] = true
		out = append(out, fileRef{shown: shown, abs: abs, dir: dir, name: name})
	}
	if len(paths) == 0 {
		l.ps.errorf(Pos{File: "-f"}, "", "no manifest given: pass -f FILE or -f DIR")
	}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			l.ps.errorf(Pos{File: p}, "", "%s", describeFSError(err))
			continue
		}
		if !st.IsDir() {
			add(p, "", "") // a named pipe or device is refused when read
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			l.ps.errorf(Pos{File: p}, "", "%s", describeFSError(err))
			continue
		}
		var names []string
		for _, e := range entries {
			ext := strings.ToLower(filepath.Ext(e.Name()))
			if !e.IsDir() && (ext == ".yaml" || ext == ".yml") {
				names = append(names, e.Name())
			}
		}
		sort.Strings(names)
		if len(names) == 0 {
			l.ps.errorf(Pos{File: p}, "", "directory holds no *.yaml or *.yml file")
		}
		for _, n := range names {
			add(filepath.Join(p, n), p, n)
		}
	}
	return out
}

func describeFSError(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "no such file or directory"
	case errors.Is(err, fs.ErrPermission):
		return "permission denied"
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

func (l *loader) parseFile(f fileRef) *doc {
	var data []byte
	var err error
	if f.dir != "" {
		data, err = readIn(f.dir, f.name, l.opts.MaxFileSize)
	} else {
		data, err = readLimited(f.abs, l.opts.MaxFileSize)
	}
	var esc *fsutil.EscapeError
	switch {
	case errors.As(err, &esc):
		l.ps.errorf(Pos{File: f.shown}, "", "%v: a file in a -f directory may link only to a file inside it", err)
		return nil
	case err != nil:
		l.ps.errorf(Pos{File: f.shown}, "", "%s", describeFSError(err))
		return nil
	}
	d := &doc{file: f.shown, abs: f.abs, dir: filepath.Dir(f.abs)}
	if parseYAML(data, d, l.opts.LookupEnv, &l.ps) == nil {
		return nil
	}
	validateSchema(d, &l.ps)
	return d
}

// build merges the files and turns each into model values, running the
// semantic checks on the way. It works on a best-effort decoding, so that a
// schema error in one place does not hide a semantic one elsewhere.
func (l *loader) build(docs []*doc) *Manifest {
	m := &Manifest{}
	firstApp := map[string]Pos{}
	for _, d := range docs {
		m.Files = append(m.Files, d.abs)
		apps := wireApps(d.value)
		for _, name := range slices.Sorted(maps.Keys(apps)) {
			pos := d.posOf(ptrOf("apps", name)).at()
			if first, dup := firstApp[name]; dup {
				l.ps.errorf(pos, "apps."+name, "app %q is declared twice: also at %s", name, first)
				l.ps.errorf(first, "apps."+name, "app %q is declared twice: also at %s", name, pos)
				continue
			}
			firstApp[name] = pos
			m.Apps = append(m.Apps, l.app(d, name, apps[name], pos))
		}
	}
	sort.Slice(m.Apps, func(i, j int) bool { return m.Apps[i].Name < m.Apps[j].Name })
	return m
}

// wireApps decodes the apps of one file's value into their wire shape, best
// effort: a value of the wrong type is left zero, the schema having reported
// it. It gives what decoding the whole value through JSON into a fileWire
// gives (keys matched as encoding/json matches them: every key equal to
// "apps" but for case, in the order json.Marshal writes them), but goes
// through JSON one app at a time, so that no JSON copy of a whole big file
// sits beside its value.
func wireApps(v any) map[string]appWire {
	top, _ := v.(map[string]any)
	var out map[string]appWire
	for _, k := range slices.Sorted(maps.Keys(top)) {
		if !strings.EqualFold(k, "apps") {
			continue
		}
		switch apps := top[k].(type) {
		case nil:
			out = nil // JSON null empties a map
		case map[string]any:
			if out == nil {
				out = make(map[string]appWire, len(apps))
			}
			for name, av := range apps {
				var w appWire
				if raw, err := json.Marshal(av); err == nil {
					_ = json.Unmarshal(raw, &w) // type errors are the schema's to report
				}
				out[name] = w
			}
		}
	}
	return out
}

func (l *loader) app(d *doc, name string, w appWire, pos Pos) *App {
	a := &App{Name: name, Addon: w.Addon, Pos: pos}
	if strings.ContainsFunc(name, func(r rune) bool { return r == '/' || unicode.IsSpace(r) || unicode.IsControl(r) }) {
		// Addresses are APP/connection/NAME: a slash would make them ambiguous.
		l.ps.errorf(pos, "apps", "app name %q must not contain / or spaces: use the Heroku app name or UUID", name)
	}
	for _, cn := range slices.Sorted(maps.Keys(w.Connections)) {
		a.Connections = append(a.Connections, l.connection(d, name, cn, w.Connections[cn]))
	}
	for _, dn := range slices.Sorted(maps.Keys(w.Authorizations)) {
		a.Authorizations = append(a.Authorizations, l.authorization(d, name, dn, w.Authorizations[dn]))
	}
	return a
}

func (l *loader) connection(d *doc, app, name string, w connectionWire) *Connection {
	base := []string{"apps", app, "connections", name}
	ptr := ptrOf(base...)
	pos := d.posOf(ptr).at()
	c := &Connection{App: app, Name: name, Type: OrgType(w.Type), LoginURL: w.LoginURL, Protect: w.Protect, Pos: pos}
	if err := checkName("connection name", name); err != nil {
		l.ps.errorf(pos, fieldOf(ptr), "%v", err)
	}
	if w.LoginURL != "" {
		l.checkLoginURL(d, ptr+"/login_url", w.LoginURL)
	}
	if w.JWT != nil {
		if c.Type == DataCloud {
			l.ps.errorf(d.posOf(ptr+"/jwt").at(), fieldOf(ptr+"/jwt"), "datacloud connections have no JWT flow: remove jwt to use browser OAuth")
		}
		c.JWT = l.jwt(d, ptr+"/jwt", *w.JWT)
	}
	if len(w.Publications) > 0 && c.Type == DataCloud {
		l.ps.errorf(d.posOf(ptr+"/publications").at(), fieldOf(ptr+"/publications"), "publications are for salesforce connections only, and %s is datacloud", name)
	}
	if len(w.DataActionTargets) > 0 && c.Type == Salesforce {
		l.ps.errorf(d.posOf(ptr+"/data_action_targets").at(), fieldOf(ptr+"/data_action_targets"), "data_action_targets are for datacloud connections only, and %s is salesforce", name)
	}
	for _, cn := range slices.Sorted(maps.Keys(w.Publications)) {
		c.Publications = append(c.Publications, l.publication(d, app, name, cn, w.Publications[cn]))
	}
	apiNames := map[string]Pos{}
	for _, label := range slices.Sorted(maps.Keys(w.DataActionTargets)) {
		t := l.target(d, app, name, label, w.DataActionTargets[label])
		if first, dup := apiNames[t.APIName]; dup {
			tp := ptrOf(append(base, "data_action_targets", label, "api_name")...)
			l.ps.errorf(d.posOf(tp).at(), fieldOf(ptrOf(append(base, "data_action_targets", label)...)), "api_name %q is already used by another target of %s at %s", t.APIName, name, first)
		} else {
			apiNames[t.APIName] = t.Pos
		}
		c.Targets = append(c.Targets, t)
	}
	return c
}

func (l *loader) authorization(d *doc, app, name string, w authorizationWire) *Authorization {
	ptr := ptrOf("apps", app, "authorizations", name)
	pos := d.posOf(ptr).at()
	a := &Authorization{App: app, DeveloperName: name, Type: OrgType(w.Type), LoginURL: w.LoginURL, Alias: w.Alias, Protect: w.Protect, Pos: pos}
	if err := checkName("developer name", name); err != nil {
		l.ps.errorf(pos, fieldOf(ptr), "%v", err)
	}
	if w.LoginURL != "" {
		l.checkLoginURL(d, ptr+"/login_url", w.LoginURL)
	}
	if w.JWT != nil {
		a.JWT = l.jwt(d, ptr+"/jwt", *w.JWT)
		if a.Alias == "" {
			a.Alias = "applink:" + name
		}
	} else if w.Alias != "" {
		l.ps.errorf(d.posOf(ptr+"/alias").at(), fieldOf(ptr+"/alias"), "alias is only for JWT authorizations: add jwt or remove alias")
	}
	return a
}

func (l *loader) checkLoginURL(d *doc, ptr, raw string) {
	n := d.posOf(ptr)
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Scheme == "" {
		l.ps.errorf(n.val, fieldOf(ptr), "not an absolute URL: want https://HOST")
		return
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			l.ps.errorf(n.val, fieldOf(ptr), "must be https (http is allowed only for loopback test servers)")
		}
	default:
		l.ps.errorf(n.val, fieldOf(ptr), "scheme %q not allowed: must be https", u.Scheme)
	}
	if u.User != nil {
		l.ps.errorf(n.val, fieldOf(ptr), "must not carry user info")
	}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (l *loader) jwt(d *doc, ptr string, w jwtWire) *JWT {
	j := &JWT{ClientID: w.ClientID, Username: w.Username, PrivateKeyEnv: w.PrivateKeyEnv, Pos: d.posOf(ptr).at()}
	if (w.PrivateKeyFile == "") == (w.PrivateKeyEnv == "") {
		return j // neither or both: the schema's oneOf reports it
	}
	if w.PrivateKeyFile != "" {
		fptr := ptr + "/private_key_file"
		n := d.posOf(fptr)
		path := resolve(d.dir, w.PrivateKeyFile)
		j.PrivateKeyFile = path
		k := l.keyFile(path)
		if k.err != nil {
			l.ps.errorf(n.val, fieldOf(fptr), "private key %s %v", shownPath(d, w.PrivateKeyFile), k.err)
			return j
		}
		if perm := k.mode.Perm(); perm&0o077 != 0 {
			l.ps.warnf(n.val, fieldOf(fptr), "private key %s is readable by group or others (mode %04o): chmod 600 it", shownPath(d, w.PrivateKeyFile), perm)
		}
		j.PrivateKey, j.KeyFingerprint = secret.New(string(k.pem)), k.fingerprint
		l.useJWT(d, ptr, j)
		return j
	}
	eptr := ptr + "/private_key_env"
	n := d.posOf(eptr)
	if !validVarName(w.PrivateKeyEnv) {
		l.ps.errorf(n.val, fieldOf(eptr), "%q is not an environment variable name", w.PrivateKeyEnv)
		return j
	}
	v, ok := l.opts.LookupEnv(w.PrivateKeyEnv)
	if !ok || strings.TrimSpace(v) == "" {
		l.ps.errorf(n.val, fieldOf(eptr), "environment variable %s is not set", w.PrivateKeyEnv)
		return j
	}
	fp, err := parseKey([]byte(v))
	if err != nil {
		l.ps.errorf(n.val, fieldOf(eptr), "private key in $%s %v", w.PrivateKeyEnv, err)
		return j
	}
	j.PrivateKey, j.KeyFingerprint = secret.New(v), fp
	l.useJWT(d, ptr, j)
	return j
}

// keyFile reads and parses a key file once per run, however many
// connections and authorizations name it.
func (l *loader) keyFile(path string) keyResult {
	if k, ok := l.keys[path]; ok {
		return k
	}
	var k keyResult
	data, st, err := fsutil.ReadFileInfo(path, min(l.opts.MaxFileSize, 1<<20))
	switch {
	case isRefusal(err):
		k.err = err // "is a named pipe, not a regular file"
	case err != nil:
		k.err = fmt.Errorf("cannot be read: %s", describeFSError(err))
	default:
		if fp, perr := parseKey(data); perr != nil {
			k.err = perr
		} else {
			k.pem, k.fingerprint, k.mode = data, fp, st.Mode()
		}
	}
	l.keys[path] = k
	return k
}

// specFile reads and checks a spec file once per run, however many
// publications name it: a manifest of thousands of publications sharing a
// spec read and parsed it thousands of times. shown is the path as the
// user would recognise it, which the messages quote.
func (l *loader) specFile(path, shown string) *specCheck {
	key := specKey{path, shown}
	if sc, ok := l.specs[key]; ok {
		return sc
	}
	sc := &specCheck{}
	if data, err := readLimited(path, l.opts.MaxFileSize); err != nil {
		sc.readErr = fileProblem("spec", shown, err)
	} else {
		*sc = checkSpec(data, shown)
	}
	l.specs[key] = sc
	return sc
}

// resolve makes a manifest-relative path absolute.
func resolve(dir, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(dir, p)
}

// shownPath is a manifest-relative path as the user would recognise it:
// relative to the manifest as they named it.
func shownPath(d *doc, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(filepath.Dir(d.file), p)
}

func (l *loader) target(d *doc, app, conn, label string, w targetWire) *Target {
	ptr := ptrOf("apps", app, "connections", conn, "data_action_targets", label)
	pos := d.posOf(ptr).at()
	t := &Target{App: app, Connection: conn, Label: label, APIName: w.APIName, TargetEndpoint: w.TargetEndpoint, Type: w.Type, Pos: pos}
	if err := checkName("label", label); err != nil {
		l.ps.errorf(pos, fieldOf(ptr), "%v", err)
	}
	if t.APIName == "" {
		t.APIName = strings.ReplaceAll(label, " ", "_")
	} else if err := checkName("api_name", t.APIName); err != nil {
		l.ps.errorf(d.posOf(ptr+"/api_name").val, fieldOf(ptr+"/api_name"), "%v", err)
	}
	if t.Type == "" {
		t.Type = "webhook"
	}
	if w.TargetEndpoint != "" && !strings.HasPrefix(w.TargetEndpoint, "/") {
		l.ps.errorf(d.posOf(ptr+"/target_endpoint").val, fieldOf(ptr+"/target_endpoint"), "must be a path on the app starting with /")
	}
	return t
}

func (l *loader) publication(d *doc, app, conn, client string, w publicationWire) *Publication {
	ptr := ptrOf("apps", app, "connections", conn, "publications", client)
	pos := d.posOf(ptr).at()
	p := &Publication{App: app, Connection: conn, ClientName: client, PermissionSet: w.PermissionSet,
		ExternalClientApp: w.ExternalClientApp, ConnectedApp: w.ConnectedApp, Pos: pos}
	if strings.TrimSpace(client) != client || strings.ContainsAny(client, "/") {
		l.ps.errorf(pos, fieldOf(ptr), "client name %q must not contain / or surrounding spaces", client)
	}
	if w.ConnectedApp != "" && w.ExternalClientApp != "" {
		l.ps.errorf(d.posOf(ptr+"/connected_app").at(), fieldOf(ptr), "set external_client_app or connected_app (deprecated), not both")
	} else if w.ConnectedApp != "" {
		l.ps.warnf(d.posOf(ptr+"/connected_app").at(), fieldOf(ptr+"/connected_app"), "connected_app is deprecated: use external_client_app")
	}
	if w.Spec != "" {
		sptr := ptr + "/spec"
		sn := d.posOf(sptr)
		p.SpecFile = resolve(d.dir, w.Spec)
		shown := shownPath(d, w.Spec)
		if _, ok := specName(w.Spec); !ok {
			l.ps.errorf(sn.val, fieldOf(sptr), "spec %s must end in .json, .yaml or .yml", shown)
		} else if sc := l.specFile(p.SpecFile, shown); sc.readErr != "" {
			l.ps.errorf(sn.val, fieldOf(sptr), "%s", sc.readErr)
		} else if sc.report(sn.val, fieldOf(sptr), &l.ps); sc.valid {
			declared := sc.names
			for _, c := range []struct{ field, key, value string }{
				{"permission_set", "permissionSet", w.PermissionSet},
				{"external_client_app", "externalClientApp", w.ExternalClientApp},
				{"connected_app", "connectedApp", w.ConnectedApp},
			} {
				names := declared[c.key]
				if c.value == "" || len(names) == 0 || slices.Contains(names, c.value) {
					continue
				}
				fptr := ptr + "/" + c.field
				l.ps.warnf(d.posOf(fptr).val, fieldOf(fptr), "spec %s names %s %s in x-sfdc.heroku.authorization, not %q", shown, c.key, quoteAll(names), c.value)
			}
		}
	}
	if w.MetadataDir != "" {
		mptr := ptr + "/metadata_dir"
		mn := d.posOf(mptr)
		p.MetadataDir = resolve(d.dir, w.MetadataDir)
		shown := shownPath(d, w.MetadataDir)
		st, err := os.Stat(p.MetadataDir)
		switch {
		case err != nil:
			l.ps.errorf(mn.val, fieldOf(mptr), "metadata_dir %s: %s", shown, describeFSError(err))
		case !st.IsDir():
			l.ps.errorf(mn.val, fieldOf(mptr), "metadata_dir %s is not a directory", shown)
		default:
			present, bad := metadataFiles(shown)
			for _, msg := range bad {
				l.ps.errorf(mn.val, fieldOf(mptr), "metadata_dir %s: %s", shown, msg)
			}
			if w.ConnectedApp != "" && present[connectedAppMeta] {
				l.ps.errorf(d.posOf(ptr+"/connected_app").at(), fieldOf(ptr+"/connected_app"), "connected_app is set and %s holds %s: use one or the other", shown, connectedAppMeta)
			}
			if w.PermissionSet != "" && present[permissionSetMeta] {
				l.ps.errorf(d.posOf(ptr+"/permission_set").at(), fieldOf(ptr+"/permission_set"), "permission_set is set and %s holds %s: use one or the other", shown, permissionSetMeta)
			}
		}
	}
	return p
}

// The metadata files publishing uploads (docs/api.md, "Which command sends what").
const (
	connectedAppMeta  = "connectedapp-meta.xml"
	permissionSetMeta = "permissionset-meta.xml"
)

func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}
