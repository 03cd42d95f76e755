package testkit_test

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/applinkctl/applinkctl/internal/emulator"
	"github.com/applinkctl/applinkctl/internal/manifest"
	"github.com/applinkctl/applinkctl/internal/testkit"
)

// fatalTB records a helper's failure instead of failing the test, so the
// failure paths can be checked.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// failure runs fn with a recording TB and returns its failure message.
func failure(t *testing.T, fn func(tb testing.TB)) string {
	f := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	return f.msg
}

func TestRSAKeyIsCachedPerSizeAndIndex(t *testing.T) {
	a, b, c := testkit.RSAKey(t, 1024, 0), testkit.RSAKey(t, 1024, 0), testkit.RSAKey(t, 1024, 1)
	if a != b || a.Equal(c) || a.N.BitLen() != 1024 {
		t.Fatalf("same index: %v, different index equal: %v, bits %d", a == b, a.Equal(c), a.N.BitLen())
	}
	block, _ := pem.Decode([]byte(testkit.RSAKeyPEM(t, 1024, 1)))
	k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil || !k.Equal(c) {
		t.Fatalf("PEM is not key 1: %v", err)
	}
	if msg := failure(t, func(tb testing.TB) { testkit.RSAKey(tb, 8, 0) }); !strings.Contains(msg, "8-bit") {
		t.Errorf("too small a key: %q", msg)
	}
}

func TestSelfSignedCertPEMHoldsTheKey(t *testing.T) {
	k := testkit.RSAKey(t, 1024, 0)
	block, _ := pem.Decode(testkit.SelfSignedCertPEM(t, k, &x509.Certificate{SerialNumber: big.NewInt(1)}))
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil || !k.PublicKey.Equal(cert.PublicKey) {
		t.Fatalf("certificate: %v", err)
	}
	if msg := failure(t, func(tb testing.TB) {
		testkit.SelfSignedCertPEM(tb, k, &x509.Certificate{SerialNumber: big.NewInt(2), SignatureAlgorithm: x509.ECDSAWithSHA256})
	}); msg == "" {
		t.Error("an RSA key signed as ECDSA")
	}
}

func TestWriteFilesAndCopyDir(t *testing.T) {
	dir := t.TempDir()
	testkit.WriteFiles(t, dir, map[string]string{"a.yaml": "a", "keys/k.pem": "k", "sub/deep/b.txt": "b"})
	cp := testkit.CopyDir(t, dir, "keys")
	for rel, want := range map[string]string{"a.yaml": "a", "sub/deep/b.txt": "b"} {
		if got, err := os.ReadFile(filepath.Join(cp, rel)); err != nil || string(got) != want {
			t.Errorf("%s: %q %v", rel, got, err)
		}
	}
	if _, err := os.Stat(filepath.Join(cp, "keys")); !os.IsNotExist(err) {
		t.Errorf("keys/ copied: %v", err)
	}
	if msg := failure(t, func(tb testing.TB) { testkit.CopyDir(tb, filepath.Join(dir, "missing")) }); !strings.Contains(msg, "missing") {
		t.Errorf("copy of a missing dir: %q", msg)
	}
	if msg := failure(t, func(tb testing.TB) { testkit.WriteFile(tb, dir, "a.yaml/under-a-file", "x") }); msg == "" {
		t.Error("wrote below a file")
	}
}

func TestLoadManifest(t *testing.T) {
	dir := t.TempDir()
	path := testkit.WriteFile(t, dir, "applink.yaml", "version: 1\napps:\n  acme-api:\n    connections:\n      events_dc:\n        type: datacloud\n        data_action_targets:\n          Order_Events:\n            target_endpoint: ${ENDPOINT}\n")
	m := testkit.LoadManifest(t, manifest.Options{LookupEnv: testkit.Env(map[string]string{"ENDPOINT": "/hook"})}, path)
	if len(m.Apps) != 1 || m.Apps[0].Name != "acme-api" {
		t.Fatalf("apps %+v", m.Apps)
	}
	if msg := failure(t, func(tb testing.TB) { testkit.LoadManifest(tb, manifest.Options{LookupEnv: testkit.Env(nil)}, path) }); !strings.Contains(msg, "ENDPOINT") {
		t.Errorf("unset variable: %q", msg)
	}
}

func TestEmulatorPlatformAndSeed(t *testing.T) {
	srv := testkit.Emulator(t, emulator.Options{})
	a := testkit.SeedApp(t, srv, "acme-api", 2)
	if len(a.Addons) != 2 {
		t.Fatalf("add-ons %d", len(a.Addons))
	}
	if _, err := testkit.Platform(t, srv).Resolve(t.Context(), "acme-api", a.Addons[1].Name); err != nil {
		t.Fatal(err)
	}
	if msg := failure(t, func(tb testing.TB) { testkit.SeedApp(tb, srv, "acme-api", 1) }); !strings.Contains(msg, "acme-api") {
		t.Errorf("seeding twice: %q", msg)
	}
}

// errorfTB records Errorf instead of failing the test.
type errorfTB struct {
	fatalTB
	errs []string
}

func (e *errorfTB) Errorf(format string, args ...any) {
	e.errs = append(e.errs, fmt.Sprintf(format, args...))
}

func TestGoldenWritesThenCompares(t *testing.T) {
	path := filepath.Join(t.TempDir(), "case", "out.txt")
	if msg := failure(t, func(tb testing.TB) { testkit.Golden(tb, path, []byte("a\n"), false, "go test -update") }); !strings.Contains(msg, "go test -update") {
		t.Errorf("missing golden file: %q", msg)
	}
	testkit.Golden(t, path, []byte("a\n"), true, "go test -update")
	testkit.Golden(t, path, []byte("a\n"), false, "go test -update")
	e := &errorfTB{fatalTB: fatalTB{TB: t}}
	testkit.Golden(e, path, []byte("b\n"), false, "go test -update")
	if len(e.errs) != 1 || !strings.Contains(e.errs[0], "--- got\nb\n") || !strings.Contains(e.errs[0], "--- want\na\n") {
		t.Errorf("a different output: %q", e.errs)
	}
}
