// Package httpapi serves НУЦ's public endpoints: OCSP (RFC 6960), CRLs, the CA certificates and the
// RFC 3161 time-stamp service.
package httpapi

import (
	"encoding/pem"
	"log/slog"
	"net/http"

	"github.com/egov-suite/egov/internal/pki"
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
	// Every method, so that a GET gets an RFC 3161 rejection rather than the mux's plain-text 405.
	mux.Handle("/tsa", pki.TSAHandler(a.TSA(), log, nil))
	return mux
}
