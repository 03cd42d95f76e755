package reliability

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// jwtRE matches a JWT (an assertion signed with the key, or an access token
// in JWT form): two base64url JSON segments and a signature.
var jwtRE = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]+`)

// secretSet is what must never appear, by name for the failure message.
type secretSet map[string]string

func (f *fleet) secrets() secretSet {
	k := testKey(f.t)
	s := secretSet{"the API key": f.srv.APIKey, "the key's base64 DER": k.derB64}
	for i, l := range k.pemBody {
		s[fmt.Sprintf("PEM body line %d", i+1)] = l
	}
	for i, tok := range f.tokens {
		s[fmt.Sprintf("add-on token %d", i+1)] = tok
	}
	return s
}

// keyOnly is the subset the emulator may not hold either: it plays Heroku,
// which keeps its own API key and add-on tokens, but it must never persist
// the private key (AppLink receives it only to sign).
func (s secretSet) keyOnly() secretSet {
	out := secretSet{}
	for name, v := range s {
		if strings.HasPrefix(name, "PEM") || strings.Contains(name, "DER") {
			out[name] = v
		}
	}
	return out
}

// find names every secret, access token or JWT in text.
func (s secretSet) find(text string) []string {
	var found []string
	for n, v := range s {
		if v != "" && strings.Contains(text, v) {
			found = append(found, n)
		}
	}
	for _, re := range []*regexp.Regexp{accessTokenRE, jwtRE} {
		if m := re.FindString(text); m != "" {
			found = append(found, fmt.Sprintf("a token (%.12s…)", m))
		}
	}
	sort.Strings(found)
	return found
}

// scan fails t for everything find finds in text, and counts it.
func (s secretSet) scan(t *testing.T, where, text string) int {
	t.Helper()
	found := s.find(text)
	for _, n := range found {
		t.Errorf("%s holds %s", where, n)
	}
	return len(found)
}

// scanDir scans every file under dir.
func (s secretSet) scanDir(t *testing.T, dir string) (files, found int) {
	t.Helper()
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Errorf("read %s: %v", p, err)
			return nil
		}
		files++
		found += s.scan(t, p, string(b))
		return nil
	})
	return files, found
}

// TestSecretsNeverLeak runs every verb at --log-level debug with a known
// key (from a file and from the environment), API key and add-on tokens,
// then scans stdout, stderr, plan files, exports, state (file and
// Postgres) and the emulator's persisted world, request log and snapshot:
// none of them may hold any of it, nor any access token or JWT.
func TestSecretsNeverLeak(t *testing.T) {
	t.Run("file", func(t *testing.T) { secretsSuite(t, "") })
	t.Run("postgres", func(t *testing.T) { secretsSuite(t, pgState(t)) })
}

func secretsSuite(t *testing.T, stateURL string) {
	f := newFleet(t, 1, defaultEmulator())
	if stateURL != "" {
		f.env = append(f.env, "APPLINKCTL_STATE="+stateURL)
	}
	sec := f.secrets()
	// The scanner must see what it looks for.
	if len(sec.keyOnly().find(string(testKey(t).pem))) == 0 {
		t.Fatal("the scanner does not find the key in the key file")
	}
	dbg := func(args ...string) []string { return append([]string{"--log-level", "debug"}, args...) }
	out := filepath.Join(f.dir, "out")
	steps := [][]string{
		dbg("validate", "-f", "."),
		dbg("plan", "-f", "."),
		dbg("plan", "-f", ".", "--format", "json"),
		dbg("plan", "-f", ".", "--format", "markdown"),
		dbg("plan", "-f", ".", "--out", "out/plan.json"),
		dbg("graph", "-f", ".", "--plan", "out/plan.json", "--format", "mermaid"),
		dbg("apply", "--auto-approve", "--wait-for-browser", "out/plan.json"),
		dbg("drift", "-f", "."),
		dbg("drift", "-f", ".", "--format", "json"),
		dbg("export", "--app", f.apps[0], "-o", "out/export"),
		dbg("export", "--app", f.apps[0]),
		dbg("graph", "-f", ".", "--format", "dot"),
		dbg("state", "list", "-f", "."),
		dbg("state", "show", "-f", ".", f.apps[0]+"/connection/prod_org/publication/AcmeOrders"),
		dbg("state", "history", "-f", "."),
	}
	if err := os.MkdirAll(out, 0o700); err != nil {
		t.Fatal(err)
	}
	found, streams, logBytes := 0, 0, 0
	for _, args := range steps {
		r := f.run(args...)
		if r.code != 0 {
			t.Errorf("step failed:\n%s", r)
		}
		found += sec.scan(t, "stdout of "+strings.Join(args, " "), r.stdout)
		found += sec.scan(t, "stderr of "+strings.Join(args, " "), r.stderr)
		streams += 2
		logBytes += len(r.stderr)
	}
	// A replace through apply -f with JSON progress.
	f.manifest("https://test.salesforce.com")
	r := f.run(dbg(applyArgs("--format", "json")...)...)
	if r.code != 0 {
		t.Errorf("apply -f:\n%s", r)
	}
	found += sec.scan(t, "stdout of apply -f", r.stdout) + sec.scan(t, "stderr of apply -f", r.stderr)
	streams += 2
	logBytes += len(r.stderr)
	if logBytes < 1000 {
		t.Errorf("only %d bytes of debug log in all: is --log-level debug logging?", logBytes)
	}

	files, n := sec.scanDir(t, out)
	found += n
	m, n := sec.scanDir(t, filepath.Join(f.dir, ".applinkctl"))
	files, found = files+m, found+n
	m, n = sec.keyOnly().scanDir(t, f.eo.Dir)
	files, found = files+m, found+n
	w, _ := normalWorld(t, f.srv.Emulator.World())
	found += sec.scan(t, "the emulator's world snapshot", w)
	found += sec.scan(t, "the emulator's request log", fmt.Sprint(f.srv.Emulator.Requests()))
	rows := 0
	if stateURL != "" {
		var dump string
		dump, rows = dumpPostgres(t, stateURL)
		found += sec.scan(t, "the Postgres state", dump)
	}
	t.Logf("secrets (%s state): %d commands at --log-level debug, %d streams (%d KiB of debug log), %d files, %d Postgres rows scanned for %d secrets, access tokens and JWTs: %d found",
		map[bool]string{true: "postgres", false: "file"}[stateURL != ""], len(steps)+1, streams, logBytes>>10, files, rows, len(sec), found)
}

// dumpPostgres renders every row of every user table of the database as
// text.
func dumpPostgres(t *testing.T, url string) (string, int) {
	t.Helper()
	ctx := context.Background()
	if i := strings.Index(url, "?"); i >= 0 {
		url = url[:i] // ?workspace= is applinkctl's, not pgx's
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rs, err := conn.Query(ctx, `SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) FROM information_schema.tables
		WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_type = 'BASE TABLE' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rs, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	n := 0
	for _, tb := range tables {
		rows, err := conn.Query(ctx, "SELECT t::text FROM "+tb+" t")
		if err != nil {
			t.Fatal(err)
		}
		texts, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range texts {
			b.WriteString(s + "\n")
			n++
		}
	}
	if n == 0 {
		t.Error("the Postgres state is empty: nothing was scanned")
	}
	return b.String(), n
}
