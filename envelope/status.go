package envelope

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/metric"
	"golang.org/x/crypto/ocsp"
)

// RevocationChecker asks the certificate's OCSP responder (the AIA URL) and caches good and revoked
// answers for a freshness bound; when OCSP cannot answer it falls back to the CRL named in the
// certificate, cached until its nextUpdate.
type RevocationChecker struct {
	client    *http.Client
	freshness time.Duration
	now       func() time.Time
	origin    *url.URL

	ocsp    cache[string, CertStatus] // by issuer key hash + serial
	crls    cache[string, *x509.RevocationList]
	hits    atomic.Int64
	total   atomic.Int64
	metrics *statusMetrics
}

// RevocationOptions configure a RevocationChecker.
type RevocationOptions struct {
	// Client makes the HTTP requests; a client with a 5-second timeout when nil.
	Client *http.Client
	// Freshness bounds how long an OCSP answer is reused; 5 minutes when zero.
	Freshness time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Origin (scheme://host:port), when set, replaces the origin of the OCSP and CRL URLs written in
	// the certificates; their paths are kept. It reaches НУЦ where the certificates' host name does
	// not resolve or has moved: a cluster's own service name, a mirror, a dev run on new ports.
	Origin string
	// Meter, when set, counts the OCSP answers by status (egov.ocsp.answers) and the cache's hits and
	// misses (egov.ocsp.cache); it is passed in, never taken from a global provider.
	Meter metric.Meter
}

// NewRevocationChecker returns a checker. An Origin that is not an absolute http(s) URL is an error.
func NewRevocationChecker(o RevocationOptions) (*RevocationChecker, error) {
	metrics, err := newStatusMetrics(o.Meter)
	if err != nil {
		return nil, fmt.Errorf("certificate status metrics: %w", err)
	}
	c := &RevocationChecker{client: o.Client, freshness: o.Freshness, now: o.Now, metrics: metrics}
	if o.Origin != "" {
		u, err := url.Parse(o.Origin)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return nil, fmt.Errorf("certificate status origin %q: want http(s)://host:port", o.Origin)
		}
		c.origin = u
	}
	if c.client == nil {
		c.client = &http.Client{Timeout: 5 * time.Second}
	}
	if c.freshness == 0 {
		c.freshness = 5 * time.Minute
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

// at is where to ask for a URL written in a certificate: the URL itself, or its path at the origin.
func (c *RevocationChecker) at(raw string) string {
	if c.origin == nil {
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	u.Scheme, u.Host, u.User = c.origin.Scheme, c.origin.Host, nil
	return u.String()
}

// CacheStats returns how many status look-ups were answered from the cache, of how many.
func (c *RevocationChecker) CacheStats() (hits, total int64) { return c.hits.Load(), c.total.Load() }

// Status implements StatusChecker.
func (c *RevocationChecker) Status(ctx context.Context, cert, issuer *x509.Certificate) (CertStatus, error) {
	c.total.Add(1)
	key := cacheKey(cert, issuer)
	now := c.now()
	st, ok := c.ocsp.get(key)
	if ok && now.Sub(st.ProducedAt) < c.freshness {
		c.hits.Add(1)
		c.metrics.lookup(ctx, true)
		st.Source = "ocsp-cache"
		return st, nil
	}
	c.metrics.lookup(ctx, false)
	st, oerr := c.askOCSP(ctx, cert, issuer)
	c.metrics.answer(ctx, st, oerr)
	if oerr == nil {
		c.ocsp.put(key, st)
		return st, nil
	}
	st, cerr := c.checkCRL(ctx, cert, issuer)
	if cerr == nil {
		return st, nil
	}
	return CertStatus{}, &Error{Code: CodeStatusUnavailable, Err: errors.Join(oerr, cerr)}
}

func cacheKey(cert, issuer *x509.Certificate) string {
	h := sha256.Sum256(issuer.RawSubjectPublicKeyInfo)
	return hex.EncodeToString(h[:]) + "/" + cert.SerialNumber.Text(16)
}

func (c *RevocationChecker) askOCSP(ctx context.Context, cert, issuer *x509.Certificate) (CertStatus, error) {
	if len(cert.OCSPServer) == 0 {
		return CertStatus{}, errors.New("no OCSP URL in the certificate")
	}
	req, err := ocsp.CreateRequest(cert, issuer, &ocsp.RequestOptions{Hash: crypto.SHA256})
	if err != nil {
		return CertStatus{}, fmt.Errorf("OCSP request: %w", err)
	}
	responder := c.at(cert.OCSPServer[0])
	body, err := c.post(ctx, responder, "application/ocsp-request", req)
	if err != nil {
		return CertStatus{}, fmt.Errorf("OCSP %s: %w", responder, err)
	}
	resp, err := ocsp.ParseResponseForCert(body, cert, issuer)
	if err != nil {
		return CertStatus{}, fmt.Errorf("OCSP answer: %w", err)
	}
	now := c.now()
	if !resp.NextUpdate.IsZero() && now.After(resp.NextUpdate) {
		return CertStatus{}, fmt.Errorf("OCSP answer is stale (next update %s)", resp.NextUpdate.Format(time.RFC3339))
	}
	st := CertStatus{Source: "ocsp", ProducedAt: now}
	switch resp.Status {
	case ocsp.Good:
	case ocsp.Revoked:
		st.Revoked, st.RevokedAt, st.Reason = true, resp.RevokedAt, resp.RevocationReason
	default:
		return CertStatus{}, errOCSPUnknown
	}
	return st, nil
}

func (c *RevocationChecker) checkCRL(ctx context.Context, cert, issuer *x509.Certificate) (CertStatus, error) {
	if len(cert.CRLDistributionPoints) == 0 {
		return CertStatus{}, errors.New("no CRL distribution point in the certificate")
	}
	url := c.at(cert.CRLDistributionPoints[0])
	now := c.now()
	crl, _ := c.crls.get(url)
	if crl == nil || now.After(crl.NextUpdate) {
		body, err := c.get(ctx, url)
		if err != nil {
			return CertStatus{}, fmt.Errorf("CRL %s: %w", url, err)
		}
		crl, err = x509.ParseRevocationList(body)
		if err != nil {
			return CertStatus{}, fmt.Errorf("CRL %s: %w", url, err)
		}
		if err := crl.CheckSignatureFrom(issuer); err != nil {
			return CertStatus{}, fmt.Errorf("CRL %s: not signed by the issuer: %w", url, err)
		}
		if now.After(crl.NextUpdate) {
			return CertStatus{}, fmt.Errorf("CRL %s is stale (next update %s)", url, crl.NextUpdate.Format(time.RFC3339))
		}
		c.crls.put(url, crl)
	}
	st := CertStatus{Source: "crl", ProducedAt: crl.ThisUpdate}
	for _, e := range crl.RevokedCertificateEntries {
		if e.SerialNumber.Cmp(cert.SerialNumber) == 0 {
			st.Revoked, st.RevokedAt, st.Reason = true, e.RevocationTime, e.ReasonCode
		}
	}
	return st, nil
}

func (c *RevocationChecker) post(ctx context.Context, url, ctype string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", ctype)
	return c.do(req)
}

func (c *RevocationChecker) get(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	return c.do(req)
}

func (c *RevocationChecker) do(req *http.Request) ([]byte, error) {
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 4<<20))
}
