// Package keyseal seals the certification authority's private keys before they are stored: AES-256-GCM
// under a key derived from a passphrase with argon2id. Without a passphrase (the dev mode) keys are
// stored as plain PKCS#8 and marked so; a production deployment sets EGOV_NCA_KEY_PASSPHRASE (or keeps
// its keys in an HSM, which this suite does not model).
package keyseal

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"

	"golang.org/x/crypto/argon2"
)

var (
	tagPlain  = []byte("egov-key-plain-v1:")
	tagSealed = []byte("egov-key-sealed-v1:")
)

// ErrPassphrase means the stored key does not open with the configured passphrase.
var ErrPassphrase = errors.New("keyseal: the CA key does not open with EGOV_NCA_KEY_PASSPHRASE")

// Seal encodes key for storage.
func Seal(key crypto.Signer, passphrase string) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("keyseal: %w", err)
	}
	if passphrase == "" {
		return append(append([]byte(nil), tagPlain...), der...), nil
	}
	salt := make([]byte, 16)
	nonce := make([]byte, 12)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	gcm, err := aead(passphrase, salt)
	if err != nil {
		return nil, err
	}
	out := append(append(append([]byte(nil), tagSealed...), salt...), nonce...)
	return gcm.Seal(out, nonce, der, tagSealed), nil
}

// Open decodes a stored key.
func Open(b []byte, passphrase string) (crypto.Signer, error) {
	var der []byte
	switch {
	case bytes.HasPrefix(b, tagPlain):
		der = b[len(tagPlain):]
	case bytes.HasPrefix(b, tagSealed):
		if passphrase == "" {
			return nil, errors.New("keyseal: the CA key is sealed; set EGOV_NCA_KEY_PASSPHRASE")
		}
		rest := b[len(tagSealed):]
		if len(rest) < 28 {
			return nil, errors.New("keyseal: sealed key too short")
		}
		gcm, err := aead(passphrase, rest[:16])
		if err != nil {
			return nil, err
		}
		der, err = gcm.Open(nil, rest[16:28], rest[28:], tagSealed)
		if err != nil {
			return nil, ErrPassphrase
		}
	default:
		return nil, errors.New("keyseal: unknown key format")
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("keyseal: %w", err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("keyseal: %T is not a signing key", k)
	}
	return s, nil
}

func aead(passphrase string, salt []byte) (cipher.AEAD, error) {
	key := argon2.IDKey([]byte(passphrase), salt, 2, 64*1024, 2, 32)
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
