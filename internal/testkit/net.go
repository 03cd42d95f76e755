package testkit

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
)

// ServeOn starts an httptest server listening on addr, such as
// "127.0.0.2:0" for a second loopback host (Linux routes all of
// 127.0.0.0/8 to lo), and closes it when the test ends.
func ServeOn(tb testing.TB, addr string, h http.Handler) *httptest.Server {
	tb.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		tb.Fatalf("listen on %s: %v", addr, err)
	}
	srv := httptest.NewUnstartedServer(h)
	_ = srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	tb.Cleanup(srv.Close)
	return srv
}

// Sink is a server that must receive nothing: it counts every request and
// answers 200 with an empty JSON list, so a client that wrongly reaches it
// would carry on as if all were well.
type Sink struct {
	*httptest.Server
	n atomic.Int64
}

// NewSink starts a Sink on addr (see ServeOn).
func NewSink(tb testing.TB, addr string) *Sink {
	tb.Helper()
	s := &Sink{}
	s.Server = ServeOn(tb, addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.n.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, "[]")
	}))
	return s
}

// Requests is how many requests the sink received.
func (s *Sink) Requests() int64 { return s.n.Load() }

// Redirect answers every request with status and a Location of target.
func Redirect(target string, status int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", target)
		w.WriteHeader(status)
	}
}

// Dials is a DialContext that records every address asked for and, instead
// of reaching it, connects to the loopback address to (or fails, when to
// is ""). A test that names a non-loopback host, such as a proxy, uses it so
// that even a broken client contacts nothing but loopback.
type Dials struct {
	To    string
	mu    sync.Mutex
	asked []string
}

// DialContext is the http.Transport hook.
func (d *Dials) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	d.mu.Lock()
	d.asked = append(d.asked, addr)
	d.mu.Unlock()
	if d.To == "" {
		return nil, &net.OpError{Op: "dial", Net: network, Err: io.ErrUnexpectedEOF}
	}
	var nd net.Dialer
	return nd.DialContext(ctx, network, d.To)
}

// Asked lists the addresses dialled so far.
func (d *Dials) Asked() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.asked...)
}

// ConnectProxy starts a loopback HTTP proxy that tunnels CONNECT requests
// (all an https request sends to a proxy) and refuses anything else with
// 405. It returns the server and a counter of the tunnels it opened.
func ConnectProxy(tb testing.TB) (*httptest.Server, *atomic.Int64) {
	tb.Helper()
	var n atomic.Int64
	srv := ServeOn(tb, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		up, err := net.Dial("tcp", r.Host)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		hj, ok := w.(http.Hijacker)
		if !ok {
			_ = up.Close()
			http.Error(w, "no hijack", http.StatusInternalServerError)
			return
		}
		down, buf, err := hj.Hijack()
		if err != nil {
			_ = up.Close()
			return
		}
		if _, err := io.WriteString(down, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
			_ = up.Close()
			_ = down.Close()
			return
		}
		n.Add(1)
		go func() {
			_, _ = io.Copy(up, buf)
			_ = up.Close()
		}()
		_, _ = io.Copy(down, up)
		_ = down.Close()
	}))
	return srv, &n
}
