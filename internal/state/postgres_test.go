package state_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/applinkctl/applinkctl/internal/pgtest"
	"github.com/applinkctl/applinkctl/internal/state"
)

func pgConn(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	u, _ := url.Parse(dsn)
	q := u.Query()
	q.Del("schema")
	q.Del("workspace")
	u.RawQuery = q.Encode()
	c, err := pgx.Connect(context.Background(), u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func TestPostgresCreatesSchemaOnEmptyDatabase(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Start(t) + "&schema=custom_s&workspace=w1"
	b := open(t, dsn, state.OpenOptions{})
	open(t, dsn, state.OpenOptions{}) // a second open finds the tables ready
	c := pgConn(t, dsn)
	var v int
	if err := c.QueryRow(ctx, `SELECT version FROM custom_s.schema_version`).Scan(&v); err != nil || v != 3 {
		t.Fatalf("schema_version = %d, %v", v, err)
	}
	s := load(t, b)
	if err := b.Save(ctx, s); err != nil {
		t.Fatal(err)
	}
	var ws string
	var serial int64
	if err := c.QueryRow(ctx, `SELECT workspace, serial FROM custom_s.states`).Scan(&ws, &serial); err != nil || ws != "w1" || serial != 1 {
		t.Fatalf("stored row = %s %d, %v", ws, serial, err)
	}
	// A database migrated by a newer applinkctl is refused.
	if _, err := c.Exec(ctx, `UPDATE custom_s.schema_version SET version = 99`); err != nil {
		t.Fatal(err)
	}
	_, err := state.Open(ctx, dsn, state.OpenOptions{})
	var ve *state.VersionError
	if !errors.As(err, &ve) {
		t.Fatalf("open of a newer schema = %v, want *VersionError", err)
	}
	if _, err := state.Open(ctx, pgtest.Start(t)+"&schema=bad;drop", state.OpenOptions{}); err == nil {
		t.Fatal("a schema name that is not an identifier was accepted")
	}
}

func TestPostgresWorkspacesAreIndependent(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Start(t)
	a := open(t, dsn, state.OpenOptions{Workspace: "team-a"})
	b := open(t, dsn, state.OpenOptions{Workspace: "team-b"})
	relA, err := a.Lock(ctx, state.NewLockInfo("apply"), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer relA()
	relB, err := b.Lock(ctx, state.NewLockInfo("apply"), 0)
	if err != nil {
		t.Fatalf("workspace team-b blocked by team-a's lock: %v", err)
	}
	defer relB()
	sa := load(t, a)
	sa.Resources["x/connection/y"] = &state.Resource{Kind: "connection", Origin: state.Created, Phase: state.Applied}
	if err := a.Save(ctx, sa); err != nil {
		t.Fatal(err)
	}
	if sb := load(t, b); len(sb.Resources) != 0 || sb.Serial != 0 {
		t.Fatalf("team-b sees team-a's state: %+v", sb)
	}
	if !strings.Contains(a.Describe(), "workspace=team-a") || !strings.Contains(b.Describe(), "workspace=team-b") {
		t.Fatalf("describe = %s, %s", a.Describe(), b.Describe())
	}
	// The explicit workspace wins over ?workspace=.
	c := open(t, dsn+"&workspace=team-b", state.OpenOptions{Workspace: "team-a"})
	if got := load(t, c); got.Serial != 1 {
		t.Fatalf("explicit workspace ignored: serial %d", got.Serial)
	}
}

func TestPostgresDescribeAndErrorsHideThePassword(t *testing.T) {
	ctx := context.Background()
	u, _ := url.Parse(pgtest.Start(t))
	u.User = url.UserPassword("postgres", "s3cret-pw") // the test cluster trusts any password
	b := open(t, u.String(), state.OpenOptions{Workspace: "w"})
	if d := b.Describe(); strings.Contains(d, "s3cret") || !strings.HasPrefix(d, "postgres://127.0.0.1:") || !strings.Contains(d, "schema=applinkctl") {
		t.Fatalf("describe = %s", d)
	}
	badParam := *u
	badParam.RawQuery += "&sslmode=bogus&password=s3cret-pw"
	if _, err := state.Open(ctx, badParam.String(), state.OpenOptions{}); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("open with an invalid parameter = %v", err)
	}
	bad := *u
	bad.Host = "127.0.0.1:1" // nothing listens there
	_, err := state.Open(ctx, bad.String(), state.OpenOptions{})
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("open of a dead server = %v", err)
	}
}

// TestPostgresConnectionLoss cuts the backend's session mid-run: the save
// fails with a clear error, the stored state is the last committed one, and
// the next operation reconnects.
func TestPostgresConnectionLoss(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Start(t) + "&workspace=w"
	b := open(t, dsn, state.OpenOptions{})
	s := load(t, b)
	a, r := sampleResource(1)
	s.Resources[a] = r
	if err := b.Save(ctx, s); err != nil {
		t.Fatal(err)
	}
	admin := pgConn(t, dsn)
	if _, err := admin.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`); err != nil {
		t.Fatal(err)
	}
	a2, r2 := sampleResource(2)
	s.Resources[a2] = r2
	err := b.Save(ctx, s)
	if err == nil || !strings.Contains(err.Error(), "save") {
		t.Fatalf("save on a dead connection = %v", err)
	}
	if s.Serial != 1 {
		t.Fatalf("failed save moved the serial to %d", s.Serial)
	}
	got := load(t, open(t, dsn, state.OpenOptions{}))
	if got.Serial != 1 || len(got.Resources) != 1 {
		t.Fatalf("stored after the loss: serial %d, %d resources", got.Serial, len(got.Resources))
	}
	if err := b.Save(ctx, s); err != nil {
		t.Fatalf("save after reconnect: %v", err)
	}
}

// TestPostgresStaleLockInfoIsReplaced: a holder that died left its info row;
// the advisory lock is free, so the next run takes the lock and its row.
func TestPostgresStaleLockInfoIsReplaced(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Start(t) + "&workspace=w"
	b := open(t, dsn, state.OpenOptions{})
	c := pgConn(t, dsn)
	if _, err := c.Exec(ctx, `INSERT INTO applinkctl.locks (workspace, id, info, backend_pid) VALUES ('w', 'dead', '{"id":"dead","who":"bob"}', 1)`); err != nil {
		t.Fatal(err)
	}
	if err := b.ForceUnlock(ctx, "dead"); err != nil {
		t.Fatalf("clearing leftover info: %v", err)
	}
	if _, err := c.Exec(ctx, `INSERT INTO applinkctl.locks (workspace, id, info, backend_pid) VALUES ('w', 'dead', '{"id":"dead","who":"bob"}', 1)`); err != nil {
		t.Fatal(err)
	}
	info := state.NewLockInfo("apply")
	release, err := b.Lock(ctx, info, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var id string
	if err := c.QueryRow(ctx, `SELECT id FROM applinkctl.locks WHERE workspace = 'w'`).Scan(&id); err != nil || id != info.ID {
		t.Fatalf("lock row = %q, %v", id, err)
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := c.QueryRow(ctx, `SELECT count(*) FROM applinkctl.locks`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("lock rows after release = %d, %v", n, err)
	}
}

func TestMigrateFileToPostgresToFile(t *testing.T) {
	ctx := context.Background()
	src := open(t, "file://"+t.TempDir()+"/state.json", state.OpenOptions{IgnoreMigrated: true})
	s := load(t, src)
	for i := range 3 {
		a, r := sampleResource(i)
		s.Resources[a] = r
	}
	if err := src.Save(ctx, s); err != nil {
		t.Fatal(err)
	}
	if err := src.Save(ctx, s); err != nil { // serial 2: the copy must keep it
		t.Fatal(err)
	}
	for _, c := range []string{"c1", "c2"} {
		if err := src.AppendHistory(ctx, state.HistoryRecord{GitCommit: c, Outcome: "success"}); err != nil {
			t.Fatal(err)
		}
	}
	pg := open(t, pgtest.Start(t)+"&workspace=migrated", state.OpenOptions{IgnoreMigrated: true})
	res, err := state.Migrate(ctx, src, pg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Serial != 2 || res.Resources != 3 || res.History != 2 || res.Digest != s.Digest() {
		t.Fatalf("file → postgres = %+v", res)
	}
	if got := load(t, pg); got.Digest() != s.Digest() {
		t.Fatal("postgres copy differs")
	}
	if res, err := state.Migrate(ctx, src, pg); err != nil || res.Already == nil || res.Already.To != pg.Describe() {
		t.Fatalf("rerun = %+v, %v; want already migrated", res, err)
	}
	back := open(t, "file://"+t.TempDir()+"/back/state.json", state.OpenOptions{})
	res, err = state.Migrate(ctx, pg, back)
	if err != nil || res.History != 3 { // c1, c2 and the first migration
		t.Fatalf("postgres → file = %+v, %v", res, err)
	}
	got := load(t, back)
	if got.Digest() != s.Digest() {
		t.Fatal("round trip changed the state")
	}
	h, _ := back.History(ctx, 0)
	if len(h) != 4 || h[0].Operation != "state migrate from "+pg.Describe() || h[1].Operation != "state migrate from "+src.Describe() || h[2].GitCommit != "c2" {
		t.Fatalf("history after round trip = %+v", h)
	}
	// A destination holding another state is never overwritten.
	got.Resources = nil
	if err := back.Save(ctx, got); err != nil {
		t.Fatal(err)
	}
	other := open(t, "file://"+t.TempDir()+"/other.json", state.OpenOptions{IgnoreMigrated: true})
	if err := other.Save(ctx, load(t, other)); err != nil {
		t.Fatal(err)
	}
	if _, err := state.Migrate(ctx, other, back); err == nil || !strings.Contains(err.Error(), "refusing to overwrite") {
		t.Fatalf("migrate onto a different state = %v", err)
	}
}

// TestPostgresFencingToken: each lock taken moves the workspace's fencing
// token on, and a holder whose token was moved on by anyone else (here by
// hand, standing for a holder this run cannot see) has its next write
// refused and notices at its next heartbeat.
func TestPostgresFencingToken(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Start(t)
	b := open(t, dsn+"&workspace=w", state.OpenOptions{})
	c := pgConn(t, dsn)
	token := func() int64 {
		t.Helper()
		var n int64
		if err := c.QueryRow(ctx, `SELECT token FROM applinkctl.lock_tokens WHERE workspace = 'w'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for want := int64(1); want <= 2; want++ {
		rel, err := b.Lock(ctx, state.NewLockInfo("apply"), 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := token(); got != want {
			t.Fatalf("fencing token after lock %d = %d", want, got)
		}
		if want == 1 {
			if err := rel(); err != nil {
				t.Fatal(err)
			}
		}
	}
	st, err := state.NewStore(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Update(ctx, func(*state.State) error { return nil }); err != nil {
		t.Fatalf("write under the current token: %v", err)
	}
	if _, err := c.Exec(ctx, `UPDATE applinkctl.lock_tokens SET token = token + 1 WHERE workspace = 'w'`); err != nil {
		t.Fatal(err)
	}
	err = st.Update(ctx, func(*state.State) error { return nil })
	var lost *state.LockLostError
	if !errors.As(err, &lost) || !strings.Contains(err.Error(), "fencing token 3, this run holds 2") {
		t.Fatalf("write after the token moved on = %v", err)
	}
	select {
	case <-st.LockLost():
	case <-time.After(30 * time.Second):
		t.Fatal("the loss was never reported")
	}
	if got := load(t, b); got.Serial != 1 {
		t.Fatalf("serial %d after a refused write, want 1", got.Serial)
	}
}

// TestPostgresLockOutlivesIdleSessionTimeout: a server (here the database)
// with a short idle_session_timeout must not end the lock's session, nor
// the data session, while a run waits between writes.
func TestPostgresLockOutlivesIdleSessionTimeout(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Start(t)
	c := pgConn(t, dsn)
	var db string
	if err := c.QueryRow(ctx, `SELECT current_database()`).Scan(&db); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(ctx, `ALTER DATABASE `+pgx.Identifier{db}.Sanitize()+` SET idle_session_timeout = '300ms'`); err != nil {
		t.Fatal(err)
	}
	b := open(t, dsn+"&workspace=w", state.OpenOptions{})
	rel, err := b.Lock(ctx, state.NewLockInfo("apply"), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rel()
	st, err := state.NewStore(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	// Idle far longer than the timeout, as an apply waiting on a slow
	// resource would be.
	time.Sleep(2 * time.Second)
	if err := st.LockErr(); err != nil {
		t.Fatalf("the lock was lost while idle: %v", err)
	}
	_, err = open(t, dsn+"&workspace=w", state.OpenOptions{}).Lock(ctx, state.NewLockInfo("apply"), 0)
	var le *state.LockedError
	if !errors.As(err, &le) {
		t.Fatalf("a second lock after the idle wait = %v, want *LockedError: the server dropped the lock's session", err)
	}
	if err := st.Update(ctx, func(*state.State) error { return nil }); err != nil {
		t.Fatalf("write after the idle wait: %v", err)
	}
	if _, err := b.Load(ctx); err != nil {
		t.Fatalf("load after the idle wait: %v", err)
	}
}
