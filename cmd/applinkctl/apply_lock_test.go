package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/emulator"
)

// TestApplyStopsWhenItsLockIsLost removes the state lock file while apply
// waits for its connections (as `state unlock` from another host sharing
// the file, or a person, would). Apply stops: exit 1 naming the cause, no
// target or publication created, history says lock-lost; the next apply
// resumes from the intents without creating anything twice.
func TestApplyStopsWhenItsLockIsLost(t *testing.T) {
	e := newApplyEnv(t, emulator.Options{AsyncDelay: map[string]time.Duration{"connection": 10 * time.Second}})
	lockFile := filepath.Join(e.dir, ".applinkctl", "state.json.lock")
	removed := make(chan error, 1)
	go func() {
		deadline := time.Now().Add(time.Minute)
		for e.srv.Emulator.Requests()["POST /addons/{addon_id}/connections/salesforce/jwt"] == 0 {
			if time.Now().After(deadline) {
				removed <- os.ErrDeadlineExceeded
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		removed <- os.Remove(lockFile)
	}()
	out, errs, code := e.apply("--auto-approve")
	if err := <-removed; err != nil {
		t.Fatalf("removing the lock file: %v", err)
	}
	wantCode(t, code, exitError, out, errs)
	for _, want := range []string{"apply stopped", "lost the state lock", "was removed", "run apply again"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr does not say %q:\n%s", want, errs)
		}
	}
	for k, n := range e.srv.Emulator.Requests() {
		if n > 0 && (strings.Contains(k, "POST") && (strings.Contains(k, "data_action_targets") || strings.Contains(k, "/apps"))) {
			t.Errorf("%d × %s after the lock was lost", n, k)
		}
	}
	h, err := e.backend().History(context.Background(), 1)
	if err != nil || len(h) != 1 || h[0].Outcome != "lock-lost" {
		t.Errorf("history = %+v, %v; want outcome lock-lost", h, err)
	}

	out, errs, code = e.apply("--auto-approve")
	wantCode(t, code, 0, out, errs)
	if n := len(e.conns()); n != 2 {
		t.Errorf("%d connections after the resuming apply, want 2", n)
	}
}
