package envelope_test

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/pki"
)

// The golden signer: an RSA signing key (RSA PKCS#1 v1.5 signatures are deterministic, so the bytes can
// be pinned) with its certificate and root, made once by -update and kept in testdata.
var goldenTime = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

func goldenSigner(t testing.TB) (*envelope.Signer, *x509.Certificate) {
	t.Helper()
	dir := filepath.Join("testdata", "golden")
	if *update {
		require.NoError(t, os.MkdirAll(dir, 0o755))
		start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		root, err := pki.NewRoot("Golden НУЦ Root", pki.RSA2048, start)
		require.NoError(t, err)
		inter, err := root.NewIntermediate("Golden НУЦ Issuing CA", pki.RSA2048, start, pki.URLs{})
		require.NoError(t, err)
		key, err := pki.NewKey(pki.RSA2048)
		require.NoError(t, err)
		cert, err := inter.Issue(pki.Request{Profile: pki.Individual, Purpose: pki.Sign, Validity: 4 * 365 * 24 * time.Hour,
			Subject: pki.Subject{IIN: applicantIIN, Surname: "Ахметова", GivenName: "Асель", Patronymic: "Маратовна"}}, key.Public(), start, pki.URLs{})
		require.NoError(t, err)
		keyDER, err := x509.MarshalPKCS8PrivateKey(key)
		require.NoError(t, err)
		write := func(name, typ string, der []byte) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o644))
		}
		write("root.pem", "CERTIFICATE", root.Cert.Raw)
		write("intermediate.pem", "CERTIFICATE", inter.Cert.Raw)
		write("signer.pem", "CERTIFICATE", cert.Raw)
		write("signer.key", "PRIVATE KEY", keyDER)
	}
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err, "run go test ./envelope -update once")
		block, _ := pem.Decode(b)
		require.NotNil(t, block, name)
		return block.Bytes
	}
	root, err := x509.ParseCertificate(read("root.pem"))
	require.NoError(t, err)
	inter, err := x509.ParseCertificate(read("intermediate.pem"))
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(read("signer.pem"))
	require.NoError(t, err)
	key, err := x509.ParsePKCS8PrivateKey(read("signer.key"))
	require.NoError(t, err)
	return &envelope.Signer{Cert: cert, Chain: []*x509.Certificate{inter}, Key: key.(crypto.Signer),
		Now: func() time.Time { return goldenTime }}, root
}

func TestGoldenSignature(t *testing.T) {
	t.Parallel()
	s, root := goldenSigner(t)
	req, err := envelope.Marshal(sampleRequest())
	require.NoError(t, err)
	sig, err := s.Sign(req)
	require.NoError(t, err)
	golden(t, "request.envelope.p7s.hex", sig)

	v, err := envelope.NewVerifier(envelope.VerifierOptions{Roots: []*x509.Certificate{root}, SkipRevocation: true,
		Now: func() time.Time { return goldenTime.Add(time.Hour) }})
	require.NoError(t, err)
	res, err := v.Verify(t.Context(), req, sig, envelope.Expect{Purpose: envelope.PurposeDocument, IIN: applicantIIN})
	require.NoError(t, err)
	require.Equal(t, goldenTime, res.SigningTime)
	require.Equal(t, "none", res.Status.Source)
}
