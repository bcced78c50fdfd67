// Package mio is ИС Е-Астана's working cabinet of МИО employees (рабочий кабинет сотрудника МИО, the
// akimat's education department): an employee signs in with their authentication certificate (a
// challenge signed through NCALayer, so the key never leaves the employee's machine) and, if on the
// system's staff, keeps the kindergartens' places (release places of a group: each goes at once to the
// first fitting child of the queue), registers the referrals at a kindergarten or their refusal, finds a
// child's place in the queue by IIN, decides the applications received (signs the drafted ticket,
// referral or refusal with their ЭЦП, or refuses with a motivation) and takes applications in person.
// Pages are server-rendered under /mio/, in Russian (default) and Kazakh, with the suite's web machinery
// (internal/webkit), as АРМ РШЭП does for the regions' civil servants.
package mio

import (
	"embed"
	"encoding/base64"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/applicant/channelweb"
	"github.com/egov-suite/egov/internal/catalog"
	"github.com/egov-suite/egov/internal/iin"
	"github.com/egov-suite/egov/internal/webkit"
	"github.com/egov-suite/egov/services/eastana/internal/intake"
	"github.com/egov-suite/egov/services/eastana/internal/store"
)

//go:embed web
var web embed.FS

// Prefix is the path the cabinet is served under.
const Prefix = "/mio/"

// Options build the cabinet.
type Options struct {
	Store *store.Store
	DB    *pgxpool.Pool
	// Verifier checks the employees' signatures (sign-in, the signed applications of the in-person
	// intake): НУЦ's trust anchors and certificate status, as for every signature the system takes.
	Verifier   *envelope.Verifier
	Now        func() time.Time
	Log        *slog.Logger
	SessionTTL time.Duration
	// SignerURL is NCALayer's address for the pages (webkit.DefaultSignerURL when empty).
	SignerURL string
	// Proxies are the trusted reverse proxies (EGOV_TRUSTED_PROXIES).
	Proxies webkit.Proxies
	// Catalog holds the passport of the in-person intake (preschool-registration.71).
	Catalog *catalog.Catalog
	// Intake is ИС Е-Астана's applications: the staff, the cases and their decisions, and the
	// applications taken in person.
	Intake *intake.Intake
	// ScanMax bounds the scan of a paper application (10 MB when zero).
	ScanMax int64
}

// Cabinet is the working cabinet.
type Cabinet struct {
	o    Options
	site *webkit.Site
	tmpl *template.Template
}

// New builds the cabinet.
func New(o Options) *Cabinet {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ScanMax == 0 {
		o.ScanMax = 10 << 20
	}
	c := &Cabinet{o: o, site: webkit.New(webkit.Options{Prefix: Prefix, Cookie: "mio_session", DB: o.DB, TTL: o.SessionTTL,
		Now: o.Now, SignerURL: o.SignerURL, Proxies: o.Proxies, Log: o.Log})}
	fm := webkit.Funcs()
	for k, f := range channelweb.Funcs() {
		fm[k] = f
	}
	for k, f := range funcs() {
		fm[k] = f
	}
	c.tmpl = template.Must(template.Must(template.New("").Funcs(fm).ParseFS(channelweb.Partials, "web/*.html")).ParseFS(web, "web/*.html"))
	return c
}

// Handler serves the cabinet under /mio/.
func (c *Cabinet) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /mio/static/", c.site.Static())
	mux.HandleFunc("GET /mio/lang/{lang}", c.site.SetLang)
	mux.HandleFunc("GET /mio/login", c.loginPage)
	mux.HandleFunc("POST /mio/login", c.site.Guest(c.login))
	mux.HandleFunc("POST /mio/logout", c.auth(c.logout))
	mux.HandleFunc("GET /mio/places", c.auth(c.places))
	mux.HandleFunc("POST /mio/groups/{id}/release", c.auth(c.release))
	mux.HandleFunc("GET /mio/referrals", c.auth(c.referrals))
	mux.HandleFunc("POST /mio/referrals/{id}/{act}", c.auth(c.closeReferral))
	mux.HandleFunc("GET /mio/child", c.auth(c.childForm))
	mux.HandleFunc("POST /mio/child", c.auth(c.child))
	mux.HandleFunc("GET /mio/office", c.auth(c.officeForm))
	// The scan and the form's fields, with room for the multipart encoding.
	mux.HandleFunc("POST /mio/office", c.authBody(c.o.ScanMax+1<<20, c.officeDraft))
	mux.HandleFunc("POST /mio/office/sign", c.auth(c.officeSign))
	c.routeCases(mux)
	return c.site.Secure(mux)
}

// sessionScope marks the sessions of the working cabinet in the sessions table eastana's two cabinets
// share.
const sessionScope = "mio"

// session is a signed-in employee.
type session struct {
	intake.Employee
	web *webkit.Session
}

type authed func(w http.ResponseWriter, r *http.Request, s *session)

// auth requires a session of an employee still on the staff (one taken off the staff is signed out at
// the next page), and the CSRF token on every POST.
func (c *Cabinet) auth(next authed) http.HandlerFunc {
	return c.authBody(0, next)
}

// authBody is auth for a multipart form of up to limit bytes (the scan of a paper application).
func (c *Cabinet) authBody(limit int64, next authed) http.HandlerFunc {
	return c.site.AuthBody(Prefix+"login", limit, func(w http.ResponseWriter, r *http.Request, ws *webkit.Session) {
		if ws.Scope != sessionScope {
			// A session of the citizen's cabinet (the same table, another cookie) opens nothing here.
			c.site.End(w, r)
			http.Redirect(w, r, Prefix+"login", http.StatusSeeOther)
			return
		}
		e, err := c.o.Intake.Employee(r.Context(), ws.Subject)
		if errors.Is(err, intake.ErrNotStaff) {
			c.site.End(w, r)
			http.Redirect(w, r, Prefix+"login", http.StatusSeeOther)
			return
		}
		if err != nil {
			c.site.Fail(w, r, err)
			return
		}
		next(w, r, &session{Employee: e, web: ws})
	})
}

func (c *Cabinet) render(w http.ResponseWriter, r *http.Request, name string, status int, s *session, errText, notice string, data any) {
	p := webkit.Page{T: texts[webkit.Lang(r)], Path: r.URL.Path, Error: errText, Notice: notice, Data: data, Guest: name == "login.html"}
	if s != nil {
		p.Session, p.User = s.web, s
	}
	c.site.Render(w, r, c.tmpl, name, status, p)
}

func (c *Cabinet) loginPage(w http.ResponseWriter, r *http.Request) {
	c.renderLogin(w, r, http.StatusOK, "")
}

func (c *Cabinet) renderLogin(w http.ResponseWriter, r *http.Request, status int, errText string) {
	nonce, err := c.site.Challenge(r.Context(), "mio-login")
	if err != nil {
		c.site.Fail(w, r, err)
		return
	}
	c.render(w, r, "login.html", status, nil, errText, "", map[string]any{"Challenge": nonce,
		"Challenge64": base64.StdEncoding.EncodeToString([]byte(nonce))})
}

// login checks the signed challenge: an authentication certificate (condition 1 of the regulation's
// МИО channel) whose holder is on ИС Е-Астана's staff; anyone else is refused with the regulation's text.
func (c *Cabinet) login(w http.ResponseWriter, r *http.Request) {
	l := webkit.Lang(r)
	t := texts[l]
	res, err := c.site.SignIn(r, c.o.Verifier, envelope.Expect{})
	if err != nil {
		msg, status := webkit.SignInRefusal(err, l, t)
		if msg == "" {
			c.site.Fail(w, r, err)
			return
		}
		c.renderLogin(w, r, status, msg)
		return
	}
	_, err = c.o.Intake.Employee(r.Context(), res.Holder.IIN)
	if errors.Is(err, intake.ErrNotStaff) || res.Holder.IIN == "" {
		c.o.Log.InfoContext(r.Context(), "mio: sign-in refused: not on the staff", "iin", iin.Mask(res.Holder.IIN))
		c.renderLogin(w, r, http.StatusForbidden, t["err_not_staff"])
		return
	}
	if err != nil {
		c.site.Fail(w, r, err)
		return
	}
	if err := c.site.Begin(w, r, res.Holder.IIN, sessionScope); err != nil {
		c.site.Fail(w, r, err)
		return
	}
	c.o.Log.InfoContext(r.Context(), "mio: signed in", "iin", iin.Mask(res.Holder.IIN))
	http.Redirect(w, r, Prefix, http.StatusSeeOther)
}

func (c *Cabinet) logout(w http.ResponseWriter, r *http.Request, _ *session) {
	c.site.End(w, r)
	http.Redirect(w, r, Prefix+"login", http.StatusSeeOther)
}

// userError is the text of a store's error meant for the employee, in the request's language; ok is
// false for a failure of the system's own.
func userError(r *http.Request, err error) (string, bool) {
	text, ok := store.Message(err)
	if !ok {
		return "", false
	}
	return webkit.Pick(webkit.Lang(r), text.RU, text.KK), true
}

// digits keeps an IIN as typed, without the spaces people put in.
func digits(s string) string { return strings.Join(strings.Fields(s), "") }
