// Package ncatest runs a certification authority in memory for tests: a root, an intermediate, an OCSP
// responder, a CRL and an RFC 3161 time-stamping authority on a real HTTP server, and helpers that issue key pairs for people and systems.
// It uses the same issuing code as НУЦ (internal/pki); only the storage is a map.
package ncatest

import (
	"context"
	"crypto/x509"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/mtls"
	"github.com/egov-suite/egov/internal/pki"
)

// Authority is an in-memory НУЦ.
type Authority struct {
	Root  *pki.CA
	Inter *pki.CA
	URLs  pki.URLs
	// TSA is the time-stamping authority; TSAURL where it answers (POST application/timestamp-query).
	TSA    *pki.TSA
	TSAURL string

	// OCSPDown and CRLDown make the endpoints answer 503, to test fall-backs; TSADown makes the TSA
	// answer as an unavailable one (an RFC 3161 rejection, systemFailure).
	OCSPDown atomic.Bool
	CRLDown  atomic.Bool
	TSADown  atomic.Bool

	clock   func() time.Time
	mu      sync.Mutex
	revoked map[string]pki.Revocation
	issued  map[string]bool
}

// Option changes an Authority.
type Option func(*Authority)

// WithClock sets the authority's clock (the OCSP and CRL times follow it).
func WithClock(now func() time.Time) Option { return func(a *Authority) { a.clock = now } }

// New starts an authority whose HTTP server closes when t ends.
func New(t testing.TB, opts ...Option) *Authority {
	t.Helper()
	a := &Authority{clock: time.Now, revoked: map[string]pki.Revocation{}, issued: map[string]bool{}}
	for _, o := range opts {
		o(a)
	}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	a.URLs = pki.URLs{OCSP: srv.URL + "/ocsp", CRL: srv.URL + "/crl", Issuer: srv.URL + "/ca/intermediate.crt"}

	var err error
	now := a.clock()
	if a.Root, err = pki.NewRoot("Test НУЦ Root", pki.ECDSAP256, now.Add(-24*time.Hour)); err != nil {
		t.Fatalf("ncatest: %v", err)
	}
	if a.Inter, err = a.Root.NewIntermediate("Test НУЦ Issuing CA", pki.ECDSAP256, now.Add(-24*time.Hour), a.URLs); err != nil {
		t.Fatalf("ncatest: %v", err)
	}
	tsaKey, err := pki.NewKey(pki.ECDSAP256)
	if err != nil {
		t.Fatalf("ncatest: %v", err)
	}
	tsaCert, err := a.Inter.IssueTSA(tsaKey.Public(), now.Add(-24*time.Hour))
	if err != nil {
		t.Fatalf("ncatest: %v", err)
	}
	a.TSA = &pki.TSA{CA: &pki.CA{Cert: tsaCert, Key: tsaKey}, Chain: []*x509.Certificate{a.Inter.Cert}, Now: func() time.Time { return a.clock() }}
	a.TSAURL = srv.URL + "/tsa"
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	mux.Handle("/tsa", pki.TSAHandler(a.TSA, discard, a.TSADown.Load))
	ocspH := pki.OCSPHandler([]*pki.CA{a.Inter}, a.lookup, func() time.Time { return a.clock() }, time.Hour, discard)
	mux.HandleFunc("/ocsp", func(w http.ResponseWriter, r *http.Request) {
		if a.OCSPDown.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		ocspH.ServeHTTP(w, r)
	})
	mux.HandleFunc("/crl", func(w http.ResponseWriter, _ *http.Request) {
		if a.CRLDown.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		der, err := a.Inter.CRL(1, a.revocations(), a.clock(), 24*time.Hour)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/pkix-crl")
		_, _ = w.Write(der)
	})
	return a
}

func (a *Authority) lookup(_ context.Context, _ *pki.CA, serial *big.Int) (pki.CertState, time.Time, int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if r, ok := a.revoked[serial.String()]; ok {
		return pki.Revoked, r.At, r.Reason, nil
	}
	if a.issued[serial.String()] {
		return pki.Good, time.Time{}, 0, nil
	}
	return pki.Unknown, time.Time{}, 0, nil
}

func (a *Authority) revocations() []pki.Revocation {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]pki.Revocation, 0, len(a.revoked))
	for _, r := range a.revoked {
		out = append(out, r)
	}
	return out
}

// Issue makes a key and a certificate for the request and returns a signer with the chain.
func (a *Authority) Issue(t testing.TB, req pki.Request, alg pki.Algorithm) *envelope.Signer {
	t.Helper()
	return a.IssueAt(t, req, alg, a.clock())
}

// IssueAt is Issue with the certificate's validity starting at notBefore.
func (a *Authority) IssueAt(t testing.TB, req pki.Request, alg pki.Algorithm, notBefore time.Time) *envelope.Signer {
	t.Helper()
	key, err := pki.NewKey(alg)
	if err != nil {
		t.Fatalf("ncatest: %v", err)
	}
	cert, err := a.Inter.Issue(req, key.Public(), notBefore, a.URLs)
	if err != nil {
		t.Fatalf("ncatest: %v", err)
	}
	a.mu.Lock()
	a.issued[cert.SerialNumber.String()] = true
	a.mu.Unlock()
	return &envelope.Signer{Cert: cert, Chain: []*x509.Certificate{a.Inter.Cert}, Key: key, Now: a.clock}
}

// Person issues an individual's key of the given purpose.
func (a *Authority) Person(t testing.TB, iin string, purpose pki.Purpose) *envelope.Signer {
	t.Helper()
	return a.Issue(t, pki.Request{Profile: pki.Individual, Purpose: purpose,
		Subject: pki.Subject{IIN: iin, Surname: "Ахметова", GivenName: "Асель", Patronymic: "Маратовна"}}, pki.ECDSAP256)
}

// System issues a ШЭП participant's key.
func (a *Authority) System(t testing.TB, id string) *envelope.Signer {
	t.Helper()
	return a.Issue(t, pki.Request{Profile: pki.System, Subject: pki.Subject{SystemID: id, Organization: "egov suite"}}, pki.ECDSAP256)
}

// Revoke revokes cert from now on.
func (a *Authority) Revoke(cert *x509.Certificate, reason int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.revoked[cert.SerialNumber.String()] = pki.Revocation{Serial: cert.SerialNumber, At: a.clock(), Reason: reason}
}

// Checker returns a revocation checker on the authority's clock.
func (a *Authority) Checker(freshness time.Duration) *envelope.RevocationChecker {
	c, err := envelope.NewRevocationChecker(envelope.RevocationOptions{Freshness: freshness, Now: a.clock})
	if err != nil {
		panic(err) // no origin given: cannot fail
	}
	return c
}

// Verifier returns a verifier trusting the authority's root, checking revocation with checker.
func (a *Authority) Verifier(t testing.TB, checker envelope.StatusChecker) *envelope.Verifier {
	t.Helper()
	v, err := envelope.NewVerifier(envelope.VerifierOptions{Roots: []*x509.Certificate{a.Root.Cert}, Status: checker, Now: a.clock})
	if err != nil {
		t.Fatalf("ncatest: %v", err)
	}
	return v
}

// TLS returns the mutual-TLS identity of a key the authority issued: its certificate, the authority's
// root, and a revocation checker on the authority's clock.
func (a *Authority) TLS(s *envelope.Signer) *mtls.Identity {
	return mtls.FromSigner(s, []*x509.Certificate{a.Root.Cert}, a.Checker(time.Minute))
}

// Anonymous is a TLS identity trusting the authority's root that presents no client certificate.
func (a *Authority) Anonymous() *mtls.Identity {
	pool := x509.NewCertPool()
	pool.AddCert(a.Root.Cert)
	return &mtls.Identity{Roots: pool}
}

// Employee issues an employee's authentication key (TLS client authentication) of organisation bin.
func (a *Authority) Employee(t testing.TB, iin, bin string) *envelope.Signer {
	t.Helper()
	return a.Issue(t, pki.Request{Profile: pki.Employee, Purpose: pki.Auth, Subject: pki.Subject{IIN: iin, Surname: "Омарова",
		GivenName: "Жанар", Organization: "egov suite", BIN: bin}}, pki.ECDSAP256)
}
