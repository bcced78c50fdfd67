package pki

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"

	"software.sslmate.com/src/go-pkcs12"
)

// PKCS12 packs a key, its certificate and the chain into a password-protected PKCS#12 file (AES-256,
// PBKDF2: what current openssl and NCALayer read).
func PKCS12(key crypto.Signer, cert *x509.Certificate, chain []*x509.Certificate, password string) ([]byte, error) {
	if len(password) < 6 {
		return nil, errors.New("pki: the key file password must have at least 6 characters")
	}
	b, err := pkcs12.Modern.Encode(key, cert, chain, password)
	if err != nil {
		return nil, fmt.Errorf("pki: PKCS#12: %w", err)
	}
	return b, nil
}
