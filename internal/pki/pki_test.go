package pki_test

import (
	"bytes"
	"context"
	"crypto"
	"encoding/base64"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ocsp"

	"github.com/egov-suite/egov/internal/pki"
)

func TestOCSPHandler(t *testing.T) {
	t.Parallel()
	now := time.Now()
	root, err := pki.NewRoot("r", pki.ECDSAP256, now)
	require.NoError(t, err)
	inter, err := root.NewIntermediate("i", pki.RSA2048, now, pki.URLs{})
	require.NoError(t, err)
	other, err := pki.NewRoot("other", pki.ECDSAP256, now)
	require.NoError(t, err)
	issue := func(ca *pki.CA) *big.Int {
		key, err := pki.NewKey(pki.ECDSAP256)
		require.NoError(t, err)
		c, err := ca.Issue(pki.Request{Profile: pki.System, Subject: pki.Subject{SystemID: "portal"}}, key.Public(), now, pki.URLs{})
		require.NoError(t, err)
		return c.SerialNumber
	}
	good, revoked := issue(inter), issue(inter)
	lookup := func(_ context.Context, _ *pki.CA, s *big.Int) (pki.CertState, time.Time, int, error) {
		switch s.Cmp(good) {
		case 0:
			return pki.Good, time.Time{}, 0, nil
		}
		if s.Cmp(revoked) == 0 {
			return pki.Revoked, now.Add(-time.Hour), 1, nil
		}
		return pki.Unknown, time.Time{}, 0, nil
	}
	srv := httptest.NewServer(pki.OCSPHandler([]*pki.CA{inter}, lookup, time.Now, time.Hour, slog.New(slog.NewTextHandler(io.Discard, nil))))
	defer srv.Close()

	ask := func(serial *big.Int, issuer *pki.CA, get bool) (*ocsp.Response, []byte) {
		key, err := pki.NewKey(pki.ECDSAP256)
		require.NoError(t, err)
		leaf, err := issuer.Issue(pki.Request{Profile: pki.System, Subject: pki.Subject{SystemID: "x"}}, key.Public(), now, pki.URLs{})
		require.NoError(t, err)
		leaf.SerialNumber = serial
		req, err := ocsp.CreateRequest(leaf, issuer.Cert, &ocsp.RequestOptions{Hash: crypto.SHA1})
		require.NoError(t, err)
		var resp *http.Response
		if get {
			resp, err = http.Get(srv.URL + "/ocsp/" + url.PathEscape(base64.StdEncoding.EncodeToString(req)))
		} else {
			resp, err = http.Post(srv.URL+"/ocsp", "application/ocsp-request", bytes.NewReader(req))
		}
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		parsed, err := ocsp.ParseResponseForCert(b, leaf, issuer.Cert)
		if err != nil {
			return nil, b
		}
		return parsed, b
	}
	r, _ := ask(good, inter, true)
	require.Equal(t, ocsp.Good, r.Status)
	r, _ = ask(revoked, inter, false)
	require.Equal(t, ocsp.Revoked, r.Status)
	require.Equal(t, 1, r.RevocationReason)
	r, _ = ask(big.NewInt(42), inter, false)
	require.Equal(t, ocsp.Unknown, r.Status)
	_, raw := ask(big.NewInt(42), other, false)
	require.Equal(t, pki.OCSPError(pki.OCSPUnauthorized), raw)
}

func TestRequestValidate(t *testing.T) {
	t.Parallel()
	ok := pki.Request{Profile: pki.Individual, Purpose: pki.Sign, Subject: pki.Subject{IIN: "880512400011", Surname: "А", GivenName: "Б"}}
	require.NoError(t, ok.Validate())
	tests := map[string]func(r *pki.Request){
		"fail/IIN":        func(r *pki.Request) { r.Subject.IIN = "1" },
		"fail/no purpose": func(r *pki.Request) { r.Purpose = 0 },
		"fail/no surname": func(r *pki.Request) { r.Subject.Surname = " " },
		"fail/employee":   func(r *pki.Request) { r.Profile = pki.Employee },
		"fail/profile":    func(r *pki.Request) { r.Profile = 9 },
		"fail/validity":   func(r *pki.Request) { r.Validity = 100 * 365 * 24 * time.Hour },
		"fail/system id":  func(r *pki.Request) { r.Profile = pki.System; r.Subject.SystemID = "Portal!" },
		"fail/system BIN": func(r *pki.Request) { r.Profile = pki.System; r.Subject.SystemID = "p"; r.Subject.BIN = "x" },
	}
	for name, mut := range tests {
		r := ok
		mut(&r)
		require.Error(t, r.Validate(), name)
	}
}
