package envelope_test

import (
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/internal/ncatest"
	"github.com/egov-suite/egov/internal/pki"
)

// TestOpenSSLVerifiesDocumentSignature: what the suite signs, standard tools accept. openssl must be
// installed (make test installs it); a missing openssl fails the test.
func TestOpenSSLVerifiesDocumentSignature(t *testing.T) {
	t.Parallel()
	openssl, err := exec.LookPath("openssl")
	require.NoError(t, err, "openssl is needed to check interoperability (apt-get install openssl)")

	ca := ncatest.New(t)
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, b, 0o600))
		return p
	}
	rootPEM := write("root.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Root.Cert.Raw}))
	doc := []byte("Заявление о выдаче справки по опеке и попечительству\n")
	docPath := write("doc.txt", doc)

	for _, alg := range []pki.Algorithm{pki.ECDSAP256, pki.RSA2048} {
		s := ca.Issue(t, pki.Request{Profile: pki.Individual, Purpose: pki.Sign,
			Subject: pki.Subject{IIN: applicantIIN, Surname: "Ахметова", GivenName: "Асель"}}, alg)
		sig, err := s.Sign(doc)
		require.NoError(t, err)
		sigPath := write("doc.p7s", sig)

		out, err := exec.CommandContext(t.Context(), openssl, "cms", "-verify", "-binary", "-inform", "DER", "-in", sigPath,
			"-content", docPath, "-CAfile", rootPEM, "-out", os.DevNull).CombinedOutput()
		require.NoError(t, err, "openssl cms -verify (alg %d): %s", alg, out)
		require.Contains(t, string(out), "Verification successful")

		other := write("other.txt", []byte("изменённый документ"))
		out, err = exec.CommandContext(t.Context(), openssl, "cms", "-verify", "-binary", "-inform", "DER", "-in", sigPath,
			"-content", other, "-CAfile", rootPEM, "-out", os.DevNull).CombinedOutput()
		require.Error(t, err, "openssl must refuse a changed document: %s", out)
	}
}
