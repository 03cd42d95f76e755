package client_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/client"
)

func statusOf(c *client.Connection) string { return c.Status }

// fetcher returns the statuses in order, the last one forever.
func fetcher(statuses ...string) (func(context.Context) (*client.Connection, error), *int) {
	n := 0
	return func(context.Context) (*client.Connection, error) {
		s := statuses[min(n, len(statuses)-1)]
		n++
		return &client.Connection{Status: s}, nil
	}, &n
}

func TestWaitReportsChangesUntilTerminal(t *testing.T) {
	fetch, polls := fetcher("connecting", "connecting", "connecting", "connected")
	var seen []string
	c, err := client.Wait(t.Context(), fetch, statusOf, client.ConnectionTerminal,
		client.WaitOptions{Initial: time.Millisecond, Max: 2 * time.Millisecond, OnStatus: func(s string) { seen = append(seen, s) }})
	if err != nil || c.Status != "connected" {
		t.Fatalf("Wait = %+v, %v", c, err)
	}
	if *polls != 4 {
		t.Errorf("polls = %d, want 4", *polls)
	}
	if !reflect.DeepEqual(seen, []string{"connecting", "connected"}) {
		t.Errorf("OnStatus saw %v", seen)
	}
}

func TestWaitTimesOut(t *testing.T) {
	fetch, polls := fetcher("authorizing")
	_, err := client.Wait(t.Context(), fetch, statusOf, client.AuthorizationTerminal,
		client.WaitOptions{Initial: time.Millisecond, Max: 5 * time.Millisecond, Timeout: 60 * time.Millisecond})
	var te *client.TimeoutError
	if !errors.As(err, &te) || te.LastStatus != "authorizing" || te.Waited < 60*time.Millisecond {
		t.Fatalf("err = %v, want TimeoutError", err)
	}
	// Backoff 1, 2, 4, 5, 5… ms in 60ms: a dozen polls, not hundreds.
	if *polls < 3 || *polls > 40 {
		t.Errorf("polls = %d, want backoff to about a dozen", *polls)
	}
}

func TestWaitStopsOnCancelAndFetchError(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	fetch, _ := fetcher("pending")
	calls := 0
	_, err := client.Wait(ctx, func(ctx context.Context) (*client.Connection, error) {
		calls++
		if calls == 2 {
			cancel()
		}
		return fetch(ctx)
	}, statusOf, client.TargetTerminal, client.WaitOptions{Initial: time.Millisecond})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want canceled", err)
	}
	boom := errors.New("boom")
	_, err = client.Wait(t.Context(), func(context.Context) (int, error) { return 0, boom },
		func(int) string { return "" }, client.TargetTerminal, client.WaitOptions{})
	if !errors.Is(err, boom) {
		t.Errorf("err = %v, want the fetch error", err)
	}
}

func TestTerminalStatuses(t *testing.T) {
	cases := []struct {
		f    func(string) bool
		yes  []string
		no   []string
		name string
	}{
		{client.ConnectionTerminal, []string{"connected", "failed", "disconnected"}, []string{"connecting", "disconnecting", ""}, "connection"},
		{client.AuthorizationTerminal, []string{"authorized", "failed", "disconnected"}, []string{"authorizing"}, "authorization"},
		{client.TargetTerminal, []string{"created", "creation_failed"}, []string{"pending", "creating", "generating_signing_key"}, "target"},
	}
	for _, c := range cases {
		for _, s := range c.yes {
			if !c.f(s) {
				t.Errorf("%s: %q not terminal", c.name, s)
			}
		}
		for _, s := range c.no {
			if c.f(s) {
				t.Errorf("%s: %q terminal", c.name, s)
			}
		}
	}
	if !client.StatusFailedFinal("creation_failed") || client.StatusFailedFinal("connected") {
		t.Error("StatusFailedFinal")
	}
}
