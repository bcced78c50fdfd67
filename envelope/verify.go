package envelope

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/egov-suite/egov/internal/iin"
	envelopev1 "github.com/egov-suite/egov/proto/egov/envelope/v1"
)

// CertStatus is a certificate's revocation status as of ProducedAt.
type CertStatus struct {
	// Revoked is set when the certificate is revoked.
	Revoked bool
	// RevokedAt and Reason (RFC 5280 CRLReason) describe a revocation.
	RevokedAt time.Time
	Reason    int
	// Source says where the answer came from: "ocsp", "ocsp-cache", "crl", or "none" when not checked.
	Source string
	// ProducedAt is when the answer was made.
	ProducedAt time.Time
}

// StatusChecker says whether a certificate is revoked. An error means no answer could be had.
type StatusChecker interface {
	Status(ctx context.Context, cert, issuer *x509.Certificate) (CertStatus, error)
}

// VerifierOptions configure a Verifier.
type VerifierOptions struct {
	// Roots are the trust anchors (НУЦ's root). Required.
	Roots []*x509.Certificate
	// Intermediates the verifier knows besides those embedded in signatures.
	Intermediates []*x509.Certificate
	// Status checks revocation; required unless SkipRevocation is set.
	Status StatusChecker
	// SkipRevocation turns revocation checks off, for offline tools only; results say Source "none".
	SkipRevocation bool
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// ClockSkew tolerated between signer and verifier; 5 minutes when zero.
	ClockSkew time.Duration
	// Meter, when set, counts the checks by outcome and times them (egov.signature.checks and
	// egov.signature.duration); it is passed in, never taken from a global provider.
	Meter metric.Meter
}

// Verifier checks detached signatures against the suite's trust anchors.
type Verifier struct {
	roots, inter *x509.CertPool
	status       StatusChecker
	now          func() time.Time
	skew         time.Duration
	metrics      *checkMetrics

	// chains caches built chains by the signer certificate's SHA-256: building one costs two signature
	// checks up the chain, and a system signs thousands of envelopes with one certificate.
	chains cache[[32]byte, []*x509.Certificate]
}

// NewVerifier returns a verifier.
func NewVerifier(o VerifierOptions) (*Verifier, error) {
	if len(o.Roots) == 0 {
		return nil, errors.New("envelope: a verifier needs at least one trust anchor")
	}
	if o.Status == nil && !o.SkipRevocation {
		return nil, errors.New("envelope: a verifier needs a revocation checker (or SkipRevocation for offline use)")
	}
	metrics, err := newCheckMetrics(o.Meter)
	if err != nil {
		return nil, fmt.Errorf("envelope: metrics: %w", err)
	}
	v := &Verifier{roots: x509.NewCertPool(), inter: x509.NewCertPool(), status: o.Status, now: o.Now, skew: o.ClockSkew, metrics: metrics}
	for _, c := range o.Roots {
		v.roots.AddCert(c)
	}
	for _, c := range o.Intermediates {
		v.inter.AddCert(c)
	}
	if v.now == nil {
		v.now = time.Now
	}
	if v.skew == 0 {
		v.skew = 5 * time.Minute
	}
	return v, nil
}

// Expect is what a signature must satisfy besides being valid.
type Expect struct {
	// Purpose decides which certificates may sign.
	Purpose Purpose
	// IIN, when set, must be the IIN in the signer's certificate (the applicant's own signature).
	IIN string
	// BIN, when set, must be the BIN in the signer's certificate.
	BIN string
}

// Result describes a verified signature.
type Result struct {
	Signer      *x509.Certificate
	Holder      Holder
	SigningTime time.Time
	Status      CertStatus
	// Chain runs from the signer to the trust anchor.
	Chain []*x509.Certificate
}

// Verify checks a detached CMS signature over content: the signature itself, the chain to a trust
// anchor, validity at signing time and now, the key usage for the purpose, the IIN/BIN binding, and
// revocation. Every failure is an *Error with its own Code.
func (v *Verifier) Verify(ctx context.Context, content, signature []byte, want Expect) (*Result, error) {
	// Timed by the wall clock, not v.now: a test's fixed clock would make every check take no time.
	start := time.Now()
	res, err := v.verify(ctx, content, signature, want)
	v.metrics.record(ctx, want.Purpose, err, time.Since(start))
	return res, err
}

func (v *Verifier) verify(ctx context.Context, content, signature []byte, want Expect) (*Result, error) {
	p, err := parseCMS(signature)
	if err != nil {
		return nil, err
	}
	if err := p.checkSignature(content); err != nil {
		return nil, err
	}
	now := v.now()
	c := p.signer
	switch {
	case p.signingTime.After(now.Add(v.skew)):
		return nil, &Error{Code: CodeNotYetValid, Detail: fmt.Sprintf("signing time %s lies in the future", p.signingTime.Format(time.RFC3339))}
	case p.signingTime.Before(c.NotBefore):
		return nil, &Error{Code: CodeNotYetValid, Detail: fmt.Sprintf("signed %s, certificate valid from %s", p.signingTime.Format(time.RFC3339), c.NotBefore.Format(time.RFC3339))}
	case p.signingTime.After(c.NotAfter):
		return nil, &Error{Code: CodeExpired, Detail: fmt.Sprintf("signed %s, certificate valid until %s", p.signingTime.Format(time.RFC3339), c.NotAfter.Format(time.RFC3339))}
	case now.After(c.NotAfter):
		return nil, &Error{Code: CodeExpired, Detail: fmt.Sprintf("certificate expired %s", c.NotAfter.Format(time.RFC3339))}
	}
	chain, err := v.chain(c, p.certs, p.signingTime)
	if err != nil {
		return nil, err
	}
	if why := checkUsage(c, want.Purpose); why != "" {
		return nil, &Error{Code: CodeWrongKeyUsage, Detail: why}
	}
	holder := HolderOf(c)
	if want.IIN != "" && holder.IIN != want.IIN {
		return nil, &Error{Code: CodeIINMismatch, Detail: fmt.Sprintf("certificate IIN %s, request IIN %s", iin.Mask(holder.IIN), iin.Mask(want.IIN))}
	}
	if want.BIN != "" && holder.BIN != want.BIN {
		return nil, &Error{Code: CodeIINMismatch, Detail: fmt.Sprintf("certificate BIN %s, expected BIN %s", iin.Mask(holder.BIN), iin.Mask(want.BIN))}
	}
	res := &Result{Signer: c, Holder: holder, SigningTime: p.signingTime, Chain: chain, Status: CertStatus{Source: "none"}}
	if v.status == nil {
		return res, nil
	}
	st, err := v.status.Status(ctx, c, chain[1])
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			return nil, err
		}
		return nil, &Error{Code: CodeStatusUnavailable, Err: err}
	}
	if st.Revoked {
		return nil, &Error{Code: CodeRevoked, Detail: fmt.Sprintf("revoked %s (reason %d, by %s)", st.RevokedAt.Format(time.RFC3339), st.Reason, st.Source)}
	}
	res.Status = st
	return res, nil
}

func (v *Verifier) chain(c *x509.Certificate, embedded []*x509.Certificate, at time.Time) ([]*x509.Certificate, error) {
	key := sha256.Sum256(c.Raw)
	if cached, ok := v.chains.get(key); ok && validAt(cached, at) {
		return cached, nil
	}
	chain, err := v.buildChain(c, embedded, at)
	if err != nil {
		return nil, err
	}
	v.chains.put(key, chain)
	return chain, nil
}

func validAt(chain []*x509.Certificate, at time.Time) bool {
	for _, c := range chain {
		if at.Before(c.NotBefore) || at.After(c.NotAfter) {
			return false
		}
	}
	return true
}

func (v *Verifier) buildChain(c *x509.Certificate, embedded []*x509.Certificate, at time.Time) ([]*x509.Certificate, error) {
	inter := v.inter.Clone()
	for _, e := range embedded {
		if e != c {
			inter.AddCert(e)
		}
	}
	chains, err := c.Verify(x509.VerifyOptions{
		Roots: v.roots, Intermediates: inter, CurrentTime: at,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		var ua x509.UnknownAuthorityError
		var ci x509.CertificateInvalidError
		switch {
		case errors.As(err, &ua):
			return nil, &Error{Code: CodeUnknownIssuer, Detail: "the certificate does not chain to a trusted НУЦ root", Err: err}
		case errors.As(err, &ci) && ci.Reason == x509.Expired:
			return nil, &Error{Code: CodeExpired, Detail: "a certificate of the chain was not valid at signing time", Err: err}
		default:
			return nil, &Error{Code: CodeUnknownIssuer, Err: err}
		}
	}
	if len(chains[0]) < 2 {
		return nil, &Error{Code: CodeUnknownIssuer, Detail: "a self-signed certificate cannot sign"}
	}
	return chains[0], nil
}

// OpenEnvelope verifies a system's signature over an envelope and decodes the very bytes it verified.
// When the envelope names a sender, it must be the signer's system id.
func (v *Verifier) OpenEnvelope(ctx context.Context, se *envelopev1.SignedEnvelope) (*envelopev1.Envelope, *Result, error) {
	if len(se.GetEnvelope()) == 0 {
		return nil, nil, &Error{Code: CodeMalformed, Detail: "empty envelope"}
	}
	if len(se.GetSignature()) == 0 {
		return nil, nil, &Error{Code: CodeMalformed, Detail: "the envelope is not signed"}
	}
	if len(se.GetEnvelope()) > MaxSize {
		return nil, nil, &Error{Code: CodeMalformed, Detail: fmt.Sprintf("%d bytes exceeds the %d-byte limit", len(se.GetEnvelope()), MaxSize)}
	}
	res, err := v.Verify(ctx, se.GetEnvelope(), se.GetSignature(), Expect{Purpose: PurposeEnvelope})
	if err != nil {
		return nil, nil, err
	}
	e, err := Unmarshal(se.GetEnvelope())
	if err != nil {
		return nil, nil, &Error{Code: CodeMalformed, Err: err}
	}
	if e.GetSender() != "" && e.GetSender() != res.Holder.Name {
		return nil, nil, &Error{Code: CodeIINMismatch, Detail: fmt.Sprintf("sender %q signed with the certificate of %q", e.GetSender(), res.Holder.Name)}
	}
	return e, res, nil
}

// VerifyDocument verifies a person's signature over a document; wantIIN, when set, must be the signer's.
func (v *Verifier) VerifyDocument(ctx context.Context, d *envelopev1.SignedDocument, wantIIN string) (*Result, error) {
	if len(d.GetSignature()) == 0 {
		return nil, &Error{Code: CodeMalformed, Detail: "the document is not signed"}
	}
	return v.Verify(ctx, d.GetContent(), d.GetSignature(), Expect{Purpose: PurposeDocument, IIN: wantIIN})
}
