package state

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/applinkctl/applinkctl/internal/fsutil"
)

// fileBackend keeps state in one JSON file (state.json), its lock in
// state.json.lock and its history in state.history.jsonl beside it. None of
// them, nor a temporary file, is ever opened through a symbolic link (see
// LinkError).
//
// While it holds the lock, every state write checks, under the same
// directory flock as the serial check, that the lock file is still the one
// it created and still names it: a run whose lock was broken (state unlock
// from another host, the file removed by hand) cannot write.
type fileBackend struct {
	path    string // absolute
	lock    string
	history string
	marker  string // STATE.migrated: the migration marker (see Migration)

	ignoreMigrated bool // OpenOptions.IgnoreMigrated

	mu   sync.Mutex // guards held and saved
	held *fileLock  // the lock held, or lost (kept so writes stay refused)
	// saved is what this backend's last Save wrote: while the file holds
	// exactly these bytes, its serial and lineage are known without
	// decoding it again (see storedSerial).
	saved savedFile
}

// savedFile is the content of a state file and the serial and lineage
// it encodes.
type savedFile struct {
	b       []byte
	serial  int64
	lineage string
}

// fileLock is a held lock file: the open file carrying the flock, the
// holder id written in it, and the lease its heartbeat watches.
type fileLock struct {
	*lease
	fh *os.File
	id string
}

func openFile(p string, ignoreMigrated bool) (*fileBackend, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return nil, fmt.Errorf("state file %s: %w", p, err)
	}
	return &fileBackend{
		path:    abs,
		lock:    abs + ".lock",
		history: strings.TrimSuffix(abs, ".json") + ".history.jsonl", // state.json → state.history.jsonl
		marker:  abs + ".migrated",

		ignoreMigrated: ignoreMigrated,
	}, nil
}

func (f *fileBackend) Describe() string { return "file://" + filepath.ToSlash(f.path) }

// Close releases a lock still held, as the end of the process would.
func (f *fileBackend) Close() error {
	f.mu.Lock()
	l := f.held
	f.mu.Unlock()
	if l == nil {
		return nil
	}
	return f.unlock(l)
}

// currentLease is the lease of the lock taken last, or nil.
func (f *fileBackend) currentLease() *lease {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.held == nil {
		return nil
	}
	return f.held.lease
}

// checkLock reports whether the lock file is still l's: present, the very
// file l created (not a new one by another run), and naming l's id. A nil
// *LockLostError with a nil error means it is; an error is a failure to
// look, which proves nothing either way.
func (f *fileBackend) checkLock(l *fileLock) (*LockLostError, error) {
	lost := func(cause string) *LockLostError { return &LockLostError{Where: f.Describe(), Cause: cause} }
	st, err := os.Stat(f.lock)
	if errors.Is(err, fs.ErrNotExist) {
		return lost(fmt.Sprintf("the lock file %s was removed (applinkctl state unlock from another host, or by hand?)", f.lock)), nil
	}
	if err != nil {
		return nil, err
	}
	mine, err := l.fh.Stat()
	if err != nil {
		return nil, err
	}
	if !os.SameFile(st, mine) {
		holder := "another run"
		if info, _, ierr := f.inspectLock(); ierr == nil && info.ID != "" {
			holder = info.holder()
		}
		return lost(fmt.Sprintf("the lock file %s was replaced; it now names %s", f.lock, holder)), nil
	}
	b, err := os.ReadFile(f.lock)
	if err != nil {
		return nil, err
	}
	var info LockInfo
	if json.Unmarshal(b, &info) != nil || info.ID != l.id {
		return lost(fmt.Sprintf("the lock file %s was overwritten; it no longer names this run (%s)", f.lock, l.id)), nil
	}
	return nil, nil
}

// heartbeat checks the lock file; a failure to look is not a loss.
func (f *fileBackend) heartbeat(l *fileLock) *LockLostError {
	lost, _ := f.checkLock(l)
	return lost
}

// fence refuses a write when this backend took a lock that is released or
// lost. Called under the directory flock, right before the write.
func (f *fileBackend) fence() error {
	f.mu.Lock()
	l := f.held
	f.mu.Unlock()
	if l == nil {
		return nil
	}
	if err := l.usable(); err != nil {
		return err
	}
	lost, err := f.checkLock(l)
	if lost != nil {
		return l.markLost(lost)
	}
	if err != nil {
		return fmt.Errorf("state %s: check the lock: %w", f.Describe(), err)
	}
	return nil
}

func (f *fileBackend) Load(ctx context.Context) (*State, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return f.read()
}

func (f *fileBackend) read() (*State, error) {
	b, err := f.readBytes()
	if err != nil {
		return nil, err
	}
	if b == nil {
		return newEmpty(f.Describe()), nil
	}
	return decode(f.Describe(), b)
}

// readBytes is the state file's content; nil, without error, when there
// is no file.
func (f *fileBackend) readBytes() ([]byte, error) {
	fh, err := openNoFollow(f.path, os.O_RDONLY, 0, "state file")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("state %s: %w", f.Describe(), err)
	}
	defer fh.Close()
	b, err := io.ReadAll(fh)
	if err != nil {
		return nil, fmt.Errorf("state %s: %w", f.Describe(), err)
	}
	if b == nil {
		b = []byte{} // an empty file is a file, and corrupt
	}
	return b, nil
}

// storedSerial is the serial and lineage of the stored state, for Save's
// compare-and-swap. The file is read whole every time; it is decoded only
// when it differs, byte for byte, from what this backend last saved: a
// run's saves follow one another with nothing between them, and decoding
// the whole state for each would take most of a save's time. Any other
// content (another writer's save, an edit, a restore) is decoded, so the
// check is the same as decoding every time.
func (f *fileBackend) storedSerial() (int64, string, error) {
	b, err := f.readBytes()
	if err != nil {
		return 0, "", err
	}
	f.mu.Lock()
	saved := f.saved
	f.mu.Unlock()
	if b != nil && saved.b != nil && bytes.Equal(b, saved.b) {
		return saved.serial, saved.lineage, nil
	}
	cur := newEmpty(f.Describe())
	if b != nil {
		if cur, err = decode(f.Describe(), b); err != nil {
			return 0, "", err
		}
	}
	return cur.Serial, cur.Lineage, nil
}

// Save writes atomically: a temporary file in the same directory, fsync,
// rename over the state, fsync of the directory. The read-compare-rename
// runs under an flock of the directory so two writers cannot both pass the
// serial check.
func (f *fileBackend) Save(ctx context.Context, s *State) error {
	var next *State
	written, err := f.writeLocked(ctx, func() (*State, error) {
		serial, lineage, err := f.storedSerial()
		if err != nil {
			return nil, err
		}
		if serial != s.Serial {
			return nil, &ConflictError{Where: f.Describe(), Expected: s.Serial, Found: serial}
		}
		next = s.Clone()
		next.Version = Version
		if next.Lineage == "" {
			next.Lineage = lineage
		}
		next.Serial = s.Serial + 1
		return next, nil
	})
	if err != nil {
		f.forgetSaved() // whatever the file holds now is decoded next time
		return err
	}
	f.mu.Lock()
	f.saved = savedFile{b: written, serial: next.Serial, lineage: next.Lineage}
	f.mu.Unlock()
	s.Version, s.Lineage, s.Serial = next.Version, next.Lineage, next.Serial
	return nil
}

func (f *fileBackend) forgetSaved() {
	f.mu.Lock()
	f.saved = savedFile{}
	f.mu.Unlock()
}

// writeLocked writes the state that decide returns, atomically, with the
// decision and the write under an flock of the state's directory, so no
// other writer can act between them.
// It returns the bytes written.
func (f *fileBackend) writeLocked(ctx context.Context, decide func() (*State, error)) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dir := filepath.Dir(f.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state %s: %w", f.Describe(), err)
	}
	unlock, err := flockDir(dir)
	if err != nil {
		return nil, fmt.Errorf("state %s: %w", f.Describe(), err)
	}
	defer unlock()
	if err := f.fence(); err != nil {
		return nil, err
	}
	if !f.ignoreMigrated {
		// Under the flock: a migration marks the state while holding the
		// lock, and a writer that opened the state before it finds out here.
		if err := checkMigrated(ctx, f); err != nil {
			return nil, err
		}
	}
	if err := linkAt(f.path, "state file"); err != nil {
		return nil, fmt.Errorf("state %s: %w", f.Describe(), err) // rename would replace the link, not what it names
	}
	s, err := decide()
	if err != nil {
		return nil, err
	}
	b, err := encode(s)
	if err != nil {
		return nil, err
	}
	if err := fsutil.WriteFileAtomic(f.path, b, 0o600); err != nil {
		return nil, fmt.Errorf("state %s: %w", f.Describe(), err)
	}
	return b, nil
}

// emptyLockGrace is how long an empty, unheld lock file may be a creator
// still about to flock and write it; past it the creator is dead.
const emptyLockGrace = 2 * time.Second

// errAbandonedLock: the lock file is empty, old and held by no one.
var errAbandonedLock = errors.New("abandoned empty lock file")

// pollInterval is how often a waiting Lock retries.
const pollInterval = 200 * time.Millisecond

// Lock creates STATE.lock with O_EXCL, writes the holder into it and holds
// an flock on it for the run. The flock is what tells a live holder from a
// dead one: the kernel drops it when the process dies, however it dies. A
// heartbeat checks that the file is still this run's (see checkLock).
func (f *fileBackend) Lock(ctx context.Context, info LockInfo, wait time.Duration) (func() error, error) {
	if err := os.MkdirAll(filepath.Dir(f.path), 0o700); err != nil {
		return nil, fmt.Errorf("state %s: lock: %w", f.Describe(), err)
	}
	// Refuse before anything is done rather than when the run's first
	// write or its history record meets the link.
	for _, p := range [][2]string{{f.path, "state file"}, {f.history, "history file"}} {
		if err := linkAt(p[0], p[1]); err != nil {
			return nil, fmt.Errorf("state %s: %w", f.Describe(), err)
		}
	}
	var fh *os.File
	_, err := pollLock(ctx, f.Describe(), wait, func() (func() error, error) {
		var err error
		fh, err = f.tryLock(info)
		return nil, err
	})
	if err != nil {
		return nil, err
	}
	l := &fileLock{lease: newLease(f.Describe()), fh: fh, id: info.ID}
	f.mu.Lock()
	f.held = l
	f.mu.Unlock()
	go l.beat(func() *LockLostError { return f.heartbeat(l) })
	var once sync.Once
	var relErr error
	release := func() error {
		once.Do(func() { relErr = f.unlock(l) })
		return relErr
	}
	if !f.ignoreMigrated {
		// A run that waited for the lock while state migrate held it
		// finds the state moved away.
		if err := checkMigrated(ctx, f); err != nil {
			return nil, errors.Join(err, release())
		}
	}
	return release, nil
}

// migrated reads the marker file, if any.
func (f *fileBackend) migrated(ctx context.Context) (*Migration, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	fh, err := openNoFollow(f.marker, os.O_RDONLY, 0, "migration marker")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("state %s: %w", f.Describe(), err)
	}
	defer fh.Close()
	b, err := readLimited(fh, 64<<10)
	if err != nil {
		return nil, fmt.Errorf("state %s: migration marker %s: %w", f.Describe(), f.marker, err)
	}
	var m Migration
	if err := json.Unmarshal(b, &m); err != nil || m.To == "" {
		// Unreadable, it still says the state moved: refuse rather than
		// use a state someone marked.
		return nil, fmt.Errorf("state %s: migration marker %s is unreadable; the state was migrated elsewhere: remove the marker only if it was not (applinkctl state migrate --help)", f.Describe(), f.marker)
	}
	return &m, nil
}

// markMigrated writes the marker file atomically.
func (f *fileBackend) markMigrated(ctx context.Context, m Migration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("state %s: migration marker: %w", f.Describe(), err)
	}
	if err := fsutil.WriteFileAtomic(f.marker, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("state %s: migration marker: %w", f.Describe(), err)
	}
	return nil
}

// clearMigrated removes the marker file.
func (f *fileBackend) clearMigrated(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.Remove(f.marker); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("state %s: migration marker: %w", f.Describe(), err)
	}
	return nil
}

// unlock stops the heartbeat and removes the lock file, unless it is no
// longer l's: a lock lost to another run leaves that run's file alone.
func (f *fileBackend) unlock(l *fileLock) error {
	if l.end() {
		return nil
	}
	f.mu.Lock()
	if f.held == l && l.lostErr() == nil {
		f.held = nil // released while held: later writes are unlocked ones
	}
	f.mu.Unlock()
	// Remove before closing: the flock is dropped only once the file is
	// gone, so no one can mistake it for a stale lock.
	var rmErr error
	if lost, err := f.checkLock(l); lost == nil && err == nil {
		f.removeTemps()
		rmErr = os.Remove(f.lock)
		if errors.Is(rmErr, fs.ErrNotExist) {
			rmErr = nil
		}
	}
	return errors.Join(rmErr, l.fh.Close())
}

// pollLock retries try until it stops returning *LockedError, wait passes,
// or ctx is done. While it waits it says so through the context's
// WithLockWaitOutput writer, at once and then every lockWaitNoticeEvery:
// the holder (as the lock records it) and how long it has waited, so that
// a run blocked on a lock never waits in silence. what names the state.
func pollLock(ctx context.Context, what string, wait time.Duration, try func() (func() error, error)) (func() error, error) {
	start := time.Now()
	deadline := start.Add(wait)
	out, _ := ctx.Value(lockWaitKey{}).(io.Writer)
	var nextNotice time.Time
	for {
		release, err := try()
		var le *LockedError
		if errors.As(err, &le) {
			le.Where = what
		}
		if err == nil || le == nil || le.Stale || !time.Now().Before(deadline) {
			return release, err
		}
		if now := time.Now(); out != nil && !now.Before(nextNotice) {
			fmt.Fprintf(out, "state %s is locked by %s; waited %s of --lock-timeout %s\n",
				what, le.holderText(), now.Sub(start).Round(time.Second), wait)
			nextNotice = now.Add(lockWaitNoticeEvery)
		}
		t := time.NewTimer(min(pollInterval, time.Until(deadline)))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("%w (stopped waiting: %w)", err, ctx.Err())
		case <-t.C:
		}
	}
}

// lockWaitNoticeEvery is how often a waiting Lock repeats who holds it.
const lockWaitNoticeEvery = 5 * time.Second

type lockWaitKey struct{}

// WithLockWaitOutput returns ctx with w as where Lock, while it waits for
// a lock another run holds, says who holds it and how long it has waited
// (once at the start, then every few seconds). The context carries it so
// that every caller of Lock, whatever backend it opened, gets it without
// the Backend interface growing an argument only progress needs.
func WithLockWaitOutput(ctx context.Context, w io.Writer) context.Context {
	return context.WithValue(ctx, lockWaitKey{}, w)
}

// tryLock creates the lock file and takes its flock, returning the open
// file that carries the flock for the life of the lock.
func (f *fileBackend) tryLock(info LockInfo) (*os.File, error) {
	fh, err := openNoFollow(f.lock, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600, "lock file")
	for attempt := 0; errors.Is(err, fs.ErrExist); attempt++ {
		lerr := f.lockedBy()
		if errors.Is(lerr, errAbandonedLock) && attempt < 2 {
			// Nobody holds it and nobody ever wrote to it: its creator died
			// between creating and writing it. Nothing names a holder to
			// ask about, so clear it and try again.
			if rerr := os.Remove(f.lock); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
				return nil, fmt.Errorf("state %s: lock: clear abandoned lock file: %w", f.Describe(), rerr)
			}
			fh, err = openNoFollow(f.lock, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600, "lock file")
			continue
		}
		var le *LockedError
		if attempt == 2 || !errors.As(lerr, &le) || le.Holder.ID != "" {
			return nil, lerr
		}
		// The holder released it while we looked: try again at once.
		fh, err = openNoFollow(f.lock, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600, "lock file")
	}
	if err != nil {
		return nil, fmt.Errorf("state %s: lock: %w", f.Describe(), err)
	}
	ok, err := flockTry(fh)
	if err != nil || !ok {
		// Someone opened our brand-new file to check staleness; back off
		// rather than share it.
		fh.Close()
		_ = os.Remove(f.lock)
		if err != nil {
			return nil, fmt.Errorf("state %s: lock: %w", f.Describe(), err)
		}
		return nil, &LockedError{}
	}
	b, _ := json.MarshalIndent(info, "", "  ") // LockInfo always encodes
	_, err = fh.Write(append(b, '\n'))
	if err == nil {
		err = fh.Sync()
	}
	if err != nil {
		_ = os.Remove(f.lock)
		fh.Close()
		return nil, fmt.Errorf("state %s: lock: %w", f.Describe(), err)
	}
	// A writer killed mid-write (kill -9, a crash) leaves its temporary
	// file; holding the lock, clear them.
	f.removeTemps()
	return fh, nil
}

// lockedBy reads the current holder and decides whether it is stale: no
// process holds the flock and, the lock being from this host, its pid is
// gone. A lock from another host on a shared file system is never judged
// stale.
func (f *fileBackend) lockedBy() error {
	info, held, err := f.inspectLock()
	// A new holder writes its details right after creating the file; wait
	// that moment out so the error can name it.
	for i := 0; i < 20 && err == nil && info.ID == ""; i++ {
		time.Sleep(5 * time.Millisecond)
		info, held, err = f.inspectLock()
	}
	if errors.Is(err, fs.ErrNotExist) {
		return &LockedError{} // released in between; the caller retries
	}
	if err != nil {
		return err
	}
	stale := !held && info.ID != "" && info.Host == hostname() && !processAlive(info.PID)
	return &LockedError{Holder: info, Stale: stale}
}

// inspectLock reads the lock file and reports whether a process on this
// host holds its flock.
func (f *fileBackend) inspectLock() (LockInfo, bool, error) {
	fh, err := openNoFollow(f.lock, os.O_RDONLY, 0, "lock file")
	if err != nil {
		return LockInfo{}, false, err
	}
	defer fh.Close()
	var info LockInfo
	b, err := readLimited(fh, 64<<10)
	if err != nil {
		return LockInfo{}, false, fmt.Errorf("state %s: lock: %w", f.Describe(), err)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		// Its creator has not written it yet. Taking the flock now could
		// beat the creator to it, so leave it alone and call it held —
		// unless it is older than any creator takes to flock and write it
		// and no one holds it: then its creator died in between.
		if st, serr := fh.Stat(); serr == nil && time.Since(st.ModTime()) > emptyLockGrace {
			if free, ferr := flockTry(fh); ferr == nil && free {
				flockRelease(fh)
				return info, false, errAbandonedLock
			}
		}
		return info, true, nil
	}
	if err := json.Unmarshal(b, &info); err != nil {
		return LockInfo{}, false, fmt.Errorf("state %s: lock file %s unreadable (remove it if no run is active): %w", f.Describe(), f.lock, err)
	}
	free, err := flockTry(fh)
	if err != nil {
		return info, true, fmt.Errorf("state %s: lock: %w", f.Describe(), err)
	}
	if free {
		flockRelease(fh)
	}
	return info, !free, nil
}

// ForceUnlock removes the lock file when its id matches and no process on
// this host holds it.
func (f *fileBackend) ForceUnlock(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	// A link is no lock any run made: nobody holds it, whatever the id.
	if link, err := f.ClearLockLink(ctx); link != nil || err != nil {
		return err
	}
	info, held, err := f.inspectLock()
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("state %s: unlock %s: not locked", f.Describe(), id)
	}
	if errors.Is(err, errAbandonedLock) {
		if err := os.Remove(f.lock); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("state %s: unlock: %w", f.Describe(), err)
		}
		return nil
	}
	if err != nil {
		return err
	}
	if info.ID != id {
		return fmt.Errorf("state %s: unlock %s: the lock is %q, held by %s", f.Describe(), id, info.ID, info.holder())
	}
	if held {
		return fmt.Errorf("state %s: unlock %s: its holder %s is still running; stop it first", f.Describe(), id, info.holder())
	}
	if err := os.Remove(f.lock); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("state %s: unlock %s: %w", f.Describe(), id, err)
	}
	return nil
}

func hostname() string { h, _ := os.Hostname(); return h }

func (f *fileBackend) AppendHistory(ctx context.Context, r HistoryRecord) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(f.history), 0o700); err != nil {
		return fmt.Errorf("state %s: history: %w", f.Describe(), err)
	}
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("state %s: history: %w", f.Describe(), err)
	}
	fh, err := openNoFollow(f.history, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600, "history file")
	if err != nil {
		return fmt.Errorf("state %s: history: %w", f.Describe(), err)
	}
	// One write of one line: O_APPEND keeps concurrent appends whole.
	if _, err = fh.Write(append(b, '\n')); err == nil {
		err = fh.Sync()
	}
	return errors.Join(wrapHistory(f, err), wrapHistory(f, fh.Close()))
}

func wrapHistory(f *fileBackend, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("state %s: history: %w", f.Describe(), err)
}

func (f *fileBackend) History(ctx context.Context, limit int) ([]HistoryRecord, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	fh, err := openNoFollow(f.history, os.O_RDONLY, 0, "history file")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("state %s: history: %w", f.Describe(), err)
	}
	defer fh.Close()
	var out []HistoryRecord
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for line := 1; sc.Scan(); line++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var r HistoryRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("state %s: history %s:%d: %w", f.Describe(), f.history, line, err)
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("state %s: history: %w", f.Describe(), err)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// importState writes s exactly (serial and lineage kept) into an empty
// backend; migrate uses it so the copy has the source's digest.
func (f *fileBackend) importState(ctx context.Context, s *State) error {
	_, err := f.writeLocked(ctx, func() (*State, error) {
		if _, err := os.Lstat(f.path); err == nil {
			return nil, fmt.Errorf("state %s: already holds a state; refusing to overwrite it", f.Describe())
		}
		return s, nil
	})
	return err
}
