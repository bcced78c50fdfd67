// Package checkpoint anchors ШЭП's message log, as X-Road anchors its own: a checkpoint (контрольная
// точка журнала) states the log's head — the last record's sequence and hash — and links to the
// previous checkpoint; ШЭП signs it with its system key and НУЦ's time-stamping authority stamps its
// digest (RFC 3161). The hash chain alone cannot show rows cut from its end, nor a row rewritten with
// every hash after it recomputed; a chain that no longer reaches a checkpoint's head can.
package checkpoint

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/digitorus/pkcs7"
	"github.com/digitorus/timestamp"

	"github.com/egov-suite/egov/envelope"
)

// Checkpoint is one anchor of the log.
type Checkpoint struct {
	// Number counts checkpoints from 1, without gaps.
	Number int64
	// Seq is the last log record covered, Head its hash.
	Seq  int64
	Head []byte
	// PrevDigest is the previous checkpoint's Digest; Genesis for the first.
	PrevDigest []byte
	// At is when ШЭП made it, in microseconds.
	At time.Time
	// Signature is ШЭП's detached CMS signature over Content.
	Signature []byte
	// Token is НУЦ's RFC 3161 TimeStampToken over Digest.
	Token []byte
}

// parseMu serialises the parsing of time-stamp tokens: github.com/digitorus/pkcs7 converts BER to DER
// with a package-level counter (encodeIndent) that concurrent parses race on. The lock has to be as
// wide as that counter — the process — hence a package variable, against the house rule.
var parseMu sync.Mutex

// parseToken is timestamp.Parse and pkcs7.Parse of token under parseMu.
func parseToken(token []byte) (*timestamp.Timestamp, *pkcs7.PKCS7, error) {
	parseMu.Lock()
	defer parseMu.Unlock()
	ts, err := timestamp.Parse(token)
	if err != nil {
		return nil, nil, err
	}
	p7, err := pkcs7.Parse(token)
	return ts, p7, err
}

// parseResponse is timestamp.ParseResponse under parseMu.
func parseResponse(der []byte) (*timestamp.Timestamp, error) {
	parseMu.Lock()
	defer parseMu.Unlock()
	return timestamp.ParseResponse(der)
}

// Genesis is the previous digest of the first checkpoint.
var Genesis = make([]byte, 32)

// domain separates these bytes from anything else ШЭП signs.
const domain = "egov-shep-log-checkpoint/v1"

// Content is the exact bytes signed and time-stamped: the domain and every field but the signature and
// token, each length-prefixed or fixed-width.
func (c *Checkpoint) Content() []byte {
	b := make([]byte, 0, len(domain)+8*4+len(c.Head)+len(c.PrevDigest)+16)
	b = binary.BigEndian.AppendUint64(b, uint64(len(domain)))
	b = append(b, domain...)
	b = binary.BigEndian.AppendUint64(b, uint64(c.Number))
	b = binary.BigEndian.AppendUint64(b, uint64(c.Seq))
	b = binary.BigEndian.AppendUint64(b, uint64(len(c.Head)))
	b = append(b, c.Head...)
	b = binary.BigEndian.AppendUint64(b, uint64(len(c.PrevDigest)))
	b = append(b, c.PrevDigest...)
	return binary.BigEndian.AppendUint64(b, uint64(c.At.UTC().UnixMicro()))
}

// Digest is the SHA-256 of Content: the next checkpoint's PrevDigest and the time-stamp's imprint.
func (c *Checkpoint) Digest() []byte {
	sum := sha256.Sum256(c.Content())
	return sum[:]
}

// TimeStamper asks a time-stamping authority for a token over a SHA-256 digest.
type TimeStamper interface {
	Stamp(ctx context.Context, digest []byte) (token []byte, err error)
}

// Seal signs c with ШЭП's key and has its digest time-stamped.
func Seal(ctx context.Context, c *Checkpoint, signer *envelope.Signer, tsa TimeStamper) error {
	c.At = c.At.UTC().Truncate(time.Microsecond)
	sig, err := signer.Sign(c.Content())
	if err != nil {
		return fmt.Errorf("checkpoint %d: sign: %w", c.Number, err)
	}
	token, err := tsa.Stamp(ctx, c.Digest())
	if err != nil {
		return fmt.Errorf("checkpoint %d: time-stamp: %w", c.Number, err)
	}
	c.Signature, c.Token = sig, token
	return nil
}

// Verifier checks checkpoints: ШЭП's signature and НУЦ's time-stamp.
type Verifier struct {
	// Roots are НУЦ's roots: ШЭП's certificate and the TSA's chain to them.
	Roots []*x509.Certificate
	// Signer is the participant id whose signature a checkpoint must carry ("shep").
	Signer string
	// Status tells whether ШЭП's certificate was revoked.
	Status envelope.StatusChecker
}

// Verify checks c's time-stamp, then ШЭП's signature as of the time-stamp's time, and returns that time.
// The time-stamp proves the signature existed then, so a checkpoint still verifies after ШЭП's
// certificate has expired or was revoked later; a revocation before the time-stamp fails it.
func (v *Verifier) Verify(ctx context.Context, c *Checkpoint) (time.Time, error) {
	at, err := v.verifyToken(c.Token, c.Digest())
	if err != nil {
		return time.Time{}, fmt.Errorf("НУЦ's time-stamp does not hold: %w", err)
	}
	ev, err := envelope.NewVerifier(envelope.VerifierOptions{Roots: v.Roots, SkipRevocation: true, Now: func() time.Time { return at }})
	if err != nil {
		return time.Time{}, err
	}
	res, err := ev.Verify(ctx, c.Content(), c.Signature, envelope.Expect{Purpose: envelope.PurposeEnvelope})
	if err != nil {
		return time.Time{}, fmt.Errorf("ШЭП's signature does not hold: %w", err)
	}
	if res.Holder.Name != v.Signer {
		return time.Time{}, fmt.Errorf("signed by %q, not by %q", res.Holder.Name, v.Signer)
	}
	if len(res.Chain) < 2 {
		return time.Time{}, errors.New("ШЭП's certificate has no issuer in its chain")
	}
	st, err := v.Status.Status(ctx, res.Signer, res.Chain[1])
	switch {
	case err != nil:
		return time.Time{}, fmt.Errorf("the status of ШЭП's certificate is unknown: %w", err)
	case st.Revoked && !st.RevokedAt.After(at):
		return time.Time{}, fmt.Errorf("ШЭП's certificate was revoked %s, before the time-stamp of %s",
			st.RevokedAt.UTC().Format(time.RFC3339), at.UTC().Format(time.RFC3339))
	}
	return at, nil
}

// verifyToken checks an RFC 3161 token: its CMS signature, the signer's chain to a root with the
// timeStamping extended key usage at the stamped time, and that its imprint is SHA-256 of digest's
// content — digest itself.
func (v *Verifier) verifyToken(token, digest []byte) (time.Time, error) {
	if len(token) == 0 {
		return time.Time{}, errors.New("no token")
	}
	ts, p7, err := parseToken(token)
	if err != nil {
		return time.Time{}, fmt.Errorf("not a valid time-stamp token: %w", err)
	}
	if ts.HashAlgorithm != crypto.SHA256 || string(ts.HashedMessage) != string(digest) {
		return time.Time{}, errors.New("its imprint is not this checkpoint's digest")
	}
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	for _, r := range v.Roots {
		roots.AddCert(r)
	}
	for _, c := range p7.Certificates {
		inter.AddCert(c)
	}
	if err := p7.VerifyWithOpts(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: ts.Time,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}}); err != nil {
		return time.Time{}, fmt.Errorf("its signer is not НУЦ's TSA: %w", err)
	}
	return ts.Time, nil
}
