package state_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/state"
	"github.com/applinkctl/applinkctl/internal/testkit"
)

// linkEnv is a state directory (dir/.applinkctl) and, outside it, a file
// a planted link points to, with bytes that must survive every operation.
type linkEnv struct {
	t       *testing.T
	dir     string // the state directory
	target  string // the precious file outside it
	content string
	b       state.Backend
}

func newLinkEnv(t *testing.T) *linkEnv {
	t.Helper()
	root := t.TempDir()
	e := &linkEnv{t: t, dir: filepath.Join(root, ".applinkctl"), target: filepath.Join(root, "elsewhere", "precious.txt"),
		content: "root:x:0:0:root:/root:/bin/bash\n"}
	testkit.WriteFile(t, filepath.Dir(e.target), filepath.Base(e.target), e.content)
	if err := os.MkdirAll(e.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	e.b = open(t, filepath.Join(e.dir, "state.json"), state.OpenOptions{})
	return e
}

// plant makes dir/name a symbolic link to to.
func (e *linkEnv) plant(name, to string) string {
	e.t.Helper()
	p := filepath.Join(e.dir, name)
	if err := os.Symlink(to, p); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// untouched fails unless the target still holds exactly its bytes.
func (e *linkEnv) untouched() {
	e.t.Helper()
	b, err := os.ReadFile(e.target)
	if err != nil || string(b) != e.content {
		e.t.Fatalf("the link's target changed: %q, %v", b, err)
	}
}

// wantLinkError checks err is a *LinkError naming path and saying how to
// fix it.
func wantLinkError(t *testing.T, err error, what, path string) {
	t.Helper()
	var le *state.LinkError
	if !errors.As(err, &le) {
		t.Fatalf("error = %v, want a *state.LinkError", err)
	}
	msg := err.Error()
	if le.What != what || le.Path != path || !strings.Contains(msg, path+" is a symbolic link") || !strings.Contains(msg, "remove it: rm "+path) {
		t.Fatalf("error %q (what %q, path %q), want the %s %s and how to remove it", msg, le.What, le.Path, what, path)
	}
}

func TestStateFileLinkIsNeverFollowed(t *testing.T) {
	ctx := context.Background()
	e := newLinkEnv(t)
	// A valid state behind the link: following it would load "fine".
	e.content = `{"version": 1, "serial": 7, "lineage": "elsewhere", "resources": {}}` + "\n"
	testkit.WriteFile(t, filepath.Dir(e.target), filepath.Base(e.target), e.content)
	link := e.plant("state.json", e.target)

	_, err := e.b.Load(ctx)
	wantLinkError(t, err, "state file", link)
	if !strings.Contains(err.Error(), "--state") {
		t.Errorf("the error does not say how to use the file it names: %v", err)
	}
	s := &state.State{Version: 1, Serial: 7, Lineage: "elsewhere", Resources: map[addr.Address]*state.Resource{}}
	a, r := sampleResource(1)
	s.Resources[a] = r
	wantLinkError(t, e.b.Save(ctx, s), "state file", link)
	_, err = e.b.Lock(ctx, state.NewLockInfo("apply"), 0)
	wantLinkError(t, err, "state file", link)
	if _, err := os.Lstat(filepath.Join(e.dir, "state.json.lock")); !os.IsNotExist(err) {
		t.Errorf("a refused Lock left a lock file: %v", err)
	}
	e.untouched()
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link itself was replaced: %v", err)
	}
}

func TestHistoryLinkIsNeverFollowed(t *testing.T) {
	ctx := context.Background()
	for _, dangling := range []bool{false, true} {
		name := map[bool]string{false: "to a file", true: "dangling"}[dangling]
		t.Run(name, func(t *testing.T) {
			e := newLinkEnv(t)
			to := e.target
			if dangling {
				to = filepath.Join(filepath.Dir(e.target), "not-yet.txt")
			}
			link := e.plant("state.history.jsonl", to)

			// apply refuses before doing anything, not at its last step.
			_, err := e.b.Lock(ctx, state.NewLockInfo("apply"), 0)
			wantLinkError(t, err, "history file", link)
			wantLinkError(t, e.b.AppendHistory(ctx, state.HistoryRecord{Outcome: "success"}), "history file", link)
			_, err = e.b.History(ctx, 0)
			wantLinkError(t, err, "history file", link)
			e.untouched()
			if _, err := os.Lstat(to); dangling && !os.IsNotExist(err) {
				t.Errorf("the dangling link's target was created: %v", err)
			}
		})
	}
}

func TestLockLinkIsNeverFollowedAndUnlockRemovesIt(t *testing.T) {
	ctx := context.Background()
	for _, dangling := range []bool{false, true} {
		name := map[bool]string{false: "to a file", true: "dangling"}[dangling]
		t.Run(name, func(t *testing.T) {
			e := newLinkEnv(t)
			to := e.target
			if dangling {
				to = filepath.Join(filepath.Dir(e.target), "gone.lock")
			}
			link := e.plant("state.json.lock", to)

			_, err := e.b.Lock(ctx, state.NewLockInfo("apply"), 0)
			wantLinkError(t, err, "lock file", link)
			if !strings.Contains(err.Error(), "applinkctl state unlock") {
				t.Errorf("the error does not mention state unlock: %v", err)
			}
			// The link names no holder: any id breaks it, and only the
			// link goes.
			if err := e.b.ForceUnlock(ctx, "whatever"); err != nil {
				t.Fatalf("unlock of a lock link: %v", err)
			}
			if _, err := os.Lstat(link); !os.IsNotExist(err) {
				t.Fatalf("the link is still there: %v", err)
			}
			e.untouched()
			if _, err := os.Lstat(to); dangling && !os.IsNotExist(err) {
				t.Errorf("the dangling link's target was created: %v", err)
			}
			release, err := e.b.Lock(ctx, state.NewLockInfo("apply"), 0)
			if err != nil {
				t.Fatalf("lock after unlock: %v", err)
			}
			if err := release(); err != nil {
				t.Fatal(err)
			}
			e.untouched()
		})
	}
}

func TestClearLockLinkDescribesWhatItRemoved(t *testing.T) {
	ctx := context.Background()
	e := newLinkEnv(t)
	c, ok := e.b.(state.LockLinkClearer)
	if !ok {
		t.Fatal("the file backend does not implement state.LockLinkClearer")
	}
	if le, err := c.ClearLockLink(ctx); le != nil || err != nil {
		t.Fatalf("no link: %v, %v", le, err)
	}
	link := e.plant("state.json.lock", e.target)
	le, err := c.ClearLockLink(ctx)
	if err != nil || le == nil || le.Path != link || le.Target != e.target {
		t.Fatalf("ClearLockLink = %+v, %v", le, err)
	}
	e.untouched()
}

func TestTempFileLinksAreNeverFollowed(t *testing.T) {
	ctx := context.Background()
	e := newLinkEnv(t)
	// Links and a file under the names of the state's temporary files (fsutil.TempPrefix),
	// as a killed writer or someone hoping to be written through leaves
	// them.
	links := []string{
		e.plant(".state.json.tmp-1", e.target),
		e.plant(".state.json.tmp-2", filepath.Join(filepath.Dir(e.target), "dangling")),
	}
	leftover := filepath.Join(e.dir, ".state.json.tmp-3")
	testkit.WriteFile(t, e.dir, filepath.Base(leftover), "half a state")

	s := load(t, e.b)
	a, r := sampleResource(1)
	s.Resources[a] = r
	if err := e.b.Save(ctx, s); err != nil {
		t.Fatal(err)
	}
	e.untouched()
	if got := load(t, e.b); got.Serial != 1 || got.Resources[a] == nil {
		t.Fatalf("saved state = %+v", got)
	}
	// The lock holder clears them: the links themselves, not their targets.
	release, err := e.b.Lock(ctx, state.NewLockInfo("apply"), 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range append(links, leftover) {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("%s left after Lock: %v", p, err)
		}
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
	e.untouched()
	if _, err := os.Lstat(filepath.Join(filepath.Dir(e.target), "dangling")); !os.IsNotExist(err) {
		t.Errorf("the dangling link's target was created: %v", err)
	}
	entries, _ := os.ReadDir(e.dir)
	for _, en := range entries {
		if en.Name() != "state.json" {
			t.Errorf("left beside the state: %s", en.Name())
		}
	}
}
