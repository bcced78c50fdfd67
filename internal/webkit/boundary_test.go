package webkit

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/internal/pgdb"
	"github.com/egov-suite/egov/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestBack: the language switch follows only a same-site path under the site's prefix; every known way
// of spelling another site sends the browser to the site's first page instead.
func TestBack(t *testing.T) {
	t.Parallel()
	for _, prefix := range []string{"/", "/arm/"} {
		s := New(Options{Prefix: prefix, Cookie: "x", Log: quiet()})
		for name, c := range map[string]struct{ back, want string }{
			"ok/page":                 {prefix + "services", prefix + "services"},
			"ok/query":                {prefix + "services?x=1", prefix + "services?x=1"},
			"ok/prefix":               {prefix, prefix},
			"fail/empty":              {"", prefix},
			"fail/double slash":       {"//evil.example", prefix},
			"fail/slash backslash":    {`/\evil.example`, prefix},
			"fail/tab":                {"/\t/evil.example", prefix},
			"fail/encoded tab":        {"/%09/evil.example", prefix},
			"fail/encoded backslash":  {"/%5Cevil.example", prefix},
			"fail/encoded slash":      {"/%2F/evil.example", prefix},
			"fail/absolute":           {"https://evil.example/", prefix},
			"fail/scheme relative":    {"https:/evil.example", prefix},
			"fail/newline":            {"/\n/evil.example", prefix},
			"fail/carriage return":    {"/\r/evil.example", prefix},
			"fail/encoded CR LF":      {"/%0D%0ALocation:%20https://evil.example", prefix},
			"fail/nul":                {"/\x00/evil.example", prefix},
			"fail/space":              {"/ /evil.example", prefix},
			"fail/unicode slash":      {"/\u2215evil.example", prefix},
			"fail/other prefix":       {"evil.example/" + prefix, prefix},
			"fail/dot segments":       {prefix + "../..//evil.example", prefix},
			"fail/javascript":         {"javascript:alert(1)", prefix},
			"fail/encoded double dot": {prefix + "%2e%2e/%2F%2Fevil.example", prefix},
		} {
			want := c.want
			if prefix == "/arm/" && strings.HasPrefix(name, "ok/") {
				want = c.back
			}
			got := s.Back(c.back)
			if strings.HasPrefix(name, "ok/") {
				assert.Equal(t, want, got, "%s %s", prefix, name)
				continue
			}
			assert.Equal(t, prefix, got, "%s %s", prefix, name)
		}
	}
}

// TestSetLangRedirect drives the handler: the Location it answers never leaves the site.
func TestSetLangRedirect(t *testing.T) {
	t.Parallel()
	s := New(Options{Prefix: "/", Cookie: "x", Log: quiet()})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /lang/{lang}", s.SetLang)
	for name, c := range map[string]struct{ query, want string }{
		"ok/page":                {"back=/services", "/services"},
		"fail/encoded tab":       {"back=/%09/evil.example", "/"},
		"fail/encoded backslash": {"back=/%5Cevil.example", "/"},
		"fail/double slash":      {"back=//evil.example", "/"},
		"fail/absolute":          {"back=https://evil.example", "/"},
		"fail/encoded CR LF":     {"back=/%0D%0A/evil.example", "/"},
		"fail/encoded LF":        {"back=/%0a/evil.example", "/"},
	} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/lang/kk?"+c.query, nil))
		require.Equal(t, http.StatusSeeOther, rec.Code, name)
		assert.Equal(t, c.want, rec.Header().Get("Location"), name)
	}
}

// TestProxies: the client's address and the scheme come from the forwarding headers only when the peer
// is a trusted proxy; the rightmost untrusted hop is the client.
func TestProxies(t *testing.T) {
	t.Parallel()
	trusted, err := ParseProxies("10.0.0.0/8, 192.168.1.7,::1")
	require.NoError(t, err)
	_, err = ParseProxies("10.0.0.0/33")
	require.Error(t, err)
	_, err = ParseProxies("ingress")
	require.Error(t, err)
	var fromText Proxies
	require.NoError(t, fromText.UnmarshalText([]byte("10.0.0.0/8")))
	require.Len(t, fromText, 1)
	s := New(Options{Cookie: "x", Proxies: trusted, Log: quiet()})
	for name, c := range map[string]struct {
		peer, xff, proto string
		addr             string
		https            bool
		// untrusted: X-Forwarded-For came from a peer not trusted (the operator is warned).
		untrusted bool
	}{
		"ok/direct":                          {"203.0.113.5:4000", "", "", "203.0.113.5", false, false},
		"ok/behind the ingress":              {"10.1.2.3:4000", "198.51.100.7", "https", "198.51.100.7", true, false},
		"ok/two proxies":                     {"10.1.2.3:4000", "198.51.100.7, 192.168.1.7", "http,https", "198.51.100.7", true, false},
		"ok/spoofed left hop ignored":        {"10.1.2.3:4000", "1.2.3.4, 198.51.100.7", "https", "198.51.100.7", true, false},
		"ok/ipv6 proxy":                      {"[::1]:4000", "2001:db8::9", "https", "2001:db8::9", true, false},
		"ok/proxy with no header":            {"10.1.2.3:4000", "", "", "10.1.2.3", false, false},
		"fail/untrusted peer's headers":      {"203.0.113.5:4000", "198.51.100.7", "https", "203.0.113.5", false, true},
		"fail/garbage hop":                   {"10.1.2.3:4000", "198.51.100.7, not-an-ip", "https", "10.1.2.3", true, false},
		"fail/only trusted hops":             {"10.1.2.3:4000", "10.9.9.9", "http", "10.9.9.9", false, false},
		"fail/untrusted peer, https claimed": {"198.51.100.8:1", "", "https", "198.51.100.8", false, false},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = c.peer
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		if c.proto != "" {
			r.Header.Set("X-Forwarded-Proto", c.proto)
		}
		assert.Equal(t, c.addr, s.ClientAddr(r), name)
		assert.Equal(t, c.https, s.HTTPS(r), name)
		assert.Equal(t, c.untrusted, s.ForwardedByUntrusted(r), name)
	}
}

// TestGuest: a form posted without a session needs the pre-session token bound to its cookie and must
// come from the site itself.
func TestGuest(t *testing.T) {
	t.Parallel()
	s := New(Options{Prefix: "/", Cookie: "portal_session", Log: quiet()})
	// The login page hands out the cookie and the token.
	rec := httptest.NewRecorder()
	token := s.GuestCSRF(rec, httptest.NewRequest(http.MethodGet, "/login", nil))
	cookies := rec.Result().Cookies()
	require.Len(t, cookies, 1)
	cookie := cookies[0]
	require.Equal(t, "portal_session_pre", cookie.Name)
	require.True(t, cookie.HttpOnly)
	require.Equal(t, http.SameSiteLaxMode, cookie.SameSite)
	require.NotEqual(t, token, cookie.Value, "the form's token is not the cookie")

	other := httptest.NewRecorder()
	otherToken := s.GuestCSRF(other, httptest.NewRequest(http.MethodGet, "/login", nil))
	for name, c := range map[string]struct {
		token   string
		cookie  bool
		headers map[string]string
		want    int
	}{
		"ok/same origin":                     {token, true, map[string]string{"Sec-Fetch-Site": "same-origin"}, http.StatusOK},
		"ok/no browser headers":              {token, true, nil, http.StatusOK},
		"ok/origin matches":                  {token, true, map[string]string{"Origin": "http://portal.example"}, http.StatusOK},
		"fail/no token":                      {"", true, nil, http.StatusForbidden},
		"fail/no cookie":                     {token, false, nil, http.StatusForbidden},
		"fail/another browser's token":       {otherToken, true, nil, http.StatusForbidden},
		"fail/cross site":                    {token, true, map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		"fail/same site (a sibling)":         {token, true, map[string]string{"Sec-Fetch-Site": "same-site"}, http.StatusForbidden},
		"fail/foreign origin":                {token, true, map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden},
		"fail/foreign origin without cookie": {"", false, map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden},
	} {
		ran := false
		h := s.Guest(func(w http.ResponseWriter, _ *http.Request) { ran = true; w.WriteHeader(http.StatusOK) })
		r := httptest.NewRequest(http.MethodPost, "http://portal.example/login", strings.NewReader(url.Values{"csrf": {c.token}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if c.cookie {
			r.AddCookie(cookie)
		}
		for k, v := range c.headers {
			r.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		h(rec, r)
		assert.Equal(t, c.want, rec.Code, name)
		assert.Equal(t, c.want == http.StatusOK, ran, name)
		if c.want == http.StatusForbidden {
			assert.Contains(t, rec.Body.String(), "обновите страницу", name)
		}
	}

	// Secure when the browser's connection is TLS at a trusted proxy.
	proxies, err := ParseProxies("10.0.0.0/8")
	require.NoError(t, err)
	behind := New(Options{Prefix: "/", Cookie: "portal_session", Proxies: proxies, Log: quiet()})
	r := httptest.NewRequest(http.MethodGet, "/login", nil)
	r.RemoteAddr = "10.0.0.2:5555"
	r.Header.Set("X-Forwarded-Proto", "https")
	rec = httptest.NewRecorder()
	behind.GuestCSRF(rec, r)
	require.True(t, rec.Result().Cookies()[0].Secure)
}

// countingBody records whether anything read it.
type countingBody struct {
	io.Reader
	read int
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.Reader.Read(p)
	b.read += n
	return n, err
}

func (*countingBody) Close() error { return nil }

func site(t *testing.T) *Site {
	t.Helper()
	pool, err := pgdb.Open(t.Context(), pgtest.URL(t), "web", 2)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	_, err = pgdb.Migrate(t.Context(), pool, "web", Migrations())
	require.NoError(t, err)
	return New(Options{Prefix: "/", Cookie: "s", DB: pool, Log: quiet()})
}

// TestAuthBodyChecksBeforeReading: a multipart upload without a session, or from another site, is
// answered before a byte of its body is read; a signed-in one is bounded in size.
func TestAuthBodyChecksBeforeReading(t *testing.T) {
	t.Parallel()
	s := site(t)
	begin := httptest.NewRecorder()
	require.NoError(t, s.Begin(begin, httptest.NewRequest(http.MethodGet, "/", nil), "880512400011", ""))
	session := begin.Result().Cookies()[0]
	sess, err := s.Session(func() *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.AddCookie(session)
		return r
	}())
	require.NoError(t, err)
	require.NotNil(t, sess)

	body := "--b\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n" + sess.CSRF + "\r\n--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.pdf\"\r\n\r\n" +
		strings.Repeat("x", 4096) + "\r\n--b--\r\n"
	for name, c := range map[string]struct {
		session bool
		site    string
		limit   int64
		want    int
		read    bool
	}{
		"ok/signed in":            {true, "same-origin", 1 << 20, http.StatusOK, true},
		"fail/no session":         {false, "same-origin", 1 << 20, http.StatusSeeOther, false},
		"fail/cross site":         {true, "cross-site", 1 << 20, http.StatusForbidden, false},
		"fail/larger than allows": {true, "same-origin", 1024, http.StatusRequestEntityTooLarge, true},
	} {
		b := &countingBody{Reader: strings.NewReader(body)}
		r := httptest.NewRequest(http.MethodPost, "/upload", nil)
		r.Body = b
		r.Header.Set("Content-Type", "multipart/form-data; boundary=b")
		r.Header.Set("Sec-Fetch-Site", c.site)
		if c.session {
			r.AddCookie(session)
		}
		rec := httptest.NewRecorder()
		s.AuthBody("/login", c.limit, func(w http.ResponseWriter, r *http.Request, _ *Session) {
			w.WriteHeader(http.StatusOK)
		})(rec, r)
		assert.Equal(t, c.want, rec.Code, name)
		assert.Equal(t, c.read, b.read > 0, name)
	}
}

// TestBeginEndsThePreviousSession: signing in from a browser that holds someone's session cookie ends
// that session, so the new sign-in never shares a session with another account.
func TestBeginEndsThePreviousSession(t *testing.T) {
	t.Parallel()
	s := site(t)
	first := httptest.NewRecorder()
	require.NoError(t, s.Begin(first, httptest.NewRequest(http.MethodGet, "/", nil), "880512400011", ""))
	old := first.Result().Cookies()[0]
	r := httptest.NewRequest(http.MethodPost, "/login/cert", nil)
	r.AddCookie(old)
	second := httptest.NewRecorder()
	require.NoError(t, s.Begin(second, r, "841103300017", ""))
	fresh := second.Result().Cookies()[0]
	require.NotEqual(t, old.Value, fresh.Value)
	ask := func(c *http.Cookie) *Session {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.AddCookie(c)
		sess, err := s.Session(r)
		require.NoError(t, err)
		return sess
	}
	require.Nil(t, ask(old), "the previous session is over")
	require.Equal(t, "841103300017", ask(fresh).Subject)
}
