package state_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/addr"
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
	switch os.Getenv(envHelper) {
	case "hold-lock":
		holdLock()
		return
	case "lock-write":
		lockWrite()
		return
	case "intent-then-die":
		intentThenDie()
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

// lockWrite waits for a line on stdin (so racing helpers start together),
// then plays one apply: it says "trying", locks (waiting
// APPLINKCTL_STATE_TEST_WAIT), loads, adds a resource, says "holding ID"
// and holds the lock until a second line on stdin (the test lets it go once
// its rival has met the lock, whatever the machine's speed), saves and
// releases. It ends saying "ok ID", or "locked HOLDER_ID" if refused.
func lockWrite() {
	ctx := context.Background()
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	b, err := state.Open(ctx, os.Getenv(envURL), state.OpenOptions{})
	if err != nil {
		fail(err)
	}
	wait, err := time.ParseDuration(os.Getenv("APPLINKCTL_STATE_TEST_WAIT"))
	if err != nil {
		fail(err)
	}
	in := bufio.NewReader(os.Stdin)
	_, _ = in.ReadString('\n')
	fmt.Println("trying")
	info := state.NewLockInfo("apply")
	release, err := b.Lock(ctx, info, wait)
	var le *state.LockedError
	if errors.As(err, &le) {
		fmt.Println("locked", le.Holder.ID)
		return
	}
	if err != nil {
		fail(err)
	}
	s, err := b.Load(ctx)
	if err != nil {
		fail(err)
	}
	s.Resources[addr.Connection("app", info.ID)] = &state.Resource{Kind: addr.KindConnection, Origin: state.Created, Phase: state.Applied}
	fmt.Println("holding", info.ID)
	_, _ = in.ReadString('\n')
	if err := b.Save(ctx, s); err != nil {
		fail(err)
	}
	if err := release(); err != nil {
		fail(err)
	}
	fmt.Println("ok", info.ID)
}

// intentThenDie records an intent through a Store under the lock, says so,
// and waits to be killed before it can record the result, as an apply
// killed during a mutating call.
func intentThenDie() {
	ctx := context.Background()
	b, err := state.Open(ctx, os.Getenv(envURL), state.OpenOptions{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if _, err := b.Lock(ctx, state.NewLockInfo("apply"), 0); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	st, err := state.NewStore(ctx, b)
	if err == nil {
		err = st.Update(ctx, func(s *state.State) error {
			s.Resources[addr.Connection("acme-api", "prod")] = &state.Resource{Kind: addr.KindConnection, Origin: state.Created,
				Phase: state.Intent, Operation: "create"}
			return nil
		})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("intent recorded")
	time.Sleep(time.Minute)
	os.Exit(3)
}
