package pki

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"time"
)

// Revocation is one revoked certificate.
type Revocation struct {
	Serial *big.Int
	At     time.Time
	// Reason is the RFC 5280 CRLReason code.
	Reason int
}

// CRL signs a certificate revocation list numbered number, valid from now until now+validity.
func (ca *CA) CRL(number int64, revoked []Revocation, now time.Time, validity time.Duration) ([]byte, error) {
	entries := make([]x509.RevocationListEntry, len(revoked))
	for i, r := range revoked {
		entries[i] = x509.RevocationListEntry{SerialNumber: r.Serial, RevocationTime: r.At.UTC(), ReasonCode: r.Reason}
	}
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number:                    big.NewInt(number),
		ThisUpdate:                now.UTC(),
		NextUpdate:                now.Add(validity).UTC(),
		RevokedCertificateEntries: entries,
		Issuer:                    pkix.Name{},
	}, ca.Cert, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("pki: CRL: %w", err)
	}
	return der, nil
}
