package client_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/applinkctl/applinkctl/internal/client"
	"github.com/applinkctl/applinkctl/internal/emulator"
	"github.com/applinkctl/applinkctl/internal/secret"
	"github.com/applinkctl/applinkctl/internal/testkit"
)

// BenchmarkResolve resolves N apps against the emulator, 8 at a time as a
// plan would, and reports the requests each app costs (the budget that
// matters on a shared 4,500-an-hour account).
func BenchmarkResolve(b *testing.B) {
	for _, n := range []int{1, 10, 50} {
		b.Run(fmt.Sprintf("apps=%d", n), func(b *testing.B) {
			// A bucket large enough that the benchmark measures requests, not waits.
			srv := testkit.Emulator(b, emulator.Options{RateLimitPerMinute: 1e7, RateLimitBurst: 1e7})
			names := make([]string, n)
			for i := range names {
				names[i] = fmt.Sprintf("bench-app-%03d", i)
				testkit.SeedApp(b, srv, names[i], 1)
			}
			p := testkit.Platform(b, srv)
			client.SetLimiterRate(p, 1e6)
			b.ResetTimer()
			for b.Loop() {
				g, ctx := errgroup.WithContext(b.Context())
				g.SetLimit(8)
				for _, name := range names {
					g.Go(func() error { _, err := p.Resolve(ctx, name, ""); return err })
				}
				if err := g.Wait(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(p.Requests())/float64(b.N*n), "requests/app")
		})
	}
}

// BenchmarkCallOverhead measures the client's own cost per call (headers,
// pacing, retry bookkeeping, JSON decode) against a loopback server that
// answers at once.
func BenchmarkCallOverhead(b *testing.B) {
	const conn = `{"id":"c-1","status":"connected","org":{"id":"00D000000000001AAA","type":"SalesforceOrg","connection_name":"prod_org"},"created_at":"2025-03-06T18:20:42.226577Z"}`
	mux := http.NewServeMux()
	mux.HandleFunc("GET /apps/bench", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"id":"`+appID+`","name":"bench"}`)
	})
	mux.HandleFunc("GET /apps/bench/addons", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `[{"id":"`+addonID+`","name":"applink-x","addon_service":{"name":"heroku-applink"}}]`)
	})
	mux.HandleFunc("GET /apps/bench/addon-attachments", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `[{"name":"HEROKU_APPLINK","addon":{"id":"`+addonID+`"}}]`)
	})
	var base string
	mux.HandleFunc("GET /apps/bench/config-vars", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"HEROKU_APPLINK_API_URL":"`+base+`/addons/x","HEROKU_APPLINK_TOKEN":"tok-123456"}`)
	})
	mux.HandleFunc("GET /apps/bench/addons/{id}/sso", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, ssoBody) })
	mux.HandleFunc("GET /addons/{id}/connections/prod_org", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("RateLimit-Remaining", "4000")
		io.WriteString(w, conn)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	base = srv.URL
	p, err := client.New(client.Config{BaseURL: srv.URL, APIKey: secret.New(apiKey), Retry: client.RetryPolicy{Budget: time.Second}})
	if err != nil {
		b.Fatal(err)
	}
	a, err := p.Resolve(b.Context(), "bench", "")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := a.GetConnection(b.Context(), "prod_org"); err != nil {
			b.Fatal(err)
		}
	}
}
