package main

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/addr"
	"github.com/applinkctl/applinkctl/internal/pgtest"
	"github.com/applinkctl/applinkctl/internal/state"
	"github.com/applinkctl/applinkctl/internal/testkit"
)

// seedState writes a state with a connection (applied) and a publication
// (an intent) beside dir/applink.yaml, and two history records.
func seedState(t *testing.T, dir string) state.Backend {
	t.Helper()
	ctx := context.Background()
	testkit.WriteFile(t, dir, "applink.yaml", "apps: {}\n")
	b, err := state.Open(ctx, "", state.OpenOptions{ManifestDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	s, err := b.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	when := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	s.Resources[addr.Connection("acme-api", "prod")] = &state.Resource{Kind: addr.KindConnection, RemoteID: "c-123", Origin: state.Created,
		Phase: state.Applied, Status: "connected", KeyFingerprint: "sha256:keyfp", LoginURL: "https://login.salesforce.com",
		ClientID: "3MVG9", Username: "ci@acme.example", InputsDigest: "sha256:inputs", UpdatedAt: when, UpdatedBy: "alice"}
	s.Resources[addr.Publication("acme-api", "prod", "AcmeAPI")] = &state.Resource{Kind: addr.KindPublication, Origin: state.Created,
		Phase: state.Intent, Operation: "republish", SpecGzip: state.CompressSpec([]byte("openapi: 3.0.0\n")), SpecName: "api-spec.yaml", UpdatedAt: when}
	if err := b.Save(ctx, s); err != nil {
		t.Fatal(err)
	}
	for i, outcome := range []string{"failed", "success"} {
		if err := b.AppendHistory(ctx, state.HistoryRecord{Started: when.Add(time.Duration(i) * time.Hour), Ended: when.Add(time.Duration(i)*time.Hour + 90*time.Second),
			Who: "alice", Host: "laptop", GitCommit: "0123456789abcdef", Summary: map[string]int{"created": i + 1, "failed": 1 - i}, Outcome: outcome}); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func TestStateListAndShow(t *testing.T) {
	dir := t.TempDir()
	seedState(t, dir)
	manifest := filepath.Join(dir, "applink.yaml")
	out, errOut, code := runOut(t, "state", "list", "-f", manifest)
	if code != 0 {
		t.Fatalf("list: exit %d: %s", code, errOut)
	}
	want := "ADDRESS                                    KIND         ORIGIN   PHASE                REMOTE ID  UPDATED\n" +
		"acme-api/connection/prod                   connection   created  applied              c-123      2026-05-01T10:00:00Z\n" +
		"acme-api/connection/prod/publication/AcmeAPI  publication  created  intent (republish)  -          2026-05-01T10:00:00Z\n"
	if normalizeSpaces(out) != normalizeSpaces(want) {
		t.Fatalf("list:\n%s\nwant:\n%s", out, want)
	}
	// The directory of a manifest works as -f too, and so does --state.
	if out2, _, _ := runOut(t, "state", "list", "-f", dir); out2 != out {
		t.Fatalf("list -f DIR differs:\n%s", out2)
	}
	if out3, _, _ := runOut(t, "state", "list", "--state", "file://"+filepath.Join(dir, ".applinkctl", "state.json")); out3 != out {
		t.Fatalf("list --state differs:\n%s", out3)
	}

	out, errOut, code = runOut(t, "state", "show", "-f", manifest, "acme-api/connection/prod/publication/AcmeAPI")
	if code != 0 {
		t.Fatalf("show: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"phase:           intent", "operation:       republish", "spec:            api-spec.yaml, 15 bytes (", "sha256:"} {
		if !strings.Contains(out, want) {
			t.Errorf("show output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "openapi: 3.0.0") {
		t.Error("show printed the spec's bytes")
	}
	out, _, _ = runOut(t, "state", "show", "-f", manifest, "acme-api/connection/prod")
	for _, want := range []string{"remote id:       c-123", "key fingerprint: sha256:keyfp", "username:        ci@acme.example", "updated by:      alice", "protect:         false"} {
		if !strings.Contains(out, want) {
			t.Errorf("show output lacks %q:\n%s", want, out)
		}
	}

	_, errOut, code = runOut(t, "state", "show", "-f", manifest, "acme-api/connection/nope")
	if code != 1 || !strings.Contains(errOut, "acme-api/connection/nope is not in state") {
		t.Fatalf("show of a missing address: exit %d: %s", code, errOut)
	}
	_, errOut, code = runOut(t, "state", "show", "-f", manifest, "not-an-address")
	if code != 1 || !strings.Contains(errOut, "address \"not-an-address\"") {
		t.Fatalf("show of a bad address: exit %d: %s", code, errOut)
	}
}

func normalizeSpaces(s string) string {
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		lines = append(lines, strings.Join(strings.Fields(l), " "))
	}
	return strings.Join(lines, "\n")
}

func TestStateListEmptyAndCorrupt(t *testing.T) {
	dir := t.TempDir()
	out, _, code := runOut(t, "state", "list", "-f", filepath.Join(dir, "applink.yaml"))
	if code != 0 || !strings.HasPrefix(out, "no resources in state file://") {
		t.Fatalf("empty list: exit %d: %s", code, out)
	}
	p := testkit.WriteFile(t, dir, "s.json", `{"version": 9, "lineage": "x"}`)
	_, errOut, code := runOut(t, "state", "list", "--state", p)
	if code != 1 || !strings.Contains(errOut, "newer than this build supports") {
		t.Fatalf("newer state: exit %d: %s", code, errOut)
	}
}

func TestStateHistory(t *testing.T) {
	dir := t.TempDir()
	seedState(t, dir)
	out, errOut, code := runOut(t, "state", "history", "-f", dir)
	if code != 0 {
		t.Fatalf("history: exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "STARTED") ||
		normalizeSpaces(lines[1]) != "2026-05-01T11:00:00Z 1m30s success alice laptop 0123456789ab created=2" ||
		normalizeSpaces(lines[2]) != "2026-05-01T10:00:00Z 1m30s failed alice laptop 0123456789ab created=1 failed=1" {
		t.Fatalf("history:\n%s", out)
	}
	out, _, code = runOut(t, "state", "history", "-f", dir, "--limit", "1", "--format", "json")
	var doc struct {
		FormatVersion string `json:"format_version"`
		Records       []struct {
			Outcome string         `json:"outcome"`
			Summary map[string]int `json:"summary"`
			Started time.Time      `json:"started"`
		} `json:"records"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != 0 {
		t.Fatalf("history json: exit %d, %v:\n%s", code, err, out)
	}
	if doc.FormatVersion != "1" || len(doc.Records) != 1 || doc.Records[0].Outcome != "success" || doc.Records[0].Summary["created"] != 2 {
		t.Fatalf("history json = %+v", doc)
	}
	_, errOut, code = runOut(t, "state", "history", "-f", dir, "--format", "yaml")
	if code != 1 || !strings.Contains(errOut, "want text or json") {
		t.Fatalf("bad format: exit %d: %s", code, errOut)
	}
}

func TestStateUnlock(t *testing.T) {
	dir := t.TempDir()
	b := seedState(t, dir)
	ctx := context.Background()
	info := state.NewLockInfo("apply")
	release, err := b.Lock(ctx, info, 0)
	if err != nil {
		t.Fatal(err)
	}
	// The holder (this process) is alive: unlock refuses.
	_, errOut, code := runOut(t, "state", "unlock", "-f", dir, info.ID)
	if code != 1 || !strings.Contains(errOut, "still running") {
		t.Fatalf("unlock of a live lock: exit %d: %s", code, errOut)
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
	// A lock file left by a process that is gone is broken by id.
	dead := state.LockInfo{ID: "deadbeef", Who: "bob", Host: hostnameForTest(t), PID: 1 << 30, Operation: "apply"}
	raw, _ := json.Marshal(dead)
	testkit.WriteFile(t, dir, ".applinkctl/state.json.lock", string(raw))
	_, err = b.Lock(ctx, state.NewLockInfo("apply"), 0)
	if err == nil || !strings.Contains(err.Error(), "applinkctl state unlock deadbeef") {
		t.Fatalf("lock over a dead holder = %v", err)
	}
	_, errOut, code = runOut(t, "state", "unlock", "-f", dir, "wrong")
	if code != 1 || !strings.Contains(errOut, "deadbeef") {
		t.Fatalf("unlock with a wrong id: exit %d: %s", code, errOut)
	}
	out, errOut, code := runOut(t, "state", "unlock", "-f", dir, "deadbeef")
	if code != 0 || !strings.Contains(out, "released lock deadbeef") {
		t.Fatalf("unlock: exit %d: %s%s", code, out, errOut)
	}
	rel, err := b.Lock(ctx, state.NewLockInfo("apply"), 0)
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	_ = rel()
}

func hostnameForTest(t *testing.T) string {
	h, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestStateMigrate(t *testing.T) {
	dir := t.TempDir()
	src := seedState(t, dir)
	want, _ := src.Load(context.Background())
	dst := filepath.Join(t.TempDir(), "copy", "state.json")
	raw, err := os.ReadFile(filepath.Join(dir, ".applinkctl", "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	testkit.WriteFile(t, dir, ".applinkctl/state.json.orig", string(raw)) // the old state is refused once migrated
	out, errOut, code := runOut(t, "state", "migrate", "-f", dir, "--to", "file://"+dst)
	if code != 0 || !strings.Contains(out, "migrated state serial 1 (2 resources) and 2 history records") || !strings.Contains(out, want.Digest()) {
		t.Fatalf("migrate: exit %d: %s%s", code, out, errOut)
	}
	out, _, code = runOut(t, "state", "migrate", "-f", dir, "--to", "file://"+dst)
	if code != 0 || !strings.Contains(out, "was already migrated to file://"+filepath.ToSlash(dst)) {
		t.Fatalf("second migrate: exit %d: %s", code, out)
	}
	listed, _, _ := runOut(t, "state", "list", "--state", dst)
	orig, _, _ := runOut(t, "state", "list", "--state", filepath.Join(dir, ".applinkctl", "state.json.orig"))
	if listed != orig {
		t.Fatalf("migrated list differs:\n%s\nvs\n%s", listed, orig)
	}
	_, errOut, code = runOut(t, "state", "migrate", "-f", dir)
	if code != 1 || !strings.Contains(errOut, "to") {
		t.Fatalf("migrate without --to: exit %d: %s", code, errOut)
	}
	t.Setenv("DATABASE_URL", "")
	_, errOut, code = runOut(t, "state", "migrate", "--state", "postgres", "--to", "file://"+dst)
	if code != 1 || strings.Contains(errOut, "panic") {
		t.Fatalf("migrate from bare postgres: exit %d: %s", code, errOut)
	}
}

// TestStatePostgres drives every state subcommand against a real Postgres:
// migrate a file state there, list, show and read history from it, and
// break a leftover lock row.
func TestStatePostgres(t *testing.T) {
	dsn := pgtest.Start(t)
	dir := t.TempDir()
	seedState(t, dir)
	pg := dsn + "&workspace=shop"

	fileList, _, _ := runOut(t, "state", "list", "-f", dir)
	out, errOut, code := runOut(t, "state", "migrate", "-f", dir, "--to", pg)
	if code != 0 || !strings.Contains(out, "to postgres://127.0.0.1:") || !strings.Contains(out, "workspace=shop") {
		t.Fatalf("migrate to postgres: exit %d: %s%s", code, out, errOut)
	}
	pgList, errOut, code := runOut(t, "state", "list", "--state", dsn, "--workspace", "shop")
	if code != 0 || pgList != fileList {
		t.Fatalf("list from postgres: exit %d: %s\n%s\nwant\n%s", code, errOut, pgList, fileList)
	}
	out, _, _ = runOut(t, "state", "show", "--state", pg, "acme-api/connection/prod")
	if !strings.Contains(out, "remote id:       c-123") {
		t.Fatalf("show from postgres:\n%s", out)
	}
	out, _, _ = runOut(t, "state", "history", "--state", pg, "--format", "json")
	// The two records copied, and the migration itself.
	if !strings.Contains(out, `"backend": "postgres://127.0.0.1:`) || strings.Count(out, `"outcome"`) != 3 ||
		!strings.Contains(out, `"operation": "state migrate from file://`) {
		t.Fatalf("history from postgres:\n%s", out)
	}
	// Another workspace in the same database is empty.
	out, _, _ = runOut(t, "state", "list", "--state", dsn, "--workspace", "other")
	if !strings.HasPrefix(out, "no resources in state postgres://") {
		t.Fatalf("other workspace: %s", out)
	}

	// A lock row left by a session that is gone is cleared by unlock; the
	// bare word "postgres" reads DATABASE_URL.
	t.Setenv("DATABASE_URL", pg)
	b, err := state.Open(context.Background(), "postgres", state.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	info := state.NewLockInfo("apply")
	release, err := b.Lock(context.Background(), info, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, errOut, code = runOut(t, "state", "unlock", "--state", "postgres", info.ID)
	if code != 1 || !strings.Contains(errOut, "still connected") {
		t.Fatalf("unlock of a live holder: exit %d: %s", code, errOut)
	}
	// Closing the backend ends the lock's session without deleting its
	// row, as a killed run would; once Postgres has noticed, unlock clears
	// the row.
	_ = b.Close()
	_ = release()
	deadline := time.Now().Add(time.Minute)
	for {
		out, errOut, code = runOut(t, "state", "unlock", "--state", "postgres", info.ID)
		if code == 0 {
			break
		}
		if !strings.Contains(errOut, "still connected") || time.Now().After(deadline) {
			t.Fatalf("unlock of a leftover row: exit %d: %s%s", code, out, errOut)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(out, "released lock "+info.ID) {
		t.Fatalf("unlock: %s", out)
	}
	_, errOut, code = runOut(t, "state", "unlock", "--state", "postgres", info.ID)
	if code != 1 || !strings.Contains(errOut, "not locked") {
		t.Fatalf("second unlock: exit %d: %s", code, errOut)
	}
}

// TestStateUnprotectPostgres releases a protected record in a Postgres
// workspace: the command waits for (and then takes) the workspace's lock,
// and its history record lands in the same workspace.
func TestStateUnprotectPostgres(t *testing.T) {
	dsn := pgtest.Start(t)
	ctx := context.Background()
	b, err := state.Open(ctx, dsn, state.OpenOptions{Workspace: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	s, err := b.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a := addr.Authorization("acme-api", "ci_auth")
	s.Resources[a] = &state.Resource{Kind: addr.KindAuthorization, RemoteID: "a-1", Origin: state.Created, Phase: state.Applied, Protect: true}
	if err := b.Save(ctx, s); err != nil {
		t.Fatal(err)
	}

	info := state.NewLockInfo("apply")
	release, err := b.Lock(ctx, info, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, errOut, code := runOut(t, "state", "unprotect", "--state", dsn, "--workspace", "shop", string(a))
	if code != 1 || !strings.Contains(errOut, "state is locked by") || !strings.Contains(errOut, info.ID) {
		t.Fatalf("unprotect under a held lock: exit %d: %s", code, errOut)
	}
	// Released while it waits, the lock is taken.
	time.AfterFunc(300*time.Millisecond, func() { _ = release() })
	out, errOut, code := runOut(t, "state", "unprotect", "--state", dsn, "--workspace", "shop", "--lock-timeout", "1m", string(a))
	if code != 0 || !strings.Contains(out, string(a)+" is no longer protected in state postgres://") {
		t.Fatalf("unprotect: exit %d: %s%s", code, out, errOut)
	}
	s, err = b.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r := s.Resources[a]; r == nil || r.Protect || r.RemoteID != "a-1" {
		t.Fatalf("record = %+v", r)
	}
	h, err := b.History(ctx, 0)
	if err != nil || len(h) != 1 || h[0].Operation != "state unprotect "+string(a) || h[0].Outcome != "success" {
		t.Fatalf("history = %+v, %v", h, err)
	}
	out, _, _ = runOut(t, "state", "list", "--state", dsn, "--workspace", "other")
	if !strings.HasPrefix(out, "no resources in state postgres://") {
		t.Fatalf("other workspace: %s", out)
	}
}

// TestStateMigrateMarkerPostgres migrates file → Postgres → file through
// the CLI: each old state is refused once migrated, naming the new one
// without the password of its URL; a rerun says where it went; --undo
// brings the Postgres workspace back while the file copy is unchanged.
func TestStateMigrateMarkerPostgres(t *testing.T) {
	dsn := pgtest.Start(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	// The test cluster trusts loopback, so any password gets in: it must
	// never be printed.
	u.User = url.UserPassword(u.User.Username(), "s3cret-pw")
	pg := u.String() + "&workspace=shop"
	dir := t.TempDir()
	seedState(t, dir)
	noSecret := func(what, text string) {
		t.Helper()
		if strings.Contains(text, "s3cret-pw") {
			t.Fatalf("%s prints the password:\n%s", what, text)
		}
	}

	// file → Postgres.
	out, errOut, code := runOut(t, "state", "migrate", "-f", dir, "--to", pg)
	noSecret("migrate", out+errOut)
	if code != 0 || !strings.Contains(out, "is marked as migrated") {
		t.Fatalf("migrate to postgres: exit %d: %s%s", code, out, errOut)
	}
	_, errOut, code = runOut(t, "state", "list", "-f", dir)
	noSecret("list of the old state", errOut)
	if code != 1 || !regexp.MustCompile(`was migrated to postgres://127\.0\.0\.1:\d+/\S+\?schema=applinkctl&workspace=shop on `).MatchString(errOut) {
		t.Fatalf("list of the migrated file state: exit %d: %s", code, errOut)
	}
	out, errOut, code = runOut(t, "state", "migrate", "-f", dir, "--to", pg)
	noSecret("second migrate", out+errOut)
	if code != 0 || !strings.Contains(out, "was already migrated to postgres://") {
		t.Fatalf("second migrate: exit %d: %s%s", code, out, errOut)
	}

	// Postgres → file.
	back := filepath.Join(t.TempDir(), "back", "state.json")
	out, errOut, code = runOut(t, "state", "migrate", "--state", pg, "--to", "file://"+back)
	noSecret("migrate back", out+errOut)
	if code != 0 || !strings.Contains(out, "to file://"+filepath.ToSlash(back)) {
		t.Fatalf("migrate postgres to file: exit %d: %s%s", code, out, errOut)
	}
	for _, args := range [][]string{
		{"state", "list", "--state", pg},
		{"state", "history", "--state", pg},
		{"state", "show", "--state", pg, "acme-api/connection/prod"},
		{"state", "unprotect", "--state", pg, "acme-api/connection/prod"},
	} {
		_, errOut, code = runOut(t, args...)
		noSecret(strings.Join(args[:2], " "), errOut)
		if code != 1 || !strings.Contains(errOut, "workspace=shop was migrated to file://"+filepath.ToSlash(back)) {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
	}
	// Another workspace of the same database is not affected.
	if _, errOut, code = runOut(t, "state", "list", "--state", dsn, "--workspace", "other"); code != 0 {
		t.Fatalf("other workspace: exit %d: %s", code, errOut)
	}
	out, errOut, code = runOut(t, "state", "migrate", "--state", pg, "--to", "file://"+back, "--undo")
	noSecret("undo", out+errOut)
	if code != 0 || !strings.Contains(out, "workspace=shop is usable again") {
		t.Fatalf("undo: exit %d: %s%s", code, out, errOut)
	}
	if out, errOut, code = runOut(t, "state", "list", "--state", pg); code != 0 || !strings.Contains(out, "acme-api/connection/prod") {
		t.Fatalf("list after undo: exit %d: %s%s", code, out, errOut)
	}
}
