package ncalayer_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/ncalayer"
	"github.com/egov-suite/egov/internal/ncatest"
	"github.com/egov-suite/egov/internal/pki"
)

const foreign = "http://evil.example"

// pageToken reads the consent form's token from the signer's own page, which names the foreign site.
func (f *fixture) pageToken(t *testing.T) string {
	t.Helper()
	return f.tokenOf(t, foreign)
}

// token reads the consent form's token from the signer's own page.
func (f *fixture) token(t *testing.T) string {
	t.Helper()
	return f.tokenOf(t, "")
}

func (f *fixture) tokenOf(t *testing.T, asking string) string {
	t.Helper()
	resp, err := http.Get(f.srv.URL + "/")
	require.NoError(t, err)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	m := regexp.MustCompile(`name="token" value="([0-9a-f]+)"`).FindStringSubmatch(string(b))
	require.NotNil(t, m, "the page shows a waiting request with its form:\n%s", b)
	require.Contains(t, string(b), asking, "the page names the site that asks")
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

func TestEveryRouteAnswersOnLoopbackOnly(t *testing.T) {
	t.Parallel()
	f := start(t)
	require.NoError(t, f.signer.ChoosePerson("citizen-a"))
	tests := []struct {
		name, method, path, body string
		header                   http.Header
	}{
		{name: "fail/the page", method: http.MethodGet, path: "/"},
		{name: "fail/the key list with holders' IINs", method: http.MethodGet, path: "/keys"},
		{name: "fail/the key choice", method: http.MethodPost, path: "/choose", body: "person=citizen-b"},
		{name: "fail/the consent answer", method: http.MethodPost, path: "/consent", body: "decision=allow&origin=http://evil.example"},
		{name: "fail/the WebSocket", method: http.MethodGet, path: "/", header: http.Header{"Upgrade": {"websocket"}, "Connection": {"Upgrade"},
			"Sec-Websocket-Version": {"13"}, "Sec-Websocket-Key": {"dGhlIHNhbXBsZSBub25jZQ=="}}},
		{name: "fail/a route the signer does not have", method: http.MethodGet, path: "/nothing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequestWithContext(t.Context(), tt.method, f.srv.URL+tt.path, strings.NewReader(tt.body))
			require.NoError(t, err)
			req.Host = "evil.example:13579" // a site whose name was rebound to 127.0.0.1
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range tt.header {
				req.Header[k] = v
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			b, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			require.NoError(t, resp.Body.Close())
			require.Equal(t, http.StatusForbidden, resp.StatusCode)
			require.NotContains(t, string(b), "880512400011", "no holder's IIN reaches the rebound site")
			require.Contains(t, string(b), "loopback")
		})
	}
	require.Equal(t, "880512400011", f.signer.Chosen(ncalayer.KeySignature).Holder.IIN, "the choice did not change")

	resp, err := http.Get(f.srv.URL + "/keys")
	require.NoError(t, err)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode, "on the loopback the list is served")
	require.Contains(t, string(b), "880512400011")
}

func TestAllowedOriginsAreExact(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		allowed string
		from    string
		signs   bool
	}{
		{name: "ok/the origin allowed", allowed: "http://127.0.0.1:8060", from: "http://127.0.0.1:8060", signs: true},
		{name: "ok/case and the default port do not matter", allowed: "HTTPS://Portal.Example:443", from: "https://portal.example", signs: true},
		{name: "ok/the default port of http", allowed: "http://portal.example", from: "http://portal.example:80", signs: true},
		{name: "ok/IPv6 loopback", allowed: "http://[::1]:8060", from: "http://[::1]:8060", signs: true},
		{name: "fail/https allowed, http is another origin", allowed: "https://portal.example", from: "http://portal.example"},
		{name: "fail/http allowed, https is another origin", allowed: "http://127.0.0.1:8060", from: "https://127.0.0.1:8060"},
		{name: "fail/another port", allowed: "http://127.0.0.1:8060", from: "http://127.0.0.1:8061"},
		{name: "fail/an allowed origin is no pattern", allowed: "http://[::1]:8060", from: "http://1:8060"},
		{name: "fail/an allowed origin is no glob", allowed: "http://*.example", from: "http://evil.example"},
		{name: "fail/a sandboxed frame", allowed: "http://127.0.0.1:8060", from: "null"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := start(t, ncalayer.Options{Origins: []string{tt.allowed}, ConsentTimeout: time.Nanosecond})
			require.NoError(t, f.signer.ChoosePerson("citizen-a"))
			out := f.callFrom(t, tt.from, signReq(ncalayer.KeySignature, []byte("x")))
			if tt.signs {
				require.Equal(t, "200", out["code"], out)
				return
			}
			require.Equal(t, "500", out["code"], out)
			require.Contains(t, out["message"], "не разрешено")
		})
	}
}

func TestAllowedOriginOnThePageIsExact(t *testing.T) {
	t.Parallel()
	const asked = "http://[::1]:8060"
	f := start(t)
	require.NoError(t, f.signer.ChoosePerson("citizen-a"))
	got := make(chan map[string]any, 1)
	go func() { got <- f.callFrom(t, asked, signReq(ncalayer.KeySignature, []byte("x"))) }()
	require.Eventually(t, func() bool { return len(f.signer.Pending()) == 1 }, time.Minute, 5*time.Millisecond)
	require.Equal(t, asked, f.signer.Pending()[0].Origin)
	require.Equal(t, http.StatusSeeOther, f.answer(t, "", url.Values{"token": {f.token(t)}, "origin": {asked}, "decision": {"allow"}}))
	require.Equal(t, "200", (<-got)["code"])

	// What the person allowed is that origin, not a pattern matching others ("[::1]" as a character
	// class would match "1").
	for _, other := range []string{"http://1:8060", "https://[::1]:8060"} {
		go func() { got <- f.callFrom(t, other, signReq(ncalayer.KeySignature, []byte("x"))) }()
		require.Eventually(t, func() bool { return len(f.signer.Pending()) == 1 }, time.Minute, 5*time.Millisecond)
		require.Equal(t, other, f.signer.Pending()[0].Origin, "asked about")
		require.Equal(t, http.StatusSeeOther, f.answer(t, "", url.Values{"token": {f.token(t)}, "origin": {other}, "decision": {"deny"}}))
		require.Equal(t, "500", (<-got)["code"])
	}
}

func TestBadAllowedOriginIsNamed(t *testing.T) {
	t.Parallel()
	ca := ncatest.New(t)
	dir := t.TempDir()
	keyFile(t, dir, "x-SIGN.p12", ca.Person(t, "880512400011", pki.Sign))
	for _, bad := range []string{"127.0.0.1:8060", "ftp://127.0.0.1", "http://127.0.0.1:8060/path", "http://"} {
		_, err := ncalayer.New(ncalayer.Options{Files: []string{dir}, Password: password, Origins: []string{bad}})
		require.Error(t, err, bad)
		require.Contains(t, err.Error(), bad)
	}
}

func TestQuestionLeavesWithItsAsker(t *testing.T) {
	t.Parallel()
	f := start(t)
	require.NoError(t, f.signer.ChoosePerson("citizen-a"))

	// A page asks, then goes away before the person answers.
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(f.srv.URL, "http")+"/", &websocket.DialOptions{
		HTTPHeader: http.Header{"Origin": {foreign}}})
	require.NoError(t, err)
	if resp.Body != nil {
		require.NoError(t, resp.Body.Close())
	}
	_, _, err = c.Read(ctx) // the greeting
	require.NoError(t, err)
	b, err := json.Marshal(signReq(ncalayer.KeySignature, []byte("x")))
	require.NoError(t, err)
	require.NoError(t, c.Write(ctx, websocket.MessageText, b))
	waiting(t, f.signer)
	token := f.token(t)
	require.NoError(t, c.CloseNow())
	require.Eventually(t, func() bool { return len(f.signer.Pending()) == 0 }, time.Minute, 5*time.Millisecond,
		"the question leaves the page with its asker")

	// A late «Разрешить» allows nothing: the origin is asked about again.
	require.Equal(t, http.StatusUnprocessableEntity, f.answer(t, "", url.Values{"token": {token}, "origin": {foreign}, "decision": {"allow"}}))
	got := make(chan map[string]any, 1)
	go func() { got <- f.callFrom(t, foreign, signReq(ncalayer.KeySignature, []byte("x"))) }()
	waiting(t, f.signer)
	require.Equal(t, http.StatusSeeOther, f.answer(t, "", url.Values{"token": {token}, "origin": {foreign}, "decision": {"deny"}}))
	require.Equal(t, "500", (<-got)["code"])
}
