package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // RFC 6960 CertID hashes
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// This file answers OCSP (RFC 6960). Requests are decoded here rather than with x/crypto/ocsp because
// that package drops request extensions, and the responder must echo the client's nonce in the
// response extensions (where openssl and NCALayer look for it; x/crypto/ocsp can only write single
// response extensions).

var (
	oidOCSPBasic = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 1}
	oidOCSPNonce = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 2}
	oidSHA1      = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSHA256    = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}

	oidECDSAWithSHA256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidSHA256WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
)

// OCSP response statuses (RFC 6960 §4.2.1).
const (
	OCSPSuccessful       = 0
	OCSPMalformedRequest = 1
	OCSPInternalError    = 2
	OCSPUnauthorized     = 6
)

// CertID names a certificate in an OCSP request.
type CertID struct {
	HashAlgorithm  pkix.AlgorithmIdentifier
	IssuerNameHash []byte
	IssuerKeyHash  []byte
	SerialNumber   *big.Int
}

type ocspRequest struct {
	TBSRequest tbsRequest
	Signature  asn1.RawValue `asn1:"explicit,tag:0,optional"`
}

type tbsRequest struct {
	Version       int           `asn1:"explicit,tag:0,default:0,optional"`
	RequestorName asn1.RawValue `asn1:"explicit,tag:1,optional"`
	RequestList   []singleRequest
	Extensions    []pkix.Extension `asn1:"explicit,tag:2,optional"`
}

type singleRequest struct {
	Cert       asn1.RawValue
	Extensions []pkix.Extension `asn1:"explicit,tag:0,optional"`
}

// OCSPRequest is a decoded request.
type OCSPRequest struct {
	// Certs are the certificates asked about, each with its CertID as the client encoded it.
	Certs []RequestedCert
	// Nonce is the client's nonce extension value (the raw OCTET STRING), echoed in the answer.
	Nonce []byte
}

// RequestedCert is one certificate of a request.
type RequestedCert struct {
	ID  CertID
	Raw []byte
}

// ParseOCSPRequest decodes a DER OCSP request.
func ParseOCSPRequest(der []byte) (*OCSPRequest, error) {
	var req ocspRequest
	rest, err := asn1.Unmarshal(der, &req)
	if err != nil {
		return nil, fmt.Errorf("pki: OCSP request: %w", err)
	}
	if len(rest) > 0 {
		return nil, errors.New("pki: OCSP request: trailing bytes")
	}
	if n := len(req.TBSRequest.RequestList); n == 0 || n > 20 {
		return nil, fmt.Errorf("pki: OCSP request asks about %d certificates (1 to 20)", n)
	}
	out := &OCSPRequest{}
	for _, sr := range req.TBSRequest.RequestList {
		var id CertID
		if _, err := asn1.Unmarshal(sr.Cert.FullBytes, &id); err != nil {
			return nil, fmt.Errorf("pki: OCSP CertID: %w", err)
		}
		if id.SerialNumber == nil {
			return nil, errors.New("pki: OCSP CertID without a serial number")
		}
		out.Certs = append(out.Certs, RequestedCert{ID: id, Raw: sr.Cert.FullBytes})
	}
	for _, e := range req.TBSRequest.Extensions {
		if e.Id.Equal(oidOCSPNonce) {
			if len(e.Value) > 128 {
				return nil, errors.New("pki: OCSP nonce longer than 128 bytes")
			}
			out.Nonce = e.Value
		}
	}
	return out, nil
}

// Matches reports whether id names a certificate issued by ca (by issuer name and key hash, SHA-1 or
// SHA-256).
func (id CertID) Matches(ca *x509.Certificate) bool {
	var nameHash, keyHash []byte
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		Key       asn1.BitString
	}
	if _, err := asn1.Unmarshal(ca.RawSubjectPublicKeyInfo, &spki); err != nil {
		return false
	}
	switch {
	case id.HashAlgorithm.Algorithm.Equal(oidSHA1):
		n, k := sha1.Sum(ca.RawSubject), sha1.Sum(spki.Key.Bytes) //nolint:gosec // CertID
		nameHash, keyHash = n[:], k[:]
	case id.HashAlgorithm.Algorithm.Equal(oidSHA256):
		n, k := sha256.Sum256(ca.RawSubject), sha256.Sum256(spki.Key.Bytes)
		nameHash, keyHash = n[:], k[:]
	default:
		return false
	}
	return bytes.Equal(nameHash, id.IssuerNameHash) && bytes.Equal(keyHash, id.IssuerKeyHash)
}

// CertState is what the responder knows of one certificate.
type CertState int

// Certificate states.
const (
	Good CertState = iota
	Revoked
	Unknown
)

// OCSPAnswer is the answer for one requested certificate.
type OCSPAnswer struct {
	Cert      RequestedCert
	State     CertState
	RevokedAt time.Time
	Reason    int
}

type responseASN1 struct {
	Status asn1.Enumerated
	Bytes  responseBytes `asn1:"explicit,tag:0,optional"`
}

type responseBytes struct {
	ResponseType asn1.ObjectIdentifier
	Response     []byte
}

type basicResponse struct {
	TBSResponseData    asn1.RawValue
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          asn1.BitString
	Certificates       []asn1.RawValue `asn1:"explicit,tag:0,optional"`
}

type responseData struct {
	Version            int       `asn1:"optional,default:0,explicit,tag:0"`
	ResponderKeyHash   []byte    `asn1:"tag:2,explicit"`
	ProducedAt         time.Time `asn1:"generalized"`
	Responses          []singleResponse
	ResponseExtensions []pkix.Extension `asn1:"explicit,tag:1,optional"`
}

type singleResponse struct {
	CertID     asn1.RawValue
	Good       asn1.Flag   `asn1:"tag:0,optional"`
	Revoked    revokedInfo `asn1:"tag:1,optional"`
	Unknown    asn1.Flag   `asn1:"tag:2,optional"`
	ThisUpdate time.Time   `asn1:"generalized"`
	NextUpdate time.Time   `asn1:"generalized,explicit,tag:0,optional"`
}

type revokedInfo struct {
	RevocationTime time.Time       `asn1:"generalized"`
	Reason         asn1.Enumerated `asn1:"explicit,tag:0,optional"`
}

// OCSPResponse signs an answer with the issuing CA's own key (RFC 6960 §4.2.2.2: the CA that issued
// the certificates may sign directly). validity sets nextUpdate; nonce, when given, is echoed.
func (ca *CA) OCSPResponse(answers []OCSPAnswer, nonce []byte, now time.Time, validity time.Duration) ([]byte, error) {
	keyHash, err := keyID(ca.Cert.PublicKey)
	if err != nil {
		return nil, err
	}
	rd := responseData{ResponderKeyHash: keyHash, ProducedAt: now.UTC().Truncate(time.Second)}
	for _, a := range answers {
		sr := singleResponse{
			CertID:     asn1.RawValue{FullBytes: a.Cert.Raw},
			ThisUpdate: now.UTC().Truncate(time.Second),
			NextUpdate: now.Add(validity).UTC().Truncate(time.Second),
		}
		switch a.State {
		case Good:
			sr.Good = true
		case Revoked:
			sr.Revoked = revokedInfo{RevocationTime: a.RevokedAt.UTC().Truncate(time.Second), Reason: asn1.Enumerated(a.Reason)}
		default:
			sr.Unknown = true
		}
		rd.Responses = append(rd.Responses, sr)
	}
	if nonce != nil {
		rd.ResponseExtensions = []pkix.Extension{{Id: oidOCSPNonce, Value: nonce}}
	}
	tbs, err := asn1.Marshal(rd)
	if err != nil {
		return nil, fmt.Errorf("pki: OCSP response data: %w", err)
	}
	sigAlg, sig, err := signSHA256(ca.Key, tbs)
	if err != nil {
		return nil, err
	}
	basic, err := asn1.Marshal(basicResponse{
		TBSResponseData:    asn1.RawValue{FullBytes: tbs},
		SignatureAlgorithm: sigAlg,
		// No certificate is embedded: the CA signs itself, and an embedded certificate would be read
		// as a delegated responder's (RFC 6960 §4.2.2.2).
		Signature: asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)},
	})
	if err != nil {
		return nil, fmt.Errorf("pki: OCSP basic response: %w", err)
	}
	return asn1.Marshal(responseASN1{Status: OCSPSuccessful, Bytes: responseBytes{ResponseType: oidOCSPBasic, Response: basic}})
}

// OCSPError is an unsuccessful OCSP response with the given status (no response bytes).
func OCSPError(status int) []byte {
	// SEQUENCE { ENUMERATED status }
	return []byte{0x30, 0x03, 0x0a, 0x01, byte(status)}
}

func signSHA256(key crypto.Signer, data []byte) (pkix.AlgorithmIdentifier, []byte, error) {
	h := sha256.Sum256(data)
	var alg pkix.AlgorithmIdentifier
	switch key.Public().(type) {
	case *ecdsa.PublicKey:
		alg = pkix.AlgorithmIdentifier{Algorithm: oidECDSAWithSHA256}
	case *rsa.PublicKey:
		alg = pkix.AlgorithmIdentifier{Algorithm: oidSHA256WithRSA, Parameters: asn1.NullRawValue}
	default:
		return alg, nil, fmt.Errorf("pki: unsupported key %T", key.Public())
	}
	sig, err := key.Sign(rand.Reader, h[:], crypto.SHA256)
	if err != nil {
		return alg, nil, fmt.Errorf("pki: sign: %w", err)
	}
	return alg, sig, nil
}
