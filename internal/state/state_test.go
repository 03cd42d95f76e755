package state_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/state"
)

func TestOpenPicksBackend(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	manifest := filepath.Join(dir, "infra", "applink.yaml")
	if err := os.MkdirAll(filepath.Dir(manifest), 0o755); err != nil {
		t.Fatal(err)
	}
	noEnv := func(string) (string, bool) { return "", false }
	cases := []struct {
		url  string
		opts state.OpenOptions
		want string // Describe, or an error substring prefixed with "error: "
	}{
		{"", state.OpenOptions{ManifestFiles: []string{manifest}}, "file://" + filepath.Join(dir, "infra", ".applinkctl", "state.json")},
		{"", state.OpenOptions{ManifestFiles: []string{filepath.Dir(manifest)}}, "file://" + filepath.Join(dir, "infra", ".applinkctl", "state.json")},
		{"", state.OpenOptions{ManifestDir: dir}, "file://" + filepath.Join(dir, ".applinkctl", "state.json")},
		{"file://" + dir + "/s.json", state.OpenOptions{}, "file://" + dir + "/s.json"},
		{dir + "/bare.json", state.OpenOptions{}, "file://" + dir + "/bare.json"},
		{"postgres", state.OpenOptions{LookupEnv: noEnv}, "error: DATABASE_URL is not set"},
		{"s3://bucket/key", state.OpenOptions{}, "error: unsupported scheme"},
		{"file://", state.OpenOptions{}, "error: no path"},
	}
	for _, c := range cases {
		b, err := state.Open(ctx, c.url, c.opts)
		if wantErr, ok := strings.CutPrefix(c.want, "error: "); ok {
			if err == nil || !strings.Contains(err.Error(), wantErr) {
				t.Errorf("Open(%q) = %v, want error %q", c.url, err, wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("Open(%q): %v", c.url, err)
			continue
		}
		if got := b.Describe(); got != c.want {
			t.Errorf("Open(%q).Describe() = %s, want %s", c.url, got, c.want)
		}
		_ = b.Close()
	}
}

func TestDefaultWorkspaceIsStable(t *testing.T) {
	a := state.DefaultWorkspace([]string{"infra/applink.yaml", "infra/extra.yaml"})
	b := state.DefaultWorkspace([]string{"./infra/extra.yaml", "infra/applink.yaml"})
	if a != b {
		t.Fatalf("order or spelling changed the workspace: %s vs %s", a, b)
	}
	if !strings.HasPrefix(a, "infra-") {
		t.Fatalf("workspace %s lacks the readable base", a)
	}
	if c := state.DefaultWorkspace([]string{"other/applink.yaml"}); c == a || !strings.HasPrefix(c, "other-") {
		t.Fatalf("another manifest set got %s (first %s)", c, a)
	}
	if w := state.DefaultWorkspace([]string{"applink.yaml"}); !strings.HasPrefix(w, "applink-") {
		t.Fatalf("manifest in the current directory: %s", w)
	}
	if w := state.DefaultWorkspace(nil); w != "default" {
		t.Fatalf("no manifests: %s", w)
	}
}

func TestFileBackendWritesPrivatelyAndAtomically(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), ".applinkctl")
	b := open(t, filepath.Join(dir, "state.json"), state.OpenOptions{})
	s := load(t, b)
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatal("load of an absent state created files")
	}
	a, r := sampleResource(1)
	s.Resources[a] = r
	if err := b.Save(ctx, s); err != nil {
		t.Fatal(err)
	}
	if err := b.AppendHistory(ctx, state.HistoryRecord{Outcome: "success"}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("state dir mode %v, %v", fi.Mode(), err)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
		info, _ := e.Info()
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", e.Name(), info.Mode().Perm())
		}
	}
	if strings.Join(names, ",") != "state.history.jsonl,state.json" {
		t.Fatalf("files beside the state: %v (temporary files left?)", names)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, "state.json"))
	if !bytes.HasPrefix(raw, []byte("{\n  \"version\": 1,\n  \"serial\": 1,")) {
		t.Fatalf("state file is not indented versioned JSON:\n%s", raw)
	}
	// A held lock leaves its file; releasing removes it.
	release, err := b.Lock(ctx, state.NewLockInfo("apply"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "state.json.lock")); err != nil {
		t.Fatalf("lock file: %v", err)
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "state.json.lock")); !os.IsNotExist(err) {
		t.Fatalf("lock file after release: %v", err)
	}
}

func TestDigestAndClone(t *testing.T) {
	s := &state.State{Version: 1, Serial: 3, Lineage: "l", Resources: map[addr.Address]*state.Resource{}}
	a, r := sampleResource(1)
	s.Resources[a] = r
	c := s.Clone()
	if c.Digest() != s.Digest() {
		t.Fatal("clone has another digest")
	}
	c.Resources[a].SpecGzip[0] ^= 0xff
	c.Resources[a].Status = "failed"
	if s.Resources[a].Status != "connected" || s.Resources[a].SpecGzip[0] == c.Resources[a].SpecGzip[0] {
		t.Fatal("clone shares memory with the original")
	}
	for name, change := range map[string]func(*state.State){
		"serial":   func(x *state.State) { x.Serial++ },
		"lineage":  func(x *state.State) { x.Lineage = "other" },
		"resource": func(x *state.State) { x.Resources[a].RemoteID = "other" },
	} {
		x := s.Clone()
		change(x)
		if x.Digest() == s.Digest() {
			t.Errorf("changing the %s kept the digest", name)
		}
	}
	empty := &state.State{Version: 1, Lineage: "l"}
	withMap := &state.State{Version: 1, Lineage: "l", Resources: map[addr.Address]*state.Resource{}}
	if empty.Digest() != withMap.Digest() {
		t.Error("nil and empty resource maps digest differently")
	}
}

func TestCompressSpecRoundTrip(t *testing.T) {
	spec := bytes.Repeat([]byte(`{"paths":{}}`), 100)
	z := state.CompressSpec(spec)
	if !bytes.Equal(z, state.CompressSpec(spec)) {
		t.Fatal("compression is not deterministic")
	}
	if len(z) >= len(spec) {
		t.Fatalf("compressed %d → %d bytes", len(spec), len(z))
	}
	got, err := state.DecompressSpec(z)
	if err != nil || !bytes.Equal(got, spec) {
		t.Fatalf("round trip: %v", err)
	}
	if _, err := state.DecompressSpec([]byte("not gzip")); err == nil {
		t.Fatal("garbage decompressed")
	}
}

func TestLockedErrorMessages(t *testing.T) {
	h := state.LockInfo{ID: "abc123", Who: "alice", Host: "ci-1", PID: 42, Operation: "apply",
		Since: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), CIRunURL: "https://github.com/o/r/actions/runs/9"}
	live := (&state.LockedError{Holder: h}).Error()
	want := "state is locked by alice@ci-1 (pid 42, apply, since 2026-01-01T00:00:00Z, ci: https://github.com/o/r/actions/runs/9); if that run is gone: applinkctl state unlock abc123"
	if live != want {
		t.Fatalf("got  %s\nwant %s", live, want)
	}
	stale := (&state.LockedError{Holder: h, Stale: true}).Error()
	if !strings.Contains(stale, "stale") || !strings.Contains(stale, "applinkctl state unlock abc123") {
		t.Fatalf("stale message: %s", stale)
	}
}

func TestNewLockInfoReadsCIRun(t *testing.T) {
	t.Setenv("GITHUB_SERVER_URL", "https://github.com")
	t.Setenv("GITHUB_REPOSITORY", "acme/infra")
	t.Setenv("GITHUB_RUN_ID", "77")
	t.Setenv("GITHUB_ACTOR", "octocat")
	l := state.NewLockInfo("apply")
	if l.CIRunURL != "https://github.com/acme/infra/actions/runs/77" || l.Who != "octocat" || l.PID != os.Getpid() || l.ID == "" || l.Operation != "apply" || l.Since.IsZero() {
		t.Fatalf("lock info = %+v", l)
	}
	if l2 := state.NewLockInfo("apply"); l2.ID == l.ID {
		t.Fatal("two lock infos share an id")
	}
}

// plan -f DIR names a directory; apply PLANFILE names the files it loaded
// (absolute). Both must find the same Postgres workspace.
func TestDefaultWorkspaceSameForDirectoryAndItsFiles(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.MkdirAll("m", 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"m/a.yaml", "m/b.yml", "m/notes.txt"} {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	byDir := state.DefaultWorkspace([]string{"m"})
	byFiles := state.DefaultWorkspace([]string{filepath.Join(dir, "m", "b.yml"), filepath.Join(dir, "m", "a.yaml")})
	if byDir != byFiles {
		t.Errorf("workspace of -f m = %q, of its files = %q", byDir, byFiles)
	}
	if other := state.DefaultWorkspace([]string{"m/a.yaml"}); other == byDir {
		t.Errorf("a subset of the files got the same workspace %q", other)
	}
}

// An empty lock file is a creator about to write its holder, and is
// respected; once older than any creator needs and held by no one, its
// creator died in between and the next Lock clears it.
func TestEmptyLockFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	b, err := state.Open(t.Context(), "file://"+path, state.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".lock", nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Lock(t.Context(), state.NewLockInfo("apply"), 0); err == nil {
		t.Fatal("a fresh empty lock file was taken over")
	}
	old := time.Now().Add(-time.Minute)
	if err := os.Chtimes(path+".lock", old, old); err != nil {
		t.Fatal(err)
	}
	release, err := b.Lock(t.Context(), state.NewLockInfo("apply"), 0)
	if err != nil {
		t.Fatalf("an abandoned empty lock file blocks: %v", err)
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
}
