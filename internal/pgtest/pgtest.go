// Package pgtest gives tests a real, throwaway PostgreSQL database: never a
// mock, because what the Postgres state backend must get right (advisory
// locks per session, compare-and-swap under concurrency, what happens when
// a connection dies) is exactly what mocks get wrong.
//
// Start uses APPLINKCTL_TEST_PG_URL when set; otherwise it starts one
// cluster per test binary from the PostgreSQL binaries it finds (pg_ctl on
// PATH or under /usr/lib/postgresql/*/bin), listening on a free loopback
// port, and stops it when Main's m.Run returns. Each call creates a fresh
// database, dropped when the test ends. A package that cannot use Main
// (its TestMain belongs to testscript) may still call Start: the server dies
// with the test binary and the next cluster start removes its directory.
package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL names an existing server to use instead of starting one; its user
// must be allowed to create databases.
const EnvURL = "APPLINKCTL_TEST_PG_URL"

// EnvRequire, set to 1 (as .ci/run does), turns "no PostgreSQL found" from
// a skip into a failure so CI never silently skips these tests.
const EnvRequire = "APPLINKCTL_REQUIRE_PG"

const howToEnable = "install PostgreSQL (Debian: apt-get install postgresql, which puts pg_ctl under /usr/lib/postgresql/*/bin) or set " +
	EnvURL + "=postgres://user@host/db to a server where that user may create databases"

var (
	once     sync.Once
	shared   *cluster
	startErr error
	seq      atomic.Int64
)

// errNoPostgres means no server binaries were found: a skip, not a failure.
var errNoPostgres = errors.New("no PostgreSQL binaries found")

// cluster is the throwaway server of one test binary.
type cluster struct {
	dir  string
	port int
	cmd  *exec.Cmd
	done chan struct{}
}

// Main runs the tests and then stops the cluster if one was started. Call it
// from TestMain: func TestMain(m *testing.M) { pgtest.Main(m) }.
func Main(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

// Stop stops the shared cluster; Main calls it. Safe to call when none runs.
func Stop() {
	if shared != nil {
		shared.stop()
	}
}

// Start returns the URL of a fresh, empty database for t, dropped at the end
// of the test. Without any PostgreSQL it skips t, or fails it when
// APPLINKCTL_REQUIRE_PG=1.
func Start(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(EnvURL)
	if admin == "" {
		once.Do(func() { shared, startErr = startCluster() })
		if !usable(t, startErr) {
			return ""
		}
		admin = shared.url("postgres")
	}
	return freshDatabase(t, admin)
}

// usable skips or fails t when the cluster could not start: a skip when no
// PostgreSQL is installed, unless APPLINKCTL_REQUIRE_PG=1; a failure for
// any other reason.
func usable(t testing.TB, err error) bool {
	t.Helper()
	switch {
	case err == nil:
		return true
	case errors.Is(err, errNoPostgres) && os.Getenv(EnvRequire) != "1":
		t.Skipf("pgtest: %v; to run these tests %s", err, howToEnable)
	case errors.Is(err, errNoPostgres):
		t.Fatalf("pgtest: %v and %s=1: %s", err, EnvRequire, howToEnable)
	default:
		t.Fatalf("pgtest: %v", err)
	}
	return false
}

// freshDatabase creates a database named after the test and drops it when
// the test ends.
func freshDatabase(t testing.TB, admin string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("pgtest: connect to %s: %v", redact(admin), err)
	}
	defer conn.Close(context.Background())
	name := dbName(t.Name())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Logf("pgtest: drop database %s: %v", name, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Logf("pgtest: drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("pgtest: %s: not a URL", EnvURL)
	}
	u.Path = "/" + name
	return u.String()
}

// dbName makes a valid, unique database name from a test name.
func dbName(test string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(test) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	s := b.String()
	if len(s) > 40 {
		s = s[:40]
	}
	return fmt.Sprintf("t_%s_%d_%d", s, os.Getpid(), seq.Add(1))
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// debianBins is where Debian's postgresql packages put the server binaries.
var debianBins = "/usr/lib/postgresql/*/bin/pg_ctl"

// binDir finds the directory holding initdb and postgres.
func binDir() (string, error) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			p = r
		}
		return filepath.Dir(p), nil
	}
	matches, _ := filepath.Glob(debianBins)
	sort.Slice(matches, func(i, j int) bool { return versionOf(matches[i]) > versionOf(matches[j]) })
	if len(matches) > 0 {
		return filepath.Dir(matches[0]), nil
	}
	return "", errNoPostgres
}

func versionOf(pgCtl string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(pgCtl))))
	return v
}

// startCluster runs initdb and postgres in a temporary directory. As root
// (tests in containers and CI) both run as the postgres user, since
// PostgreSQL refuses to run as root. The server gets SIGKILL should the
// test binary die without stopping it.
func startCluster() (*cluster, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	var as *account
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root and there is no postgres user to run the server as: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		as = &account{uid: uid, gid: gid}
	}
	removeAbandoned()
	dir, err := os.MkdirTemp("", dirPrefix)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if as != nil {
		if err := os.Chown(dir, as.uid, as.gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	var out bytes.Buffer
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync")
	initdb.Dir, initdb.Stdout, initdb.Stderr = dir, &out, &out
	initdb.SysProcAttr = procAttr(as, false)
	if err := initdb.Run(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v\n%s", err, out.String())
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		c := &cluster{dir: dir, port: port, done: make(chan struct{})}
		log, err := os.Create(filepath.Join(dir, "postgres.log"))
		if err != nil {
			return nil, err
		}
		c.cmd = exec.Command(filepath.Join(bin, "postgres"), "-D", data,
			"-c", "listen_addresses=127.0.0.1", "-p", strconv.Itoa(port), "-k", dir,
			"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
			"-c", "max_connections=200")
		c.cmd.Dir, c.cmd.Stdout, c.cmd.Stderr = dir, log, log
		c.cmd.SysProcAttr = procAttr(as, true)
		if err := c.cmd.Start(); err != nil {
			log.Close()
			os.RemoveAll(dir)
			return nil, fmt.Errorf("start postgres: %w", err)
		}
		go func() { _ = c.cmd.Wait(); log.Close(); close(c.done) }()
		if lastErr = c.waitReady(30 * time.Second); lastErr == nil {
			return c, nil
		}
		c.kill()
	}
	logText, _ := os.ReadFile(filepath.Join(dir, "postgres.log"))
	os.RemoveAll(dir)
	return nil, fmt.Errorf("postgres did not start: %v\n%s", lastErr, logText)
}

const (
	dirPrefix = "applinkctl-pgtest-"
	ownerFile = "owner.pid" // the pid of the test binary that made the directory
)

// removeAbandoned deletes cluster directories whose test binary is gone:
// one that ended without Main (or was killed) leaves its directory behind,
// while its server died with it (Pdeathsig).
func removeAbandoned() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*"))
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, ownerFile))
		if err != nil {
			// Just created, or not ours: only old ones go.
			if fi, serr := os.Stat(d); serr == nil && time.Since(fi.ModTime()) > time.Hour {
				os.RemoveAll(d)
			}
			continue
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		if pid > 0 && alive(pid) {
			continue
		}
		os.RemoveAll(d)
	}
}

func (c *cluster) url(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, db)
}

func (c *cluster) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, c.url("postgres"))
		cancel()
		if err == nil {
			conn.Close(context.Background())
			return nil
		}
		select {
		case <-c.done:
			return fmt.Errorf("postgres exited: %w", err)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return err
		}
	}
}

// stop shuts the server down fast (SIGINT), killing it if it lingers, and
// removes its directory.
func (c *cluster) stop() {
	_ = c.cmd.Process.Signal(os.Interrupt)
	select {
	case <-c.done:
	case <-time.After(15 * time.Second):
		c.kill()
	}
	os.RemoveAll(c.dir)
}

func (c *cluster) kill() {
	killGroup(c.cmd.Process)
	<-c.done
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
