package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/applinkctl/applinkctl/internal/client"
	"github.com/applinkctl/applinkctl/internal/emulator"
	"github.com/applinkctl/applinkctl/internal/manifest"
	"github.com/applinkctl/applinkctl/internal/secret"
	"github.com/applinkctl/applinkctl/internal/state"
)

// shape is how many resources of each kind one app of a generated fleet
// declares. Salesforce connections and authorizations use JWT, so no
// browser is waited on; Data Cloud connections cannot (the API has no JWT
// route for them) and use browser OAuth, which the emulator approves by
// itself as a person at once would.
type shape struct {
	Apps         int
	DataCloud    int // Data Cloud connections per app
	TargetsPerDC int
	Salesforce   int // Salesforce connections per app
	PubsPerSF    int
	Auths        int
}

// issueFleet is the fleet docs/performance.md measures: 20 apps × 3 connections
// (one Data Cloud with 4 targets, two Salesforce with one publication each, so
// every connection has children), 2 authorizations, 4 targets and 2
// publications.
var issueFleet = shape{Apps: 20, DataCloud: 1, TargetsPerDC: 4, Salesforce: 2, PubsPerSF: 1, Auths: 2}

func (s shape) perApp() counts {
	return counts{
		Connections:    s.DataCloud + s.Salesforce,
		Authorizations: s.Auths,
		Targets:        s.DataCloud * s.TargetsPerDC,
		Publications:   s.Salesforce * s.PubsPerSF,
	}
}

// counts of resources by kind.
type counts struct{ Connections, Authorizations, Targets, Publications int }

func (c counts) total() int { return c.Connections + c.Authorizations + c.Targets + c.Publications }

// resources is the fleet's resource count.
func (s shape) resources() int { return s.Apps * s.perApp().total() }

// connsWithChildren is how many connections per app declare children.
func (s shape) connsWithChildren() int {
	n := 0
	if s.TargetsPerDC > 0 {
		n += s.DataCloud
	}
	if s.PubsPerSF > 0 {
		n += s.Salesforce
	}
	return n
}

const specYAML = `openapi: 3.0.0
info: {title: Bench API, version: "1"}
paths:
  /orders:
    get:
      responses: {"200": {description: ok}}
  /orders/{id}:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses: {"200": {description: ok}}
`

// appName is the name of app i of a fleet.
func appName(i int) string { return fmt.Sprintf("bench-%05d", i) }

// writeFleet writes the manifest of s, its spec and the JWT key into dir and
// returns the manifest's path.
func writeFleet(dir string, s shape, keyPEM []byte) (string, error) {
	if err := os.MkdirAll(filepath.Join(dir, "api"), 0o700); err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Join(dir, "keys"), 0o700); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "api", "openapi.yaml"), []byte(specYAML), 0o600); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "keys", "server.key"), keyPEM, 0o600); err != nil {
		return "", err
	}
	jwt := "          client_id: 3MVG9benchConsumerKey\n          username: api.user@bench.example\n          private_key_file: keys/server.key\n"
	var y strings.Builder
	y.WriteString("version: 1\napps:\n")
	for a := range s.Apps {
		fmt.Fprintf(&y, "  %s:\n    connections:\n", appName(a))
		for c := range s.DataCloud {
			fmt.Fprintf(&y, "      dc_%02d:\n        type: datacloud\n", c)
			if s.TargetsPerDC > 0 {
				y.WriteString("        data_action_targets:\n")
			}
			for t := range s.TargetsPerDC {
				fmt.Fprintf(&y, "          Target_%03d:\n            target_endpoint: /hook/%d\n", t, t)
			}
		}
		for c := range s.Salesforce {
			fmt.Fprintf(&y, "      crm_%02d:\n        type: salesforce\n        jwt:\n%s", c, jwt)
			if s.PubsPerSF > 0 {
				y.WriteString("        publications:\n")
			}
			for p := range s.PubsPerSF {
				fmt.Fprintf(&y, "          Api_%02d_%02d:\n            spec: api/openapi.yaml\n", c, p)
			}
		}
		if s.Auths > 0 {
			y.WriteString("    authorizations:\n")
		}
		for i := range s.Auths {
			fmt.Fprintf(&y, "      auth_%02d:\n        type: salesforce\n        jwt:\n%s", i, jwt)
		}
	}
	path := filepath.Join(dir, "applink.yaml")
	if err := os.WriteFile(path, []byte(y.String()), 0o600); err != nil {
		return "", err
	}
	return path, nil
}

// newKey generates the fleet's RSA key (2048 bits, the manifest's minimum)
// as PKCS#8 PEM. It is generated per run and never leaves the temp dirs.
func newKey() ([]byte, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// loadFleet loads a written manifest; any problem is an error.
func loadFleet(path string) (*manifest.Manifest, error) {
	m, problems, err := manifest.Load([]string{path}, manifest.Options{})
	if err != nil {
		var b strings.Builder
		for _, p := range problems {
			b.WriteString("\n  " + p.String())
		}
		return nil, fmt.Errorf("fleet manifest: %w%s", err, b.String())
	}
	return m, nil
}

// statusCounter counts HTTP answers by status code, to see the 429s the
// client absorbed.
type statusCounter struct {
	next      http.RoundTripper
	tooMany   atomic.Int64
	responses atomic.Int64
}

func (s *statusCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := s.next.RoundTrip(r)
	if err == nil {
		s.responses.Add(1)
		if resp.StatusCode == http.StatusTooManyRequests {
			s.tooMany.Add(1)
		}
	}
	return resp, err
}

// env is one emulator, a client of it, and the fleet seeded into it.
type env struct {
	srv      *emulator.Server
	p        *client.Platform
	m        *manifest.Manifest
	store    *state.Store
	backend  state.Backend
	statuses *statusCounter
}

// unlimited makes the emulator's account bucket large enough that no
// benchmark but the rate-limit one meets it (and the client never paces).
const unlimited = 1 << 30

// newEnv starts an emulator with opts, seeds the manifest's apps (one
// AppLink add-on each) and opens a file state in dir.
func newEnv(ctx context.Context, dir string, m *manifest.Manifest, opts emulator.Options) (*env, error) {
	srv, err := emulator.Start(opts)
	if err != nil {
		return nil, err
	}
	e := &env{srv: srv, m: m}
	for _, a := range m.Apps {
		if _, err := srv.Emulator.SeedApp(a.Name, 1); err != nil {
			e.close()
			return nil, fmt.Errorf("seed %s: %w", a.Name, err)
		}
	}
	e.statuses = &statusCounter{next: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 0}}
	e.p, err = client.New(client.Config{BaseURL: srv.URL, APIKey: secret.New(srv.APIKey),
		HTTPClient: &http.Client{Transport: e.statuses}})
	if err != nil {
		e.close()
		return nil, err
	}
	e.backend, err = state.Open(ctx, "file://"+filepath.Join(dir, "state.json"), state.OpenOptions{})
	if err != nil {
		e.close()
		return nil, err
	}
	e.store, err = state.NewStore(ctx, e.backend)
	if err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

func (e *env) close() {
	if e.backend != nil {
		_ = e.backend.Close()
	}
	if e.srv != nil {
		_ = e.srv.Close()
	}
}

var errNotConverged = errors.New("not converged")
