// Package testkit is the test setup that several packages' tests share:
// RSA keys generated once per test binary, an in-process emulator closed
// when the test ends, a Platform client against it, seeded apps, files
// written into a temp dir and a manifest loaded from them. It exists so
// that each test reads as what it checks, not as twenty lines of setup
// copied from another package's test.
//
// Only _test.go files import it: every helper takes a testing.TB and
// fails the test (tb.Fatal) instead of returning an error.
package testkit

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/applinkctl/applinkctl/internal/client"
	"github.com/applinkctl/applinkctl/internal/emulator"
	"github.com/applinkctl/applinkctl/internal/manifest"
	"github.com/applinkctl/applinkctl/internal/secret"
)

// keyID names one cached key: its size and its index among keys of that
// size, so that a test needing two different keys asks for 0 and 1.
type keyID struct{ bits, n int }

var (
	keysMu sync.Mutex
	keys   = map[keyID]*rsa.PrivateKey{}
)

// RSAKey returns the n-th RSA key of the given size made by this test
// binary, generating it on first use: a 2048-bit key takes long enough
// that one per test would dominate a package's run time. The same (bits,
// n) always returns the same key; different n, different keys.
func RSAKey(tb testing.TB, bits, n int) *rsa.PrivateKey {
	tb.Helper()
	keysMu.Lock()
	defer keysMu.Unlock()
	id := keyID{bits, n}
	if k, ok := keys[id]; ok {
		return k
	}
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		tb.Fatalf("testkit: generate a %d-bit RSA key: %v", bits, err)
	}
	keys[id] = k
	return k
}

// RSAKeyPEM is RSAKey(tb, bits, n) as PKCS#1 PEM ("RSA PRIVATE KEY"),
// the form a developer's openssl writes and manifests point at.
func RSAKeyPEM(tb testing.TB, bits, n int) string {
	tb.Helper()
	k := RSAKey(tb, bits, n)
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
}

// SelfSignedCertPEM signs tmpl with key itself and returns the
// certificate as PEM: the certificate a connected app or a TLS listener
// holds for a test key.
func SelfSignedCertPEM(tb testing.TB, key *rsa.PrivateKey, tmpl *x509.Certificate) []byte {
	tb.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatalf("testkit: self-sign a certificate: %v", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// WriteFile writes body to dir/rel (0600), making rel's directories, and
// returns the file's path.
func WriteFile(tb testing.TB, dir, rel, body string) string {
	tb.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		tb.Fatalf("testkit: %v", err)
	}
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		tb.Fatalf("testkit: %v", err)
	}
	return p
}

// WriteFiles writes each file (slash-separated path relative to dir →
// content) as WriteFile does, in path order.
func WriteFiles(tb testing.TB, dir string, files map[string]string) {
	tb.Helper()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		WriteFile(tb, dir, n, files[n])
	}
}

// CopyDir copies the tree at src (an example, say) into a new temp dir
// and returns it, leaving out every directory whose name is in skip (an
// example's keys/, which tests generate instead of committing).
func CopyDir(tb testing.TB, src string, skip ...string) string {
	tb.Helper()
	dst := tb.TempDir()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != src && slices.Contains(skip, d.Name()) {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		tb.Fatalf("testkit: copy %s: %v", src, err)
	}
	return dst
}

// Golden checks got against the golden file at path, or with update (a
// test's -update flag) rewrites the file instead, making its directory.
// regen is the command that rewrites it ("go test ./internal/view
// -update"), quoted when the file is missing or differs so a reader knows
// how to accept a deliberate change.
func Golden(tb testing.TB, path string, got []byte, update bool, regen string) {
	tb.Helper()
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatalf("testkit: %v", err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			tb.Fatalf("testkit: %v", err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (run %s to create it)", err, regen)
	}
	if !bytes.Equal(got, want) {
		tb.Errorf("%s differs from the golden file (%s rewrites it)\n--- got\n%s\n--- want\n%s", path, regen, got, want)
	}
}

// Env is a manifest.Options.LookupEnv that sees only vars, so that a
// test does not depend on the environment it runs in.
func Env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

// LoadManifest loads paths with opts and fails the test on an error
// (warnings are not errors and are dropped; a test that checks problems
// calls manifest.Load itself).
func LoadManifest(tb testing.TB, opts manifest.Options, paths ...string) *manifest.Manifest {
	tb.Helper()
	m, _, err := manifest.Load(paths, opts)
	if err != nil {
		tb.Fatalf("testkit: load %v: %v", paths, err)
	}
	return m
}

// Emulator starts an emulator with opts on a loopback port and closes it
// when the test ends. Unless opts sets a page size, the environment's
// APPLINKCTL_EMULATOR_PAGE_SIZE does, so that any suite built on this can be
// run with every list paged (APPLINKCTL_EMULATOR_PAGE_SIZE=1 go test …);
// likewise APPLINKCTL_EMULATOR_VARIANTS sets the variants unless opts does
// (a test that depends on the default answers sets NoVariants).
func Emulator(tb testing.TB, opts emulator.Options) *emulator.Server {
	tb.Helper()
	if opts.PageSize == 0 {
		n, err := emulator.PageSizeFromEnv(os.LookupEnv)
		if err != nil {
			tb.Fatalf("testkit: %v", err)
		}
		opts.PageSize = n
	}
	if opts.Variants == nil {
		v, err := emulator.VariantsFromEnv(os.LookupEnv)
		if err != nil {
			tb.Fatalf("testkit: %v", err)
		}
		opts.Variants = v
	}
	srv, err := emulator.Start(opts)
	if err != nil {
		tb.Fatalf("testkit: start the emulator: %v", err)
	}
	tb.Cleanup(func() { _ = srv.Close() })
	return srv
}

// NoVariants is an emulator.Options.Variants that keeps the emulator's
// default answers whatever APPLINKCTL_EMULATOR_VARIANTS says: for a test
// that checks one of those answers itself.
var NoVariants = []string{}

// Platform is a client of srv's Platform API with the default
// configuration.
func Platform(tb testing.TB, srv *emulator.Server) *client.Platform {
	tb.Helper()
	return PlatformWith(tb, srv, client.Config{})
}

// PlatformWith is a client of srv's Platform API configured by cfg, whose
// BaseURL and APIKey are replaced by the server's.
func PlatformWith(tb testing.TB, srv *emulator.Server, cfg client.Config) *client.Platform {
	tb.Helper()
	cfg.BaseURL, cfg.APIKey = srv.URL, secret.New(srv.APIKey)
	p, err := client.New(cfg)
	if err != nil {
		tb.Fatalf("testkit: platform client: %v", err)
	}
	return p
}

// SeedApp creates app name on srv with addons AppLink add-ons, as a
// person would with the Heroku CLI before running applinkctl.
func SeedApp(tb testing.TB, srv *emulator.Server, name string, addons int) *emulator.SeededApp {
	tb.Helper()
	a, err := srv.Emulator.SeedApp(name, addons)
	if err != nil {
		tb.Fatalf("testkit: seed app %s: %v", name, err)
	}
	return a
}

// OrdersSpec is a minimal valid OpenAPI 3 document (one GET /orders,
// operation listOrders): the spec a test publication points at when
// what the spec says does not matter.
const OrdersSpec = `openapi: 3.0.3
info: {title: Orders, version: "1.0"}
paths:
  /orders:
    get:
      operationId: listOrders
      responses: {"200": {description: ok}}
`
