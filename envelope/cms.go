package envelope

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"hash"
	"math/big"
	"time"
)

// This file encodes and decodes CMS SignedData (RFC 5652) with one signer and detached content, the
// form NCALayer's createCMSSignatureFromBase64 and KalkanCrypt produce: signed attributes contentType,
// signingTime and messageDigest; the signer named by issuer and serial number; the signer's certificate
// and its intermediates embedded.
//
// It is written on encoding/asn1 rather than taken from a pkcs7 package because the packages available
// stamp signingTime with the wall clock, and the suite injects time everywhere (tests pin signatures in
// golden files, timers run on a fake clock). openssl cms -verify checks what this file makes, in tests.

var (
	oidData          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidSignedData    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidContentType   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidSigningTime   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}

	oidSHA256 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}

	oidRSAEncryption   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidSHA256WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidSHA384WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}
	oidSHA512WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}
	oidECDSAWithSHA256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidECDSAWithSHA384 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	oidECDSAWithSHA512 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
	oidECPublicKey     = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
)

// maxEmbeddedCerts bounds the certificates a signature may carry: a real chain has two or three.
const maxEmbeddedCerts = 8

type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"explicit,tag:0"`
}

type encapsulatedContentInfo struct {
	EContentType asn1.ObjectIdentifier
	EContent     asn1.RawValue `asn1:"optional,explicit,tag:0"`
}

type signedData struct {
	Version          int
	DigestAlgorithms []pkix.AlgorithmIdentifier `asn1:"set"`
	EncapContentInfo encapsulatedContentInfo
	Certificates     asn1.RawValue `asn1:"optional,tag:0"`
	CRLs             asn1.RawValue `asn1:"optional,tag:1"`
	SignerInfos      []signerInfo  `asn1:"set"`
}

type issuerAndSerial struct {
	Issuer asn1.RawValue
	Serial *big.Int
}

type signerInfo struct {
	Version            int
	SID                issuerAndSerial
	DigestAlgorithm    pkix.AlgorithmIdentifier
	SignedAttrs        asn1.RawValue `asn1:"optional,tag:0"`
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          []byte
	UnsignedAttrs      asn1.RawValue `asn1:"optional,tag:1"`
}

type attribute struct {
	Type   asn1.ObjectIdentifier
	Values asn1.RawValue `asn1:"set"`
}

// signCMS makes a detached CMS SignedData over content with key, naming cert as the signer and
// embedding cert and chain.
func signCMS(content []byte, cert *x509.Certificate, chain []*x509.Certificate, key crypto.Signer, at time.Time) ([]byte, error) {
	digest := sha256.Sum256(content)
	var sigAlg pkix.AlgorithmIdentifier
	switch key.Public().(type) {
	case *ecdsa.PublicKey:
		sigAlg = pkix.AlgorithmIdentifier{Algorithm: oidECDSAWithSHA256}
	case *rsa.PublicKey:
		sigAlg = pkix.AlgorithmIdentifier{Algorithm: oidRSAEncryption, Parameters: asn1.NullRawValue}
	default:
		return nil, fmt.Errorf("envelope: unsupported key type %T", key.Public())
	}

	attrs, err := marshalSignedAttrs(digest[:], at)
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256(attrs)
	sig, err := key.Sign(rand.Reader, h[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("envelope: sign: %w", err)
	}
	// In the SignerInfo the attributes are [0] IMPLICIT; the signature covers them as a SET (tag 0x31).
	implicit := append([]byte(nil), attrs...)
	implicit[0] = 0xa0

	var certs []byte
	for _, c := range append([]*x509.Certificate{cert}, chain...) {
		certs = append(certs, c.Raw...)
	}
	sd := signedData{
		Version:          1,
		DigestAlgorithms: []pkix.AlgorithmIdentifier{{Algorithm: oidSHA256, Parameters: asn1.NullRawValue}},
		EncapContentInfo: encapsulatedContentInfo{EContentType: oidData},
		Certificates:     asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: certs},
		SignerInfos: []signerInfo{{
			Version:            1,
			SID:                issuerAndSerial{Issuer: asn1.RawValue{FullBytes: cert.RawIssuer}, Serial: cert.SerialNumber},
			DigestAlgorithm:    pkix.AlgorithmIdentifier{Algorithm: oidSHA256, Parameters: asn1.NullRawValue},
			SignedAttrs:        asn1.RawValue{FullBytes: implicit},
			SignatureAlgorithm: sigAlg,
			Signature:          sig,
		}},
	}
	inner, err := asn1.Marshal(sd)
	if err != nil {
		return nil, fmt.Errorf("envelope: encode signed data: %w", err)
	}
	out, err := asn1.Marshal(contentInfo{ContentType: oidSignedData, Content: asn1.RawValue{FullBytes: mustExplicit0(inner)}})
	if err != nil {
		return nil, fmt.Errorf("envelope: encode content info: %w", err)
	}
	return out, nil
}

func mustExplicit0(inner []byte) []byte {
	b, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: inner})
	if err != nil {
		panic(err) // a RawValue of bytes always encodes
	}
	return b
}

// marshalSignedAttrs encodes the three signed attributes as a DER SET OF, in DER order.
func marshalSignedAttrs(digest []byte, at time.Time) ([]byte, error) {
	values := []struct {
		oid asn1.ObjectIdentifier
		val any
	}{
		{oidContentType, oidData},
		{oidSigningTime, at.UTC().Truncate(time.Second)},
		{oidMessageDigest, digest},
	}
	var encoded [][]byte
	for _, v := range values {
		inner, err := asn1.Marshal(v.val)
		if err != nil {
			return nil, fmt.Errorf("envelope: encode attribute: %w", err)
		}
		b, err := asn1.Marshal(attribute{Type: v.oid, Values: asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: inner}})
		if err != nil {
			return nil, fmt.Errorf("envelope: encode attribute: %w", err)
		}
		encoded = append(encoded, b)
	}
	// DER orders the elements of a SET OF by their encodings.
	sortBytes(encoded)
	return asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: bytes.Join(encoded, nil)})
}

func sortBytes(b [][]byte) {
	for i := 1; i < len(b); i++ {
		for j := i; j > 0 && bytes.Compare(b[j-1], b[j]) > 0; j-- {
			b[j-1], b[j] = b[j], b[j-1]
		}
	}
}

// parsedCMS is a decoded detached signature.
type parsedCMS struct {
	signer      *x509.Certificate
	certs       []*x509.Certificate
	signingTime time.Time
	digest      []byte
	digestHash  crypto.Hash
	attrs       []byte // the signed attributes re-tagged as a SET, as signed
	sigAlg      x509.SignatureAlgorithm
	signature   []byte
}

// parseCMS decodes a detached CMS SignedData with exactly one signer. Every defect is errMalformed.
func parseCMS(der []byte) (*parsedCMS, error) {
	var ci contentInfo
	rest, err := asn1.Unmarshal(der, &ci)
	if err != nil {
		return nil, malformed("not a CMS ContentInfo: %v", err)
	}
	if len(rest) > 0 {
		return nil, malformed("%d bytes after the ContentInfo", len(rest))
	}
	if !ci.ContentType.Equal(oidSignedData) {
		return nil, malformed("content type %v is not signedData", ci.ContentType)
	}
	var sd signedData
	if rest, err = asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil {
		return nil, malformed("signedData: %v", err)
	}
	if len(rest) > 0 {
		return nil, malformed("bytes after signedData")
	}
	if !sd.EncapContentInfo.EContentType.Equal(oidData) {
		return nil, malformed("encapsulated content type %v is not id-data", sd.EncapContentInfo.EContentType)
	}
	if len(sd.EncapContentInfo.EContent.Bytes) > 0 || len(sd.EncapContentInfo.EContent.FullBytes) > 0 {
		return nil, malformed("the signature is not detached (it carries the content)")
	}
	if len(sd.SignerInfos) != 1 {
		return nil, malformed("%d signers; exactly one is expected", len(sd.SignerInfos))
	}
	p := &parsedCMS{}
	if p.certs, err = parseCertSet(sd.Certificates.Bytes); err != nil {
		return nil, err
	}
	si := sd.SignerInfos[0]
	if si.SID.Serial == nil {
		return nil, malformed("signer identified by key identifier; issuer and serial expected")
	}
	for _, c := range p.certs {
		if bytes.Equal(c.RawIssuer, si.SID.Issuer.FullBytes) && c.SerialNumber.Cmp(si.SID.Serial) == 0 {
			p.signer = c
			break
		}
	}
	if p.signer == nil {
		return nil, malformed("the signer's certificate is not in the signature")
	}
	if p.digestHash, err = hashFor(si.DigestAlgorithm.Algorithm); err != nil {
		return nil, err
	}
	if p.sigAlg, err = signatureAlgorithm(si.SignatureAlgorithm.Algorithm, p.digestHash, p.signer); err != nil {
		return nil, err
	}
	if len(si.SignedAttrs.FullBytes) == 0 {
		return nil, malformed("no signed attributes")
	}
	p.attrs = append([]byte(nil), si.SignedAttrs.FullBytes...)
	p.attrs[0] = 0x31
	if err := p.readAttrs(si.SignedAttrs.Bytes); err != nil {
		return nil, err
	}
	p.signature = si.Signature
	return p, nil
}

func (p *parsedCMS) readAttrs(b []byte) error {
	var haveType bool
	for len(b) > 0 {
		var a attribute
		var err error
		if b, err = asn1.Unmarshal(b, &a); err != nil {
			return malformed("signed attribute: %v", err)
		}
		switch {
		case a.Type.Equal(oidContentType):
			var oid asn1.ObjectIdentifier
			if _, err := asn1.Unmarshal(a.Values.Bytes, &oid); err != nil || !oid.Equal(oidData) {
				return malformed("contentType attribute is not id-data")
			}
			haveType = true
		case a.Type.Equal(oidMessageDigest):
			if _, err := asn1.Unmarshal(a.Values.Bytes, &p.digest); err != nil {
				return malformed("messageDigest attribute: %v", err)
			}
		case a.Type.Equal(oidSigningTime):
			if _, err := asn1.Unmarshal(a.Values.Bytes, &p.signingTime); err != nil {
				return malformed("signingTime attribute: %v", err)
			}
		}
	}
	switch {
	case !haveType:
		return malformed("no contentType attribute")
	case p.digest == nil:
		return malformed("no messageDigest attribute")
	case p.signingTime.IsZero():
		return malformed("no signingTime attribute")
	}
	return nil
}

func parseCertSet(b []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for len(b) > 0 {
		if len(certs) == maxEmbeddedCerts {
			return nil, &Error{Code: CodeUnknownIssuer, Detail: fmt.Sprintf("more than %d certificates embedded; a chain is two or three", maxEmbeddedCerts)}
		}
		var raw asn1.RawValue
		var err error
		if b, err = asn1.Unmarshal(b, &raw); err != nil {
			return nil, malformed("embedded certificate: %v", err)
		}
		c, err := parsedCerts.parse(raw.FullBytes)
		if err != nil {
			return nil, malformed("embedded certificate: %v", err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, malformed("no certificates embedded")
	}
	return certs, nil
}

func hashFor(oid asn1.ObjectIdentifier) (crypto.Hash, error) {
	switch {
	case oid.Equal(oidSHA256):
		return crypto.SHA256, nil
	case oid.Equal(oidSHA384):
		return crypto.SHA384, nil
	case oid.Equal(oidSHA512):
		return crypto.SHA512, nil
	}
	return 0, malformed("digest algorithm %v not supported (SHA-256, SHA-384, SHA-512)", oid)
}

func newHash(h crypto.Hash) hash.Hash {
	switch h {
	case crypto.SHA384:
		return sha512.New384()
	case crypto.SHA512:
		return sha512.New()
	default:
		return sha256.New()
	}
}

func signatureAlgorithm(oid asn1.ObjectIdentifier, h crypto.Hash, cert *x509.Certificate) (x509.SignatureAlgorithm, error) {
	byHash := func(a256, a384, a512 x509.SignatureAlgorithm) x509.SignatureAlgorithm {
		switch h {
		case crypto.SHA384:
			return a384
		case crypto.SHA512:
			return a512
		default:
			return a256
		}
	}
	switch {
	case oid.Equal(oidRSAEncryption):
		return byHash(x509.SHA256WithRSA, x509.SHA384WithRSA, x509.SHA512WithRSA), nil
	case oid.Equal(oidSHA256WithRSA):
		return x509.SHA256WithRSA, nil
	case oid.Equal(oidSHA384WithRSA):
		return x509.SHA384WithRSA, nil
	case oid.Equal(oidSHA512WithRSA):
		return x509.SHA512WithRSA, nil
	case oid.Equal(oidECDSAWithSHA256):
		return x509.ECDSAWithSHA256, nil
	case oid.Equal(oidECDSAWithSHA384):
		return x509.ECDSAWithSHA384, nil
	case oid.Equal(oidECDSAWithSHA512):
		return x509.ECDSAWithSHA512, nil
	case oid.Equal(oidECPublicKey):
		if cert.PublicKeyAlgorithm == x509.ECDSA {
			return byHash(x509.ECDSAWithSHA256, x509.ECDSAWithSHA384, x509.ECDSAWithSHA512), nil
		}
	}
	return 0, malformed("signature algorithm %v not supported", oid)
}

// checkSignature verifies the digest of content and the signature over the signed attributes.
func (p *parsedCMS) checkSignature(content []byte) error {
	h := newHash(p.digestHash)
	h.Write(content)
	if !bytes.Equal(h.Sum(nil), p.digest) {
		return &Error{Code: CodeBadSignature, Detail: "the content does not match the signed digest"}
	}
	if err := p.signer.CheckSignature(p.sigAlg, p.attrs, p.signature); err != nil {
		return &Error{Code: CodeBadSignature, Detail: "the signature does not verify", Err: err}
	}
	return nil
}

func malformed(format string, args ...any) error {
	return &Error{Code: CodeMalformed, Detail: fmt.Sprintf(format, args...)}
}
