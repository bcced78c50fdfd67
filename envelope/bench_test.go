package envelope_test

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/ncatest"
	"github.com/egov-suite/egov/internal/pki"
)

// The benchmarks pair each operation of the package with the bare crypto/ecdsa operation it rests on,
// measured in the same run: the ratio is the cost of CMS, the chain, key usage and the (cached)
// revocation check. go test -bench . ./envelope

func BenchmarkSign(b *testing.B) {
	ca := ncatest.New(b)
	s := ca.Person(b, applicantIIN, pki.Sign)
	doc := make([]byte, 2048)
	b.Run("envelope", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.Sign(doc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("raw-ecdsa", func(b *testing.B) {
		key := s.Key.(*ecdsa.PrivateKey)
		for b.Loop() {
			h := sha256.Sum256(doc)
			if _, err := ecdsa.SignASN1(rand.Reader, key, h[:]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkVerify(b *testing.B) {
	ca := ncatest.New(b)
	s := ca.Person(b, applicantIIN, pki.Sign)
	doc := make([]byte, 2048)
	sig, err := s.Sign(doc)
	if err != nil {
		b.Fatal(err)
	}
	checker := ca.Checker(time.Hour)
	v := ca.Verifier(b, checker)
	b.Run("envelope", func(b *testing.B) {
		for b.Loop() {
			if _, err := v.Verify(b.Context(), doc, sig, envelope.Expect{Purpose: envelope.PurposeDocument, IIN: applicantIIN}); err != nil {
				b.Fatal(err)
			}
		}
		hits, total := checker.CacheStats()
		b.ReportMetric(float64(hits)/float64(total)*100, "ocsp-cache-hit-%")
	})
	// The same with the checks and OCSP answers measured (an SDK meter provider and reader, as a
	// service has): the difference is the metrics' cost per check.
	b.Run("envelope-metered", func(b *testing.B) {
		meter := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader())).Meter("bench")
		checker, err := envelope.NewRevocationChecker(envelope.RevocationOptions{Freshness: time.Hour, Meter: meter})
		if err != nil {
			b.Fatal(err)
		}
		v, err := envelope.NewVerifier(envelope.VerifierOptions{Roots: []*x509.Certificate{ca.Root.Cert}, Status: checker, Meter: meter})
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := v.Verify(b.Context(), doc, sig, envelope.Expect{Purpose: envelope.PurposeDocument, IIN: applicantIIN}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("raw-ecdsa", func(b *testing.B) {
		key := s.Key.(*ecdsa.PrivateKey)
		h := sha256.Sum256(doc)
		rs, err := ecdsa.SignASN1(rand.Reader, key, h[:])
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			h := sha256.Sum256(doc)
			if !ecdsa.VerifyASN1(&key.PublicKey, h[:], rs) {
				b.Fatal("bad signature")
			}
		}
	})
}
