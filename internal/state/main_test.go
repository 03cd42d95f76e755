package state_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/pgtest"
	"github.com/applinkctl/applinkctl/internal/state"
)

// Helper subprocess: the test binary re-executed with these variables takes
// the lock, says so on stdout and waits to be killed.
const (
	envHelper = "APPLINKCTL_STATE_TEST_HELPER"
	envURL    = "APPLINKCTL_STATE_TEST_URL"
)

func TestMain(m *testing.M) {
	if os.Getenv(envHelper) == "hold-lock" {
		holdLock()
		return
	}
	pgtest.Main(m)
}

func holdLock() {
	ctx := context.Background()
	b, err := state.Open(ctx, os.Getenv(envURL), state.OpenOptions{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	info := state.NewLockInfo("apply")
	if _, err := b.Lock(ctx, info, 0); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(info.ID)
	time.Sleep(time.Minute) // killed long before
	os.Exit(3)
}
