package state

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// defaultSchema holds applinkctl's tables unless ?schema= says otherwise.
const defaultSchema = "applinkctl"

// releaseTimeout bounds giving a lock up. Release runs after Ctrl-C has
// cancelled the run's context, so it has a context of its own.
const releaseTimeout = 10 * time.Second

// migrations are the forward schema changes; schema_version records how
// many have run. Append only: a shipped migration never changes.
var migrations = []string{
	// 1: states, locks, history.
	`CREATE TABLE {S}.states (
		workspace  text PRIMARY KEY,
		serial     bigint NOT NULL,
		lineage    text NOT NULL,
		body       jsonb NOT NULL,
		updated_at timestamptz NOT NULL DEFAULT now()
	);
	CREATE TABLE {S}.locks (
		workspace   text PRIMARY KEY,
		id          text NOT NULL,
		info        jsonb NOT NULL,
		backend_pid integer NOT NULL,
		created_at  timestamptz NOT NULL DEFAULT now()
	);
	CREATE TABLE {S}.history (
		id        bigserial PRIMARY KEY,
		workspace text NOT NULL,
		started   timestamptz,
		ended     timestamptz,
		record    jsonb NOT NULL
	);
	CREATE INDEX history_workspace_id ON {S}.history (workspace, id);`,
	// 2: fencing tokens. Each lock taken bumps its workspace's token, and a
	// holder's state writes commit only while the token is still the one
	// it took.
	`CREATE TABLE {S}.lock_tokens (
		workspace text PRIMARY KEY,
		token     bigint NOT NULL
	);`,
	// 3: migration markers. A workspace whose state `state migrate` moved
	// elsewhere has a row saying where; it is refused until the row goes.
	`CREATE TABLE {S}.migrated (
		workspace   text PRIMARY KEY,
		record      jsonb NOT NULL,
		migrated_at timestamptz NOT NULL DEFAULT now()
	);`,
}

// sessionSettings keep the server's idle_session_timeout from ending
// applinkctl's sessions: the lock's session must live as long as the run
// (its heartbeat keeps it busy too), and a state write after a long wait
// must not find its connection gone. Servers older than 14 have no such
// setting; the statement then sets nothing.
const sessionSettings = `SELECT set_config(name, '0', false) FROM pg_settings WHERE name = 'idle_session_timeout'`

var schemaName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// pgBackend keeps each workspace's state in one row of {schema}.states. Its
// lock is a session-level advisory lock keyed on (schema, workspace), taken
// on a connection of its own that lives exactly as long as the lock: the
// pooled-connection leak of Terraform's pg backend cannot happen, and
// workspaces never block each other.
//
// While it holds the lock, its state writes run on the lock's own session
// and check the workspace's fencing token in the same transaction: a run
// whose session was terminated cannot write at all, and one that somehow
// outlived a newer holder's takeover finds the token moved on.
type pgBackend struct {
	cfg       *pgx.ConnConfig
	schema    string
	workspace string
	describe  string
	key       int64 // advisory lock key

	ignoreMigrated bool // OpenOptions.IgnoreMigrated

	mu   sync.Mutex // guards conn and held
	conn *pgx.Conn  // data connection, reopened after a loss
	held *pgLock    // the lock held, or lost (kept so writes stay refused)
}

// pgLock is a held advisory lock: its session, the fencing token it took,
// and the lease its heartbeat watches.
type pgLock struct {
	*lease
	mu    sync.Mutex // serialises conn between the heartbeat and fenced writes
	conn  *pgx.Conn
	id    string
	token int64
}

func openPostgres(ctx context.Context, raw string, opts OpenOptions) (*pgBackend, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("state backend postgres: the URL does not parse") // the error would echo the password
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("state backend postgres://%s%s: query: %w", u.Host, u.Path, err)
	}
	schema := q.Get("schema")
	if schema == "" {
		schema = defaultSchema
	}
	ws := opts.Workspace
	if ws == "" {
		ws = q.Get("workspace")
	}
	if ws == "" {
		ws = DefaultWorkspace(opts.ManifestFiles)
	}
	q.Del("schema")
	q.Del("workspace")
	u.RawQuery = q.Encode()
	desc := (&url.URL{Scheme: "postgres", Host: u.Host, Path: u.Path,
		RawQuery: url.Values{"schema": {schema}, "workspace": {ws}}.Encode()}).String()
	if !schemaName.MatchString(schema) {
		return nil, fmt.Errorf("state %s: schema %q: want a plain identifier ([A-Za-z_][A-Za-z0-9_]*)", desc, schema)
	}
	cfg, err := pgx.ParseConfig(u.String())
	if err != nil {
		// pgx's message quotes the URL and only tries to mask the password.
		return nil, fmt.Errorf("state %s: the connection URL is not valid for PostgreSQL (check its host, port and parameters)", desc)
	}
	cfg.AfterConnect = func(ctx context.Context, c *pgconn.PgConn) error {
		return c.Exec(ctx, sessionSettings).Close()
	}
	sum := sha256.Sum256([]byte("applinkctl-lock\x00" + schema + "\x00" + ws))
	b := &pgBackend{
		cfg: cfg, schema: schema, workspace: ws, describe: desc,
		key:            int64(binary.BigEndian.Uint64(sum[:8])),
		ignoreMigrated: opts.IgnoreMigrated,
	}
	if err := b.withConn(ctx, "open", b.migrate); err != nil {
		_ = b.Close()
		return nil, err
	}
	return b, nil
}

func (b *pgBackend) Describe() string { return b.describe }

// table is a schema-qualified, quoted table name.
func (b *pgBackend) table(name string) string {
	return pgx.Identifier{b.schema, name}.Sanitize()
}

// withConn runs fn on the data connection, reconnecting first when a
// previous failure closed it, and names the backend and operation in any
// error.
func (b *pgBackend) withConn(ctx context.Context, op string, fn func(context.Context, *pgx.Conn) error) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.conn == nil || b.conn.IsClosed() {
		c, err := pgx.ConnectConfig(ctx, b.cfg)
		if err != nil {
			return fmt.Errorf("state %s: %s: connect: %w", b.describe, op, err)
		}
		b.conn = c
	}
	if err := fn(ctx, b.conn); err != nil {
		var ce *ConflictError
		var ve *VersionError
		var co *CorruptError
		var me *MigratedError
		if errors.As(err, &ce) || errors.As(err, &ve) || errors.As(err, &co) || errors.As(err, &me) {
			return err
		}
		if b.conn.IsClosed() {
			return fmt.Errorf("state %s: %s: connection lost (the transaction did not commit unless the server says otherwise; the next command reconnects): %w", b.describe, op, err)
		}
		return fmt.Errorf("state %s: %s: %w", b.describe, op, err)
	}
	return nil
}

// migrate creates the schema and tables on first use and runs forward
// migrations, serialised across processes by a transaction-level advisory
// lock.
func (b *pgBackend) migrate(ctx context.Context, c *pgx.Conn) error {
	var current int
	var exists bool
	if err := c.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, b.table("schema_version")).Scan(&exists); err != nil {
		return err
	}
	if exists {
		if err := c.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM `+b.table("schema_version")).Scan(&current); err != nil {
			return err
		}
		if current == len(migrations) {
			return nil
		}
	}
	return pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
		sum := sha256.Sum256([]byte("applinkctl-migrate\x00" + b.schema))
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(binary.BigEndian.Uint64(sum[:8]))); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{b.schema}.Sanitize()); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+b.table("schema_version")+` (version integer NOT NULL)`); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM `+b.table("schema_version")).Scan(&current); err != nil {
			return err
		}
		if current > len(migrations) {
			return &VersionError{Where: b.describe, Found: current, Supported: len(migrations)}
		}
		for i := current; i < len(migrations); i++ {
			sql := strings.ReplaceAll(migrations[i], "{S}", pgx.Identifier{b.schema}.Sanitize())
			if _, err := tx.Exec(ctx, sql); err != nil {
				return fmt.Errorf("migration %d: %w", i+1, err)
			}
		}
		if _, err := tx.Exec(ctx, `DELETE FROM `+b.table("schema_version")); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO `+b.table("schema_version")+` (version) VALUES ($1)`, len(migrations))
		return err
	})
}

func (b *pgBackend) Load(ctx context.Context) (*State, error) {
	var s *State
	err := b.withConn(ctx, "load", func(ctx context.Context, c *pgx.Conn) error {
		var body string
		err := c.QueryRow(ctx, `SELECT body::text FROM `+b.table("states")+` WHERE workspace = $1`, b.workspace).Scan(&body)
		if errors.Is(err, pgx.ErrNoRows) {
			s = newEmpty("postgres:" + b.schema + "/" + b.workspace)
			return nil
		}
		if err != nil {
			return err
		}
		s, err = decode(b.describe, []byte(body))
		return err
	})
	return s, err
}

// Save is the compare-and-swap: an UPDATE guarded by the loaded serial (an
// INSERT for a workspace's first state) in one transaction. While this
// backend holds the lock, the transaction is fenced (see fenced).
func (b *pgBackend) Save(ctx context.Context, s *State) error {
	next := s.Clone()
	next.Version = Version
	if next.Lineage == "" {
		next.Lineage = newEmpty("postgres:" + b.schema + "/" + b.workspace).Lineage
	}
	next.Serial = s.Serial + 1
	body, err := encode(next)
	if err != nil {
		return err
	}
	if err := b.write(ctx, "save", func(ctx context.Context, tx pgx.Tx) error {
		if !b.ignoreMigrated {
			// In the write's transaction: a migration marks the state while
			// holding the lock, and a writer that opened the state before it
			// finds out here.
			m, err := b.migratedQ(ctx, tx)
			if err != nil {
				return err
			}
			if m != nil {
				return &MigratedError{Where: b.describe, Migration: *m}
			}
		}
		return b.saveTx(ctx, tx, s.Serial, next, body)
	}); err != nil {
		return err
	}
	s.Version, s.Lineage, s.Serial = next.Version, next.Lineage, next.Serial
	return nil
}

// saveTx stores next (encoded as body) if the stored serial is still
// loaded.
func (b *pgBackend) saveTx(ctx context.Context, tx pgx.Tx, loaded int64, next *State, body []byte) error {
	var n int64
	if loaded == 0 {
		tag, err := tx.Exec(ctx, `INSERT INTO `+b.table("states")+` (workspace, serial, lineage, body, updated_at)
			VALUES ($1, $2, $3, $4::jsonb, now()) ON CONFLICT (workspace) DO NOTHING`,
			b.workspace, next.Serial, next.Lineage, string(body))
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
	} else {
		tag, err := tx.Exec(ctx, `UPDATE `+b.table("states")+` SET serial = $3, lineage = $4, body = $5::jsonb, updated_at = now()
			WHERE workspace = $1 AND serial = $2
			AND CASE WHEN jsonb_typeof(body->'version') = 'number' THEN (body->'version')::numeric BETWEEN 1 AND $6 ELSE false END`,
			b.workspace, loaded, next.Serial, next.Lineage, string(body), Version)
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
	}
	if n == 1 {
		return nil
	}
	var found int64
	var stored string
	err := tx.QueryRow(ctx, `SELECT serial, body::text FROM `+b.table("states")+` WHERE workspace = $1`, b.workspace).Scan(&found, &stored)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	if found == loaded && err == nil {
		// The serial matched, so the stored body is what refused the
		// write: a newer or unreadable format.
		if _, derr := decode(b.describe, []byte(stored)); derr != nil {
			return derr
		}
	}
	return &ConflictError{Where: b.describe, Expected: loaded, Found: found}
}

// importState writes s with its serial into a workspace that has no state.
func (b *pgBackend) importState(ctx context.Context, s *State) error {
	body, err := encode(s)
	if err != nil {
		return err
	}
	return b.write(ctx, "import", func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO `+b.table("states")+` (workspace, serial, lineage, body, updated_at)
			VALUES ($1, $2, $3, $4::jsonb, now()) ON CONFLICT (workspace) DO NOTHING`,
			b.workspace, s.Serial, s.Lineage, string(body))
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return fmt.Errorf("workspace %s already holds a state; refusing to overwrite it", b.workspace)
		}
		return nil
	})
}

// write runs fn in one transaction: fenced by the lock when this backend
// has taken one, else on the data connection guarded by the serial alone
// (tools and tests that never lock).
func (b *pgBackend) write(ctx context.Context, op string, fn func(context.Context, pgx.Tx) error) error {
	b.mu.Lock()
	l := b.held
	b.mu.Unlock()
	if l != nil {
		return b.fenced(ctx, l, op, fn)
	}
	return b.withConn(ctx, op, func(ctx context.Context, c *pgx.Conn) error {
		return pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error { return fn(ctx, tx) })
	})
}

// fenced runs fn in a transaction on the lock's own session that first
// checks the workspace's fencing token is still the one this lock took.
// A terminated session cannot run it at all, and a token moved on by
// another holder rolls it back: either way the write is refused with a
// *LockLostError and the lease is marked lost.
func (b *pgBackend) fenced(ctx context.Context, l *pgLock, op string, fn func(context.Context, pgx.Tx) error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(); err != nil {
		return err
	}
	err := pgx.BeginFunc(ctx, l.conn, func(tx pgx.Tx) error {
		var token int64
		err := tx.QueryRow(ctx, `SELECT token FROM `+b.table("lock_tokens")+` WHERE workspace = $1 FOR SHARE`, b.workspace).Scan(&token)
		if errors.Is(err, pgx.ErrNoRows) {
			return b.lockLost("the fencing token of workspace " + b.workspace + " is gone")
		}
		if err != nil {
			return err
		}
		if token != l.token {
			return b.lockLost(fmt.Sprintf("another run took the lock since (fencing token %d, this run holds %d)", token, l.token))
		}
		return fn(ctx, tx)
	})
	if err == nil {
		return nil
	}
	var ce *ConflictError
	var ve *VersionError
	var co *CorruptError
	var le *LockLostError
	var me *MigratedError
	switch {
	case errors.As(err, &me):
		return err
	case errors.As(err, &le):
		return l.markLost(le)
	case l.conn.IsClosed():
		return l.markLost(b.sessionLost(err))
	case errors.As(err, &ce) || errors.As(err, &ve) || errors.As(err, &co):
		return err
	}
	return fmt.Errorf("state %s: %s: %w", b.describe, op, err)
}

func (b *pgBackend) lockLost(cause string) *LockLostError {
	return &LockLostError{Where: b.describe, Cause: cause}
}

// sessionLost names why the lock's session ended, from the error its
// connection last returned.
func (b *pgBackend) sessionLost(err error) *LockLostError {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "57P01": // admin_shutdown
			return b.lockLost("the lock session was terminated (pg_terminate_backend, or the server shutting down)")
		case "57P05": // idle_session_timeout
			return b.lockLost("the lock session was ended by the server's idle_session_timeout")
		case "57P02", "57P03": // crash_shutdown, cannot_connect_now
			return b.lockLost("the lock session ended: the server restarted (" + pe.Message + ")")
		}
	}
	return b.lockLost("the lock session was terminated (pg_terminate_backend or idle_session_timeout?); its connection reported: " + err.Error())
}

// heartbeat checks, on the lock's own session, that it still holds the
// advisory lock and that no one took a newer fencing token. The query
// also keeps the session from looking idle. A fenced write in progress
// proves as much, so the beat is skipped then.
func (b *pgBackend) heartbeat(l *pgLock) *LockLostError {
	if !l.mu.TryLock() {
		return nil
	}
	defer l.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), heartbeatTimeout)
	defer cancel()
	k := uint64(b.key)
	var held bool
	var token *int64
	err := l.conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted
			AND pid = pg_backend_pid() AND classid::bigint = $1 AND objid::bigint = $2 AND objsubid = 1),
		(SELECT token FROM `+b.table("lock_tokens")+` WHERE workspace = $3)`,
		int64(k>>32), int64(k&0xffffffff), b.workspace).Scan(&held, &token)
	switch {
	case err != nil && l.conn.IsClosed():
		return b.sessionLost(err)
	case err != nil && ctx.Err() != nil:
		return b.lockLost(fmt.Sprintf("the database did not answer the lock's heartbeat within %s", heartbeatTimeout))
	case err != nil:
		return nil // the session answered, so it lives; the next beat checks again
	case !held:
		return b.lockLost("the lock session no longer holds the advisory lock")
	case token == nil || *token != l.token:
		now := "gone"
		if token != nil {
			now = fmt.Sprint(*token)
		}
		return b.lockLost(fmt.Sprintf("another run took the lock since (fencing token %s, this run holds %d)", now, l.token))
	}
	return nil
}

// currentLease is the lease of the lock taken last, or nil.
func (b *pgBackend) currentLease() *lease {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.held == nil {
		return nil
	}
	return b.held.lease
}

// Lock takes pg_try_advisory_lock on a new dedicated connection, polling
// until wait, bumps the workspace's fencing token and records the holder
// in {schema}.locks. Postgres releases the advisory lock when the session
// ends, however the process dies; a leftover info row is overwritten by
// the next holder. A heartbeat watches the session until release.
func (b *pgBackend) Lock(ctx context.Context, info LockInfo, wait time.Duration) (func() error, error) {
	c, err := pgx.ConnectConfig(ctx, b.cfg)
	if err != nil {
		return nil, fmt.Errorf("state %s: lock: connect: %w", b.describe, err)
	}
	infoJSON, _ := json.Marshal(info) // LockInfo always encodes
	var token int64
	_, err = pollLock(ctx, b.describe, wait, func() (func() error, error) {
		var got bool
		if err := c.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, b.key).Scan(&got); err != nil {
			return nil, fmt.Errorf("state %s: lock: %w", b.describe, err)
		}
		if !got {
			return nil, b.holder(ctx, c)
		}
		if err := c.QueryRow(ctx, bumpToken(b), b.workspace).Scan(&token); err != nil {
			return nil, fmt.Errorf("state %s: lock: fencing token: %w", b.describe, err)
		}
		_, err := c.Exec(ctx, `INSERT INTO `+b.table("locks")+` (workspace, id, info, backend_pid, created_at)
			VALUES ($1, $2, $3::jsonb, pg_backend_pid(), now())
			ON CONFLICT (workspace) DO UPDATE SET id = excluded.id, info = excluded.info,
				backend_pid = excluded.backend_pid, created_at = excluded.created_at`,
			b.workspace, info.ID, string(infoJSON))
		if err != nil {
			return nil, fmt.Errorf("state %s: lock: record holder: %w", b.describe, err)
		}
		return func() error { return nil }, nil
	})
	if err != nil {
		closeCtx, cancel := context.WithTimeout(context.Background(), releaseTimeout)
		defer cancel()
		_ = c.Close(closeCtx)
		return nil, err
	}
	l := &pgLock{lease: newLease(b.describe), conn: c, id: info.ID, token: token}
	b.mu.Lock()
	b.held = l
	b.mu.Unlock()
	go l.beat(func() *LockLostError { return b.heartbeat(l) })
	var once sync.Once
	var relErr error
	release := func() error {
		once.Do(func() { relErr = b.unlock(l) })
		return relErr
	}
	if !b.ignoreMigrated {
		// A run that waited for the lock while state migrate held it
		// finds the workspace moved away.
		if err := checkMigrated(ctx, b); err != nil {
			return nil, errors.Join(err, release())
		}
	}
	return release, nil
}

// querier is what migratedQ reads through: a connection or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// migratedQ reads the workspace's migration marker through q.
func (b *pgBackend) migratedQ(ctx context.Context, q querier) (*Migration, error) {
	var raw string
	err := q.QueryRow(ctx, `SELECT record::text FROM `+b.table("migrated")+` WHERE workspace = $1`, b.workspace).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var m Migration
	if err := json.Unmarshal([]byte(raw), &m); err != nil || m.To == "" {
		return nil, fmt.Errorf("state %s: the migration marker of workspace %s is unreadable; the state was migrated elsewhere", b.describe, b.workspace)
	}
	return &m, nil
}

func (b *pgBackend) migrated(ctx context.Context) (*Migration, error) {
	var m *Migration
	err := b.withConn(ctx, "read migration marker", func(ctx context.Context, c *pgx.Conn) error {
		var err error
		m, err = b.migratedQ(ctx, c)
		return err
	})
	return m, err
}

func (b *pgBackend) markMigrated(ctx context.Context, m Migration) error {
	rec, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("state %s: migration marker: %w", b.describe, err)
	}
	return b.withConn(ctx, "write migration marker", func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, `INSERT INTO `+b.table("migrated")+` (workspace, record, migrated_at) VALUES ($1, $2::jsonb, now())
			ON CONFLICT (workspace) DO UPDATE SET record = excluded.record, migrated_at = excluded.migrated_at`, b.workspace, string(rec))
		return err
	})
}

func (b *pgBackend) clearMigrated(ctx context.Context) error {
	return b.withConn(ctx, "remove migration marker", func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, `DELETE FROM `+b.table("migrated")+` WHERE workspace = $1`, b.workspace)
		return err
	})
}

// dropLease forgets l after its release unless it was lost: a run that
// lost its lock keeps being refused.
func (b *pgBackend) dropLease(l *pgLock) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.held == l && l.lostErr() == nil {
		b.held = nil
	}
}

// bumpToken is the statement that moves a workspace's fencing token on
// and returns the new value.
func bumpToken(b *pgBackend) string {
	return `INSERT INTO ` + b.table("lock_tokens") + ` AS t (workspace, token) VALUES ($1, 1)
		ON CONFLICT (workspace) DO UPDATE SET token = t.token + 1 RETURNING token`
}

// holder reads who holds the workspace's lock. The row counts only when
// its session still holds an advisory lock: a row left by a dead holder
// must not be named while a new holder is between taking the lock and
// recording itself, so that moment is waited out briefly.
func (b *pgBackend) holder(ctx context.Context, c *pgx.Conn) error {
	var raw string
	var err error
	for range 20 {
		err = c.QueryRow(ctx, `SELECT l.info::text FROM `+b.table("locks")+` l WHERE l.workspace = $1
			AND EXISTS (SELECT 1 FROM pg_locks p WHERE p.locktype = 'advisory' AND p.granted AND p.pid = l.backend_pid)`,
			b.workspace).Scan(&raw)
		if !errors.Is(err, pgx.ErrNoRows) {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return &LockedError{}
	}
	if err != nil {
		return fmt.Errorf("state %s: lock: read holder: %w", b.describe, err)
	}
	var info LockInfo
	if err := json.Unmarshal([]byte(raw), &info); err != nil {
		return fmt.Errorf("state %s: lock: read holder: %w", b.describe, err)
	}
	return &LockedError{Holder: info}
}

// unlock stops the heartbeat, deletes our info row, releases the advisory
// lock and closes the lock's connection (which alone would release it). A
// lock already lost has nothing left to release.
func (b *pgBackend) unlock(l *pgLock) error {
	ctx, cancel := context.WithTimeout(context.Background(), releaseTimeout)
	defer cancel()
	if l.end() {
		return nil // Close got there first
	}
	b.dropLease(l)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lostErr() != nil || l.conn.IsClosed() {
		_ = l.conn.Close(ctx)
		return nil
	}
	_, err := l.conn.Exec(ctx, `DELETE FROM `+b.table("locks")+` WHERE workspace = $1 AND id = $2`, b.workspace, l.id)
	if err == nil {
		_, err = l.conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, b.key)
	}
	closeErr := l.conn.Close(ctx)
	if err != nil {
		return fmt.Errorf("state %s: unlock: %w", b.describe, err)
	}
	if closeErr != nil {
		return fmt.Errorf("state %s: unlock: %w", b.describe, closeErr)
	}
	return nil
}

// ForceUnlock clears the info row a dead holder left. A holder whose
// session is still connected keeps its advisory lock; it is named with the
// SQL that ends its session rather than ended here, because that would
// cut an apply off in the middle of a mutating call.
func (b *pgBackend) ForceUnlock(ctx context.Context, id string) error {
	return b.withConn(ctx, "unlock "+id, func(ctx context.Context, c *pgx.Conn) error {
		var raw string
		var pid int32
		err := c.QueryRow(ctx, `SELECT info::text, backend_pid FROM `+b.table("locks")+` WHERE workspace = $1`, b.workspace).Scan(&raw, &pid)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("workspace %s is not locked", b.workspace)
		}
		if err != nil {
			return err
		}
		var info LockInfo
		_ = json.Unmarshal([]byte(raw), &info) // a garbled row is cleared all the same
		if info.ID != id {
			return fmt.Errorf("the lock of workspace %s is %q, held by %s", b.workspace, info.ID, info.holder())
		}
		var got bool
		if err := c.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, b.key).Scan(&got); err != nil {
			return err
		}
		if !got {
			return fmt.Errorf("its holder %s is still connected (database session %d); if that run is truly gone, end the session with SELECT pg_terminate_backend(%d) and run applinkctl again", info.holder(), pid, pid)
		}
		// Move the fencing token on too, so nothing the dead holder might
		// still send can pass for a write under the lock.
		var token int64
		err = c.QueryRow(ctx, bumpToken(b), b.workspace).Scan(&token)
		if err == nil {
			_, err = c.Exec(ctx, `DELETE FROM `+b.table("locks")+` WHERE workspace = $1 AND id = $2`, b.workspace, id)
		}
		if _, uerr := c.Exec(ctx, `SELECT pg_advisory_unlock($1)`, b.key); err == nil {
			err = uerr
		}
		return err
	})
}

func (b *pgBackend) AppendHistory(ctx context.Context, r HistoryRecord) error {
	if r.Workspace == "" {
		r.Workspace = b.workspace
	}
	rec, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("state %s: history: %w", b.describe, err)
	}
	return b.withConn(ctx, "history", func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, `INSERT INTO `+b.table("history")+` (workspace, started, ended, record) VALUES ($1, $2, $3, $4::jsonb)`,
			b.workspace, nullTime(r.Started), nullTime(r.Ended), string(rec))
		return err
	})
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func (b *pgBackend) History(ctx context.Context, limit int) ([]HistoryRecord, error) {
	var out []HistoryRecord
	var lim *int64
	if limit > 0 {
		l := int64(limit)
		lim = &l
	}
	err := b.withConn(ctx, "history", func(ctx context.Context, c *pgx.Conn) error {
		rows, err := c.Query(ctx, `SELECT record::text FROM `+b.table("history")+` WHERE workspace = $1 ORDER BY id DESC LIMIT $2`, b.workspace, lim)
		if err != nil {
			return err
		}
		raws, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		for _, raw := range raws {
			var r HistoryRecord
			if err := json.Unmarshal([]byte(raw), &r); err != nil {
				return fmt.Errorf("history record: %w", err)
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// Close closes the data connection and the lock's connection if still
// open, which releases its advisory lock.
func (b *pgBackend) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), releaseTimeout)
	defer cancel()
	b.mu.Lock()
	l := b.held
	conn := b.conn
	b.conn = nil
	b.mu.Unlock()
	var errs []error
	if l != nil && !l.end() {
		l.mu.Lock()
		if !l.conn.IsClosed() {
			errs = append(errs, l.conn.Close(ctx))
		}
		l.mu.Unlock()
	}
	if conn != nil {
		errs = append(errs, conn.Close(ctx))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("state %s: close: %w", b.describe, err)
	}
	return nil
}
