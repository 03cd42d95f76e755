package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/applinkctl/applinkctl/internal/client"
	"github.com/applinkctl/applinkctl/internal/emulator"
)

// inSandboxCmd runs fn with the factory of a command given args, as a
// verb would call OpenPlatform.
func inSandboxCmd(t *testing.T, args []string, fn func(ctx context.Context, f *factory) error) (string, error) {
	t.Helper()
	var errb bytes.Buffer
	app := &cli.App{Name: "applinkctl", Flags: globalFlags(), ErrWriter: &errb, Writer: &bytes.Buffer{},
		ExitErrHandler: func(*cli.Context, error) {}, Action: func(c *cli.Context) error {
			return fn(c.Context, newFactory(c, streams{Out: &bytes.Buffer{}, Err: &errb}))
		}}
	err := app.RunContext(context.Background(), append([]string{"applinkctl"}, args...))
	return errb.String(), err
}

func TestOpenPlatformSandbox(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sandbox")
	for round := range 2 { // the second run finds the world the first left
		_, err := inSandboxCmd(t, []string{"--sandbox=" + dir, "--log-level", "debug"}, func(ctx context.Context, f *factory) error {
			p, srv, closeFn, err := f.OpenPlatform([]string{"acme-api"})
			if err != nil {
				return err
			}
			defer closeFn()
			if srv == nil || !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
				t.Fatalf("sandbox server %+v", srv)
			}
			al, err := p.Resolve(ctx, "acme-api", "")
			if err != nil {
				return err
			}
			if round == 0 {
				conn, err := al.CreateConnection(ctx, "salesforce", client.ConnectRequest{Name: "prod_org"})
				if err != nil {
					return err
				}
				if conn.Status != client.StatusConnecting || conn.RedirectURI == "" {
					t.Errorf("sandbox connection %+v", conn)
				}
				return nil
			}
			conns, err := al.ListConnections(ctx)
			if err != nil || len(conns) != 1 || conns[0].Org.ConnectionName != "prod_org" {
				t.Fatalf("round 2: %+v %v", conns, err)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "world.json")); err != nil {
		t.Fatal(err)
	}
	e, err := emulator.New(emulator.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if w := e.World(); len(w.Apps) != 1 || w.Apps[0].Name != "acme-api" {
		t.Fatalf("sandbox world %+v", w)
	}
}

func TestOpenPlatformSandboxRefusesBadApp(t *testing.T) {
	_, err := inSandboxCmd(t, []string{"--sandbox=" + t.TempDir()}, func(ctx context.Context, f *factory) error {
		_, _, _, err := f.OpenPlatform([]string{"Not An App"})
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "Not An App") {
		t.Fatalf("bad app name: %v", err)
	}
}

func TestOpenPlatformFromEnv(t *testing.T) {
	t.Setenv("HEROKU_API_KEY", "")
	t.Setenv("HEROKU_API_URL", "")
	t.Setenv("HOME", t.TempDir())
	_, err := inSandboxCmd(t, nil, func(ctx context.Context, f *factory) error {
		_, _, _, err := f.OpenPlatform(nil)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "--sandbox") {
		t.Fatalf("no key: %v", err)
	}
	t.Setenv("HEROKU_API_KEY", "k")
	_, err = inSandboxCmd(t, nil, func(ctx context.Context, f *factory) error {
		p, srv, closeFn, err := f.OpenPlatform([]string{"acme-api"})
		if err == nil {
			defer closeFn()
			if p == nil || srv != nil {
				t.Errorf("env backend: %v %v", p, srv)
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestNewLogger(t *testing.T) {
	out, err := inSandboxCmd(t, []string{"--log-level", "loud"}, func(ctx context.Context, f *factory) error {
		l := f.Logger()
		l.Info("hidden")
		l.Warn("shown")
		return nil
	})
	if err != nil || !strings.Contains(out, "unknown --log-level") || strings.Contains(out, "hidden") || !strings.Contains(out, "shown") {
		t.Fatalf("logger output %q %v", out, err)
	}
	out, _ = inSandboxCmd(t, []string{"--log-level", "debug"}, func(ctx context.Context, f *factory) error {
		f.Logger().Debug("dbg")
		return nil
	})
	if !strings.Contains(out, "dbg") {
		t.Fatalf("debug output %q", out)
	}
}
