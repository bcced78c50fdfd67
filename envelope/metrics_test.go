package envelope_test

import (
	"crypto/x509"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/ncatest"
	"github.com/egov-suite/egov/internal/pki"
)

// collect reads every metric the reader holds, by name.
func collect(t *testing.T, reader *sdkmetric.ManualReader) map[string]metricdata.Aggregation {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(t.Context(), &rm))
	out := map[string]metricdata.Aggregation{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			out[m.Name] = m.Data
		}
	}
	return out
}

// sums are a counter's values by the value of one attribute.
func sums(t *testing.T, data metricdata.Aggregation, key string) map[string]int64 {
	t.Helper()
	sum, ok := data.(metricdata.Sum[int64])
	require.True(t, ok, "a counter, got %T", data)
	out := map[string]int64{}
	for _, p := range sum.DataPoints {
		v, _ := p.Attributes.Value(attribute.Key(key))
		out[v.AsString()] += p.Value
	}
	return out
}

// TestSignatureCheckMetrics: every verification counts once under its outcome — "ok" or its failure's
// code — and is timed in the histogram under the same outcome.
func TestSignatureCheckMetrics(t *testing.T) {
	t.Parallel()
	ca := ncatest.New(t)
	reader := sdkmetric.NewManualReader()
	meter := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)).Meter("egov/test")
	v, err := envelope.NewVerifier(envelope.VerifierOptions{Roots: []*x509.Certificate{ca.Root.Cert}, Status: ca.Checker(time.Minute), Meter: meter})
	require.NoError(t, err)
	doc := []byte("document")
	signing, auth, revoked := ca.Person(t, applicantIIN, pki.Sign), ca.Person(t, applicantIIN, pki.Auth), ca.Person(t, applicantIIN, pki.Sign)
	ca.Revoke(revoked.Cert, 1)
	sign := func(s *envelope.Signer) []byte {
		b, err := s.Sign(doc)
		require.NoError(t, err)
		return b
	}
	for _, tc := range []struct {
		name     string
		content  []byte
		sig      []byte
		wantCode envelope.Code
	}{
		{name: "ok/signed for documents", content: doc, sig: sign(signing)},
		{name: "ok/again", content: doc, sig: sign(signing)},
		{name: "fail/authentication key", content: doc, sig: sign(auth), wantCode: envelope.CodeWrongKeyUsage},
		{name: "fail/other content", content: []byte("other"), sig: sign(signing), wantCode: envelope.CodeBadSignature},
		{name: "fail/revoked", content: doc, sig: sign(revoked), wantCode: envelope.CodeRevoked},
		{name: "fail/not CMS", content: doc, sig: []byte("junk"), wantCode: envelope.CodeMalformed},
	} {
		_, err := v.Verify(t.Context(), tc.content, tc.sig, envelope.Expect{Purpose: envelope.PurposeDocument})
		require.Equal(t, tc.wantCode, envelope.CodeOf(err), "%s: %v", tc.name, err)
	}
	m := collect(t, reader)
	want := map[string]int64{"ok": 2, "WRONG_KEY_USAGE": 1, "BAD_SIGNATURE": 1, "CERT_REVOKED": 1, "MALFORMED": 1}
	require.Equal(t, want, sums(t, m["egov.signature.checks"], "outcome"))
	hist, ok := m["egov.signature.duration"].(metricdata.Histogram[float64])
	require.True(t, ok, "a histogram, got %T", m["egov.signature.duration"])
	timed := map[string]int64{}
	for _, p := range hist.DataPoints {
		v, _ := p.Attributes.Value(attribute.Key("outcome"))
		timed[v.AsString()] += int64(p.Count) //nolint:gosec // a handful of checks
		purpose, _ := p.Attributes.Value(attribute.Key("purpose"))
		require.Equal(t, envelope.PurposeDocument.String(), purpose.AsString())
		require.Positive(t, p.Sum, "a check takes some time")
	}
	require.Equal(t, want, timed)
}

// TestOCSPMetrics: the checker counts НУЦ's answers by status and the cache's hits and misses; a
// failed OCSP request (the responder down, the CRL answering instead) counts as "error".
func TestOCSPMetrics(t *testing.T) {
	t.Parallel()
	now := time.Now()
	ca := ncatest.New(t, ncatest.WithClock(func() time.Time { return now }))
	reader := sdkmetric.NewManualReader()
	meter := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)).Meter("egov/test")
	checker, err := envelope.NewRevocationChecker(envelope.RevocationOptions{Freshness: time.Minute, Now: func() time.Time { return now }, Meter: meter})
	require.NoError(t, err)
	good, revoked := ca.Person(t, applicantIIN, pki.Sign), ca.Person(t, applicantIIN, pki.Sign)
	ca.Revoke(revoked.Cert, 1)
	// Issued past the authority's books: its responder answers "unknown".
	key, err := pki.NewKey(pki.ECDSAP256)
	require.NoError(t, err)
	stray, err := ca.Inter.Issue(pki.Request{Profile: pki.Individual, Purpose: pki.Sign, Subject: pki.Subject{IIN: applicantIIN, Surname: "А", GivenName: "Б"}},
		key.Public(), now, ca.URLs)
	require.NoError(t, err)

	for range 3 { // one answer, then two from the cache
		st, err := checker.Status(t.Context(), good.Cert, ca.Inter.Cert)
		require.NoError(t, err)
		require.False(t, st.Revoked)
	}
	st, err := checker.Status(t.Context(), revoked.Cert, ca.Inter.Cert)
	require.NoError(t, err)
	require.True(t, st.Revoked)
	_, _ = checker.Status(t.Context(), stray, ca.Inter.Cert) // unknown to OCSP; the CRL then says not revoked
	ca.OCSPDown.Store(true)
	now = now.Add(2 * time.Minute) // the cached answer is stale: asked again, and the responder is down
	_, err = checker.Status(t.Context(), good.Cert, ca.Inter.Cert)
	require.NoError(t, err, "the CRL answers")

	m := collect(t, reader)
	require.Equal(t, map[string]int64{"good": 1, "revoked": 1, "unknown": 1, "error": 1}, sums(t, m["egov.ocsp.answers"], "status"))
	require.Equal(t, map[string]int64{"hit": 2, "miss": 4}, sums(t, m["egov.ocsp.cache"], "result"))
}
