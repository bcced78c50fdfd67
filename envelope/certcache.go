package envelope

import (
	"crypto/x509"
	"sync"
)

// parsedCerts keeps the certificates embedded in signatures once parsed: every envelope of a
// participant carries the same two or three, and parsing one costs more than checking an ECDSA
// signature's hash. Keys are the DER bytes themselves, so an entry is only ever the parse of exactly
// those bytes; a *x509.Certificate is read-only after parsing and safe to share. The cache is bounded
// by dropping everything when full: the working set (the suite's participants and people signing now)
// refills it at once.
var parsedCerts = certCache{max: 4096}

type certCache struct {
	mu  sync.RWMutex
	max int
	m   map[string]*x509.Certificate
}

func (c *certCache) parse(der []byte) (*x509.Certificate, error) {
	c.mu.RLock()
	cert, ok := c.m[string(der)]
	c.mu.RUnlock()
	if ok {
		return cert, nil
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= c.max {
		c.m = make(map[string]*x509.Certificate, 64)
	}
	c.m[string(der)] = cert
	c.mu.Unlock()
	return cert, nil
}
