// Package site is ПЭП's web application: registration and sign-in (IIN and password, or the
// authentication certificate), the service catalogue, request forms drawn from the passports, signing
// through NCALayer, «История получения услуг», «Уведомления», the result with its signature checked,
// and the quality survey. Pages are server-rendered, in Russian (default) and Kazakh.
package site

import (
	"context"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/applicant"
	"github.com/egov-suite/egov/internal/applicant/channelweb"
	"github.com/egov-suite/egov/internal/catalog"
	"github.com/egov-suite/egov/internal/iin"
	"github.com/egov-suite/egov/internal/registries"
	"github.com/egov-suite/egov/internal/webkit"
	gbdflv1 "github.com/egov-suite/egov/proto/egov/gbdfl/v1"
)

//go:embed web/*.html
var web embed.FS

// Persons looks a person up in ГБД ФЛ (through ШЭП).
type Persons interface {
	Person(ctx context.Context, iin string) (*gbdflv1.Person, error)
}

// Options build the portal's site.
type Options struct {
	Desk        *applicant.Desk
	Persons     Persons
	Attachments channelweb.Attachments
	DB          *pgxpool.Pool
	Now         func() time.Time
	Log         *slog.Logger
	SessionTTL  time.Duration
	SignerURL   string
	// MaxFailures failed password sign-ins to one account from one client address within Window start
	// growing delays there (the client's address alone gets four times as many, over all accounts);
	// no delay grows beyond Lockout. See throttle.go.
	MaxFailures int
	Window      time.Duration
	Lockout     time.Duration
	// Proxies are the trusted reverse proxies (EGOV_TRUSTED_PROXIES).
	Proxies webkit.Proxies
}

// Site is the portal.
type Site struct {
	o     Options
	web   *webkit.Site
	tmpl  *template.Template
	pages *channelweb.Pages[*user]
	// forwardWarn logs once that X-Forwarded-For came from a peer not trusted (throttle.go).
	forwardWarn sync.Once
	// listing groups and names the catalogue for the citizen (catalog.go).
	listing *catalog.Listing
}

// New builds the site.
func New(o Options) *Site {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxFailures == 0 {
		o.MaxFailures = 5
	}
	if o.Window == 0 {
		o.Window = 15 * time.Minute
	}
	if o.Lockout == 0 {
		o.Lockout = 15 * time.Minute
	}
	s := &Site{o: o, web: webkit.New(webkit.Options{Prefix: "/", Cookie: "portal_session", DB: o.DB, TTL: o.SessionTTL,
		Now: o.Now, SignerURL: o.SignerURL, Proxies: o.Proxies, Log: o.Log})}
	s.tmpl = template.Must(template.Must(template.New("").Funcs(channelweb.Funcs()).ParseFS(channelweb.Partials, "web/*.html")).ParseFS(web, "web/*.html"))
	// The citizen's own applications, signed with the citizen's own certificate; after sending, the
	// application's page.
	s.pages = &channelweb.Pages[*user]{Desk: o.Desk, Web: s.web, Attachments: o.Attachments,
		Owner:    func(u *user) string { return u.IIN },
		Expect:   func(u *user) envelope.Expect { return envelope.Expect{IIN: u.IIN} },
		SignView: s.signView,
		Render:   s.render,
		Text:     func(r *http.Request, key string) string { return texts[webkit.Lang(r)][key] },
		Sent:     func(a *applicant.Application) string { return "/applications/" + a.ID + "?sent=1" }}
	s.listing = listing(s)
	return s
}

// Handler serves the portal.
func (s *Site) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /static/", s.web.Static())
	mux.HandleFunc("GET /lang/{lang}", s.web.SetLang)
	mux.HandleFunc("GET /{$}", s.home)
	mux.HandleFunc("GET /services", s.services)
	mux.HandleFunc("GET /catalog/{code}/{region}", s.servicePage)
	mux.HandleFunc("GET /verify", s.verify)
	mux.HandleFunc("GET /register", s.registerPage)
	// The forms posted before a session carry a pre-session token and must come from the portal itself
	// (login CSRF).
	mux.HandleFunc("POST /register", s.web.Guest(s.register))
	mux.HandleFunc("GET /login", s.loginPage)
	mux.HandleFunc("POST /login", s.web.Guest(s.login))
	mux.HandleFunc("POST /login/cert", s.web.Guest(s.loginCert))
	mux.HandleFunc("POST /logout", s.auth(s.logout))
	mux.HandleFunc("GET /cabinet", s.auth(s.cabinet))
	mux.HandleFunc("GET /services/{code}/{region}", s.auth(s.formPage))
	mux.HandleFunc("POST /services/{code}/{region}", s.draft)
	mux.HandleFunc("GET /applications/{id}/sign", s.auth(s.pages.SignPage))
	mux.HandleFunc("POST /applications/{id}/sign", s.auth(s.pages.Sign))
	mux.HandleFunc("GET /applications/{id}", s.auth(s.application))
	mux.HandleFunc("GET /applications/{id}/result", s.auth(s.pages.Result))
	mux.HandleFunc("GET /applications/{id}/events", s.auth(s.pages.Events))
	mux.HandleFunc("POST /applications/{id}/survey", s.auth(s.survey))
	mux.HandleFunc("GET /history", s.auth(s.history))
	mux.HandleFunc("GET /queue", s.auth(s.queue))
	mux.HandleFunc("GET /notifications", s.auth(s.notifications))
	return s.web.Secure(mux)
}

// user is the signed-in citizen.
type user struct {
	IIN  string
	Name string
	// Unread are the notices recorded since the citizen last opened «Уведомления» (the menu's count).
	Unread int
	seen   int64
	web    *webkit.Session
}

type authed func(w http.ResponseWriter, r *http.Request, u *user)

func (s *Site) auth(next authed) http.HandlerFunc { return s.authBody(0, next) }

// authBody is auth for a multipart POST of up to limit bytes (webkit.AuthBody).
func (s *Site) authBody(limit int64, next authed) http.HandlerFunc {
	return s.web.AuthBody("/login", limit, func(w http.ResponseWriter, r *http.Request, ws *webkit.Session) {
		u, err := s.user(r.Context(), ws)
		if err != nil {
			s.web.Fail(w, r, err)
			return
		}
		if u == nil {
			s.web.End(w, r)
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		next(w, r, u)
	})
}

func (s *Site) user(ctx context.Context, ws *webkit.Session) (*user, error) {
	u := &user{IIN: ws.Subject, web: ws}
	err := s.o.DB.QueryRow(ctx, `SELECT name, notices_seen FROM accounts WHERE iin = $1`, ws.Subject).Scan(&u.Name, &u.seen)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	u.Unread, _, err = s.o.Desk.Unread(ctx, u.IIN, u.seen)
	return u, err
}

func (s *Site) render(w http.ResponseWriter, r *http.Request, name string, status int, u *user, errText string, data any) {
	p := webkit.Page{T: texts[webkit.Lang(r)], Error: errText, Data: data, Guest: name == "login.html" || name == "register.html"}
	if u != nil {
		p.Session, p.User = u.web, u
	} else if ws, err := s.web.Session(r); err == nil && ws != nil {
		if u, err := s.user(r.Context(), ws); err == nil && u != nil {
			p.Session, p.User = ws, u
		}
	}
	if r.Method == http.MethodPost {
		p.Path = "/"
	}
	if m, ok := data.(map[string]any); ok { // a page named by what it shows (a service's page by the service)
		if t, ok := m["PageTitle"].(string); ok {
			p.Title = t
		}
	}
	s.web.Render(w, r, s.tmpl, name, status, p)
}

func (s *Site) home(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/services", http.StatusSeeOther)
}

// refusalText finds a refusal text of the catalogue by code (the passports share the regulations' texts).
func (s *Site) refusalText(code, lang string) string {
	for _, p := range s.o.Desk.Catalog().All() {
		for _, rf := range p.Refusals {
			if rf.Code == code {
				return webkit.Pick(lang, rf.Text.RU, rf.Text.KK)
			}
		}
	}
	return code
}

func (s *Site) registerPage(w http.ResponseWriter, r *http.Request) {
	s.renderRegister(w, r, http.StatusOK, "", "")
}

func (s *Site) renderRegister(w http.ResponseWriter, r *http.Request, status int, errText, value string) {
	s.renderWithChallenge(w, r, "register.html", "portal-register", status, errText, value)
}

// renderWithChallenge renders a page that signs a fresh one-time challenge of scope with the AUTH key
// (registration, certificate sign-in), with the IIN typed so far and an error, if any.
func (s *Site) renderWithChallenge(w http.ResponseWriter, r *http.Request, page, scope string, status int, errText, value string) {
	nonce, err := s.web.Challenge(r.Context(), scope)
	if err != nil {
		s.web.Fail(w, r, err)
		return
	}
	s.render(w, r, page, status, nil, errText, map[string]any{"IIN": value, "Challenge": nonce,
		"Challenge64": base64.StdEncoding.EncodeToString([]byte(nonce))})
}

// register opens an account as egov.kz does: the person proves the IIN with their authentication
// certificate (a one-time challenge signed through NCALayer, the certificate valid, not revoked, a
// person's and naming this very IIN), ГБД ФЛ knows the IIN, and the password (argon2id) is the way to
// sign in afterwards. Typing an IIN proves nothing: without the certificate, anyone could open the
// account of another person and read what that person later does on the portal.
func (s *Site) register(w http.ResponseWriter, r *http.Request) {
	l := webkit.Lang(r)
	t := texts[l]
	value := strings.TrimSpace(r.PostFormValue("iin"))
	again := func(status int, msg string) { s.renderRegister(w, r, status, msg, value) }
	if _, err := iin.Parse(value); err != nil {
		again(http.StatusUnprocessableEntity, t["err_iin"]+" ("+err.Error()+")")
		return
	}
	pw := r.PostFormValue("password")
	if msg := passwordProblem(pw, r.PostFormValue("confirm"), value, t); msg != "" {
		again(http.StatusUnprocessableEntity, msg)
		return
	}
	res, err := s.web.SignIn(r, s.o.Desk.Verifier(), envelope.Expect{})
	if err != nil {
		msg, status := webkit.SignInRefusal(err, l, t)
		reason, cert := envelope.Reason(err)
		switch {
		case msg == "":
			s.web.Fail(w, r, err)
		case errors.Is(err, webkit.ErrNoSignature):
			again(status, t["err_register_signature"])
		case cert && status == http.StatusUnprocessableEntity:
			again(status, s.refusalText("eds_not_confirmed", l)+" ("+reason+")")
		default:
			again(status, msg)
		}
		return
	}
	if res.Holder.BIN != "" || res.Holder.IIN == "" {
		again(http.StatusUnprocessableEntity, t["err_personal_cert"])
		return
	}
	if res.Holder.IIN != value {
		s.o.Log.InfoContext(r.Context(), "portal: registration refused: the certificate names another IIN",
			"iin", iin.Mask(value), "certificate_iin", iin.Mask(res.Holder.IIN))
		again(http.StatusUnprocessableEntity, t["err_register_iin"])
		return
	}
	person, err := s.o.Persons.Person(r.Context(), value)
	if errors.Is(err, registries.ErrNoRecord) {
		s.o.Log.InfoContext(r.Context(), "portal: registration refused: not in ГБД ФЛ", "iin", iin.Mask(value))
		again(http.StatusUnprocessableEntity, s.refusalText("auth_refused", l)+": "+webkit.Pick(l,
			"ИИН отсутствует в Государственной базе данных «Физические лица»", "ЖСН «Жеке тұлғалар» мемлекеттік деректер қорында жоқ"))
		return
	}
	if err != nil {
		s.o.Log.WarnContext(r.Context(), "portal: ГБД ФЛ look-up failed", "error", err)
		again(http.StatusServiceUnavailable, t["err_registry"])
		return
	}
	// An account the owner already proved and gave a password stays as it is; one opened by a
	// certificate sign-in gets its password; one opened before registration asked for proof is taken
	// over by the proven owner (whoever set its password could not prove the IIN).
	tag, err := s.o.DB.Exec(r.Context(), `INSERT INTO accounts (iin, password_hash, name, created_at, identity_proven) VALUES ($1, $2, $3, $4, true)
		ON CONFLICT (iin) DO UPDATE SET password_hash = excluded.password_hash, identity_proven = true
		WHERE accounts.password_hash = '' OR NOT accounts.identity_proven`,
		value, hashPassword(pw), personName(person), s.o.Now())
	if err != nil {
		s.web.Fail(w, r, err)
		return
	}
	if tag.RowsAffected() == 0 {
		again(http.StatusConflict, t["err_exists"])
		return
	}
	// Sessions begun with a password the owner did not set end now.
	if _, err := s.o.DB.Exec(r.Context(), `DELETE FROM sessions WHERE subject = $1 AND scope = 'password'`, value); err != nil {
		s.web.Fail(w, r, err)
		return
	}
	s.o.Log.InfoContext(r.Context(), "portal: account opened, the IIN proven by the authentication certificate", "iin", iin.Mask(value))
	s.begin(w, r, value, "password")
}

func personName(p *gbdflv1.Person) string {
	return strings.TrimSpace(p.GetSurname() + " " + p.GetName() + " " + p.GetPatronymic())
}

func (s *Site) begin(w http.ResponseWriter, r *http.Request, subject, how string) {
	if err := s.web.Begin(w, r, subject, how); err != nil {
		s.web.Fail(w, r, err)
		return
	}
	_, _ = s.o.DB.Exec(r.Context(), `UPDATE accounts SET last_sign_in_at = $2 WHERE iin = $1`, subject, s.o.Now())
	http.Redirect(w, r, "/cabinet", http.StatusSeeOther)
}

func (s *Site) loginPage(w http.ResponseWriter, r *http.Request) {
	s.renderLogin(w, r, http.StatusOK, "", "")
}

func (s *Site) renderLogin(w http.ResponseWriter, r *http.Request, status int, errText, value string) {
	s.renderWithChallenge(w, r, "login.html", "portal-login", status, errText, value)
}

// login signs in by IIN and password, throttled per account and client address and per client address
// (throttle.go); an account whose IIN was never proven by its owner's certificate does not open by a
// password.
func (s *Site) login(w http.ResponseWriter, r *http.Request) {
	l := webkit.Lang(r)
	t := texts[l]
	value := strings.TrimSpace(r.PostFormValue("iin"))
	if _, err := iin.Parse(value); err != nil {
		s.renderLogin(w, r, http.StatusUnprocessableEntity, t["err_iin"], value)
		return
	}
	keys, err := s.throttleKeys(r, value)
	if err != nil {
		s.web.Fail(w, r, err)
		return
	}
	wait, err := s.reserve(r.Context(), keys)
	if err != nil {
		s.web.Fail(w, r, err)
		return
	}
	if wait > 0 {
		s.o.Log.InfoContext(r.Context(), "portal: sign-in throttled", "iin", iin.Mask(value), "wait", wait)
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Round(time.Second)/time.Second)))
		s.renderLogin(w, r, http.StatusTooManyRequests, t["err_locked"]+" "+webkit.Pick(l, "Подождите ", "Күтіңіз: ")+
			waitText(wait, l)+".", value)
		return
	}
	var hash string
	var proven bool
	err = s.o.DB.QueryRow(r.Context(), `SELECT password_hash, identity_proven FROM accounts WHERE iin = $1`, value).Scan(&hash, &proven)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		s.web.Fail(w, r, err)
		return
	}
	ok := false
	if hash != "" {
		if ok, err = checkPassword(hash, r.PostFormValue("password")); err != nil {
			s.web.Fail(w, r, err)
			return
		}
	} else {
		// No such account (or certificate-only): spend the same time, so the answer does not tell.
		_, _ = checkPassword(dummyHash, r.PostFormValue("password"))
	}
	if !ok {
		// The attempt was counted when it was reserved.
		s.renderLogin(w, r, http.StatusUnauthorized, t["err_credentials"], value)
		return
	}
	if !proven {
		// The password is right, but whoever set it never proved the IIN: only the owner's certificate
		// opens this account now (and voids that password). The attempt stays counted, and the browser
		// does not become a known device of the account.
		s.o.Log.InfoContext(r.Context(), "portal: password sign-in to an unproven account refused", "iin", iin.Mask(value))
		s.renderLogin(w, r, http.StatusForbidden, t["err_unproven"], value)
		return
	}
	if err := s.succeed(w, r, value, keys); err != nil {
		s.web.Fail(w, r, err)
		return
	}
	s.begin(w, r, value, "password")
}

var dummyHash = hashPassword("not a password of anyone")

// loginCert signs in with the authentication certificate: a one-time challenge signed through NCALayer.
// A person ГБД ФЛ knows gets an account on first sign-in.
func (s *Site) loginCert(w http.ResponseWriter, r *http.Request) {
	l := webkit.Lang(r)
	t := texts[l]
	res, err := s.web.SignIn(r, s.o.Desk.Verifier(), envelope.Expect{})
	if err != nil {
		msg, status := webkit.SignInRefusal(err, l, t)
		reason, cert := envelope.Reason(err)
		switch {
		case msg == "":
			s.web.Fail(w, r, err)
		case cert && status == http.StatusUnprocessableEntity: // the certificate fails: the regulation's condition-2 text
			s.renderLogin(w, r, status, s.refusalText("eds_not_confirmed", l)+" ("+reason+")", "")
		default:
			s.renderLogin(w, r, status, msg, "")
		}
		return
	}
	if res.Holder.BIN != "" || res.Holder.IIN == "" {
		s.renderLogin(w, r, http.StatusUnprocessableEntity, t["err_personal_cert"], "")
		return
	}
	var exists, proven bool
	err = s.o.DB.QueryRow(r.Context(), `SELECT true, identity_proven FROM accounts WHERE iin = $1`, res.Holder.IIN).Scan(&exists, &proven)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		s.web.Fail(w, r, err)
		return
	}
	if exists && !proven {
		// Opened before registration asked for the certificate, by whoever typed this IIN: the owner is
		// here now, so the password someone set and the sessions it began are void, and the account is
		// the owner's alone.
		if err := s.takeOver(r.Context(), res.Holder.IIN); err != nil {
			s.web.Fail(w, r, err)
			return
		}
		s.o.Log.InfoContext(r.Context(), "portal: an unproven account taken over by its certificate holder", "iin", iin.Mask(res.Holder.IIN))
	}
	if !exists {
		person, err := s.o.Persons.Person(r.Context(), res.Holder.IIN)
		if errors.Is(err, registries.ErrNoRecord) {
			s.renderLogin(w, r, http.StatusUnprocessableEntity, s.refusalText("auth_refused", l), "")
			return
		}
		if err != nil {
			s.o.Log.WarnContext(r.Context(), "portal: ГБД ФЛ look-up failed", "error", err)
			s.renderLogin(w, r, http.StatusServiceUnavailable, t["err_registry"], "")
			return
		}
		if _, err := s.o.DB.Exec(r.Context(), `INSERT INTO accounts (iin, name, created_at, identity_proven) VALUES ($1, $2, $3, true) ON CONFLICT DO NOTHING`,
			res.Holder.IIN, personName(person), s.o.Now()); err != nil {
			s.web.Fail(w, r, err)
			return
		}
	}
	s.o.Log.InfoContext(r.Context(), "portal: signed in by certificate", "iin", iin.Mask(res.Holder.IIN))
	s.begin(w, r, res.Holder.IIN, "certificate")
}

// takeOver voids the password of an unproven account and the sessions begun with it.
func (s *Site) takeOver(ctx context.Context, iinValue string) error {
	return pgx.BeginFunc(ctx, s.o.DB, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE accounts SET password_hash = '', identity_proven = true WHERE iin = $1 AND NOT identity_proven`, iinValue); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM sessions WHERE subject = $1 AND scope = 'password'`, iinValue)
		return err
	})
}

func (s *Site) logout(w http.ResponseWriter, r *http.Request, _ *user) {
	s.web.End(w, r)
	http.Redirect(w, r, "/services", http.StatusSeeOther)
}

func (s *Site) cabinet(w http.ResponseWriter, r *http.Request, u *user) {
	apps, err := s.o.Desk.List(r.Context(), u.IIN, 5)
	if err != nil {
		s.web.Fail(w, r, err)
		return
	}
	notices, err := s.o.Desk.Notices(r.Context(), u.IIN, 5)
	if err != nil {
		s.web.Fail(w, r, err)
		return
	}
	s.render(w, r, "cabinet.html", http.StatusOK, u, "", map[string]any{"Applications": s.rows(r, apps), "Notices": s.notices(r, notices),
		"MaskedIIN": iin.Mask(u.IIN)})
}

// row is an application in a list.
type row struct {
	*applicant.Application
	Service string
}

func (s *Site) rows(r *http.Request, apps []*applicant.Application) []row {
	l := webkit.Lang(r)
	out := make([]row, 0, len(apps))
	for _, a := range apps {
		x := row{Application: a, Service: a.ServiceCode}
		if p, ok := s.o.Desk.Catalog().Get(a.ServiceCode, a.Region); ok {
			x.Service = webkit.Pick(l, p.Name.RU, p.Name.KK)
		}
		out = append(out, x)
	}
	return out
}

type noticeRow struct {
	applicant.Notice
	Service string
	Unread  bool
}

func (s *Site) notices(r *http.Request, ns []applicant.Notice) []noticeRow {
	l := webkit.Lang(r)
	out := make([]noticeRow, 0, len(ns))
	for _, n := range ns {
		x := noticeRow{Notice: n, Service: n.ServiceCode}
		if p, ok := s.o.Desk.Catalog().Get(n.ServiceCode, n.Region); ok {
			x.Service = webkit.Pick(l, p.Name.RU, p.Name.KK)
		}
		out = append(out, x)
	}
	return out
}

func (s *Site) history(w http.ResponseWriter, r *http.Request, u *user) {
	apps, err := s.o.Desk.List(r.Context(), u.IIN, 200)
	if err != nil {
		s.web.Fail(w, r, err)
		return
	}
	s.render(w, r, "history.html", http.StatusOK, u, "", map[string]any{"Applications": s.rows(r, apps)})
}

// waitingRow is a child in a waiting list: the application, the child's IIN (masked) and birth date
// (from the IIN's digits: the portal asks no register to draw the page), and the child's places.
type waitingRow struct {
	row
	ChildIIN  string
	BirthDate time.Time
	Places    []placeRow
}

// placeRow is one status that gave a place, with how many places the child moved up since the one before
// (0 for the first).
type placeRow struct {
	At     time.Time
	Status string
	Queue  *applicant.Place
	Moved  int64
}

// queue is «Просмотр номера очереди»: the signed-in citizen's children in waiting lists (ИС Е-Астана's
// kindergarten queue), each with the newest place and its movement, newest application first.
func (s *Site) queue(w http.ResponseWriter, r *http.Request, u *user) {
	ws, err := s.o.Desk.Waiting(r.Context(), u.IIN, 100)
	if err != nil {
		s.web.Fail(w, r, err)
		return
	}
	out := make([]waitingRow, 0, len(ws))
	for _, x := range ws {
		child := x.Doc.GetFields()["child_iin"]
		wr := waitingRow{row: s.rows(r, []*applicant.Application{x.Application})[0], ChildIIN: iin.Mask(child)}
		wr.BirthDate, _ = iin.IIN(child).BirthDate()
		for i, p := range x.Places {
			pr := placeRow{At: p.At, Status: p.Status, Queue: p.Queue}
			if i > 0 {
				pr.Moved = x.Places[i-1].Queue.Ahead - p.Queue.Ahead
			}
			wr.Places = append(wr.Places, pr)
		}
		out = append(out, wr)
	}
	s.render(w, r, "queue.html", http.StatusOK, u, "", map[string]any{"Children": out})
}

// notifications lists the citizen's notices, newest first, the unread ones marked; from then on they
// count as read.
func (s *Site) notifications(w http.ResponseWriter, r *http.Request, u *user) {
	_, newest, err := s.o.Desk.Unread(r.Context(), u.IIN, u.seen)
	if err != nil {
		s.web.Fail(w, r, err)
		return
	}
	ns, err := s.o.Desk.Notices(r.Context(), u.IIN, 200)
	if err != nil {
		s.web.Fail(w, r, err)
		return
	}
	if _, err := s.o.DB.Exec(r.Context(), `UPDATE accounts SET notices_seen = greatest(notices_seen, $2) WHERE iin = $1`, u.IIN, newest); err != nil {
		s.web.Fail(w, r, err)
		return
	}
	rows := s.notices(r, ns)
	unread := u.Unread
	for i := range rows {
		rows[i].Unread = rows[i].Recorded > u.seen
	}
	u.Unread = 0
	s.render(w, r, "notifications.html", http.StatusOK, u, "", map[string]any{"Notices": rows, "Unread": unread})
}

func (s *Site) passport(w http.ResponseWriter, r *http.Request) (*catalog.Passport, bool) {
	p, ok := s.o.Desk.Catalog().Get(r.PathValue("code"), r.PathValue("region"))
	if !ok || !s.offered(p) {
		http.NotFound(w, r)
		return nil, false
	}
	return p, true
}

func (s *Site) offered(p *catalog.Passport) bool {
	for _, x := range s.o.Desk.Passports() {
		if x == p {
			return true
		}
	}
	return false
}

func (s *Site) formPage(w http.ResponseWriter, r *http.Request, u *user) {
	p, ok := s.passport(w, r)
	if !ok {
		return
	}
	s.renderForm(w, r, u, p, http.StatusOK, nil, nil)
}

func (s *Site) renderForm(w http.ResponseWriter, r *http.Request, u *user, p *catalog.Passport, status int, values map[string]string, problems []string) {
	l := webkit.Lang(r)
	fields, docs := channelweb.Form(p, "portal", l, values, map[string]string{"applicant_iin": u.IIN})
	s.render(w, r, "form.html", status, u, "", map[string]any{"Passport": p, "Name": webkit.Pick(l, p.Name.RU, p.Name.KK),
		"Provider": webkit.Pick(l, p.Provider.Name.RU, p.Provider.Name.KK), "Fields": fields, "Docs": docs,
		"Problems": problems, "MaxMB": s.o.Attachments.MaxSize >> 20})
}

// draft takes the form (multipart, with the attachments), checks it against the passport and records a
// draft for signing. The session and the request's origin are checked before the body is read, and the
// body is bounded (webkit.AuthBody).
func (s *Site) draft(w http.ResponseWriter, r *http.Request) {
	s.authBody(8*s.o.Attachments.MaxSize+1<<20, func(w http.ResponseWriter, r *http.Request, u *user) {
		p, ok := s.passport(w, r)
		if !ok {
			return
		}
		values := channelweb.ReadFields(p, "portal", r, map[string]string{"applicant_iin": u.IIN})
		id, problems, err := s.pages.Draft(r, u, p, u.IIN, values, false)
		if err != nil {
			s.web.Fail(w, r, err)
			return
		}
		if len(problems) > 0 {
			s.renderForm(w, r, u, p, http.StatusUnprocessableEntity, values, problems)
			return
		}
		http.Redirect(w, r, "/applications/"+id+"/sign", http.StatusSeeOther)
	})(w, r)
}

// signView is what the portal's signing page shows beside the bytes: the form as filled and the
// attachments.
func (s *Site) signView(r *http.Request, a *applicant.Application) (map[string]any, error) {
	l := webkit.Lang(r)
	p, ok := s.o.Desk.Catalog().Get(a.ServiceCode, a.Region)
	if !ok {
		return nil, fmt.Errorf("portal: no passport %s/%s", a.ServiceCode, a.Region)
	}
	fields, docs := channelweb.Form(p, "portal", l, a.Doc.GetFields(), nil)
	return map[string]any{"App": a, "Name": webkit.Pick(l, p.Name.RU, p.Name.KK),
		"Fields": fields, "Docs": docs, "Submitted": a.Doc.GetDocuments(), "Content64": base64.StdEncoding.EncodeToString(a.Content)}, nil
}

func (s *Site) application(w http.ResponseWriter, r *http.Request, u *user) {
	s.showApplication(w, r, u, http.StatusOK, "")
}

func (s *Site) showApplication(w http.ResponseWriter, r *http.Request, u *user, status int, errText string) {
	a, ok := s.pages.Load(w, r, u)
	if !ok {
		return
	}
	l := webkit.Lang(r)
	statuses, err := s.o.Desk.Statuses(r.Context(), a.ID)
	if err != nil {
		s.web.Fail(w, r, err)
		return
	}
	var survey struct{ Quality, Accessibility string }
	err = s.o.DB.QueryRow(r.Context(), `SELECT quality, accessibility FROM surveys WHERE application_id = $1`, a.ID).Scan(&survey.Quality, &survey.Accessibility)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		s.web.Fail(w, r, err)
		return
	}
	p, _ := s.o.Desk.Catalog().Get(a.ServiceCode, a.Region)
	name := a.ServiceCode
	if p != nil {
		name = webkit.Pick(l, p.Name.RU, p.Name.KK)
	}
	page := map[string]any{"App": a, "Name": name, "Statuses": statuses, "Result": channelweb.Result(r.Context(), s.o.Desk, a, "/applications/"+a.ID+"/result"),
		"Survey": survey, "Sent": r.URL.Query().Get("sent") != "", "AfterRefusal": channelweb.AfterRefusal(s.o.Desk, a)}
	s.render(w, r, "application.html", status, u, errText, page)
}

// survey records the two answers of приложение 5, once, after a result.
func (s *Site) survey(w http.ResponseWriter, r *http.Request, u *user) {
	a, ok := s.pages.Load(w, r, u)
	if !ok {
		return
	}
	t := texts[webkit.Lang(r)]
	q, acc := r.PostFormValue("quality"), r.PostFormValue("accessibility")
	valid := func(v string) bool { return v == "1" || v == "2" || v == "3" }
	if !a.Closed() || len(a.ResultContent) == 0 && a.Status != applicant.StatusRefused {
		s.showApplication(w, r, u, http.StatusConflict, t["err_survey"])
		return
	}
	if !valid(q) || !valid(acc) {
		s.showApplication(w, r, u, http.StatusUnprocessableEntity, t["err_survey"])
		return
	}
	tag, err := s.o.DB.Exec(r.Context(), `INSERT INTO surveys (application_id, quality, accessibility, at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
		a.ID, q, acc, s.o.Now())
	if err != nil {
		s.web.Fail(w, r, err)
		return
	}
	if tag.RowsAffected() == 0 {
		s.showApplication(w, r, u, http.StatusConflict, t["err_survey_twice"])
		return
	}
	http.Redirect(w, r, "/applications/"+a.ID, http.StatusSeeOther)
}
