package emulator

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Server is an Emulator served on a loopback port.
type Server struct {
	URL      string // scheme://127.0.0.1:PORT, also the base of every *_API_URL
	APIKey   string
	Emulator *Emulator
	// Close stops accepting, lets in-flight requests finish (bounded), and
	// closes the listener.
	Close func() error
}

// Start serves a new emulator on 127.0.0.1 on a free port.
func Start(opts Options) (*Server, error) {
	return Listen(opts, "127.0.0.1:0", nil)
}

// Listen serves a new emulator on addr, over TLS when tlsConfig is set. It
// does not judge addr: callers refuse non-loopback addresses as they see
// fit (the emulator has no real authentication worth exposing).
func Listen(opts Options, addr string, tlsConfig *tls.Config) (*Server, error) {
	e, err := New(opts)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("emulator: listen %s: %w", addr, err)
	}
	scheme := "http"
	if tlsConfig != nil {
		ln = tls.NewListener(ln, tlsConfig)
		scheme = "https"
	}
	url := scheme + "://" + ln.Addr().String()
	e.SetBaseURL(url)
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	closeFn := func() error {
		// Shutdown waits for in-flight requests, which are short, but it
		// treats a connection that was opened and never used as busy for
		// five seconds; past a short grace, closing is both safe and fast.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		err := srv.Shutdown(ctx)
		if errors.Is(err, context.DeadlineExceeded) {
			err = srv.Close()
		} else if err != nil {
			_ = srv.Close()
		}
		if serr := <-done; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
			err = serr
		}
		if err != nil {
			return fmt.Errorf("emulator: shut down: %w", err)
		}
		return nil
	}
	return &Server{URL: url, APIKey: e.APIKey(), Emulator: e, Close: sync.OnceValue(closeFn)}, nil
}
