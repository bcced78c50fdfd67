package envelope_test

import (
	"crypto/x509"
	"testing"
	"time"

	"github.com/egov-suite/egov/envelope"
)

// FuzzVerify feeds arbitrary bytes to the CMS parser and verifier: every input must come back as a
// verdict (nil or an *envelope.Error), never a panic. The seed corpus in testdata/fuzz/FuzzVerify holds
// a real signature and cut and bent copies of it.
func FuzzVerify(f *testing.F) {
	s, root := goldenSigner(f)
	content := []byte("fuzz")
	sig, err := s.Sign(content)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(content, sig)
	v, err := envelope.NewVerifier(envelope.VerifierOptions{Roots: []*x509.Certificate{root}, SkipRevocation: true,
		Now: func() time.Time { return goldenTime }})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, content, sig []byte) {
		_, err := v.Verify(t.Context(), content, sig, envelope.Expect{Purpose: envelope.PurposeDocument})
		if err != nil && envelope.CodeOf(err) == "" {
			t.Fatalf("a failure without a code: %v", err)
		}
	})
}
