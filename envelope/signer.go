package envelope

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	envelopev1 "github.com/egov-suite/egov/proto/egov/envelope/v1"
)

// ErrPassword means the PKCS#12 password is wrong.
var ErrPassword = errors.New("envelope: wrong password for the key file")

// Signer signs with one certificate's key.
type Signer struct {
	// Cert is the signing certificate.
	Cert *x509.Certificate
	// Chain are the intermediates embedded beside it (not the root).
	Chain []*x509.Certificate
	// Key is the private key of Cert.
	Key crypto.Signer
	// Now gives the signing time; time.Now when nil.
	Now func() time.Time
}

// LoadPKCS12 opens a PKCS#12 key file (an ЭЦП file as НУЦ issues it) with its password.
func LoadPKCS12(data []byte, password string) (*Signer, error) {
	key, cert, chain, err := pkcs12.DecodeChain(data, password)
	if err != nil {
		if errors.Is(err, pkcs12.ErrIncorrectPassword) {
			return nil, ErrPassword
		}
		return nil, fmt.Errorf("envelope: key file: %w", err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("envelope: key file holds a %T, not a signing key", key)
	}
	// Embed intermediates only: a verifier has the roots it trusts.
	var inter []*x509.Certificate
	for _, c := range chain {
		if !isSelfSigned(c) {
			inter = append(inter, c)
		}
	}
	return &Signer{Cert: cert, Chain: inter, Key: signer}, nil
}

func isSelfSigned(c *x509.Certificate) bool {
	return c.CheckSignatureFrom(c) == nil
}

func (s *Signer) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Sign returns a detached CMS signature (DER) over content.
func (s *Signer) Sign(content []byte) ([]byte, error) {
	if s == nil || s.Cert == nil || s.Key == nil {
		return nil, errors.New("envelope: signer has no certificate or key")
	}
	return signCMS(content, s.Cert, s.Chain, s.Key, s.now())
}

// SignEnvelope encodes e once and signs those bytes: the system's signature over an envelope.
func (s *Signer) SignEnvelope(e *envelopev1.Envelope) (*envelopev1.SignedEnvelope, error) {
	b, err := Marshal(e)
	if err != nil {
		return nil, err
	}
	sig, err := s.Sign(b)
	if err != nil {
		return nil, err
	}
	return &envelopev1.SignedEnvelope{Envelope: b, Signature: sig}, nil
}

// SignDocument signs a document's exact bytes: a person's signature.
func (s *Signer) SignDocument(mediaType string, content []byte) (*envelopev1.SignedDocument, error) {
	sig, err := s.Sign(content)
	if err != nil {
		return nil, err
	}
	return &envelopev1.SignedDocument{MediaType: mediaType, Content: content, Signature: sig}, nil
}
