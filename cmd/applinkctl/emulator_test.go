package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"io"
	"math/big"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/applinkctl/applinkctl/internal/testkit"
)

func TestEmulatorCommandServes(t *testing.T) {
	pr, pw := io.Pipe()
	var stderr bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		app := newApp(streams{In: strings.NewReader(""), Out: pw, Err: &stderr})
		done <- app.RunContext(ctx, []string{"applinkctl", "emulator", "--listen", "127.0.0.1:0", "--api-key", "test-key",
			"--async-delay", "target=10ms", "--latency", "1ms±1ms"})
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	lines := map[string]string{}
	for len(lines) < 3 && sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), "=")
		lines[k] = v
	}
	go io.Copy(io.Discard, pr)
	base, key := lines["HEROKU_API_URL"], lines["HEROKU_API_KEY"]
	if !strings.HasPrefix(base, "http://127.0.0.1:") || key != "test-key" || lines["SALESFORCE_LOGIN_URL"] != base {
		t.Fatalf("start-up lines %v", lines)
	}

	res, err := http.Post(base+"/_emulator/apps", "application/json", strings.NewReader(`{"name":"acme-api","addons":1}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 201 {
		t.Fatalf("seed: %d", res.StatusCode)
	}
	req, _ := http.NewRequest("GET", base+"/apps/acme-api/config-vars", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var vars map[string]string
	err = json.NewDecoder(res.Body).Decode(&vars)
	res.Body.Close()
	if err != nil || !strings.HasPrefix(vars["HEROKU_APPLINK_API_URL"], base+"/addons/") {
		t.Fatalf("config vars %v %v", vars, err)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("shutdown: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("emulator did not stop on cancel")
	}
	if _, err := http.Get(base + "/_emulator/world"); err == nil {
		t.Fatal("still serving after shutdown")
	}
}

func TestEmulatorCommandRefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--listen", "0.0.0.0:0"},
		{"--listen", ":0"},
		{"--latency", "soon"},
		{"--rate-limit", "10/week"},
		{"--async-delay", "publication=1s"},
		{"--async-delay", "connection"},
		{"--tls-cert", "x.pem"},
		{"--error-rate", "2"},
	} {
		var out, errb bytes.Buffer
		code := run(append([]string{"applinkctl", "emulator", "--listen", "127.0.0.1:0"}, args...), streams{In: strings.NewReader(""), Out: &out, Err: &errb})
		if code != exitError || !strings.Contains(errb.String(), "emulator") || out.Len() != 0 {
			t.Errorf("%v: exit %d, stderr %q, stdout %q", args, code, errb.String(), out.String())
		}
	}
}

func TestEmulatorCommandServesTLS(t *testing.T) {
	dir := t.TempDir()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	certPEM := testkit.SelfSignedCertPEM(t, testkit.RSAKey(t, 2048, 0), tmpl)
	certFile := testkit.WriteFile(t, dir, "cert.pem", string(certPEM))
	keyFile := testkit.WriteFile(t, dir, "key.pem", testkit.RSAKeyPEM(t, 2048, 0))

	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		app := newApp(streams{In: strings.NewReader(""), Out: pw, Err: io.Discard})
		done <- app.RunContext(ctx, []string{"applinkctl", "emulator", "--listen", "127.0.0.1:0", "--tls-cert", certFile, "--tls-key", keyFile})
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	if !sc.Scan() || !strings.HasPrefix(sc.Text(), "HEROKU_API_URL=https://127.0.0.1:") {
		t.Fatalf("first line %q", sc.Text())
	}
	base := strings.TrimPrefix(sc.Text(), "HEROKU_API_URL=")
	go io.Copy(io.Discard, pr)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(certPEM) {
		t.Fatal("the test certificate does not parse")
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	res, err := hc.Post(base+"/_emulator/apps", "application/json", strings.NewReader(`{"name":"acme-api"}`))
	if err != nil {
		t.Fatal(err)
	}
	var seeded struct {
		Addons []struct {
			ConfigVars map[string]string `json:"config_vars"`
		} `json:"addons"`
	}
	json.NewDecoder(res.Body).Decode(&seeded)
	res.Body.Close()
	if res.StatusCode != 201 || len(seeded.Addons) != 1 || !strings.HasPrefix(seeded.Addons[0].ConfigVars["HEROKU_APPLINK_API_URL"], base+"/addons/") {
		t.Fatalf("seed over TLS: %d %+v", res.StatusCode, seeded)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
