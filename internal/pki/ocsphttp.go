package pki

import (
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// StatusLookup tells the responder what it knows of a serial issued by issuer.
type StatusLookup func(ctx context.Context, issuer *CA, serial *big.Int) (state CertState, revokedAt time.Time, reason int, err error)

// OCSPHandler answers OCSP over HTTP (RFC 6960 appendix A): POST with an application/ocsp-request body,
// or GET with the base64 request after "/ocsp/". It finds the issuing CA among cas by the
// CertID, asks lookup, and signs with that CA. The nonce, when sent, is echoed.
func OCSPHandler(cas []*CA, lookup StatusLookup, now func() time.Time, validity time.Duration, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var der []byte
		switch r.Method {
		case http.MethodPost:
			b, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
			if err != nil {
				writeOCSP(w, OCSPError(OCSPMalformedRequest))
				return
			}
			der = b
		case http.MethodGet:
			// The request is everything after "/ocsp/", escaped or not: base64 holds '/' and '+'.
			p := r.URL.EscapedPath()
			i := strings.Index(p, "/ocsp/")
			if i < 0 {
				writeOCSP(w, OCSPError(OCSPMalformedRequest))
				return
			}
			seg := p[i+len("/ocsp/"):]
			if s, err := url.PathUnescape(seg); err == nil {
				seg = s
			}
			b, err := base64.StdEncoding.DecodeString(seg)
			if err != nil {
				writeOCSP(w, OCSPError(OCSPMalformedRequest))
				return
			}
			der = b
		default:
			w.Header().Set("Allow", "GET, POST")
			http.Error(w, "OCSP takes GET or POST", http.StatusMethodNotAllowed)
			return
		}
		req, err := ParseOCSPRequest(der)
		if err != nil {
			log.Info("malformed OCSP request", "err", err)
			writeOCSP(w, OCSPError(OCSPMalformedRequest))
			return
		}
		// One response is signed by one CA: answer for the certificates of the first request's issuer.
		var issuer *CA
		for _, ca := range cas {
			if req.Certs[0].ID.Matches(ca.Cert) {
				issuer = ca
				break
			}
		}
		if issuer == nil {
			writeOCSP(w, OCSPError(OCSPUnauthorized))
			return
		}
		var answers []OCSPAnswer
		for _, c := range req.Certs {
			a := OCSPAnswer{Cert: c, State: Unknown}
			if c.ID.Matches(issuer.Cert) {
				a.State, a.RevokedAt, a.Reason, err = lookup(r.Context(), issuer, c.ID.SerialNumber)
				if err != nil {
					log.Error("OCSP look-up failed", "err", err)
					writeOCSP(w, OCSPError(OCSPInternalError))
					return
				}
			}
			answers = append(answers, a)
		}
		resp, err := issuer.OCSPResponse(answers, req.Nonce, now(), validity)
		if err != nil {
			log.Error("OCSP signing failed", "err", err)
			writeOCSP(w, OCSPError(OCSPInternalError))
			return
		}
		writeOCSP(w, resp)
	})
}

func writeOCSP(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Type", "application/ocsp-response")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}
