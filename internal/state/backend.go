package state

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/applinkctl/applinkctl/internal/statedata"
)

// Backend stores one state, its lock and its apply history. Both backends
// pass the conformance suite in conformance_test.go; callers never branch on
// which one they hold.
type Backend interface {
	// Load returns the stored state, or an empty one (Version and Lineage
	// set, no resources, serial 0) when nothing is stored. Corrupt state is
	// a *CorruptError and a newer format a *VersionError; neither is ever
	// replaced.
	Load(ctx context.Context) (*State, error)
	// Save is a compare-and-swap: the stored serial must equal s.Serial.
	// On success s.Serial is incremented to the stored one; on a mismatch
	// the error is a *ConflictError and nothing is written. While the
	// backend holds the lock, Save is also fenced by it: once the lock is
	// lost (see LockLostError) every Save fails with a *LockLostError and
	// writes nothing, even after release.
	Save(ctx context.Context, s *State) error
	// Lock takes the exclusive lock for a mutating run, waiting up to wait
	// (0: fail at once) and stopping early when ctx is done. A held lock is
	// a *LockedError naming its holder. release gives the lock up; after a
	// clean release the backend writes as one that never locked. While
	// held, a heartbeat checks the lock every HeartbeatInterval; Store's
	// LockLost reports a loss.
	Lock(ctx context.Context, info LockInfo, wait time.Duration) (release func() error, err error)
	// ForceUnlock breaks the lock with the given id, left behind by a run
	// that is gone. It refuses when the holder is provably still alive.
	ForceUnlock(ctx context.Context, id string) error
	// AppendHistory records one finished apply. It is not fenced: a run
	// that lost its lock still records how it ended.
	AppendHistory(ctx context.Context, r HistoryRecord) error
	// History lists records newest first, at most limit (all when limit <= 0).
	History(ctx context.Context, limit int) ([]HistoryRecord, error)
	// Describe names the backend for messages: file:///abs/path or
	// postgres://host/db?schema=…&workspace=…, never with a password.
	Describe() string
	// Close releases connections and files. Held locks are released too.
	Close() error
}

// LockInfo says who holds a lock, so a blocked run can name the holder and
// a person can tell whether it is safe to break.
type LockInfo struct {
	ID        string    `json:"id"`
	Who       string    `json:"who"`
	Host      string    `json:"host"`
	PID       int       `json:"pid"`
	CIRunURL  string    `json:"ci_run_url,omitempty"`
	Operation string    `json:"operation"`
	Since     time.Time `json:"since"`
}

// NewLockInfo describes the current process taking a lock for operation
// (apply, migrate, …): user, host, pid, the GitHub Actions run URL when the
// runner sets GITHUB_SERVER_URL, GITHUB_REPOSITORY and GITHUB_RUN_ID, the
// time, and a random id for `applinkctl state unlock ID`.
func NewLockInfo(operation string) LockInfo {
	host, _ := os.Hostname()
	return LockInfo{
		ID:        randomID(),
		Who:       currentUser(),
		Host:      host,
		PID:       os.Getpid(),
		CIRunURL:  ciRunURL(os.LookupEnv),
		Operation: operation,
		Since:     time.Now().UTC().Truncate(time.Second),
	}
}

func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// currentUser prefers the GitHub actor in Actions, where $USER is just
// "runner" and says nothing about who triggered the run.
func currentUser() string {
	for _, k := range []string{"GITHUB_ACTOR", "USER", "LOGNAME"} {
		if v := os.Getenv(k); v != "" {
			return v
		}
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "unknown"
}

// ciRunURL is the link to the GitHub Actions run, or "" outside Actions.
func ciRunURL(lookup func(string) (string, bool)) string {
	server, _ := lookup("GITHUB_SERVER_URL")
	repo, _ := lookup("GITHUB_REPOSITORY")
	run, _ := lookup("GITHUB_RUN_ID")
	if server == "" || repo == "" || run == "" {
		return ""
	}
	return strings.TrimSuffix(server, "/") + "/" + repo + "/actions/runs/" + run
}

// holder formats the lock holder for messages: alice@host (pid 123, apply,
// since …, ci: URL).
func (l LockInfo) holder() string {
	who := l.Who
	if who == "" {
		who = "unknown"
	}
	if l.Host != "" {
		who += "@" + l.Host
	}
	var parts []string
	if l.PID != 0 {
		parts = append(parts, fmt.Sprintf("pid %d", l.PID))
	}
	if l.Operation != "" {
		parts = append(parts, l.Operation)
	}
	if !l.Since.IsZero() {
		parts = append(parts, "since "+l.Since.UTC().Format(time.RFC3339))
	}
	if l.CIRunURL != "" {
		parts = append(parts, "ci: "+l.CIRunURL)
	}
	if len(parts) == 0 {
		return who
	}
	return who + " (" + strings.Join(parts, ", ") + ")"
}

// LockedError is Lock's failure: another run holds the lock. Stale is true
// when the holder is provably gone (same host, process no longer running);
// the lock is then not taken over silently but named for a person to break
// with `applinkctl state unlock ID`.
type LockedError struct {
	Holder LockInfo
	Stale  bool
	// Where is the locked state as Describe names it.
	Where string
	// StateArgs are the words, each quoted for a POSIX shell, that select
	// this state on a command line (-f PATH, --sandbox, --state,
	// --workspace): the unlock command printed carries them, so that run
	// as printed it breaks this lock and not the default state's. The
	// backend cannot know them; the command that took the lock sets them
	// (WithStateArgs).
	StateArgs []string
}

// UnlockCommand is the command that breaks this lock as a person types it.
func (e *LockedError) UnlockCommand() string {
	words := append([]string{"applinkctl", "state", "unlock"}, e.StateArgs...)
	return strings.Join(append(words, e.Holder.ID), " ")
}

// WithStateArgs returns err with args (LockedError.StateArgs) set on the
// *LockedError it wraps, if any, so its unlock command selects the same
// state; any other error is returned as it is.
func WithStateArgs(err error, args []string) error {
	var le *LockedError
	if errors.As(err, &le) {
		le.StateArgs = args
	}
	return err
}

// holderText names the holder for messages, or says it has not recorded
// itself yet.
func (e *LockedError) holderText() string {
	if e.Holder.ID == "" {
		return "another run that has not recorded itself yet"
	}
	return e.Holder.holder()
}

func (e *LockedError) Error() string {
	if e.Holder.ID == "" {
		return "state is locked by another run that has not recorded itself yet; try again shortly"
	}
	if e.Stale {
		return fmt.Sprintf("state is locked by %s, which is no longer running (stale lock); break it with: %s",
			e.Holder.holder(), e.UnlockCommand())
	}
	return fmt.Sprintf("state is locked by %s; if that run is gone: %s", e.Holder.holder(), e.UnlockCommand())
}

// HistoryRecord is one entry of the state history (statedata.HistoryRecord).
type HistoryRecord = statedata.HistoryRecord

// OpenOptions locate the default state and name the workspace.
type OpenOptions struct {
	// ManifestDir is where the default file state lives
	// (ManifestDir/.applinkctl/state.json). When empty it is derived from
	// ManifestFiles, else the current directory.
	ManifestDir string
	// ManifestFiles are the -f paths. The first locates the default state
	// (its directory, or itself when it is a directory); all of them derive
	// the default workspace (DefaultWorkspace).
	ManifestFiles []string
	// Workspace is an explicit --workspace. It wins over ?workspace= in a
	// Postgres URL, which wins over DefaultWorkspace(ManifestFiles). The file
	// backend holds one state per file and ignores it.
	Workspace string
	// LookupEnv reads DATABASE_URL for a bare "postgres"; os.LookupEnv when nil.
	LookupEnv func(string) (string, bool)
	// IgnoreMigrated opens a state that `state migrate` marked as moved
	// elsewhere (see Migration), which is otherwise a *MigratedError at
	// Open, Lock and Save. Only state migrate itself sets it, to say where
	// the state went or to undo the migration.
	IgnoreMigrated bool
}

// manifestDir is where the default state file lives.
func (o OpenOptions) manifestDir() string {
	if o.ManifestDir != "" {
		return o.ManifestDir
	}
	if len(o.ManifestFiles) > 0 && o.ManifestFiles[0] != "" && o.ManifestFiles[0] != "-" {
		p := o.ManifestFiles[0]
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			return p
		}
		return filepath.Dir(p)
	}
	return "."
}

// Open picks the backend from url:
//
//	""                          file <ManifestDir>/.applinkctl/state.json
//	file://PATH, or a bare PATH the JSON file at PATH
//	postgres://…, postgresql://… PostgreSQL (pgx URL; ?schema= and ?workspace= are applinkctl's)
//	postgres                    PostgreSQL at $DATABASE_URL (Heroku Postgres sets it)
func Open(ctx context.Context, url string, opts OpenOptions) (Backend, error) {
	b, err := open(ctx, url, opts)
	if err != nil {
		return nil, err
	}
	if !opts.IgnoreMigrated {
		if err := checkMigrated(ctx, b); err != nil {
			_ = b.Close()
			return nil, err
		}
	}
	return b, nil
}

func open(ctx context.Context, url string, opts OpenOptions) (Backend, error) {
	lookup := opts.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	switch {
	case url == "":
		return openFile(filepath.Join(opts.manifestDir(), ".applinkctl", "state.json"), opts.IgnoreMigrated)
	case url == "postgres" || url == "postgresql":
		dsn, ok := lookup("DATABASE_URL")
		if !ok || dsn == "" {
			return nil, fmt.Errorf("state backend %q: DATABASE_URL is not set; set it or pass --state postgres://…", url)
		}
		return openPostgres(ctx, dsn, opts)
	case strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://"):
		return openPostgres(ctx, url, opts)
	case strings.HasPrefix(url, "file://"):
		p := strings.TrimPrefix(url, "file://")
		if p == "" {
			return nil, fmt.Errorf("state backend %q: no path", url)
		}
		return openFile(p, opts.IgnoreMigrated)
	case strings.Contains(url, "://"):
		return nil, fmt.Errorf("state backend %q: unsupported scheme; use file://PATH or postgres://…", url)
	default:
		return openFile(url, opts.IgnoreMigrated)
	}
}

// DefaultWorkspace derives a stable workspace name from the manifest file
// set: a readable base (the manifest's directory, or its file name when it
// sits in the current directory) and a hash of the sorted, cleaned paths, so
// two manifest sets sharing one database never share a state by accident
// and the same set always finds its own.
func DefaultWorkspace(manifestFiles []string) string {
	if len(manifestFiles) == 0 {
		return "default"
	}
	// A directory stands for its *.yaml/*.yml files, as -f loads them, so
	// `plan -f DIR` and `apply PLANFILE` (which names the files) agree.
	var files []string
	for _, f := range manifestFiles {
		if st, err := os.Stat(f); err == nil && st.IsDir() {
			if entries, err := os.ReadDir(f); err == nil {
				for _, e := range entries {
					if ext := filepath.Ext(e.Name()); !e.IsDir() && (ext == ".yaml" || ext == ".yml") {
						files = append(files, filepath.Join(f, e.Name()))
					}
				}
				continue
			}
		}
		files = append(files, f)
	}
	if len(files) == 0 {
		files = manifestFiles
	}
	paths := make([]string, 0, len(files))
	for _, f := range files {
		p := filepath.Clean(f)
		if filepath.IsAbs(p) {
			if wd, err := os.Getwd(); err == nil {
				if r, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(r, "..") {
					p = r
				}
			}
		}
		paths = append(paths, filepath.ToSlash(p))
	}
	sort.Strings(paths)
	sum := sha256.Sum256([]byte(strings.Join(paths, "\n")))
	first := paths[0]
	base := filepath.Base(first)
	if ext := filepath.Ext(base); ext == ".yaml" || ext == ".yml" {
		if d := filepath.Base(filepath.Dir(first)); d != "." && d != "/" {
			base = d
		} else {
			base = strings.TrimSuffix(base, ext)
		}
	}
	return sanitizeName(base) + "-" + hex.EncodeToString(sum[:4])
}

// sanitizeName keeps a workspace name to [a-z0-9._-].
func sanitizeName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	out := strings.Trim(b.String(), "-.")
	if out == "" {
		return "manifest"
	}
	return out
}
