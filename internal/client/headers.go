package client

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"runtime"
	"strings"
)

// UserAgent is the User-Agent applinkctl sends, "applinkctl/<version>
// (<os>; <arch>)", so that Heroku's logs tell its traffic (and which build
// sent it) from the CLI's. A version that is not a plain token (empty,
// "(devel)") reads "dev"; a leading "v" is dropped as in "applinkctl 1.2.0".
func UserAgent(version string) string {
	v := strings.TrimPrefix(strings.TrimSpace(version), "v")
	if v == "" || strings.ContainsFunc(v, func(r rune) bool {
		return r <= ' ' || r >= 0x7f || strings.ContainsRune(`()<>@,;:\"/[]?={}`, r)
	}) {
		v = "dev"
	}
	return "applinkctl/" + v + " (" + runtime.GOOS + "; " + runtime.GOARCH + ")"
}

// newRequestID is a Request-Id: Heroku logs the Request-Id of every call,
// so quoting it to support finds the request. One is made per attempt, as
// each attempt is a request of its own to the server.
func newRequestID() string { return randomUUID() }

// randomUUID is a random version-4 UUID.
func randomUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// setHeaders puts on req the call's own headers (Accept, Authorization,
// x-app-uuid, …), then what every request carries: the User-Agent, the
// body's Content-Type and the attempt's Request-Id.
func (t *transport) setHeaders(req *http.Request, r *request, requestID string) {
	for k, v := range r.header {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", t.cfg.UserAgent)
	if r.ctype != "" {
		req.Header.Set("Content-Type", r.ctype)
	}
	req.Header.Set("Request-Id", requestID)
}
