package web

import (
	"bytes"
	"encoding/base64"
	"errors"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/integration/harness"
	"github.com/egov-suite/egov/qakit"
)

const (
	ivanov  = "841103300017"
	missing = "950708300016"
	child   = "150310500018"
	spouse  = "860215300017"
)

// web is the suite the boundary tests share (one egov dev: it takes a while to start).
type web struct {
	d                 *harness.Dev
	db                *pgx.Conn
	keys              string
	portal, tson, arm string
}

var (
	// The pre-session token of a form with a challenge (certificate sign-in, registration).
	guestRe = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"><input type="hidden" name="challenge" value="([^"]+)"`)
	// The pre-session token of the password form.
	passwordRe = regexp.MustCompile(`action="/login" id="login"><input type="hidden" name="csrf" value="([0-9a-f]+)"`)
)

// register fills the registration form as a browser with signer's AUTH key would (no signer: no
// signature); change alters the form before it is sent.
func (c *client) register(signer *envelope.Signer, iinValue, pw string, change func(url.Values)) (answer, string) {
	c.t.Helper()
	_, page := c.do(http.MethodGet, "/register", "", nil)
	m := guestRe.FindStringSubmatch(page)
	require.NotNil(c.t, m, "registration form")
	v := url.Values{"csrf": {m[1]}, "challenge": {m[2]}, "iin": {iinValue}, "password": {pw}, "confirm": {pw}}
	if signer != nil {
		sig, err := signer.Sign([]byte(m[2]))
		require.NoError(c.t, err)
		v.Set("signature", base64.StdEncoding.EncodeToString(sig))
	}
	if change != nil {
		change(v)
	}
	return c.form("/register", v)
}

// certSignIn signs in with signer's AUTH key.
func (c *client) certSignIn(signer *envelope.Signer) (answer, string) {
	c.t.Helper()
	_, page := c.do(http.MethodGet, "/login", "", nil)
	m := guestRe.FindStringSubmatch(page)
	require.NotNil(c.t, m, "certificate sign-in form")
	sig, err := signer.Sign([]byte(m[2]))
	require.NoError(c.t, err)
	return c.form("/login/cert", url.Values{"csrf": {m[1]}, "challenge": {m[2]}, "signature": {base64.StdEncoding.EncodeToString(sig)}})
}

// passwordSignIn signs in by IIN and password with the login form's token.
func (c *client) passwordSignIn(iinValue, pw string) (answer, string) {
	c.t.Helper()
	_, page := c.do(http.MethodGet, "/login", "", nil)
	m := passwordRe.FindStringSubmatch(page)
	require.NotNil(c.t, m, "password form")
	return c.form("/login", url.Values{"csrf": {m[1]}, "iin": {iinValue}, "password": {pw}})
}

func (w *web) key(t *testing.T, file string) *envelope.Signer {
	t.Helper()
	k, err := qakit.Key(w.keys, file)
	require.NoError(t, err)
	return k
}

func (w *web) account(t *testing.T, iinValue string) (hash string, proven, exists bool) {
	t.Helper()
	err := w.db.QueryRow(t.Context(), `SELECT password_hash, identity_proven FROM portal.accounts WHERE iin = $1`, iinValue).Scan(&hash, &proven)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, false
	}
	require.NoError(t, err)
	return hash, proven, true
}

// registration: typing an IIN proves nothing; the account is bound to it by its holder's AUTH key, and
// an account bound the old way (by whoever typed the IIN) is the owner's once the owner comes with the
// certificate.
func (w *web) registration(t *testing.T) {
	aselAuth, ivanovAuth := w.key(t, "citizen-akhmetova-AUTH.p12"), w.key(t, "citizen-ivanov-AUTH.p12")
	const pw = "Другой-пароль-2"
	for name, c := range map[string]struct {
		signer *envelope.Signer
		change func(url.Values)
		status int
		text   string
	}{
		"fail/no signature":         {nil, nil, http.StatusUnprocessableEntity, "ключом AUTH владельца ИИН"},
		"fail/another person's key": {aselAuth, nil, http.StatusUnprocessableEntity, "выдан на другой ИИН"},
		"fail/the signing key":      {w.key(t, "citizen-ivanov-SIGN.p12"), nil, http.StatusUnprocessableEntity, "подлинности ЭЦП"},
		"fail/a made-up challenge":  {ivanovAuth, func(v url.Values) { v.Set("challenge", "portal-register:made-up") }, http.StatusUnprocessableEntity, "Вызов устарел"},
		"fail/signature of the IIN": {ivanovAuth, func(v url.Values) { v.Set("signature", sign(t, ivanovAuth, ivanov)) }, http.StatusUnprocessableEntity, "подлинности ЭЦП"},
	} {
		resp, body := newClient(t, w.portal).register(c.signer, ivanov, pw, c.change)
		require.Equal(t, c.status, resp.StatusCode, name)
		require.Contains(t, body, c.text, name)
		_, _, exists := w.account(t, ivanov)
		require.False(t, exists, "%s: no account opened", name)
	}

	// An account opened before registration asked for proof: someone typed Иванов's IIN and a password.
	hash, _, _ := w.account(t, asel) // Асель's hash: the squatter's password is hers, so it is known here
	_, err := w.db.Exec(t.Context(), `INSERT INTO portal.accounts (iin, password_hash, name, created_at, identity_proven) VALUES ($1, $2, 'Иванов Сергей Петрович', now(), false)`,
		ivanov, hash)
	require.NoError(t, err)
	squatter := newClient(t, w.portal)
	resp, body := squatter.passwordSignIn(ivanov, password)
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "an unproven account does not open by password")
	require.Contains(t, body, "без подтверждения личности")
	require.NotContains(t, resp.SetCookie, "portal_session=")
	require.NotContains(t, resp.SetCookie, "portal_known=", "the squatter's browser does not become a known device of the account")
	var devices int
	require.NoError(t, w.db.QueryRow(t.Context(), `SELECT count(*) FROM portal.known_devices WHERE iin = $1`, ivanov).Scan(&devices))
	require.Zero(t, devices)

	// Иванов comes with his certificate: the account is his alone, the squatter's password void.
	owner := newClient(t, w.portal)
	resp, body = owner.certSignIn(ivanovAuth)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	require.Contains(t, body, "Иванов Сергей")
	hash, proven, _ := w.account(t, ivanov)
	require.Empty(t, hash)
	require.True(t, proven)
	resp, _ = squatter.passwordSignIn(ivanov, password)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	// He registers with his own key and password, then signs in by it.
	resp, body = newClient(t, w.portal).register(ivanovAuth, ivanov, pw, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	resp, body = newClient(t, w.portal).passwordSignIn(ivanov, pw)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	require.Contains(t, body, "Иванов Сергей")
	// A second registration of a proven account with a password changes nothing.
	resp, body = newClient(t, w.portal).register(ivanovAuth, ivanov, "Третий-пароль-3", nil)
	require.Equal(t, http.StatusConflict, resp.StatusCode)
	require.Contains(t, body, "уже есть")
}

func sign(t *testing.T, k *envelope.Signer, text string) string {
	t.Helper()
	sig, err := k.Sign([]byte(text))
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(sig)
}

// loginCSRF: every form posted before a session (portal, desk, АРМ) needs the token bound to the
// browser's pre-session cookie and must come from the site itself.
func (w *web) loginCSRF(t *testing.T) {
	for _, site := range []struct{ name, base, page, action string }{
		{"portal password", w.portal, "/login", "/login"},
		{"portal certificate", w.portal, "/login", "/login/cert"},
		{"portal registration", w.portal, "/register", "/register"},
		{"desk", w.tson, "/login", "/login"},
		{"АРМ", w.arm, "/arm/login", "/arm/login"},
	} {
		own := newClient(t, site.base)
		_, page := own.do(http.MethodGet, site.page, "", nil)
		m := regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`).FindStringSubmatch(page)
		require.NotNil(t, m, site.name)
		token := m[1]
		stranger := newClient(t, site.base)
		_, _ = stranger.do(http.MethodGet, site.page, "", nil) // a pre-session cookie of its own
		for name, c := range map[string]struct {
			c      *client
			token  string
			header map[string]string
			forbid bool
		}{
			"ok/own token, same origin":    {own, token, map[string]string{"Sec-Fetch-Site": "same-origin"}, false},
			"ok/own token, no browser":     {own, token, nil, false},
			"fail/no token":                {own, "", nil, true},
			"fail/another browser's token": {stranger, token, nil, true},
			"fail/no pre-session cookie":   {newClient(t, site.base), token, nil, true},
			"fail/from another site":       {own, token, map[string]string{"Sec-Fetch-Site": "cross-site"}, true},
			"fail/from a sibling site":     {own, token, map[string]string{"Sec-Fetch-Site": "same-site"}, true},
			"fail/foreign origin":          {own, token, map[string]string{"Origin": "https://evil.example"}, true},
		} {
			c.c.header = http.Header{}
			for k, v := range c.header {
				c.c.header.Set(k, v)
			}
			resp, body := c.c.form(site.action, url.Values{"csrf": {c.token}, "iin": {asel}, "password": {"не тот пароль"}, "region": {"55"}})
			c.c.header = nil
			if c.forbid {
				require.Equal(t, http.StatusForbidden, resp.StatusCode, "%s %s", site.name, name)
				require.Contains(t, body, "обновите страницу", "%s %s", site.name, name)
			} else {
				require.NotEqual(t, http.StatusForbidden, resp.StatusCode, "%s %s: %s", site.name, name, body)
			}
		}
	}
}

// openRedirect: the language switch goes back only to a page of the same site.
func (w *web) openRedirect(t *testing.T) {
	jar, _ := cookiejar.New(nil)
	noFollow := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, site := range []struct{ base, prefix string }{{w.portal, "/"}, {w.tson, "/"}, {w.arm, "/arm/"}} {
		for name, c := range map[string]struct{ back, want string }{
			"ok/a page":               {url.QueryEscape(site.prefix + "services"), site.prefix + "services"},
			"fail/encoded tab":        {"/%09/evil.example", site.prefix},
			"fail/tab under prefix":   {url.QueryEscape(site.prefix + "\t/evil.example"), site.prefix},
			"fail/double slash":       {"//evil.example", site.prefix},
			"fail/backslash":          {"/%5Cevil.example", site.prefix},
			"fail/slash backslash":    {url.QueryEscape(`/\evil.example`), site.prefix},
			"fail/absolute":           {url.QueryEscape("https://evil.example/"), site.prefix},
			"fail/CR LF":              {"/%0D%0A/evil.example", site.prefix},
			"fail/double-encoded tab": {url.QueryEscape(site.prefix + "%09/evil.example"), site.prefix},
		} {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, site.base+site.prefix+"lang/kk?back="+c.back, nil)
			require.NoError(t, err)
			resp, err := noFollow.Do(req)
			require.NoError(t, err)
			require.NoError(t, resp.Body.Close())
			require.Equal(t, http.StatusSeeOther, resp.StatusCode, "%s %s", site.base, name)
			require.Equal(t, c.want, resp.Header.Get("Location"), "%s %s", site.base, name)
		}
	}
}

// throttle: behind the ingress (127.0.0.1 is trusted), failures are counted per account and client
// address and per address; a guesser slows himself down, not the citizen, and the certificate sign-in
// is always open.
func (w *web) throttle(t *testing.T) {
	from := func(addr string) *client {
		c := newClient(t, w.portal)
		c.header = http.Header{"X-Forwarded-For": {addr}}
		return c
	}
	guesser := from("203.0.113.7")
	for range 5 {
		resp, body := guesser.passwordSignIn(asel, "не тот пароль")
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		require.Contains(t, body, "Неверный ИИН или пароль")
	}
	resp, body := guesser.passwordSignIn(asel, password)
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "the guesser waits, even with the right password")
	require.Contains(t, body, "Слишком много неудачных попыток")
	require.NotEmpty(t, resp.Header.Get("Retry-After"))

	// Асель at her own address is not held back; nor is her certificate at the guesser's.
	resp, body = from("198.51.100.20").passwordSignIn(asel, password)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	require.Contains(t, body, "Ахметова Асель")
	resp, body = from("203.0.113.7").certSignIn(w.key(t, "citizen-akhmetova-AUTH.p12"))
	require.Equal(t, http.StatusOK, resp.StatusCode, body)

	// One address trying many accounts: its unknown browsers wait; a browser that signed in there
	// before goes on.
	const shared = "203.0.113.50"
	regular := from(shared)
	resp, body = regular.passwordSignIn(asel, password)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	sprayer := from(shared)
	for _, account := range []string{ivanov, missing, ward, child} {
		for range 5 {
			resp, _ = sprayer.passwordSignIn(account, "не тот пароль")
			require.Equal(t, http.StatusUnauthorized, resp.StatusCode, account)
		}
	}
	resp, _ = from(shared).passwordSignIn(spouse, "не тот пароль")
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "an unknown browser at the address waits")
	resp, body = regular.passwordSignIn(asel, password)
	require.Equal(t, http.StatusOK, resp.StatusCode, "a browser known to the account is not held to its address's count: %s", body)

	// Everyone at one address (an ingress not trusted: all clients share its address): a guesser of
	// Асель's password at that address does not keep her known browser out — its attempts count against
	// that device, not the account-and-address pair. Her first sign-in typed the IIN with a space, as
	// the form allows: the device is still known to her account.
	const office = "203.0.113.60"
	own := from(office)
	resp, body = own.passwordSignIn(" "+asel, password)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	require.Contains(t, resp.SetCookie, "portal_known=")
	colleague := from(office)
	for range 5 {
		resp, _ = colleague.passwordSignIn(asel, "не тот пароль")
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	}
	resp, _ = colleague.passwordSignIn(asel, "не тот пароль")
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "the guesser waits")
	resp, body = own.passwordSignIn(asel, password)
	require.Equal(t, http.StatusOK, resp.StatusCode, "her known browser at the same address is not locked out: %s", body)
	require.Contains(t, body, "Ахметова Асель")

	// Guesses sent at once: each attempt is counted before its password is checked, so no more than
	// the limit (5) get an answer on the password; the rest wait.
	const burst = "203.0.113.70"
	type attempt struct {
		c     *client
		token string
	}
	attempts := make([]attempt, 12)
	for i := range attempts {
		c := from(burst)
		_, page := c.do(http.MethodGet, "/login", "", nil)
		m := passwordRe.FindStringSubmatch(page)
		require.NotNil(t, m, "password form")
		attempts[i] = attempt{c, m[1]}
	}
	codes := make(chan int, len(attempts))
	for _, a := range attempts {
		go func() {
			form := url.Values{"csrf": {a.token}, "iin": {spouse}, "password": {"не тот пароль"}}
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, w.portal+"/login", strings.NewReader(form.Encode()))
			if err != nil {
				codes <- 0
				return
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Forwarded-For", burst)
			resp, err := a.c.http.Do(req)
			if err != nil {
				codes <- 0
				return
			}
			_ = resp.Body.Close()
			codes <- resp.StatusCode
		}()
	}
	count := map[int]int{}
	for range attempts {
		count[<-codes]++
	}
	require.Equal(t, map[int]int{http.StatusUnauthorized: 5, http.StatusTooManyRequests: len(attempts) - 5}, count)

	// X-Forwarded-Proto from the trusted ingress makes the cookies Secure.
	tls := newClient(t, w.portal)
	tls.header = http.Header{"X-Forwarded-Proto": {"https"}}
	resp, _ = tls.do(http.MethodGet, "/login", "", nil)
	require.Contains(t, resp.SetCookie, "portal_session_pre=")
	require.Contains(t, resp.SetCookie, "Secure")
}

// bodyAfterSession: an upload is answered before its body is read when there is no session or it
// comes from another site (before, the whole form was parsed first, and a large one answered 413).
func (w *web) bodyAfterSession(t *testing.T) {
	large := func() (*bytes.Buffer, string) {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		fw, err := mw.CreateFormFile("d_standard_documents", "large.pdf")
		require.NoError(t, err)
		_, err = fw.Write(bytes.Repeat([]byte("%PDF-1.4 "), 300_000)) // 2.7 MB, beyond the bound
		require.NoError(t, err)
		require.NoError(t, mw.Close())
		return &b, mw.FormDataContentType()
	}
	jar, _ := cookiejar.New(nil)
	noFollow := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, site := range []struct{ base, path string }{
		{w.portal, "/services/guardianship-certificate/55"},
		{w.tson, "/new/guardianship-certificate/55"},
	} {
		b, ctype := large()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, site.base+site.path, b)
		require.NoError(t, err)
		req.Header.Set("Content-Type", ctype)
		resp, err := noFollow.Do(req)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		require.Equal(t, http.StatusSeeOther, resp.StatusCode, site.base)
		require.True(t, strings.HasSuffix(resp.Header.Get("Location"), "/login"), resp.Header.Get("Location"))
	}

	// Signed in, but posted from another site: refused before the body, however large.
	aselKeys, err := qakit.NewPerson(w.portal, w.keys, "citizen-akhmetova")
	require.NoError(t, err)
	pg, err := aselKeys.SignIn(t.Context(), "/login", "/login/cert", nil)
	require.NoError(t, err)
	require.NoError(t, pg.Err())
	b, ctype := large()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, w.portal+"/services/guardianship-certificate/55", b)
	require.NoError(t, err)
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := aselKeys.Client().Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	// The same from the portal itself is bounded: too large.
	b, ctype = large()
	req, err = http.NewRequestWithContext(t.Context(), http.MethodPost, w.portal+"/services/guardianship-certificate/55", b)
	require.NoError(t, err)
	req.Header.Set("Content-Type", ctype)
	resp, err = aselKeys.Client().Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
}
