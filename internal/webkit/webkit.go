// Package webkit is what the suite's server-rendered sites share (ПЭП, the ЦОН desk, АРМ РШЭП):
// server-side sessions in the service's own schema, CSRF tokens, the security headers, the language
// cookie (Russian by default, Kazakh), one-time sign-in challenges, and the static script that signs
// through NCALayer (or `egov ncalayer`) from the browser, so that a private key never reaches a server.
//
// A site's schema holds two tables, created by the service's own migrations:
//
//	sessions   (token_sha256 bytea PRIMARY KEY, subject text, scope text, created_at, expires_at timestamptz)
//	challenges (nonce text PRIMARY KEY, expires_at timestamptz)
//
// The cookie holds a random token; the table holds only its SHA-256, so a read of the database does
// not give a session away. No personal data goes into URLs or logs: IINs are masked when logged.
package webkit

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/calendar"
	"github.com/egov-suite/egov/internal/pgdb"
)

//go:embed static
var static embed.FS

// DefaultSignerURL is where NCALayer listens on the citizen's own machine.
const DefaultSignerURL = "ws://127.0.0.1:13579/"

// Options build a site.
type Options struct {
	// Prefix is the path every page of the site is under, with a trailing slash ("/", "/arm/").
	Prefix string
	// Cookie names the session cookie.
	Cookie string
	// DB is the service's pool; its schema holds sessions and challenges.
	DB *pgxpool.Pool
	// TTL is how long a session lasts.
	TTL time.Duration
	// Now is the clock.
	Now func() time.Time
	// SignerURL is NCALayer's WebSocket address the pages sign through (DefaultSignerURL when empty).
	SignerURL string
	// Proxies are the reverse proxies (an ingress, a load balancer) whose X-Forwarded-For and
	// X-Forwarded-Proto are believed; from any other peer those headers are ignored.
	Proxies Proxies
	Log     *slog.Logger
}

// Site is the shared machinery of one web application.
type Site struct {
	o      Options
	origin *http.CrossOriginProtection
}

// New builds a site.
func New(o Options) *Site {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.TTL == 0 {
		o.TTL = 8 * time.Hour
	}
	if o.SignerURL == "" {
		o.SignerURL = DefaultSignerURL
	}
	if o.Prefix == "" {
		o.Prefix = "/"
	}
	return &Site{o: o, origin: http.NewCrossOriginProtection()}
}

// SignerURL is the signer's address, for the pages' <meta name="egov-signer">.
func (s *Site) SignerURL() string { return s.o.SignerURL }

// Prefix is the site's path prefix.
func (s *Site) Prefix() string { return s.o.Prefix }

// Secure adds the security headers to every answer: a CSP that allows scripts and styles from the site
// only and connections to the site and the signer, no framing, no referrer, no caching of personal pages.
func (s *Site) Secure(next http.Handler) http.Handler {
	signer := s.o.SignerURL
	if u, err := url.Parse(signer); err == nil {
		signer = u.Scheme + "://" + u.Host
	}
	csp := "default-src 'self'; img-src 'self' data:; connect-src 'self' " + signer +
		"; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// Static serves the shared script and style sheet; mount it at Prefix+"static/".
func (s *Site) Static() http.Handler {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // "static" is embedded above
	}
	return http.StripPrefix(s.o.Prefix+"static/", http.FileServerFS(sub))
}

// Session is a signed-in user.
type Session struct {
	// Subject is who signed in (an IIN).
	Subject string
	// Scope is what the site keeps beside it (АРМ: the region; the portal: how the user signed in).
	Scope string
	// CSRF is the token every form of the session carries.
	CSRF string
}

func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

func csrfOf(token string) string {
	h := sha256.Sum256([]byte("csrf:" + token))
	return hex.EncodeToString(h[:16])
}

// Random is 256 bits of randomness, URL-safe.
func Random() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Begin starts a session for subject and sets its cookie: HttpOnly, SameSite=Strict, Secure over TLS.
func (s *Site) Begin(w http.ResponseWriter, r *http.Request, subject, scope string) error {
	token := Random()
	now := s.o.Now()
	if _, err := s.o.DB.Exec(r.Context(), `INSERT INTO sessions (token_sha256, subject, scope, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		tokenHash(token), subject, scope, now, now.Add(s.o.TTL)); err != nil {
		return err
	}
	// The browser's previous session, whoever's it was, ends here: a sign-in never continues a session
	// that someone else began (a planted or left-over cookie).
	if c, err := r.Cookie(s.o.Cookie); err == nil && c.Value != "" {
		_, _ = s.o.DB.Exec(r.Context(), `DELETE FROM sessions WHERE token_sha256 = $1`, tokenHash(c.Value))
	}
	_, _ = s.o.DB.Exec(r.Context(), `DELETE FROM sessions WHERE expires_at < $1`, now)
	http.SetCookie(w, &http.Cookie{Name: s.o.Cookie, Value: token, Path: s.o.Prefix, HttpOnly: true, Secure: s.HTTPS(r),
		SameSite: http.SameSiteStrictMode, MaxAge: int(s.o.TTL / time.Second)})
	return nil
}

// End ends the request's session.
func (s *Site) End(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(s.o.Cookie); err == nil {
		_, _ = s.o.DB.Exec(r.Context(), `DELETE FROM sessions WHERE token_sha256 = $1`, tokenHash(c.Value))
	}
	http.SetCookie(w, &http.Cookie{Name: s.o.Cookie, Value: "", Path: s.o.Prefix, MaxAge: -1, HttpOnly: true, Secure: s.HTTPS(r),
		SameSite: http.SameSiteStrictMode})
}

// Session returns the request's live session, or nil.
func (s *Site) Session(r *http.Request) (*Session, error) {
	c, err := r.Cookie(s.o.Cookie)
	if err != nil {
		return nil, nil //nolint:nilerr // no cookie: not signed in
	}
	var out Session
	err = s.o.DB.QueryRow(r.Context(), `SELECT subject, scope FROM sessions WHERE token_sha256 = $1 AND expires_at > $2`,
		tokenHash(c.Value), s.o.Now()).Scan(&out.Subject, &out.Scope)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out.CSRF = csrfOf(c.Value)
	return &out, nil
}

// Authed is a handler that needs a session.
type Authed func(w http.ResponseWriter, r *http.Request, sess *Session)

// Auth requires a session (else it redirects to login) and, on every POST, a same-origin request
// (Sec-Fetch-Site, else Origin) carrying the session's CSRF token.
func (s *Site) Auth(login string, next Authed) http.HandlerFunc {
	return s.AuthBody(login, 0, next)
}

// AuthBody is Auth for a POST whose body is multipart (attachments) and may be up to limit bytes: the
// session and the request's origin are checked before a byte of the body is read, the body is bounded
// by http.MaxBytesReader, and only then parsed for the CSRF token. limit 0 is a url-encoded form.
func (s *Site) AuthBody(login string, limit int64, next Authed) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, err := s.Session(r)
		if err != nil {
			s.Fail(w, r, err)
			return
		}
		if sess == nil {
			http.Redirect(w, r, login, http.StatusSeeOther)
			return
		}
		if r.Method == http.MethodPost {
			if err := s.origin.Check(r); err != nil {
				s.Forbidden(w, r)
				return
			}
			if limit > 0 {
				r.Body = http.MaxBytesReader(w, r.Body, limit)
				if err := r.ParseMultipartForm(1 << 20); err != nil {
					http.Error(w, Pick(Lang(r), "Форма слишком велика или повреждена.", "Пішін тым үлкен немесе бүлінген."),
						http.StatusRequestEntityTooLarge)
					return
				}
			}
			if !s.ValidCSRF(r, sess) {
				s.Forbidden(w, r)
				return
			}
		}
		next(w, r, sess)
	}
}

// ValidCSRF reports whether the form carries the session's token. A multipart form must be parsed first
// (r.ParseMultipartForm) so that the token is read from it.
func (s *Site) ValidCSRF(r *http.Request, sess *Session) bool {
	return subtle.ConstantTimeCompare([]byte(r.FormValue("csrf")), []byte(sess.CSRF)) == 1
}

// Forbidden answers 403 to a form that came from another site or carries no valid token, in the
// user's language.
func (s *Site) Forbidden(w http.ResponseWriter, r *http.Request) {
	http.Error(w, Pick(Lang(r), "Форма устарела или отправлена не с этого сайта: обновите страницу и повторите.",
		"Пішін ескірген немесе басқа сайттан жіберілген: бетті жаңартып, қайталаңыз."), http.StatusForbidden)
}

// Fail answers 500 and logs the cause; the user sees no detail.
func (s *Site) Fail(w http.ResponseWriter, r *http.Request, err error) {
	s.o.Log.ErrorContext(r.Context(), "web", "path", r.URL.Path, "error", err)
	http.Error(w, Pick(Lang(r), "Внутренняя ошибка сервиса: повторите попытку позже.",
		"Сервистің ішкі қатесі: кейінірек қайталаңыз."), http.StatusInternalServerError)
}

// Challenge makes a one-time text to sign for sign-in, valid five minutes.
func (s *Site) Challenge(ctx context.Context, purpose string) (string, error) {
	nonce := purpose + ":" + Random()
	now := s.o.Now()
	if _, err := s.o.DB.Exec(ctx, `INSERT INTO challenges (nonce, expires_at) VALUES ($1, $2)`, nonce, now.Add(5*time.Minute)); err != nil {
		return "", err
	}
	_, _ = s.o.DB.Exec(ctx, `DELETE FROM challenges WHERE expires_at < $1`, now)
	return nonce, nil
}

// TakeChallenge uses a challenge up: true once for a live one, false for an unknown, used or old one.
func (s *Site) TakeChallenge(ctx context.Context, nonce string) (bool, error) {
	tag, err := s.o.DB.Exec(ctx, `DELETE FROM challenges WHERE nonce = $1 AND expires_at > $2`, nonce, s.o.Now())
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() == 1, nil
}

// Lang is the request's language: "kk" when chosen, else "ru".
func Lang(r *http.Request) string {
	if c, err := r.Cookie("lang"); err == nil && c.Value == "kk" {
		return "kk"
	}
	return "ru"
}

// SetLang serves GET Prefix+"lang/{lang}?back=<path>": it sets the language cookie and goes back to a
// page of the site.
func (s *Site) SetLang(w http.ResponseWriter, r *http.Request) {
	l := r.PathValue("lang")
	if l != "kk" {
		l = "ru"
	}
	http.SetCookie(w, &http.Cookie{Name: "lang", Value: l, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: 365 * 24 * 3600})
	http.Redirect(w, r, s.Back(r.URL.Query().Get("back")), http.StatusSeeOther)
}

// Back is where a "back" parameter may send the browser: ref itself when it is a plain path of this site
// (under Prefix, printable ASCII with no backslash, no "//", no scheme or host however spelled,
// even once percent-decoded), else
// the site's first page. Browsers strip tabs and newlines from a URL and read "\" as "/", so
// "/\t/evil" or "/\\evil" would leave the site if they were let through.
func (s *Site) Back(ref string) string {
	if ref == "" || !strings.HasPrefix(ref, s.o.Prefix) || strings.Contains(ref, "//") {
		return s.o.Prefix
	}
	// Checked as given and once decoded: a proxy or a browser that decodes again must not find a
	// way out either.
	dec, err := url.PathUnescape(ref)
	if err != nil || strings.Contains(dec, "//") {
		return s.o.Prefix
	}
	for _, c := range ref + dec {
		if c < 0x21 || c > 0x7e || c == '\\' {
			return s.o.Prefix
		}
	}
	u, err := url.Parse(ref)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, s.o.Prefix) || strings.Contains(u.Path, "//") {
		return s.o.Prefix
	}
	return ref
}

// Pick is the text of the language l.
func Pick(l, ru, kk string) string {
	if l == "kk" && kk != "" {
		return kk
	}
	return ru
}

// When writes a time in Kazakhstan's zone, "—" for none.
func When(t any) string {
	switch v := t.(type) {
	case time.Time:
		if v.IsZero() {
			return "—"
		}
		return v.In(calendar.Zone).Format("02.01.2006 15:04")
	case *time.Time:
		if v == nil {
			return "—"
		}
		return v.In(calendar.Zone).Format("02.01.2006 15:04")
	}
	return ""
}

// Funcs are the template functions every site has: when, b64, pick, region.
func Funcs() template.FuncMap {
	return template.FuncMap{"when": When, "b64": base64.StdEncoding.EncodeToString, "pick": Pick, "region": RegionName}
}

// Page is what every template of a site gets.
type Page struct {
	T       map[string]string
	Lang    string
	Path    string
	Session *Session
	// User is the site's view of the signed-in user (a name to show).
	User any
	CSRF string
	// Guest asks Render for a pre-session CSRF token (GuestCSRF) for the page's sign-in or
	// registration form.
	Guest     bool
	GuestCSRF string
	Signer    string
	// Title is the page's own title (before the site's); Render takes the site's text "title_<page>"
	// when it is not set.
	Title  string
	Error  string
	Notice string
	Data   any
}

// Render executes the template name of tmpl with the page; back is the path the language links return to.
func (s *Site) Render(w http.ResponseWriter, r *http.Request, tmpl *template.Template, name string, status int, p Page) {
	p.Lang, p.Signer = Lang(r), s.o.SignerURL
	if p.Title == "" {
		p.Title = p.T["title_"+strings.TrimSuffix(name, ".html")]
	}
	if p.Path == "" {
		p.Path = r.URL.Path
	}
	if p.Session != nil {
		p.CSRF = p.Session.CSRF
	}
	if p.Guest {
		p.GuestCSRF = s.GuestCSRF(w, r)
	}
	// Laid out whole before anything is written: a template that fails half-way answers 500 with a
	// message, not a cut-off page under the status the handler meant.
	var page bytes.Buffer
	if err := tmpl.ExecuteTemplate(&page, name, p); err != nil {
		s.Fail(w, r, fmt.Errorf("template %s: %w", name, err))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = page.WriteTo(w)
}

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations create the sessions and challenges tables (version 0900), for a service to join to its own
// with pgdb.Union.
func Migrations() fs.FS { return pgdb.Embedded(migrations) }

// Signature is the detached CMS signature a form carries in its "signature" field (Base64, as NCALayer
// gives it or as pasted); false when there is none.
func Signature(r *http.Request) ([]byte, bool) {
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(r.PostFormValue("signature")))
	return sig, err == nil && len(sig) > 0
}

// Sign-in failures before the certificate is looked at.
var (
	ErrNoSignature = errors.New("webkit: the form carries no signature")
	ErrChallenge   = errors.New("webkit: the challenge is unknown, used or old")
)

// SignIn checks a sign-in form: its signature over the one-time challenge it names, made with an
// authentication certificate that verifies for want. The challenge is used up either way.
func (s *Site) SignIn(r *http.Request, v *envelope.Verifier, want envelope.Expect) (*envelope.Result, error) {
	sig, ok := Signature(r)
	if !ok {
		return nil, ErrNoSignature
	}
	nonce := r.PostFormValue("challenge")
	live, err := s.TakeChallenge(r.Context(), nonce)
	if err != nil {
		return nil, err
	}
	if !live {
		return nil, ErrChallenge
	}
	want.Purpose = envelope.PurposeAuthentication
	return v.Verify(r.Context(), []byte(nonce), sig, want)
}

// SignInRefusal is what a sign-in page says for a SignIn error, in lang, using the site's texts
// err_no_signature and err_challenge, and the HTTP status to answer with: 422 for the person's side
// (no signature, a stale challenge, a certificate that fails), 503 when НУЦ could not say whether the
// certificate is revoked (not a refusal: the person tries again), and "" with 500 for an error that
// is the server's own.
func SignInRefusal(err error, lang string, t map[string]string) (string, int) {
	switch {
	case errors.Is(err, ErrNoSignature):
		return t["err_no_signature"], http.StatusUnprocessableEntity
	case errors.Is(err, ErrChallenge):
		return t["err_challenge"], http.StatusUnprocessableEntity
	case envelope.CodeOf(err) == envelope.CodeStatusUnavailable:
		return Pick(lang, "НУЦ не ответил на запрос статуса сертификата, поэтому вход не выполнен. Повторите через минуту.",
			"ҰКО сертификат мәртебесі туралы сұрауға жауап бермеді, сондықтан кіру орындалмады. Бір минуттан кейін қайталаңыз."), http.StatusServiceUnavailable
	}
	if ru, kk, ok := envelope.Refusal(err); ok {
		return Pick(lang, ru, kk), http.StatusUnprocessableEntity
	}
	return "", http.StatusInternalServerError
}
