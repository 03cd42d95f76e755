package client

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/applinkctl/applinkctl/internal/safehttp"
	"github.com/applinkctl/applinkctl/internal/secret"
)

const (
	acceptPlatform = "application/vnd.heroku+json; version=3"
	acceptSSO      = "application/vnd.heroku+json; version=3.sdk"
)

// Platform is a client of the Heroku Platform API. It is used only to find
// an app's AppLink API (Resolve); the AppLinks it returns share its
// transport, so one limiter paces the whole process. Safe for concurrent use.
type Platform struct {
	cfg Config
	t   *transport
}

// New checks cfg, fills its defaults and returns a Platform client. An
// http:// base URL is refused unless it is loopback; a missing key is an
// error wrapping ErrNoAPIKey. Requests go through a copy of cfg.HTTPClient
// that keeps every credential on its origin (see package safehttp).
func New(cfg Config) (*Platform, error) {
	cfg = cfg.withDefaults()
	cfg.HTTPClient = safehttp.Client(cfg.HTTPClient)
	if _, err := checkBaseURL(cfg.BaseURL); err != nil {
		return nil, fmt.Errorf("platform api url: %w", err)
	}
	if cfg.APIKey.IsZero() {
		return nil, fmt.Errorf("platform api: %w", ErrNoAPIKey)
	}
	return &Platform{cfg: cfg, t: &transport{cfg: cfg, lim: newLimiter()}}, nil
}

// Requests is the number of HTTP requests this client (and every AppLink it
// resolved) has sent, retries included; tests and benchmarks budget on it.
func (p *Platform) Requests() int64 { return p.t.requests.Load() }

// String names the API without its key; a value receiver so that printing a
// Platform value cannot reach the key through its unexported fields.
func (p Platform) String() string { return "platform " + p.cfg.BaseURL }

// GoString keeps %#v as safe as %v.
func (p Platform) GoString() string { return "client.Platform{" + p.cfg.BaseURL + "}" }

// Format makes every verb print String or GoString.
func (p Platform) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = io.WriteString(f, p.GoString())
		return
	}
	_, _ = io.WriteString(f, p.String())
}

// Platform wire types (only the fields the resolution uses).
type (
	wireApp struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	wireAddon struct {
		ID           string `json:"id"`
		Name         string `json:"name"`
		AddonService struct {
			Name string `json:"name"`
		} `json:"addon_service"`
		ConfigVars []string `json:"config_vars"`
		App        struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"app"`
	}
	wireAttachment struct {
		Name  string `json:"name"`
		Addon struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"addon"`
	}
)

func (p *Platform) get(ctx context.Context, path, accept string, out any) ([]byte, error) {
	resp, err := p.t.do(ctx, &request{
		method: http.MethodGet,
		base:   p.cfg.BaseURL,
		path:   path,
		header: http.Header{
			"Accept":        {accept},
			"Authorization": {"Bearer " + p.cfg.APIKey.Reveal()},
		},
	})
	if err != nil {
		return nil, err
	}
	if out != nil {
		if err := json.Unmarshal(resp.body, out); err != nil {
			return nil, fmt.Errorf("GET %s: decode answer: %w", path, err)
		}
	}
	return resp.body, nil
}

// Resolve finds app's AppLink API under one add-on (docs/api.md, "Where
// requests go"). addon is the add-on's name or id, or "" for the app's only
// AppLink add-on. It sends the four Platform reads in parallel, then the SSO
// call: five requests in all. Failures are *ResolveError with the cases of
// ResolveKind.
func (p *Platform) Resolve(ctx context.Context, app, addon string) (*AppLink, error) {
	if app == "" {
		return nil, &ResolveError{App: app, Reason: "no app name"}
	}
	esc := "/apps/" + url.PathEscape(app)
	var (
		a    wireApp
		ads  []wireAddon
		atts []wireAttachment
		vars map[string]string
	)
	// Three reads in parallel, then the SSO call: four requests. The app's
	// UUID comes from the add-on list (each add-on names its app), so GET
	// /apps/{app} is needed only for an add-on owned by another app and
	// attached to this one, whose app field names the owner.
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { ads, err = platformList[wireAddon](gctx, p, esc+"/addons"); return err })
	g.Go(func() (err error) {
		atts, err = platformList[wireAttachment](gctx, p, esc+"/addon-attachments")
		return err
	})
	g.Go(func() error { _, err := p.get(gctx, esc+"/config-vars", acceptPlatform, &vars); return err })
	if err := g.Wait(); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("app %s: resolve: %w", app, ctx.Err())
		}
		return nil, platformError(app, err)
	}

	chosen, err := p.chooseAddon(app, addon, ads, atts)
	if err != nil {
		return nil, err
	}
	if a.ID, a.Name = chosen.App.ID, chosen.App.Name; a.ID == "" || (app != a.Name && app != a.ID) {
		if _, err := p.get(ctx, esc, acceptPlatform, &a); err != nil {
			return nil, platformError(app, err)
		}
	}
	att, apiURL, token, rerr := chooseAttachment(app, chosen, atts, vars)
	if rerr != nil {
		return nil, rerr
	}
	u, perr := checkBaseURL(apiURL)
	if perr != nil {
		return nil, &ResolveError{App: app, Kind: ResolveNotProvisioned,
			Reason: fmt.Sprintf("%s_API_URL: %v", att, perr)}
	}

	tok := secret.New(token)
	raw, err := p.get(ctx, esc+"/addons/"+url.PathEscape(chosen.ID)+"/sso", acceptSSO, nil)
	if err != nil {
		return nil, fmt.Errorf("app %s: add-on %s: sso: %w", app, chosen.Name, err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return nil, fmt.Errorf("app %s: add-on %s: sso: answer is not JSON", app, chosen.Name)
	}
	secrets := []secret.Value{tok, secret.New(compact.String())}
	sso := base64.StdEncoding.EncodeToString(compact.Bytes())
	secrets = append(secrets, secret.New(sso))
	var parsed struct {
		Params map[string]any `json:"params"`
	}
	if json.Unmarshal(compact.Bytes(), &parsed) == nil {
		for k, v := range parsed.Params {
			if s, ok := v.(string); ok && strings.Contains(k, "token") {
				secrets = append(secrets, secret.New(s))
			}
		}
	}

	return &AppLink{
		AppName:    a.Name,
		AppID:      a.ID,
		AddonID:    chosen.ID,
		AddonName:  chosen.Name,
		Attachment: att,
		APIURL:     u.Scheme + "://" + u.Host,
		t:          p.t,
		token:      tok,
		sso:        secret.New(sso),
		secrets:    secrets,
	}, nil
}

func platformError(app string, err error) error {
	switch {
	case errors.Is(err, ErrUnauthorized):
		return &ResolveError{App: app, Kind: ResolveUnauthorized, Err: err,
			Reason: "the Heroku API refused the API key (401)",
			Hint:   "check HEROKU_API_KEY or the api.heroku.com entry of ~/.netrc"}
	case errors.Is(err, ErrNotFound):
		return &ResolveError{App: app, Kind: ResolveAppNotFound, Err: err,
			Reason: "app not found",
			Hint:   "check the name and that your account can see the app (heroku apps:info -a " + app + ")"}
	}
	return &ResolveError{App: app, Kind: ResolveOther, Err: err, Reason: err.Error()}
}

func (p *Platform) chooseAddon(app, want string, ads []wireAddon, atts []wireAttachment) (wireAddon, error) {
	svc := p.cfg.AddonService
	var links []wireAddon
	for _, ad := range ads {
		if ad.AddonService.Name == svc {
			links = append(links, ad)
		}
	}
	slices.SortFunc(links, func(x, y wireAddon) int { return strings.Compare(x.Name, y.Name) })
	list := func() string {
		names := make([]string, len(links))
		for i, ad := range links {
			names[i] = ad.Name
			var an []string
			for _, at := range atts {
				if at.Addon.ID == ad.ID {
					an = append(an, at.Name)
				}
			}
			if len(an) > 0 {
				slices.Sort(an)
				names[i] += " (" + strings.Join(an, ", ") + ")"
			}
		}
		return strings.Join(names, ", ")
	}
	if want != "" {
		for _, ad := range links {
			if ad.Name == want || ad.ID == want {
				return ad, nil
			}
		}
		for _, ad := range ads {
			if ad.Name == want || ad.ID == want {
				return wireAddon{}, &ResolveError{App: app, Kind: ResolveAddonNotFound,
					Reason: fmt.Sprintf("add-on %s is a %s add-on, not %s", want, ad.AddonService.Name, svc),
					Hint:   hintAddons(links, list)}
			}
		}
		return wireAddon{}, &ResolveError{App: app, Kind: ResolveAddonNotFound,
			Reason: fmt.Sprintf("AppLink add-on %s isn't present", want),
			Hint:   hintAddons(links, list)}
	}
	switch len(links) {
	case 0:
		return wireAddon{}, &ResolveError{App: app, Kind: ResolveNoAddon,
			Reason: fmt.Sprintf("AppLink add-on isn't present (no %s add-on)", svc),
			Hint:   "add one with `heroku addons:create " + svc + " -a " + app + "`"}
	case 1:
		return links[0], nil
	}
	return wireAddon{}, &ResolveError{App: app, Kind: ResolveAmbiguousAddon,
		Reason: fmt.Sprintf("%d AppLink add-ons: %s", len(links), list()),
		Hint:   "choose one with the manifest's `addon:` field"}
}

func hintAddons(links []wireAddon, list func() string) string {
	if len(links) == 0 {
		return "the app has no AppLink add-on"
	}
	return "the app's AppLink add-ons: " + list()
}

// chooseAttachment finds the attachment of the chosen add-on whose config
// vars are both set; an add-on still provisioning has neither.
func chooseAttachment(app string, ad wireAddon, atts []wireAttachment, vars map[string]string) (name, apiURL, token string, err error) {
	var names []string
	for _, at := range atts {
		if at.Addon.ID == ad.ID {
			names = append(names, at.Name)
		}
	}
	slices.Sort(names)
	if len(names) == 0 {
		return "", "", "", &ResolveError{App: app, Kind: ResolveNotProvisioned,
			Reason: fmt.Sprintf("add-on %s isn't fully provisioned (no attachment)", ad.Name),
			Hint:   "wait for provisioning to finish: heroku addons:info " + ad.Name}
	}
	var missing []string
	for _, n := range names {
		u, t := vars[n+"_API_URL"], vars[n+"_TOKEN"]
		if u != "" && t != "" {
			return n, u, t, nil
		}
		if u == "" {
			missing = append(missing, n+"_API_URL")
		}
		if t == "" {
			missing = append(missing, n+"_TOKEN")
		}
	}
	return "", "", "", &ResolveError{App: app, Kind: ResolveNotProvisioned,
		Reason: fmt.Sprintf("add-on %s isn't fully provisioned (missing %s)", ad.Name, strings.Join(missing, ", ")),
		Hint:   "wait for provisioning to finish: heroku addons:info " + ad.Name}
}
