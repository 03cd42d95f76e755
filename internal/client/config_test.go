package client_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/applinkctl/applinkctl/internal/client"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func homeWithNetrc(t *testing.T, text string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ".netrc"), []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestConfigFromEnv(t *testing.T) {
	const netrc = "# comment\nmachine git.heroku.com login a password GITKEY0000\nmachine api.heroku.com\n  login dev@acme.com\n  password NETRCKEY1234\nmachine api.staging.example.com login x password STAGINGKEY99\ndefault login d password DEFAULTKEY77\n"
	tests := []struct {
		name             string
		env              map[string]string
		netrc            string
		wantKey, wantURL string
		wantSvc          string
		wantErr          string
		wantNoKey        bool
	}{
		{name: "env key wins", env: map[string]string{"HEROKU_API_KEY": "ENVKEY", "HEROKU_APPLINK_ADDON": "heroku-applink-staging"}, netrc: netrc,
			wantKey: "ENVKEY", wantURL: "https://api.heroku.com", wantSvc: "heroku-applink-staging"},
		{name: "netrc api.heroku.com", netrc: netrc, wantKey: "NETRCKEY1234", wantURL: "https://api.heroku.com", wantSvc: "heroku-applink"},
		{name: "netrc api.* host of HEROKU_API_URL", env: map[string]string{"HEROKU_API_URL": "https://api.staging.example.com/"}, netrc: netrc,
			wantKey: "STAGINGKEY99", wantURL: "https://api.staging.example.com", wantSvc: "heroku-applink"},
		{name: "loopback http allowed", env: map[string]string{"HEROKU_API_URL": "http://127.0.0.1:5555", "HEROKU_API_KEY": "K"},
			wantKey: "K", wantURL: "http://127.0.0.1:5555", wantSvc: "heroku-applink"},
		{name: "clear text refused", env: map[string]string{"HEROKU_API_URL": "http://api.heroku.com", "HEROKU_API_KEY": "K"}, wantErr: "loopback"},
		{name: "bad scheme refused", env: map[string]string{"HEROKU_API_URL": "ftp://api.heroku.com", "HEROKU_API_KEY": "K"}, wantErr: "scheme"},
		{name: "default entry not used", netrc: "default login d password DEFAULTKEY77\n", wantNoKey: true},
		{name: "no netrc", wantNoKey: true},
		{name: "netrc not read for a non-api host", env: map[string]string{"HEROKU_API_URL": "http://localhost:9"}, netrc: netrc, wantNoKey: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			if tt.netrc != "" {
				home = homeWithNetrc(t, tt.netrc)
			}
			cfg, err := client.ConfigFromEnv(env(tt.env), home)
			switch {
			case tt.wantNoKey:
				if !errors.Is(err, client.ErrNoAPIKey) {
					t.Fatalf("err = %v, want ErrNoAPIKey", err)
				}
				return
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "K\"") {
					t.Errorf("error mentions the key: %v", err)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			if cfg.APIKey.Reveal() != tt.wantKey || cfg.BaseURL != tt.wantURL || cfg.AddonService != tt.wantSvc {
				t.Errorf("cfg = %q %q %q", cfg.APIKey.Reveal(), cfg.BaseURL, cfg.AddonService)
			}
		})
	}
}
