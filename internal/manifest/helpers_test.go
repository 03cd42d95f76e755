package manifest_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"flag"
	"sync"
	"testing"

	"github.com/applinkctl/applinkctl/internal/testkit"
)

var update = flag.Bool("update", false, "rewrite golden files and schema/applink.schema.json")

var (
	keysOnce sync.Once
	testKeys map[string]string
)

// keys generates the test keys once per run; no private key is committed.
func keys(t testing.TB) map[string]string {
	t.Helper()
	keysOnce.Do(func() {
		good, short := testkit.RSAKey(t, 2048, 0), testkit.RSAKey(t, 1024, 0)
		ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		ecDER, err := x509.MarshalPKCS8PrivateKey(ec)
		if err != nil {
			panic(err)
		}
		goodPKCS8, err := x509.MarshalPKCS8PrivateKey(good)
		if err != nil {
			panic(err)
		}
		junk := make([]byte, 64)
		_, _ = rand.Read(junk)
		testKeys = map[string]string{
			"KEY_GOOD":       string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(good)})),
			"KEY_GOOD_PKCS8": string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: goodPKCS8})),
			"KEY_OTHER":      testkit.RSAKeyPEM(t, 2048, 1), // a second good key
			"KEY_SHORT":      string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(short)})),
			"KEY_EC":         string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER})),
			"KEY_ENCRYPTED":  string(pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: junk})),
			"KEY_BROKEN_DER": string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: junk})),
		}
	})
	return testKeys
}

// env is the fixed environment the tests load manifests with.
func env(t testing.TB, extra map[string]string) func(string) (string, bool) {
	k := keys(t)
	return func(name string) (string, bool) {
		if v, ok := extra[name]; ok {
			return v, true
		}
		v, ok := k[name]
		return v, ok
	}
}

// writeFiles creates files (path → content) under a new temp dir.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	testkit.WriteFiles(t, dir, files)
	return dir
}
