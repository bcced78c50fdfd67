package envelope_test

import (
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/ncatest"
	"github.com/egov-suite/egov/internal/pki"
	envelopev1 "github.com/egov-suite/egov/proto/egov/envelope/v1"
)

const (
	applicantIIN = "900101300126"
	otherIIN     = "850315400104"
)

func TestVerify(t *testing.T) {
	t.Parallel()
	ca := ncatest.New(t)
	stranger := ncatest.New(t)
	doc := []byte(`{"service":"guardianship-certificate","child_iin":"150505600017"}`)

	sign := func(s *envelope.Signer, content []byte) []byte {
		b, err := s.Sign(content)
		require.NoError(t, err)
		return b
	}
	signing := ca.Person(t, applicantIIN, pki.Sign)
	auth := ca.Person(t, applicantIIN, pki.Auth)
	system := ca.System(t, "portal")
	rsaSigning := ca.Issue(t, pki.Request{Profile: pki.Individual, Purpose: pki.Sign,
		Subject: pki.Subject{IIN: applicantIIN, Surname: "Ли", GivenName: "Ирина"}}, pki.RSA2048)
	employee := ca.Issue(t, pki.Request{Profile: pki.Employee, Purpose: pki.Sign, Subject: pki.Subject{
		IIN: otherIIN, Surname: "Сейткали", GivenName: "Ержан", Organization: "ГУ «Отдел образования»", BIN: "120340000004"}}, pki.ECDSAP256)

	expired := ca.IssueAt(t, pki.Request{Profile: pki.Individual, Purpose: pki.Sign, Validity: 24 * time.Hour,
		Subject: pki.Subject{IIN: applicantIIN, Surname: "А", GivenName: "Б"}}, pki.ECDSAP256, time.Now().Add(-72*time.Hour))
	early := ca.Person(t, applicantIIN, pki.Sign)
	early.Now = func() time.Time { return time.Now().Add(-time.Hour) }
	future := ca.Person(t, applicantIIN, pki.Sign)
	future.Now = func() time.Time { return time.Now().Add(time.Hour) }
	revoked := ca.Person(t, applicantIIN, pki.Sign)
	ca.Revoke(revoked.Cert, 1)
	foreign := stranger.Person(t, applicantIIN, pki.Sign)
	longChain := ca.Person(t, applicantIIN, pki.Sign)
	for range 49 {
		longChain.Chain = append(longChain.Chain, ca.Inter.Cert)
	}

	good := sign(signing, doc)
	truncated := good[:len(good)/2]

	tests := []struct {
		name    string
		content []byte
		sig     []byte
		expect  envelope.Expect
		code    envelope.Code
	}{
		{name: "ok/document by signing key", content: doc, sig: good, expect: envelope.Expect{Purpose: envelope.PurposeDocument, IIN: applicantIIN}},
		{name: "ok/document by RSA signing key", content: doc, sig: sign(rsaSigning, doc), expect: envelope.Expect{Purpose: envelope.PurposeDocument, IIN: applicantIIN}},
		{name: "ok/document by employee", content: doc, sig: sign(employee, doc), expect: envelope.Expect{Purpose: envelope.PurposeDocument, IIN: otherIIN, BIN: "120340000004"}},
		{name: "ok/envelope by system", content: doc, sig: sign(system, doc), expect: envelope.Expect{Purpose: envelope.PurposeEnvelope}},
		{name: "ok/issued by employee", content: doc, sig: sign(employee, doc), expect: envelope.Expect{Purpose: envelope.PurposeIssued, IIN: otherIIN}},
		{name: "ok/issued by system", content: doc, sig: sign(system, doc), expect: envelope.Expect{Purpose: envelope.PurposeIssued}},
		{name: "ok/sign-in by auth key", content: doc, sig: sign(auth, doc), expect: envelope.Expect{Purpose: envelope.PurposeAuthentication, IIN: applicantIIN}},
		{name: "fail/malformed DER", content: doc, sig: []byte{0x30, 0x82, 0xff}, code: envelope.CodeMalformed},
		{name: "fail/empty", content: doc, sig: nil, code: envelope.CodeMalformed},
		{name: "fail/truncated CMS", content: doc, sig: truncated, code: envelope.CodeMalformed},
		{name: "fail/not CMS", content: doc, sig: ca.Root.Cert.Raw, code: envelope.CodeMalformed},
		{name: "fail/content changed", content: append([]byte("x"), doc...), sig: good, code: envelope.CodeBadSignature},
		{name: "fail/expired", content: doc, sig: sign(expired, doc), expect: envelope.Expect{Purpose: envelope.PurposeDocument}, code: envelope.CodeExpired},
		{name: "fail/not yet valid", content: doc, sig: sign(early, doc), expect: envelope.Expect{Purpose: envelope.PurposeDocument}, code: envelope.CodeNotYetValid},
		{name: "fail/signing time ahead", content: doc, sig: sign(future, doc), expect: envelope.Expect{Purpose: envelope.PurposeDocument}, code: envelope.CodeNotYetValid},
		{name: "fail/revoked", content: doc, sig: sign(revoked, doc), expect: envelope.Expect{Purpose: envelope.PurposeDocument}, code: envelope.CodeRevoked},
		{name: "fail/unknown issuer", content: doc, sig: sign(foreign, doc), expect: envelope.Expect{Purpose: envelope.PurposeDocument}, code: envelope.CodeUnknownIssuer},
		{name: "fail/chain of 50 links", content: doc, sig: sign(longChain, doc), expect: envelope.Expect{Purpose: envelope.PurposeDocument}, code: envelope.CodeUnknownIssuer},
		{name: "fail/auth key signs document", content: doc, sig: sign(auth, doc), expect: envelope.Expect{Purpose: envelope.PurposeDocument}, code: envelope.CodeWrongKeyUsage},
		{name: "fail/person signs envelope", content: doc, sig: good, expect: envelope.Expect{Purpose: envelope.PurposeEnvelope}, code: envelope.CodeWrongKeyUsage},
		{name: "fail/system signs document", content: doc, sig: sign(system, doc), expect: envelope.Expect{Purpose: envelope.PurposeDocument}, code: envelope.CodeWrongKeyUsage},
		{name: "fail/auth key issues", content: doc, sig: sign(auth, doc), expect: envelope.Expect{Purpose: envelope.PurposeIssued}, code: envelope.CodeWrongKeyUsage},
		{name: "fail/signing key signs in", content: doc, sig: good, expect: envelope.Expect{Purpose: envelope.PurposeAuthentication}, code: envelope.CodeWrongKeyUsage},
		{name: "fail/IIN mismatch", content: doc, sig: good, expect: envelope.Expect{Purpose: envelope.PurposeDocument, IIN: otherIIN}, code: envelope.CodeIINMismatch},
		{name: "fail/BIN mismatch", content: doc, sig: sign(employee, doc), expect: envelope.Expect{Purpose: envelope.PurposeDocument, BIN: "990340000004"}, code: envelope.CodeIINMismatch},
	}
	v := ca.Verifier(t, ca.Checker(time.Minute))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := v.Verify(t.Context(), tt.content, tt.sig, tt.expect)
			if tt.code != "" {
				require.Error(t, err)
				require.Equal(t, tt.code, envelope.CodeOf(err), "%v", err)
				require.ErrorIs(t, err, &envelope.Error{Code: tt.code})
				ru, kk, ok := envelope.Refusal(err)
				require.True(t, ok)
				require.Contains(t, ru, envelope.RefusalText)
				require.Contains(t, kk, envelope.RefusalTextKK)
				require.Nil(t, res)
				return
			}
			require.NoError(t, err)
			require.Equal(t, "ocsp", res.Status.Source[:4])
			require.False(t, res.Status.Revoked)
			require.Len(t, res.Chain, 3)
			require.WithinDuration(t, time.Now(), res.SigningTime, time.Minute)
		})
	}
}

func TestRevocationFallsBackToCRL(t *testing.T) {
	t.Parallel()
	ca := ncatest.New(t)
	doc := []byte("document")
	ok := ca.Person(t, applicantIIN, pki.Sign)
	bad := ca.Person(t, applicantIIN, pki.Sign)
	ca.Revoke(bad.Cert, 4)
	ca.OCSPDown.Store(true)
	v := ca.Verifier(t, ca.Checker(time.Minute))

	sig, err := ok.Sign(doc)
	require.NoError(t, err)
	res, err := v.Verify(t.Context(), doc, sig, envelope.Expect{Purpose: envelope.PurposeDocument})
	require.NoError(t, err)
	require.Equal(t, "crl", res.Status.Source)

	sig, err = bad.Sign(doc)
	require.NoError(t, err)
	_, err = v.Verify(t.Context(), doc, sig, envelope.Expect{Purpose: envelope.PurposeDocument})
	require.Equal(t, envelope.CodeRevoked, envelope.CodeOf(err), "%v", err)

	ca.CRLDown.Store(true)
	fresh := ncatest.New(t) // no cached CRL for this one
	fresh.OCSPDown.Store(true)
	fresh.CRLDown.Store(true)
	s := fresh.Person(t, applicantIIN, pki.Sign)
	sig, err = s.Sign(doc)
	require.NoError(t, err)
	_, err = fresh.Verifier(t, fresh.Checker(time.Minute)).Verify(t.Context(), doc, sig, envelope.Expect{Purpose: envelope.PurposeDocument})
	require.Equal(t, envelope.CodeStatusUnavailable, envelope.CodeOf(err), "%v", err)
}

func TestOCSPCacheAndFreshness(t *testing.T) {
	t.Parallel()
	now := time.Now()
	var clock = func() time.Time { return now }
	ca := ncatest.New(t, ncatest.WithClock(func() time.Time { return clock() }))
	s := ca.Person(t, applicantIIN, pki.Sign)
	checker := ca.Checker(5 * time.Minute)
	v := ca.Verifier(t, checker)
	doc := []byte("x")
	sig, err := s.Sign(doc)
	require.NoError(t, err)
	for range 100 {
		_, err := v.Verify(t.Context(), doc, sig, envelope.Expect{Purpose: envelope.PurposeDocument})
		require.NoError(t, err)
	}
	hits, total := checker.CacheStats()
	require.EqualValues(t, 100, total)
	require.EqualValues(t, 99, hits)

	// A revocation shows once the cached answer is older than the freshness bound.
	ca.Revoke(s.Cert, 1)
	_, err = v.Verify(t.Context(), doc, sig, envelope.Expect{Purpose: envelope.PurposeDocument})
	require.NoError(t, err, "still within the freshness bound")
	now = now.Add(6 * time.Minute)
	_, err = v.Verify(t.Context(), doc, sig, envelope.Expect{Purpose: envelope.PurposeDocument})
	require.Equal(t, envelope.CodeRevoked, envelope.CodeOf(err), "%v", err)
}

func TestOpenEnvelope(t *testing.T) {
	t.Parallel()
	ca := ncatest.New(t)
	portal := ca.System(t, "portal")
	v := ca.Verifier(t, ca.Checker(time.Minute))

	se, err := portal.SignEnvelope(sampleRequest())
	require.NoError(t, err)
	e, res, err := v.OpenEnvelope(t.Context(), se)
	require.NoError(t, err)
	require.Equal(t, "portal", res.Holder.Name)
	require.True(t, res.Holder.System)
	require.Equal(t, sampleRequest().GetMessageId(), e.GetMessageId())

	// A system may not sign in another's name.
	impostor := ca.System(t, "tson")
	se, err = impostor.SignEnvelope(sampleRequest())
	require.NoError(t, err)
	_, _, err = v.OpenEnvelope(t.Context(), se)
	require.Equal(t, envelope.CodeIINMismatch, envelope.CodeOf(err))

	_, _, err = v.OpenEnvelope(t.Context(), &envelopev1.SignedEnvelope{Envelope: se.GetEnvelope()})
	require.Equal(t, envelope.CodeMalformed, envelope.CodeOf(err), "unsigned")
	_, _, err = v.OpenEnvelope(t.Context(), &envelopev1.SignedEnvelope{})
	require.Equal(t, envelope.CodeMalformed, envelope.CodeOf(err), "empty")
	tampered := &envelopev1.SignedEnvelope{Envelope: append([]byte(nil), se.GetEnvelope()...), Signature: se.GetSignature()}
	tampered.Envelope[5] ^= 1
	_, _, err = v.OpenEnvelope(t.Context(), tampered)
	require.Equal(t, envelope.CodeBadSignature, envelope.CodeOf(err))

	person := ca.Person(t, applicantIIN, pki.Sign)
	d, err := person.SignDocument("application/json", []byte(`{}`))
	require.NoError(t, err)
	res, err = v.VerifyDocument(t.Context(), d, applicantIIN)
	require.NoError(t, err)
	require.Equal(t, applicantIIN, res.Holder.IIN)
	require.Equal(t, "АХМЕТОВА АСЕЛЬ", res.Holder.Name)
}

func TestVerifierNeedsAnchorsAndRevocation(t *testing.T) {
	t.Parallel()
	_, err := envelope.NewVerifier(envelope.VerifierOptions{})
	require.Error(t, err)
	ca := ncatest.New(t)
	_, err = envelope.NewVerifier(envelope.VerifierOptions{Roots: []*x509.Certificate{ca.Root.Cert}})
	require.ErrorContains(t, err, "revocation")
}

// TestStatusOrigin: with an Origin, OCSP and CRL requests go there with the certificate's paths, not
// to the host the certificate names (НУЦ moved, a cluster's service name, a dev run on new ports).
func TestStatusOrigin(t *testing.T) {
	t.Parallel()
	ca := ncatest.New(t)
	doc := []byte("document")
	person := ca.Person(t, applicantIIN, pki.Sign)
	sig, err := person.Sign(doc)
	require.NoError(t, err)

	target, err := url.Parse(ca.URLs.OCSP)
	require.NoError(t, err)
	var mu sync.Mutex
	var paths []string
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: target.Scheme, Host: target.Host})
	moved := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(moved.Close)
	verify := func(origin string) (*envelope.Result, error) {
		checker, err := envelope.NewRevocationChecker(envelope.RevocationOptions{Freshness: time.Nanosecond, Origin: origin})
		require.NoError(t, err)
		return ca.Verifier(t, checker).Verify(t.Context(), doc, sig, envelope.Expect{Purpose: envelope.PurposeDocument})
	}

	res, err := verify(moved.URL)
	require.NoError(t, err)
	require.Equal(t, "ocsp", res.Status.Source)
	ca.OCSPDown.Store(true)
	res, err = verify(moved.URL)
	require.NoError(t, err)
	require.Equal(t, "crl", res.Status.Source)
	mu.Lock()
	require.Equal(t, []string{"/ocsp", "/ocsp", "/crl"}, paths, "both asked at the origin, with the certificate's paths")
	mu.Unlock()

	// An origin where nobody answers: the status is unavailable, though the certificate's own URLs work.
	ca.OCSPDown.Store(false)
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	_, err = verify(dead.URL)
	require.Equal(t, envelope.CodeStatusUnavailable, envelope.CodeOf(err), "%v", err)

	for _, bad := range []string{"ocsp.pki.gov.kz", "ftp://ocsp.pki.gov.kz", "http://nca:8020/ocsp", "http://"} {
		_, err := envelope.NewRevocationChecker(envelope.RevocationOptions{Origin: bad})
		require.Error(t, err, bad)
	}
}
