package state

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/pgtest"
)

// TestPostgresIdleDropIsNoticed: should the server end the lock's session
// for idling anyway (here the session's own idle_session_timeout is set
// below the heartbeat interval, which no server setting can do since
// applinkctl turns it off per session), the heartbeat notices and names
// the cause, and writes are refused.
func TestPostgresIdleDropIsNoticed(t *testing.T) {
	ctx := context.Background()
	b, err := Open(ctx, pgtest.Start(t)+"&workspace=w", OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	rel, err := b.Lock(ctx, NewLockInfo("apply"), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rel()
	pg := b.(*pgBackend)
	l := pg.held
	l.mu.Lock()
	_, err = l.conn.Exec(ctx, `SET idle_session_timeout = '100ms'`)
	l.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	st, err := NewStore(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-st.LockLost():
	case <-time.After(30 * time.Second):
		t.Fatal("the dropped session was never noticed")
	}
	var lost *LockLostError
	if err := st.LockErr(); !errors.As(err, &lost) || !strings.Contains(err.Error(), "idle_session_timeout") {
		t.Fatalf("lock error = %v, want one naming idle_session_timeout", err)
	}
	if err := st.Update(ctx, func(*State) error { return nil }); !errors.As(err, &lost) {
		t.Fatalf("write after the drop = %v", err)
	}
}
