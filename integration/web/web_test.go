// Package web checks the portal's and the ЦОН desk's web hygiene over plain HTTP against the real
// binary: password storage, sign-in throttling, CSRF, cookie flags, security headers, attachment limits.
package web

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/integration/harness"
	"github.com/egov-suite/egov/qakit"
)

const (
	asel     = "880512400011"
	ward     = "120921600010"
	password = "Верный-пароль-1"
)

type client struct {
	t    *testing.T
	http *http.Client
	base string
	// header is sent with every request (a browser's Sec-Fetch-Site, a proxy's X-Forwarded-For).
	header http.Header
}

func newClient(t *testing.T, base string) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: base, http: &http.Client{Jar: jar}}
}

// answer is a response read and closed.
type answer struct {
	StatusCode int
	Header     http.Header
	// URL is where the redirects ended; SetCookie what the first response set.
	URL       string
	SetCookie string
}

func (c *client) do(method, path, ctype string, body io.Reader) (answer, string) {
	c.t.Helper()
	req, err := http.NewRequestWithContext(c.t.Context(), method, c.base+path, body)
	require.NoError(c.t, err)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	resp, err := c.http.Do(req)
	require.NoError(c.t, err)
	b, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	require.NoError(c.t, resp.Body.Close())
	first := resp
	for first.Request.Response != nil {
		first = first.Request.Response
	}
	return answer{StatusCode: resp.StatusCode, Header: resp.Header, URL: resp.Request.URL.String(),
		SetCookie: strings.Join(first.Header.Values("Set-Cookie"), "\n")}, string(b)
}

func (c *client) form(path string, v url.Values) (answer, string) {
	return c.do(http.MethodPost, path, "application/x-www-form-urlencoded", strings.NewReader(v.Encode()))
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

func TestPortalHygiene(t *testing.T) {
	dir, err := os.MkdirTemp("", "egov-web-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o755))
	// 127.0.0.1 stands for an ingress: the tests speak as clients behind it through X-Forwarded-For.
	d := harness.StartDev(t, dir, "EGOV_PORTAL_MAX_ATTACHMENT=2048", "EGOV_TRUSTED_PROXIES=127.0.0.1,::1")
	portal := d.Endpoints.Services["portal"].HTTP
	c := newClient(t, portal)

	// Security headers on every page.
	resp, _ := c.do(http.MethodGet, "/services", "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	csp := resp.Header.Get("Content-Security-Policy")
	require.Contains(t, csp, "default-src 'self'")
	require.Contains(t, csp, "frame-ancestors 'none'")
	require.Contains(t, csp, strings.TrimPrefix(strings.TrimSuffix(d.Endpoints.Signer, "/"), "http://"), "the signer is the only other place the page may connect to")
	require.Equal(t, "DENY", resp.Header.Get("X-Frame-Options"))
	require.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
	require.Equal(t, "no-referrer", resp.Header.Get("Referrer-Policy"))
	require.Equal(t, "no-store", resp.Header.Get("Cache-Control"))

	// Registration (the IIN proven by the AUTH key, see TestRegistrationProvesTheIIN): bad IIN, short
	// password, then an account whose password is stored as argon2id.
	keys := filepath.Join(dir, "keys")
	aselKeys, err := qakit.NewPerson(portal, keys, "citizen-akhmetova")
	require.NoError(t, err)
	c.http = aselKeys.Client()
	pg, err := aselKeys.Register(t.Context(), "880512400012", password)
	require.NoError(t, err)
	require.Contains(t, pg.Body, "ИИН указан неверно")
	pg, err = aselKeys.Register(t.Context(), asel, "short")
	require.NoError(t, err)
	require.Contains(t, pg.Body, "не короче 8 символов")
	registered, body := c.register(aselKeys.Auth, asel, password, nil)
	require.Equal(t, http.StatusOK, registered.StatusCode, body)
	require.Contains(t, body, "Ахметова Асель")
	setCookie := registered.SetCookie
	require.Contains(t, setCookie, "portal_session=")
	require.Contains(t, setCookie, "HttpOnly")
	require.Contains(t, setCookie, "SameSite=Strict")
	require.NotContains(t, setCookie, "Secure", "plain HTTP from a peer that is no proxy: not Secure")
	db, err := pgx.Connect(t.Context(), d.Endpoints.Postgres)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close(context.Background()) })
	var hash string
	require.NoError(t, db.QueryRow(t.Context(), `SELECT password_hash FROM portal.accounts WHERE iin = $1`, asel).Scan(&hash))
	require.True(t, strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$"), hash)
	require.NotContains(t, hash, password)
	var sessions int
	require.NoError(t, db.QueryRow(t.Context(), `SELECT count(*) FROM portal.sessions WHERE subject = $1`, asel).Scan(&sessions))
	require.Equal(t, 1, sessions, "the session is stored as the hash of its token")

	// CSRF: a form without the token is refused; with it, accepted.
	page, formBody := c.do(http.MethodGet, "/services/guardianship-certificate/27", "", nil)
	require.Equal(t, http.StatusOK, page.StatusCode)
	token := csrfRe.FindStringSubmatch(formBody)
	require.NotNil(t, token)
	multi := func(csrf string, file []byte, name string) (answer, string) {
		var b bytes.Buffer
		w := multipart.NewWriter(&b)
		if csrf != "" {
			require.NoError(t, w.WriteField("csrf", csrf))
		}
		require.NoError(t, w.WriteField("f_ward_iin", ward))
		if file != nil {
			// The 27 passport asks for no document: the 55 one does, so the limits are tried there.
			fw, err := w.CreateFormFile("d_standard_documents", name)
			require.NoError(t, err)
			_, err = fw.Write(file)
			require.NoError(t, err)
		}
		require.NoError(t, w.Close())
		path := "/services/guardianship-certificate/27"
		if file != nil {
			path = "/services/guardianship-certificate/55"
		}
		return c.do(http.MethodPost, path, w.FormDataContentType(), &b)
	}
	resp, _ = multi("", nil, "")
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "no CSRF token")
	resp, _ = multi("0000", nil, "")
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "a wrong CSRF token")
	resp, body = multi(token[1], nil, "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, body, "Подписание заявления")
	require.NotContains(t, resp.URL, asel, "no IIN in a URL")

	// Attachments: too large, and not a PDF/JPEG/PNG by content (whatever its name says).
	resp, body = multi(token[1], bytes.Repeat([]byte("%PDF-1.4 "), 400), "большой.pdf")
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	require.Contains(t, body, "файл больше допустимого размера")
	resp, body = multi(token[1], []byte("MZ\x90\x00 this is a program"), "справка.pdf")
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	require.Contains(t, body, "допустимы только PDF, JPEG и PNG")
	resp, body = multi(token[1], []byte("%PDF-1.4\n1 0 obj\n<<>>\nendobj\n"), "справка.pdf")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, body, "справка.pdf")

	// Throttling: see TestThrottle. An unknown IIN answers exactly as a wrong password does.
	resp, body = newClient(t, portal).passwordSignIn("841103300017", password)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.Contains(t, body, "Неверный ИИН или пароль")

	// Signed-in pages need a session.
	resp, _ = newClient(t, portal).do(http.MethodGet, "/history", "", nil)
	require.Equal(t, portal+"/login", resp.URL)

	w := &web{d: d, db: db, keys: keys, portal: portal, tson: d.Endpoints.Services["tson"].HTTP, arm: d.Endpoints.Services["rshep"].HTTP}
	t.Run("registration proves the IIN", w.registration)
	t.Run("login CSRF", w.loginCSRF)
	t.Run("open redirect", w.openRedirect)
	t.Run("throttle", w.throttle)
	t.Run("body read after the session", w.bodyAfterSession)
}
