package preflight

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/applinkctl/applinkctl/internal/fsutil"
	"github.com/applinkctl/applinkctl/internal/manifest"
)

// maxCertificateSize caps a certificate file; real ones are a few KiB.
const maxCertificateSize = 1 << 20

// LoadCertificate reads the PEM certificate uploaded to the connected app
// (the first CERTIFICATE block; a PUBLIC KEY block is accepted too). A
// file holding only a private key, given by mistake, is refused without
// being echoed.
//
// A named pipe, device or directory is refused at once rather than waited
// on, and a file over maxCertificateSize before a byte is read.
func LoadCertificate(path string) (*Certificate, error) {
	data, err := fsutil.ReadFile(path, maxCertificateSize)
	if err != nil {
		return nil, fmt.Errorf("certificate %s: %w", path, err)
	}
	return ParseCertificate(path, data)
}

// ParseCertificate is LoadCertificate for bytes already read; name is used
// in messages.
func ParseCertificate(name string, data []byte) (*Certificate, error) {
	sawPrivate := false
	for rest := data; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil && sawPrivate {
			return nil, fmt.Errorf("certificate %s: holds a private key, not a certificate: give the certificate uploaded to the connected app (openssl req -new -x509 -key KEY -out CERT)", name)
		}
		if blk == nil {
			return nil, fmt.Errorf("certificate %s: no PEM CERTIFICATE block found", name)
		}
		var pub any
		switch blk.Type {
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return nil, fmt.Errorf("certificate %s: malformed CERTIFICATE block", name)
			}
			pub = c.PublicKey
		case "PUBLIC KEY":
			k, err := x509.ParsePKIXPublicKey(blk.Bytes)
			if err != nil {
				return nil, fmt.Errorf("certificate %s: malformed PUBLIC KEY block", name)
			}
			pub = k
		case "RSA PRIVATE KEY", "PRIVATE KEY", "ENCRYPTED PRIVATE KEY":
			sawPrivate = true
			continue
		default:
			continue
		}
		rk, ok := pub.(*rsa.PublicKey)
		if !ok {
			return nil, errors.New("certificate " + name + ": not an RSA certificate: the JWT bearer flow needs RS256")
		}
		fp, err := manifest.KeyFingerprint(rk)
		if err != nil {
			return nil, fmt.Errorf("certificate %s: %w", name, err)
		}
		return &Certificate{Name: name, Fingerprint: fp, pub: rk}, nil
	}
}
