package manifest

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// minKeyBits is the smallest RSA key accepted; Salesforce's own docs
// generate 4096-bit keys and anything under 2048 is considered broken.
const minKeyBits = 2048

// parseKey checks that pemText is one unencrypted RSA private key (PKCS#1 or
// PKCS#8) of at least minKeyBits and returns the fingerprint of its public
// half. Errors describe the key's kind, never its bytes, and never wrap the
// parser's error (whose text could quote DER).
func parseKey(pemText []byte) (fingerprint string, err error) {
	block, rest := pem.Decode(pemText)
	if block == nil {
		return "", errors.New("is not a PEM private key: no -----BEGIN … PRIVATE KEY----- block found")
	}
	if strings.TrimSpace(string(rest)) != "" {
		if next, _ := pem.Decode(rest); next != nil {
			return "", errors.New("holds more than one PEM block: want exactly one private key")
		}
	}
	if block.Type == "ENCRYPTED PRIVATE KEY" || block.Headers["Proc-Type"] != "" && strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED") {
		return "", errors.New("is encrypted: applinkctl needs an unencrypted key (openssl pkey -in KEY -out PLAIN_KEY)")
	}
	var key any
	switch block.Type {
	case "RSA PRIVATE KEY":
		k, perr := x509.ParsePKCS1PrivateKey(block.Bytes)
		if perr != nil {
			return "", errors.New("is a malformed RSA PRIVATE KEY (PKCS#1) block")
		}
		key = k
	case "PRIVATE KEY":
		k, perr := x509.ParsePKCS8PrivateKey(block.Bytes)
		if perr != nil {
			return "", errors.New("is a malformed PRIVATE KEY (PKCS#8) block")
		}
		key = k
	case "EC PRIVATE KEY":
		return "", errors.New("is an EC key, not RSA: the JWT bearer flow needs RS256")
	case "OPENSSH PRIVATE KEY":
		return "", errors.New("is in OpenSSH format: convert it to PEM (ssh-keygen -p -m PEM) or generate an RSA key with openssl genpkey")
	case "PUBLIC KEY", "RSA PUBLIC KEY", "CERTIFICATE":
		return "", fmt.Errorf("is a %s, not a private key", strings.ToLower(block.Type))
	default:
		return "", fmt.Errorf("has PEM type %q: want RSA PRIVATE KEY or PRIVATE KEY", block.Type)
	}
	rk, ok := key.(*rsa.PrivateKey)
	if !ok {
		switch key.(type) {
		case *ecdsa.PrivateKey:
			return "", errors.New("is an EC key, not RSA: the JWT bearer flow needs RS256")
		case ed25519.PrivateKey:
			return "", errors.New("is an Ed25519 key, not RSA: the JWT bearer flow needs RS256")
		}
		return "", errors.New("is not an RSA key: the JWT bearer flow needs RS256")
	}
	if bits := rk.N.BitLen(); bits < minKeyBits {
		return "", fmt.Errorf("is a %d-bit RSA key: at least %d bits required", bits, minKeyBits)
	}
	return KeyFingerprint(&rk.PublicKey)
}

// KeyFingerprint is "sha256:" + hex SHA-256 of the PKIX DER of a public key:
// what plan, state and emulator compare instead of the key itself.
func KeyFingerprint(pub any) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("key fingerprint: %w", err)
	}
	sum := sha256.Sum256(der)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

// jwtUse is one JWT block whose key loaded: where its client_id is and the
// fingerprint of its key.
type jwtUse struct {
	clientID, fingerprint string
	field                 string // the jwt block's dotted path
	pos                   Pos    // of client_id
}

func (l *loader) useJWT(d *doc, ptr string, j *JWT) {
	if j.ClientID == "" {
		return // the schema reports it
	}
	l.jwts = append(l.jwts, jwtUse{clientID: j.ClientID, fingerprint: j.KeyFingerprint,
		field: fieldOf(ptr), pos: d.posOf(ptr + "/client_id").at()})
}

// checkClientIDs warns about JWT blocks (connections and authorizations, in
// any app and file) that give one client_id different keys. A connected
// app or external client app holds one certificate, so the JWT bearer
// grant of every block whose key is not that certificate's fails at apply
// with "invalid assertion"; nothing but the keys tells them apart before
// then. Each such block gets a warning naming another block with a
// different key.
func (l *loader) checkClientIDs() {
	byID := map[string][]jwtUse{}
	for _, u := range l.jwts {
		byID[u.clientID] = append(byID[u.clientID], u)
	}
	for _, u := range l.jwts {
		for _, o := range byID[u.clientID] {
			if o.fingerprint == u.fingerprint {
				continue
			}
			l.ps.warnf(u.pos, u.field+".client_id",
				"client_id %q is also used at %s (%s) with a different private key: "+
					"its connected app holds one certificate, so one of the two fails at apply with \"invalid assertion\"",
				u.clientID, o.pos, o.field)
			break
		}
	}
}
