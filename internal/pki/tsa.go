package pki

import (
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"strings"
	"time"

	"github.com/digitorus/timestamp"

	"github.com/egov-suite/egov/envelope"
)

// Time-stamping (RFC 3161). Every request gets a TimeStampResp: a token when granted, and otherwise
// PKIStatusInfo with status rejection (2), the PKIFailureInfo bit that names the fault and a free-text
// statusString — never a plain-text HTTP error, which no RFC 3161 client can parse.

// TSA is a time-stamping authority: its key and certificate, and the chain sent with tokens.
type TSA struct {
	CA *CA
	// Chain is added to every token after the TSA's own certificate (the issuing CA).
	Chain []*x509.Certificate
	// Now is the clock.
	Now func() time.Time
}

// TSARejection is a refused time-stamp request: the failure bit and why.
type TSARejection struct {
	Failure timestamp.FailureInfo
	Reason  string
}

func (r *TSARejection) Error() string {
	return fmt.Sprintf("time-stamp refused (%v): %s", r.Failure, r.Reason)
}

// maxTSARequest bounds a request: a query is a digest and a few small fields.
const maxTSARequest = 16 << 10

// the ASN.1 of a TimeStampReq, read here rather than by timestamp.ParseRequest so that an unknown
// hash algorithm (badAlg) is told from bytes that are no request at all (badDataFormat).
type tsaRequest struct {
	Version        int
	MessageImprint struct {
		HashAlgorithm pkix.AlgorithmIdentifier
		HashedMessage []byte
	}
	ReqPolicy  asn1.ObjectIdentifier `asn1:"optional"`
	Nonce      *big.Int              `asn1:"optional"`
	CertReq    bool                  `asn1:"optional,default:false"`
	Extensions []pkix.Extension      `asn1:"tag:0,optional"`
}

var tsaHashes = map[string]crypto.Hash{
	"2.16.840.1.101.3.4.2.1": crypto.SHA256,
	"2.16.840.1.101.3.4.2.2": crypto.SHA384,
	"2.16.840.1.101.3.4.2.3": crypto.SHA512,
}

// Stamp answers a DER TimeStampReq with a granted token, or with a *TSARejection.
func (t *TSA) Stamp(der []byte) ([]byte, error) {
	var req tsaRequest
	rest, err := asn1.Unmarshal(der, &req)
	switch {
	case err != nil:
		return nil, &TSARejection{timestamp.BadDataFormat, "not a DER TimeStampReq: " + err.Error()}
	case len(rest) > 0:
		return nil, &TSARejection{timestamp.BadDataFormat, "trailing bytes after the TimeStampReq"}
	case req.Version != 1:
		return nil, &TSARejection{timestamp.BadDataFormat, fmt.Sprintf("version %d, want 1", req.Version)}
	}
	h, ok := tsaHashes[req.MessageImprint.HashAlgorithm.Algorithm.String()]
	if !ok {
		return nil, &TSARejection{timestamp.BadAlgorithm, fmt.Sprintf("hash algorithm %v not accepted (SHA-256, SHA-384, SHA-512)",
			req.MessageImprint.HashAlgorithm.Algorithm)}
	}
	if len(req.MessageImprint.HashedMessage) != h.Size() {
		return nil, &TSARejection{timestamp.BadDataFormat, fmt.Sprintf("message imprint of %d bytes for %v", len(req.MessageImprint.HashedMessage), h)}
	}
	if len(req.ReqPolicy) > 0 && !req.ReqPolicy.Equal(envelope.OIDPolicyTimeStamp) {
		return nil, &TSARejection{timestamp.UnacceptedPolicy, fmt.Sprintf("policy %v; this TSA stamps under %v", req.ReqPolicy, envelope.OIDPolicyTimeStamp)}
	}
	for _, e := range req.Extensions {
		if e.Critical {
			return nil, &TSARejection{timestamp.UnacceptedExtension, fmt.Sprintf("critical extension %v not supported", e.Id)}
		}
	}
	serial, err := NewSerial()
	if err != nil {
		return nil, err
	}
	ts := timestamp.Timestamp{
		HashAlgorithm:     h,
		HashedMessage:     req.MessageImprint.HashedMessage,
		Time:              t.Now().UTC(),
		Accuracy:          time.Second,
		SerialNumber:      serial,
		Policy:            envelope.OIDPolicyTimeStamp,
		Nonce:             req.Nonce,
		AddTSACertificate: req.CertReq,
		Certificates:      t.Chain,
	}
	return ts.CreateResponseWithOpts(t.CA.Cert, t.CA.Key, crypto.SHA256)
}

// pkiStatusInfo and tsaResponse are RFC 3161's PKIStatusInfo and TimeStampResp without a token.
type pkiStatusInfo struct {
	Status       int
	StatusString []asn1.RawValue `asn1:"optional"` // PKIFreeText: UTF8Strings
	FailInfo     asn1.BitString  `asn1:"optional"`
}

type tsaResponse struct {
	Status pkiStatusInfo
}

// TSARejectionResponse is the DER TimeStampResp refusing a request: status rejection (2), the failure
// bit set in PKIFailureInfo, and reason as statusString (a PKIFreeText of UTF8Strings).
func TSARejectionResponse(failure timestamp.FailureInfo, reason string) ([]byte, error) {
	bit := int(failure)
	bits := make([]byte, bit/8+1)
	bits[bit/8] = 0x80 >> (bit % 8)
	return asn1.Marshal(tsaResponse{Status: pkiStatusInfo{
		Status:       int(timestamp.Rejection),
		StatusString: []asn1.RawValue{{Tag: asn1.TagUTF8String, Bytes: []byte(strings.ToValidUTF8(reason, "?"))}},
		FailInfo:     asn1.BitString{Bytes: bits, BitLength: bit + 1},
	}})
}

// TSAHandler serves RFC 3161 over HTTP (§3.4): POST an application/timestamp-query, get an
// application/timestamp-reply. A refused request gets a rejection TimeStampResp too, with HTTP 400
// (503 when the TSA itself fails), so a client that reads only the body and one that reads only the
// status both learn the outcome. down, when set and true, makes the TSA answer as an unavailable one
// (systemFailure), for tests of its clients.
func TSAHandler(t *TSA, log *slog.Logger, down func() bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reply := func(code int, b []byte) {
			w.Header().Set("Content-Type", "application/timestamp-reply")
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(code)
			_, _ = w.Write(b)
		}
		refuse := func(code int, failure timestamp.FailureInfo, reason string) {
			log.Info("time-stamp refused", "failure", failure.String(), "reason", reason)
			b, err := TSARejectionResponse(failure, reason)
			if err != nil {
				// Without the reason text, which is all that could not be encoded.
				b, _ = timestamp.CreateErrorResponse(timestamp.Rejection, failure)
			}
			reply(code, b)
		}
		switch {
		case down != nil && down():
			refuse(http.StatusServiceUnavailable, timestamp.SystemFailure, "the time-stamping service is unavailable")
			return
		case r.Method != http.MethodPost:
			w.Header().Set("Allow", http.MethodPost)
			refuse(http.StatusMethodNotAllowed, timestamp.BadRequest, "a time-stamp request is POSTed")
			return
		case r.Header.Get("Content-Type") != "application/timestamp-query":
			refuse(http.StatusUnsupportedMediaType, timestamp.BadRequest,
				fmt.Sprintf("Content-Type %q; want application/timestamp-query", r.Header.Get("Content-Type")))
			return
		}
		der, err := io.ReadAll(io.LimitReader(r.Body, maxTSARequest+1))
		switch {
		case err != nil:
			refuse(http.StatusBadRequest, timestamp.BadDataFormat, "cannot read the request")
			return
		case len(der) > maxTSARequest:
			refuse(http.StatusRequestEntityTooLarge, timestamp.BadDataFormat, fmt.Sprintf("request over %d bytes", maxTSARequest))
			return
		}
		resp, err := t.Stamp(der)
		if err != nil {
			if rej := (*TSARejection)(nil); errors.As(err, &rej) {
				refuse(http.StatusBadRequest, rej.Failure, rej.Reason)
				return
			}
			log.Error("time-stamp signing failed", "err", err)
			refuse(http.StatusServiceUnavailable, timestamp.SystemFailure, "the time-stamp could not be signed")
			return
		}
		reply(http.StatusOK, resp)
	})
}
