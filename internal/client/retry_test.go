package client_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/client"
)

// seq answers the n-th request (from 0) with steps[n], the last step repeating.
func seq(steps ...http.HandlerFunc) http.HandlerFunc {
	var n atomic.Int32
	return func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		if i >= len(steps) {
			i = len(steps) - 1
		}
		steps[i](w, r)
	}
}

func status(code int, id string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { apiErr(w, code, id, "status "+id) }
}

func okConn(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(202)
	io.WriteString(w, `{"id":"c-1","status":"connecting","org":{"id":"","connection_name":"prod_org"}}`)
}

func okList(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `[]`) }

// drop closes the connection without an answer, as a crashed proxy does.
func drop(w http.ResponseWriter, r *http.Request) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("no hijacker")
	}
	conn, _, err := hj.Hijack()
	if err == nil {
		conn.Close()
	}
}

const (
	listPath   = "/connections"
	createPath = "/connections/salesforce"
)

func TestGETRetriesTransientStatuses(t *testing.T) {
	for _, code := range []int{429, 502, 503, 504} {
		f := newFake(t)
		f.handle("GET", listPath, seq(status(code, "busy"), status(code, "busy"), okList))
		a, _ := f.link()
		if _, err := a.ListConnections(t.Context()); err != nil {
			t.Errorf("%d: ListConnections: %v", code, err)
		}
		if n := f.hit("GET /addons/" + addonID + listPath); n != 3 {
			t.Errorf("%d: %d attempts, want 3", code, n)
		}
	}
}

func TestGETGivesUpAfterMaxAttempts(t *testing.T) {
	f := newFake(t)
	f.handle("GET", listPath, status(503, "unavailable"))
	a, _ := f.link()
	_, err := a.ListConnections(t.Context())
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.Status != 503 {
		t.Fatalf("err = %v, want a 503 APIError", err)
	}
	if n := f.hit("GET /addons/" + addonID + listPath); n != 4 {
		t.Errorf("%d attempts, want MaxAttempts=4", n)
	}
}

func TestNoRetryOnClientErrorsAnd500(t *testing.T) {
	cases := []struct {
		code  int
		id    string
		check func(error) bool
	}{
		{404, "record_not_found", client.IsNotFound},
		{409, "conflict", func(err error) bool { var e *client.ConflictError; return errors.As(err, &e) }},
		{422, "validation_failed", func(err error) bool { var e *client.ValidationError; return errors.As(err, &e) }},
		{401, "unauthorized", func(err error) bool { return errors.Is(err, client.ErrUnauthorized) }},
		{500, "server_error", func(err error) bool { var e *client.APIError; return errors.As(err, &e) && e.Status == 500 }},
	}
	for _, c := range cases {
		f := newFake(t)
		f.handle("GET", "/connections/{name}", status(c.code, c.id))
		a, _ := f.link()
		_, err := a.GetConnection(t.Context(), "prod_org")
		if !c.check(err) {
			t.Errorf("%d: err = %v (%T)", c.code, err, err)
		}
		var ae *client.APIError
		if !errors.As(err, &ae) || ae.ID != c.id || ae.Message != "status "+c.id {
			t.Errorf("%d: APIError = %+v", c.code, ae)
		}
		if n := f.hit("GET /addons/" + addonID + "/connections/prod_org"); n != 1 {
			t.Errorf("%d: %d attempts, want 1", c.code, n)
		}
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	f := newFake(t)
	f.handle("GET", listPath, seq(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "0.2")
		apiErr(w, 429, "rate_limit", "slow down")
	}, okList))
	a, _ := f.link()
	start := time.Now()
	if _, err := a.ListConnections(t.Context()); err != nil {
		t.Fatalf("ListConnections: %v", err)
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("retried after %v, before Retry-After 200ms", d)
	}
}

func TestRetryAfterBeyondBudget(t *testing.T) {
	f := newFake(t)
	f.handle("GET", listPath, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "120")
		apiErr(w, 429, "rate_limit", "Your account reached the API rate limit")
	})
	a, _ := f.link()
	_, err := a.ListConnections(t.Context())
	var rl *client.RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter != 120*time.Second || rl.ID != "rate_limit" {
		t.Fatalf("err = %v, want RateLimitError with RetryAfter 2m", err)
	}
	if n := f.hit("GET /addons/" + addonID + listPath); n != 1 {
		t.Errorf("%d attempts, want 1: the wait does not fit the budget", n)
	}
}

func TestPOSTNeverResentOnAmbiguousOutcome(t *testing.T) {
	for name, h := range map[string]http.HandlerFunc{
		"500":  status(500, "server_error"),
		"503":  status(503, "unavailable"),
		"504":  status(504, "timeout"),
		"drop": drop,
	} {
		t.Run(name, func(t *testing.T) {
			f := newFake(t)
			f.handle("POST", createPath, seq(h, okConn))
			a, _ := f.link()
			_, err := a.CreateConnection(t.Context(), "salesforce", client.ConnectRequest{Name: "prod_org"})
			var amb *client.AmbiguousError
			if !errors.Is(err, client.ErrAmbiguous) || !errors.As(err, &amb) || amb.Method != "POST" || amb.Path != "/addons/"+addonID+createPath {
				t.Fatalf("err = %v, want AmbiguousError", err)
			}
			if n := f.hit("POST /addons/" + addonID + createPath); n != 1 {
				t.Errorf("POST sent %d times, want exactly 1", n)
			}
		})
	}
}

func TestPOSTRetriedOn429(t *testing.T) {
	f := newFake(t)
	f.handle("POST", createPath, seq(status(429, "rate_limit"), okConn))
	a, _ := f.link()
	c, err := a.CreateConnection(t.Context(), "salesforce", client.ConnectRequest{Name: "prod_org"})
	if err != nil || c.ID != "c-1" {
		t.Fatalf("CreateConnection = %+v, %v", c, err)
	}
	if n := f.hit("POST /addons/" + addonID + createPath); n != 2 {
		t.Errorf("POST sent %d times, want 2 (a 429 was not processed)", n)
	}
}

func TestDroppedConnectionRetriedForGETAndDELETE(t *testing.T) {
	f := newFake(t)
	f.handle("GET", listPath, seq(drop, okList))
	f.handle("DELETE", "/connections/{name}", seq(drop, status(502, "bad_gateway"), okConn))
	a, _ := f.link()
	if _, err := a.ListConnections(t.Context()); err != nil {
		t.Errorf("ListConnections after a drop: %v", err)
	}
	if n := f.hit("GET /addons/" + addonID + listPath); n != 2 {
		t.Errorf("GET attempts = %d, want 2", n)
	}
	if _, err := a.DeleteConnection(t.Context(), "prod_org"); err != nil {
		t.Errorf("DeleteConnection after a drop and a 502: %v", err)
	}
	if n := f.hit("DELETE /addons/" + addonID + "/connections/prod_org"); n != 3 {
		t.Errorf("DELETE attempts = %d, want 3", n)
	}
}

func TestTimeouts(t *testing.T) {
	f := newFake(t)
	slow := func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // so the server notices the client leave
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}
	f.handle("GET", listPath, slow)
	f.handle("POST", createPath, slow)
	a, p := f.link(func(c *client.Config) {
		c.HTTPClient = &http.Client{Timeout: 100 * time.Millisecond}
		c.Retry.MaxAttempts = 2
	})
	before := p.Requests()
	if _, err := a.ListConnections(t.Context()); err == nil || errors.Is(err, client.ErrAmbiguous) {
		t.Errorf("GET timeout err = %v", err)
	}
	if n := p.Requests() - before; n != 2 {
		t.Errorf("GET timed out %d times, want 2 attempts", n)
	}
	before = p.Requests()
	if _, err := a.CreateConnection(t.Context(), "salesforce", client.ConnectRequest{Name: "prod_org"}); !errors.Is(err, client.ErrAmbiguous) {
		t.Errorf("POST timeout err = %v, want ambiguous", err)
	}
	if n := p.Requests() - before; n != 1 {
		t.Errorf("POST sent %d times after a timeout, want 1", n)
	}
}

func TestConnectionRefusedPOSTMayRetry(t *testing.T) {
	f := newFake(t)
	a, p := f.link()
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	a.APIURL = dead.URL
	before := p.Requests()
	_, err := a.CreateConnection(t.Context(), "salesforce", client.ConnectRequest{Name: "prod_org"})
	if err == nil || errors.Is(err, client.ErrAmbiguous) {
		t.Fatalf("err = %v, want a plain (not ambiguous) error: nothing was sent", err)
	}
	if n := p.Requests() - before; n != 4 {
		t.Errorf("%d attempts to a refused port, want MaxAttempts=4", n)
	}
}

func TestContextCancelStopsRetries(t *testing.T) {
	f := newFake(t)
	f.handle("GET", listPath, status(503, "unavailable"))
	a, _ := f.link(func(c *client.Config) { c.Retry.BaseDelay = time.Second; c.Retry.MaxDelay = time.Second })
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := a.ListConnections(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want deadline exceeded", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("cancel took %v", d)
	}
}

func TestErrorBodyIsCapped(t *testing.T) {
	f := newFake(t)
	huge := strings.Repeat("x", 1<<20)
	f.handle("GET", "/connections/{name}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(404)
		io.WriteString(w, `{"id":"record_not_found","message":"`+huge+`"}`)
	})
	f.handle("GET", listPath, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(400)
		io.WriteString(w, `<html>`+huge)
	})
	a, _ := f.link()
	_, err := a.GetConnection(t.Context(), "x")
	if !client.IsNotFound(err) {
		t.Fatalf("err = %v", err)
	}
	if len(err.Error()) > 2000 {
		t.Errorf("error is %d bytes long", len(err.Error()))
	}
	_, err = a.ListConnections(t.Context())
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.Status != 400 || len(err.Error()) > 200 {
		t.Errorf("non-JSON 400: %v", err)
	}
}

func TestLimiterSlowsDownWhenBudgetLow(t *testing.T) {
	f := newFake(t)
	f.handle("GET", listPath, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("RateLimit-Remaining", "0")
		okList(w, r)
	})
	a, p := f.link()
	client.SetLimiterRate(p, 20) // one request per 50ms once the budget is empty
	if _, err := a.ListConnections(t.Context()); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := a.ListConnections(t.Context()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("4 requests with an empty budget took %v, want them paced (>= ~200ms)", d)
	}
}

func TestLimiterDoesNotWaitWithBudget(t *testing.T) {
	f := newFake(t)
	f.handle("GET", listPath, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("RateLimit-Remaining", "4000")
		okList(w, r)
	})
	a, p := f.link()
	client.SetLimiterRate(p, 0.01) // any pacing would take minutes
	for range 5 {
		if _, err := a.ListConnections(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
}
