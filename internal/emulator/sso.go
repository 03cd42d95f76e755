package emulator

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
)

// The Heroku CLI's AppLink plugin sends no Authorization header to the
// AppLink API: its x-addon-sso header (base64 of the add-on's SSO answer)
// is its credential. The emulator signs the SSO answer's token with the
// add-on's token, so that it can check such a header without remembering
// every SSO it gave out, and a rotated add-on token voids old ones.

// ssoToken is the params.token of an SSO answer for ad issued at ts.
func ssoToken(ad *addon, ts string) string {
	m := hmac.New(sha256.New, []byte(ad.Token))
	m.Write([]byte("sso|" + ad.ID + "|" + ts))
	return hex.EncodeToString(m.Sum(nil))
}

// ssoGrants reports whether header, an x-addon-sso value, is an SSO answer
// the emulator gave out for ad (with ad's current token).
func ssoGrants(header string, ad *addon) bool {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		b, err := enc.DecodeString(header)
		if err != nil {
			continue
		}
		var sso struct {
			Params struct {
				ID        string `json:"id"`
				Timestamp string `json:"timestamp"`
				Token     string `json:"token"`
			} `json:"params"`
		}
		if json.Unmarshal(b, &sso) != nil || sso.Params.ID != ad.ID || sso.Params.Timestamp == "" {
			return false
		}
		return hmac.Equal([]byte(sso.Params.Token), []byte(ssoToken(ad, sso.Params.Timestamp)))
	}
	return false
}
