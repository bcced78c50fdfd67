// Package cabinet is ИС Е-Астана's citizen's personal cabinet (личный кабинет), the fourth channel of
// the Astana passport (`eastana`, the contract's CHANNEL_EASTANA): sign-in by the citizen's
// authentication certificate through NCALayer, the passport's form, the application signed with the
// citizen's own ЭЦП, and «Мои заявления» with every status, the signed result documents and the child's
// place in the queue. It is the provider's own site: a signed application goes straight to the queue's
// intake (intake.Receive with the local origin), never through ШЭП. Pages are server-rendered, in Russian
// (default) and Kazakh, with the shared web machinery (internal/webkit).
package cabinet

import (
	"context"
	"embed"
	"encoding/base64"
	"html/template"
	"log/slog"
	"net/http"
	"slices"
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

//go:embed web/*.html
var web embed.FS

// Channel is the passport's name of this channel.
const Channel = "eastana"

// Options build the cabinet.
type Options struct {
	// Intake takes the signed applications and answers what became of them.
	Intake *intake.Intake
	// Store gives the child's place in the queue and its movement.
	Store *store.Store
	// Catalog holds the passports; the cabinet offers those of Region whose provider is Participant and
	// whose channels include Channel.
	Catalog     *catalog.Catalog
	Region      string
	Participant string
	// Verifier checks the citizen's signatures (sign-in and the application): НУЦ's chain, validity and
	// revocation.
	Verifier   *envelope.Verifier
	DB         *pgxpool.Pool
	Now        func() time.Time
	Log        *slog.Logger
	SessionTTL time.Duration
	SignerURL  string
	Proxies    webkit.Proxies
}

// Site is the personal cabinet.
type Site struct {
	o    Options
	web  *webkit.Site
	tmpl *template.Template
}

// New builds the cabinet.
func New(o Options) *Site {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SessionTTL == 0 {
		o.SessionTTL = 30 * time.Minute
	}
	s := &Site{o: o, web: webkit.New(webkit.Options{Prefix: "/", Cookie: "eastana_session", DB: o.DB, TTL: o.SessionTTL,
		Now: o.Now, SignerURL: o.SignerURL, Proxies: o.Proxies, Log: o.Log})}
	funcs := channelweb.Funcs()
	funcs["statusName"], funcs["eventName"] = statusName, eventName
	s.tmpl = template.Must(template.Must(template.New("").Funcs(funcs).ParseFS(channelweb.Partials, "web/*.html")).ParseFS(web, "web/*.html"))
	return s
}

// Handler serves the cabinet under "/".
func (s *Site) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /static/", s.web.Static())
	mux.HandleFunc("GET /lang/{lang}", s.web.SetLang)
	mux.HandleFunc("GET /{$}", s.home)
	mux.HandleFunc("GET /login", s.loginPage)
	// Posted before a session: a pre-session token and the cabinet's own origin (login CSRF).
	mux.HandleFunc("POST /login", s.web.Guest(s.login))
	mux.HandleFunc("POST /logout", s.auth(s.logout))
	mux.HandleFunc("GET /apply", s.auth(s.services))
	mux.HandleFunc("GET /apply/{code}", s.auth(s.formPage))
	mux.HandleFunc("POST /apply/{code}", s.auth(s.draft))
	mux.HandleFunc("POST /apply/{code}/sign", s.auth(s.sign))
	s.mountApplications(mux)
	return s.web.Secure(mux)
}

// user is the signed-in citizen: the IIN and the name of the authentication certificate.
type user struct {
	IIN  string
	Name string
	web  *webkit.Session
}

type authed func(w http.ResponseWriter, r *http.Request, u *user)

// scope marks the sessions of this cabinet in the schema's sessions table, which the МИО working cabinet
// shares: a session the other cabinet began (its token carried over in this cabinet's cookie) opens
// nothing here.
const scope = "citizen:"

func (s *Site) auth(next authed) http.HandlerFunc {
	return s.web.Auth("/login", func(w http.ResponseWriter, r *http.Request, ws *webkit.Session) {
		name, ok := strings.CutPrefix(ws.Scope, scope)
		if !ok {
			s.web.End(w, r)
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		next(w, r, &user{IIN: ws.Subject, Name: name, web: ws})
	})
}

func (s *Site) render(w http.ResponseWriter, r *http.Request, name string, status int, u *user, errText string, data any) {
	p := webkit.Page{T: texts[webkit.Lang(r)], Error: errText, Data: data, Guest: name == "login.html"}
	if u != nil {
		p.Session, p.User = u.web, u
	}
	if r.Method == http.MethodPost {
		// A page drawn for a POST is not a place the language links can return to.
		p.Path = "/"
	}
	s.web.Render(w, r, s.tmpl, name, status, p)
}

func (s *Site) home(w http.ResponseWriter, r *http.Request) {
	ws, err := s.web.Session(r)
	if err != nil {
		s.web.Fail(w, r, err)
		return
	}
	if ws == nil {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/applications", http.StatusSeeOther)
}

// passports are the passports the cabinet offers.
func (s *Site) passports() []*catalog.Passport {
	var out []*catalog.Passport
	for _, p := range s.o.Catalog.All() {
		if p.Region == s.o.Region && p.Provider.Participant == s.o.Participant && slices.Contains(p.Channels, Channel) {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b *catalog.Passport) int {
		if a.Code < b.Code {
			return -1
		}
		if a.Code > b.Code {
			return 1
		}
		return 0
	})
	return out
}

// passport is the offered passport of code, or nil.
func (s *Site) passport(code string) *catalog.Passport {
	for _, p := range s.passports() {
		if p.Code == code {
			return p
		}
	}
	return nil
}

// refusalText is a passport's refusal text of code in lang (the regulation's words).
func refusalText(p *catalog.Passport, code, lang string) string {
	for _, rf := range p.Refusals {
		if rf.Code == code {
			return webkit.Pick(lang, rf.Text.RU, rf.Text.KK)
		}
	}
	return webkit.Pick(lang, "отказ в запрашиваемой электронной государственной услуге", "сұратылған электрондық мемлекеттік қызметтен бас тарту")
}

func (s *Site) loginPage(w http.ResponseWriter, r *http.Request) {
	s.renderLogin(w, r, http.StatusOK, "")
}

// renderLogin draws the sign-in page with a fresh one-time challenge for the AUTH key to sign.
func (s *Site) renderLogin(w http.ResponseWriter, r *http.Request, status int, errText string) {
	nonce, err := s.web.Challenge(r.Context(), "eastana-login")
	if err != nil {
		s.web.Fail(w, r, err)
		return
	}
	s.render(w, r, "login.html", status, nil, errText, map[string]any{"Challenge": nonce,
		"Challenge64": base64.StdEncoding.EncodeToString([]byte(nonce))})
}

// authRefused is the regulation's refusal of authorisation (condition 1 of the ИС Е-Астана channel).
var authRefused = map[string]string{
	"ru": "Отказ в авторизации в связи с имеющимися нарушениями в данных потребителя",
	"kk": "Тұтынушының деректеріндегі бұзушылықтарға байланысты авторизациядан бас тарту",
}

// login signs the citizen in with the authentication certificate: a one-time challenge signed through
// NCALayer, the certificate an individual's, НУЦ's, valid and not revoked. The regulation has IIN and
// password (condition 1); the suite proves identity by the certificate first, as the portal does, and
// keeps no passwords here (README, «Decisions»). What fails is refused with the regulation's words and
// the exact reason.
func (s *Site) login(w http.ResponseWriter, r *http.Request) {
	l := webkit.Lang(r)
	t := texts[l]
	res, err := s.web.SignIn(r, s.o.Verifier, envelope.Expect{})
	if err != nil {
		msg, status := webkit.SignInRefusal(err, l, t)
		reason, cert := envelope.Reason(err)
		switch {
		case msg == "":
			s.web.Fail(w, r, err)
		case cert && status == http.StatusUnprocessableEntity:
			s.renderLogin(w, r, status, authRefused[l]+": "+msg+" ("+reason+")")
		default:
			s.renderLogin(w, r, status, msg)
		}
		return
	}
	if res.Holder.BIN != "" || res.Holder.IIN == "" {
		s.renderLogin(w, r, http.StatusUnprocessableEntity, authRefused[l]+": "+t["err_personal_cert"])
		return
	}
	if err := s.web.Begin(w, r, res.Holder.IIN, scope+res.Holder.Name); err != nil {
		s.web.Fail(w, r, err)
		return
	}
	s.o.Log.InfoContext(r.Context(), "eastana cabinet: signed in by certificate", "iin", iin.Mask(res.Holder.IIN))
	http.Redirect(w, r, "/applications", http.StatusSeeOther)
}

func (s *Site) logout(w http.ResponseWriter, r *http.Request, _ *user) {
	s.web.End(w, r)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func (s *Site) services(w http.ResponseWriter, r *http.Request, u *user) {
	ps := s.passports()
	if len(ps) == 1 {
		http.Redirect(w, r, "/apply/"+ps[0].Code, http.StatusSeeOther)
		return
	}
	l := webkit.Lang(r)
	type item struct{ Code, Name string }
	var items []item
	for _, p := range ps {
		items = append(items, item{Code: p.Code, Name: webkit.Pick(l, p.Name.RU, p.Name.KK)})
	}
	s.render(w, r, "services.html", http.StatusOK, u, "", map[string]any{"Services": items})
}

// offered is the passport of the path's {code}; it answers 404 itself for a service the cabinet does not
// offer.
func (s *Site) offered(w http.ResponseWriter, r *http.Request) (*catalog.Passport, bool) {
	p := s.passport(r.PathValue("code"))
	if p == nil {
		http.NotFound(w, r)
		return nil, false
	}
	return p, true
}

// detached is a request's context kept apart for the intake: a citizen who closes the tab after signing
// must not cut the registration in the middle (the intake's transaction would roll back, and the
// citizen would not know whether it counted).
func detached(r *http.Request) context.Context { return context.WithoutCancel(r.Context()) }
