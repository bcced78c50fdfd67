package ncalayer_test

import (
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/ncalayer"
)

const foreign = "http://evil.example"

// pageToken reads the consent form's token from the signer's own page.
func (f *fixture) pageToken(t *testing.T) string {
	t.Helper()
	resp, err := http.Get(f.srv.URL + "/")
	require.NoError(t, err)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	m := regexp.MustCompile(`name="token" value="([0-9a-f]+)"`).FindStringSubmatch(string(b))
	require.NotNil(t, m, "the page shows a waiting request with its form:\n%s", b)
	require.Contains(t, string(b), foreign, "the page names the site that asks")
	return m[1]
}

// answer posts the page's Allow / Deny form with the given Origin header ("" for none).
func (f *fixture) answer(t *testing.T, origin string, form url.Values) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, f.srv.URL+"/consent", strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	return resp.StatusCode
}

// waiting waits until the foreign origin's request is held for the person.
func waiting(t *testing.T, s *ncalayer.Signer) {
	t.Helper()
	require.Eventually(t, func() bool { return len(s.Pending()) == 1 }, time.Minute, 5*time.Millisecond)
	require.Equal(t, foreign, s.Pending()[0].Origin)
}

func TestConsentPerOrigin(t *testing.T) {
	t.Parallel()
	data := []byte("платёжное поручение")
	tests := []struct {
		name string
		// decide plays the person (or an attacker) while the foreign request waits; it returns the
		// answer the request must get.
		decide func(t *testing.T, f *fixture) (code string, message string)
	}{
		{name: "fail/foreign origin denied on the page", decide: func(t *testing.T, f *fixture) (string, string) {
			waiting(t, f.signer)
			require.Equal(t, http.StatusSeeOther, f.answer(t, f.srv.URL, url.Values{"token": {f.pageToken(t)}, "origin": {foreign}, "decision": {"deny"}}))
			return "500", "подписание для сайта " + foreign + " не разрешено"
		}},
		{name: "ok/foreign origin allowed on the page, then it signs", decide: func(t *testing.T, f *fixture) (string, string) {
			waiting(t, f.signer)
			require.Equal(t, http.StatusSeeOther, f.answer(t, f.srv.URL, url.Values{"token": {f.pageToken(t)}, "origin": {foreign}, "decision": {"allow"}}))
			return "200", ""
		}},
		{name: "fail/foreign origin cannot allow itself through the page", decide: func(t *testing.T, f *fixture) (string, string) {
			waiting(t, f.signer)
			token := f.pageToken(t)
			allow := url.Values{"token": {token}, "origin": {foreign}, "decision": {"allow"}}
			require.Equal(t, http.StatusForbidden, f.answer(t, foreign, allow), "a form posted from the foreign site")
			require.Equal(t, http.StatusForbidden, f.answer(t, "null", allow), "a form posted from a sandboxed frame")
			require.Equal(t, http.StatusForbidden, f.answer(t, "", url.Values{"origin": {foreign}, "decision": {"allow"}}), "a form without the page's token")
			require.Equal(t, http.StatusForbidden, f.answer(t, "", url.Values{"token": {"00" + token[2:]}, "origin": {foreign}, "decision": {"allow"}}), "a guessed token")
			require.Len(t, f.signer.Pending(), 1, "still waiting for the person")
			require.Equal(t, http.StatusSeeOther, f.answer(t, "", url.Values{"token": {token}, "origin": {foreign}, "decision": {"deny"}}))
			return "500", "не разрешено"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := start(t)
			require.NoError(t, f.signer.ChoosePerson("citizen-a"))
			got := make(chan map[string]any, 1)
			go func() { got <- f.callFrom(t, foreign, signReq(ncalayer.KeySignature, data)) }()
			code, message := tt.decide(t, f)
			out := <-got
			require.Equal(t, code, out["code"], out)
			if code != "200" {
				require.Contains(t, out["message"], message)
				require.Contains(t, out["message"], "сайты үшін қол қоюға рұқсат берілмеген", "and in Kazakh")
				require.Nil(t, out["responseObject"], "no signature")
				return
			}
			sig, err := base64.StdEncoding.DecodeString(out["responseObject"].(string))
			require.NoError(t, err)
			_, err = f.ca.Verifier(t, f.ca.Checker(time.Minute)).Verify(t.Context(), data, sig, envelope.Expect{Purpose: envelope.PurposeDocument, IIN: "880512400011"})
			require.NoError(t, err)
			again := f.callFrom(t, foreign, signReq(ncalayer.KeySignature, data))
			require.Equal(t, "200", again["code"], "once allowed, the site signs without asking again")
		})
	}
}

func TestConsentTimesOut(t *testing.T) {
	t.Parallel()
	f := start(t, ncalayer.Options{ConsentTimeout: time.Nanosecond})
	require.NoError(t, f.signer.ChoosePerson("citizen-a"))
	for _, req := range []map[string]any{
		signReq(ncalayer.KeySignature, []byte("x")),
		{"module": "kz.gov.pki.knca.commonUtils", "method": "getKeyInfo", "args": []any{"PKCS12"}},
	} {
		out := f.callFrom(t, foreign, req)
		require.Equal(t, "500", out["code"], "a foreign site gets neither a signature nor the certificate without the person's consent")
		require.Contains(t, out["message"], "не разрешено")
	}
	require.Empty(t, f.signer.Pending(), "an unanswered question is dropped")
}

func TestPreAllowedOriginSignsAtOnce(t *testing.T) {
	t.Parallel()
	f := start(t)
	require.NoError(t, f.signer.ChoosePerson("citizen-a"))
	out := f.call(t, signReq(ncalayer.KeySignature, []byte("заявление")))
	require.Equal(t, "200", out["code"], out)
	require.Empty(t, f.signer.Pending(), "nothing was asked")
}

func TestPageAnswersOnLoopbackOnly(t *testing.T) {
	t.Parallel()
	f := start(t)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, f.srv.URL+"/", nil)
	require.NoError(t, err)
	req.Host = "evil.example:13579" // a site whose name was rebound to 127.0.0.1
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
}
