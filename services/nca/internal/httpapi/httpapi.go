// Package httpapi serves НУЦ's public endpoints: OCSP (RFC 6960), CRLs, the CA certificates and the
// RFC 3161 time-stamp service.
package httpapi

import (
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"net/http"

	"github.com/egov-suite/egov/services/nca/internal/authority"
)

// Handler returns the routes.
func Handler(a *authority.Authority, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	ocsp := a.OCSPHandler()
	mux.Handle("POST /ocsp", ocsp)
	mux.Handle("GET /ocsp/", ocsp)
	crl := func(issuer string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			der, err := a.CRL(r.Context(), issuer)
			if err != nil {
				log.Error("CRL", "issuer", issuer, "err", err)
				http.Error(w, "CRL unavailable", http.StatusServiceUnavailable)
				return
			}
			w.Header().Set("Content-Type", "application/pkix-crl")
			_, _ = w.Write(der)
		}
	}
	mux.HandleFunc("GET /crl", crl(authority.RoleIntermediate))
	mux.HandleFunc("GET /crl/root", crl(authority.RoleRoot))
	cert := func(der func() []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/pkix-cert")
			_, _ = w.Write(der())
		}
	}
	mux.HandleFunc("GET /ca/root.crt", cert(func() []byte { return a.Root().Raw }))
	mux.HandleFunc("GET /ca/intermediate.crt", cert(func() []byte { return a.Intermediate().Raw }))
	mux.HandleFunc("GET /ca/chain.pem", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/x-pem-file")
		for _, c := range [][]byte{a.Intermediate().Raw, a.Root().Raw} {
			_ = pem.Encode(w, &pem.Block{Type: "CERTIFICATE", Bytes: c})
		}
	})
	mux.HandleFunc("POST /tsa", func(w http.ResponseWriter, r *http.Request) {
		if ct := r.Header.Get("Content-Type"); ct != "application/timestamp-query" {
			http.Error(w, "Content-Type must be application/timestamp-query", http.StatusUnsupportedMediaType)
			return
		}
		req, err := io.ReadAll(io.LimitReader(r.Body, 16<<10))
		if err != nil {
			http.Error(w, "cannot read the request", http.StatusBadRequest)
			return
		}
		resp, err := a.Timestamp(req)
		if err != nil {
			if errors.Is(err, authority.ErrInvalid) {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			log.Error("time-stamp", "err", err)
			http.Error(w, "time-stamp unavailable", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/timestamp-reply")
		_, _ = w.Write(resp)
	})
	return mux
}
