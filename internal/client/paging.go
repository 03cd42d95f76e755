package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// maxPages bounds one list: at Heroku's largest page (1,000 items) that is
// ten million items, far past any add-on, yet a server that pages forever
// cannot keep a plan waiting for ever.
const maxPages = 10000

// pages GETs a JSON array the way the Heroku CLI does: an answer of 206
// Partial Content with a Next-Range header is one page, and the next is
// asked for by sending that header's value back as Range, until an answer
// is 200 or carries no Next-Range. Every page is a request of its own (its
// own Request-Id, retries and pacing). The items of every page are
// returned in order; the server decides the page size.
func pages[T any](ctx context.Context, t *transport, r *request) ([]T, error) {
	var out []T
	sent := map[string]bool{}
	for n := 1; ; n++ {
		resp, err := t.do(ctx, r)
		if err != nil {
			return nil, err
		}
		var items []T
		if len(bytes.TrimSpace(resp.body)) > 0 {
			if err := json.Unmarshal(resp.body, &items); err != nil {
				return nil, fmt.Errorf("%s %s: decode answer: %w", r.method, r.path, err)
			}
		}
		if n == 1 {
			out = items // keeps "[]" an empty, non-nil slice
		} else {
			out = append(out, items...)
		}
		next := resp.header.Get("Next-Range")
		if resp.status != http.StatusPartialContent || next == "" {
			return out, nil
		}
		switch {
		case sent[next]:
			return nil, fmt.Errorf("%s %s: the server asked for page %q twice (Next-Range loops)", r.method, r.path, next)
		case n >= maxPages:
			return nil, fmt.Errorf("%s %s: more than %d pages", r.method, r.path, maxPages)
		}
		sent[next] = true
		nr := *r
		nr.header = r.header.Clone()
		nr.header.Set("Range", next)
		r = &nr
	}
}

// platformList GETs a Platform API list, every page of it.
func platformList[T any](ctx context.Context, p *Platform, path string) ([]T, error) {
	return pages[T](ctx, p.t, &request{
		method: http.MethodGet,
		base:   p.cfg.BaseURL,
		path:   path,
		header: http.Header{
			"Accept":        {acceptPlatform},
			"Authorization": {"Bearer " + p.cfg.APIKey.Reveal()},
		},
	})
}

// applinkList GETs an AppLink management list (path under the add-on),
// every page of it.
func applinkList[T any](ctx context.Context, a *AppLink, path string) ([]T, error) {
	if a == nil || a.t == nil {
		return nil, errNotResolved
	}
	return pages[T](ctx, a.t, &request{
		method:  http.MethodGet,
		base:    a.APIURL,
		path:    "/addons/" + url.PathEscape(a.AddonID) + path,
		header:  a.headers(true),
		secrets: a.secrets,
	})
}
