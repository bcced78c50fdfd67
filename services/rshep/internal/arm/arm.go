// Package arm is АРМ РШЭП, the provider's workstation: staff sign in with their authentication
// certificate (a challenge signed through NCALayer, so the key never leaves the employee's machine), see
// their region's open cases ordered by deadline with the time left, open a case (form, documents,
// registry answers, history), and act on it as their role allows: pass a step on, assign, decide, write
// the motivated refusal, sign the result, extend the term. Pages are server-rendered, in Russian (default)
// and Kazakh.
package arm

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/catalog"
	"github.com/egov-suite/egov/internal/catalog/diagram"
	"github.com/egov-suite/egov/internal/demo"
	"github.com/egov-suite/egov/internal/iin"
	"github.com/egov-suite/egov/internal/registries"
	"github.com/egov-suite/egov/internal/webkit"
	"github.com/egov-suite/egov/services/rshep/internal/engine"
	"github.com/egov-suite/egov/services/rshep/internal/rules"
)

//go:embed web
var web embed.FS

// Options build the workstation.
type Options struct {
	Engine     *engine.Engine
	DB         *pgxpool.Pool
	Now        func() time.Time
	Log        *slog.Logger
	SessionTTL time.Duration
	// SignerURL is NCALayer's address for the pages (webkit.DefaultSignerURL when empty).
	SignerURL string
	// Attachments is the object store holding the scans the channels attached to applications; nil
	// lists the documents without serving them.
	Attachments jetstream.ObjectStore
	// Proxies are the trusted reverse proxies (EGOV_TRUSTED_PROXIES).
	Proxies webkit.Proxies
	// OfficeAddresses are the addresses of the providers' offices by region, printed on the office's
	// receipts (EGOV_RSHEP_OFFICE_ADDRESSES); a region without one prints none.
	OfficeAddresses map[string]string
}

// ARM is the workstation.
type ARM struct {
	o    Options
	site *webkit.Site
	tmpl *template.Template
}

// New builds the workstation.
func New(o Options) *ARM {
	if o.Now == nil {
		o.Now = time.Now
	}
	a := &ARM{o: o, site: webkit.New(webkit.Options{Prefix: "/arm/", Cookie: "arm_session", DB: o.DB, TTL: o.SessionTTL,
		Now: o.Now, SignerURL: o.SignerURL, Proxies: o.Proxies, Log: o.Log})}
	fm := webkit.Funcs()
	for k, f := range funcs() {
		fm[k] = f
	}
	fm["left"] = a.left
	a.tmpl = template.Must(template.New("").Funcs(fm).ParseFS(web, "web/*.html"))
	return a
}

// Handler serves the workstation under /arm/.
func (a *ARM) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /arm/static/", a.site.Static())
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/arm/", http.StatusSeeOther) })
	mux.HandleFunc("GET /arm/lang/{lang}", a.site.SetLang)
	mux.HandleFunc("GET /arm/login", a.loginPage)
	mux.HandleFunc("POST /arm/login", a.site.Guest(a.login))
	mux.HandleFunc("POST /arm/logout", a.auth(a.logout))
	mux.HandleFunc("GET /arm/{$}", a.auth(a.inbox))
	mux.HandleFunc("GET /arm/cases/{id}", a.auth(a.casePage))
	mux.HandleFunc("GET /arm/find", a.auth(a.find))
	mux.HandleFunc("GET /arm/cases/{id}/result", a.auth(a.result))
	mux.HandleFunc("GET /arm/cases/{id}/documents/{n}", a.auth(a.document))
	mux.HandleFunc("POST /arm/cases/{id}/act", a.auth(a.act))
	mux.HandleFunc("GET /arm/office", a.clerk(a.office))
	mux.HandleFunc("GET /arm/office/{code}", a.clerk(a.officeForm))
	mux.HandleFunc("POST /arm/office/{code}", a.clerk(a.officeDraft))
	mux.HandleFunc("POST /arm/office/{code}/identify", a.clerk(a.officeIdentify))
	mux.HandleFunc("POST /arm/office/{code}/sign", a.clerk(a.officeSign))
	mux.HandleFunc("GET /arm/cases/{id}/receipt", a.auth(a.receipt))
	mux.HandleFunc("GET /arm/cases/{id}/receipt.pdf", a.auth(a.receiptPDF))
	mux.HandleFunc("POST /arm/cases/{id}/handover", a.clerk(a.handOver))
	return a.site.Secure(mux)
}

// session is a signed-in employee.
type session struct {
	engine.Employee
	Region string
	web    *webkit.Session
}

type authed func(w http.ResponseWriter, r *http.Request, s *session)

// auth requires a session of an employee who is still active in the region, and the CSRF token on
// every POST.
func (a *ARM) auth(next authed) http.HandlerFunc {
	return a.site.Auth("/arm/login", func(w http.ResponseWriter, r *http.Request, ws *webkit.Session) {
		s := session{Region: ws.Scope, web: ws}
		err := a.o.DB.QueryRow(r.Context(), `SELECT iin, name, roles FROM employees WHERE region = $1 AND iin = $2 AND active`,
			ws.Scope, ws.Subject).Scan(&s.IIN, &s.Name, &s.Roles)
		if errors.Is(err, pgx.ErrNoRows) {
			a.site.End(w, r)
			http.Redirect(w, r, "/arm/login", http.StatusSeeOther)
			return
		}
		if err != nil {
			a.site.Fail(w, r, err)
			return
		}
		next(w, r, &s)
	})
}

func (a *ARM) render(w http.ResponseWriter, r *http.Request, name string, status int, s *session, errText string, data any) {
	p := webkit.Page{T: texts[webkit.Lang(r)], Path: strings.TrimSuffix(r.URL.Path, "/act"), Error: errText, Data: data,
		Guest: name == "login.html"}
	if s != nil {
		p.Session, p.User = s.web, s
	}
	a.site.Render(w, r, a.tmpl, name, status, p)
}

func (a *ARM) loginPage(w http.ResponseWriter, r *http.Request) {
	a.renderLogin(w, r, http.StatusOK, "")
}

func (a *ARM) renderLogin(w http.ResponseWriter, r *http.Request, status int, errText string) {
	nonce, err := a.site.Challenge(r.Context(), "arm-login")
	if err != nil {
		a.site.Fail(w, r, err)
		return
	}
	a.render(w, r, "login.html", status, nil, errText, map[string]any{"Challenge": nonce,
		"Challenge64": base64.StdEncoding.EncodeToString([]byte(nonce)), "Regions": a.o.Engine.Regions()})
}

// login checks the signed challenge: an authentication certificate of an active employee of the region.
func (a *ARM) login(w http.ResponseWriter, r *http.Request) {
	l := webkit.Lang(r)
	t := texts[l]
	region := r.PostFormValue("region")
	v := a.o.Engine.Verifier(region)
	if v == nil {
		a.renderLogin(w, r, http.StatusUnprocessableEntity, t["err_region"])
		return
	}
	res, err := a.site.SignIn(r, v, envelope.Expect{})
	if err != nil {
		msg, status := webkit.SignInRefusal(err, l, t)
		if msg == "" {
			a.site.Fail(w, r, err)
			return
		}
		a.renderLogin(w, r, status, msg)
		return
	}
	var found bool
	if err := a.o.DB.QueryRow(r.Context(), `SELECT true FROM employees WHERE region = $1 AND iin = $2 AND active`, region, res.Holder.IIN).Scan(&found); err != nil {
		a.o.Log.InfoContext(r.Context(), "arm: sign-in refused: not an employee of the region", "region", region, "iin", iin.Mask(res.Holder.IIN))
		a.renderLogin(w, r, http.StatusForbidden, t["err_not_employee"])
		return
	}
	if err := a.site.Begin(w, r, res.Holder.IIN, region); err != nil {
		a.site.Fail(w, r, err)
		return
	}
	a.o.Log.InfoContext(r.Context(), "arm: signed in", "region", region, "iin", iin.Mask(res.Holder.IIN))
	http.Redirect(w, r, "/arm/", http.StatusSeeOther)
}

func (a *ARM) logout(w http.ResponseWriter, r *http.Request, _ *session) {
	a.site.End(w, r)
	http.Redirect(w, r, "/arm/login", http.StatusSeeOther)
}

// row is a case in the inbox.
type row struct {
	*engine.Case
	Service string
	Step    string
	Role    string
	Mine    bool
	// Refusal is the passport's text of the case's refusal ground.
	Refusal string
}

// rejectedRow is an application refused at intake, with its service and ground by name.
type rejectedRow struct {
	engine.Rejection
	Service, Ground string
}

func (a *ARM) inbox(w http.ResponseWriter, r *http.Request, s *session) {
	open, err := a.o.Engine.Open(r.Context(), s.Region, 500)
	if err != nil {
		a.site.Fail(w, r, err)
		return
	}
	closed, err := a.o.Engine.Closed(r.Context(), s.Region, 50)
	if err != nil {
		a.site.Fail(w, r, err)
		return
	}
	rejected, err := a.o.Engine.Rejections(r.Context(), s.Region, 50)
	if err != nil {
		a.site.Fail(w, r, err)
		return
	}
	l := webkit.Lang(r)
	// The staff of another body (an akimat taking a step of the service) see the cases at their body's
	// steps, not the provider's inbox.
	other := rules.OtherBodyOnly(s.Roles)
	rows := func(cs []*engine.Case) []row {
		out := make([]row, 0, len(cs))
		for _, c := range cs {
			x := row{Case: c}
			if p, err := a.o.Engine.Passport(r.Context(), c); err == nil {
				x.Service = webkit.Pick(l, p.Name.RU, p.Name.KK)
				x.Refusal = refusalName(l, p, c.RefusalCode)
				if st := c.CurrentStep(p); st != nil {
					x.Step, x.Role = webkit.Pick(l, st.Action.RU, st.Action.KK), performerName(l, p, st.Performer())
					x.Mine = rules.Holds(p, c.State(), rules.Actor{IIN: s.IIN, Roles: s.Roles})
				}
			}
			if other && !x.Mine {
				continue
			}
			out = append(out, x)
		}
		return out
	}
	if other {
		closed, rejected = nil, nil
	}
	rejectedRows := make([]rejectedRow, 0, len(rejected))
	for _, x := range rejected {
		rr := rejectedRow{Rejection: x, Service: x.ServiceCode, Ground: x.RefusalCode}
		if p, ok := a.o.Engine.Catalog().Get(x.ServiceCode, x.Region); ok {
			rr.Service, rr.Ground = webkit.Pick(l, p.Name.RU, p.Name.KK), refusalName(l, p, x.RefusalCode)
		}
		rejectedRows = append(rejectedRows, rr)
	}
	a.render(w, r, "inbox.html", http.StatusOK, s, "", map[string]any{"Open": rows(open), "Closed": rows(closed), "Rejected": rejectedRows})
}

// left writes the time left to a deadline, or how long ago it passed, in lang.
func (a *ARM) left(lang string, t *time.Time) string {
	if t == nil {
		return "—"
	}
	d := t.Sub(a.o.Now()).Round(time.Minute)
	sign := ""
	if d < 0 {
		sign, d = "−", -d
	}
	days := int(d.Hours()) / 24
	h := int(d.Hours()) % 24
	m := int(d.Minutes()) % 60
	if days > 0 {
		return fmt.Sprintf("%s%d %s %d %s", sign, days, webkit.Pick(lang, "д", "күн"), h, webkit.Pick(lang, "ч", "сағ"))
	}
	return fmt.Sprintf("%s%d %s %02d %s", sign, h, webkit.Pick(lang, "ч", "сағ"), m, webkit.Pick(lang, "мин", "мин"))
}

func (a *ARM) load(w http.ResponseWriter, r *http.Request, s *session) (*engine.Case, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		http.NotFound(w, r)
		return nil, false
	}
	c, err := a.o.Engine.Get(r.Context(), s.Region, id)
	if errors.Is(err, engine.ErrNotFound) {
		http.NotFound(w, r)
		return nil, false
	}
	if err != nil {
		a.site.Fail(w, r, err)
		return nil, false
	}
	return c, true
}

// loadFull is load with the passport the case was registered under and its history (the case page, the
// office's receipt); false when it has answered the request itself.
func (a *ARM) loadFull(w http.ResponseWriter, r *http.Request, s *session) (*engine.Case, *catalog.Passport, []engine.Event, bool) {
	c, ok := a.load(w, r, s)
	if !ok {
		return nil, nil, nil, false
	}
	p, err := a.o.Engine.Passport(r.Context(), c)
	if err != nil {
		a.site.Fail(w, r, err)
		return nil, nil, nil, false
	}
	history, err := a.o.Engine.History(r.Context(), c.ID)
	if err != nil {
		a.site.Fail(w, r, err)
		return nil, nil, nil, false
	}
	return c, p, history, true
}

// find opens the region's case with a registration number (?number=), as the staff type it.
func (a *ARM) find(w http.ResponseWriter, r *http.Request, s *session) {
	var id int64
	err := a.o.DB.QueryRow(r.Context(), `SELECT id FROM cases WHERE region = $1 AND registration_number = $2`,
		s.Region, strings.TrimSpace(r.URL.Query().Get("number"))).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		a.site.Fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/arm/cases/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
}

func (a *ARM) casePage(w http.ResponseWriter, r *http.Request, s *session) {
	a.showCase(w, r, s, http.StatusOK, "")
}

func (a *ARM) showCase(w http.ResponseWriter, r *http.Request, s *session, status int, errText string) {
	c, p, history, ok := a.loadFull(w, r, s)
	if !ok {
		return
	}
	officers, err := a.officers(r.Context(), s.Region)
	if err != nil {
		a.site.Fail(w, r, err)
		return
	}
	step := c.CurrentStep(p)
	// The buttons are the rules' answer, the same the engine gives when the action comes.
	can := rules.Permitted(p, c.State(), rules.Actor{IIN: s.IIN, Roles: s.Roles})
	// What the employee typed comes back with a refused action, so that nothing has to be typed again.
	typed := map[string]string{}
	if r.Method == http.MethodPost {
		for _, k := range []string{"kind", "outcome", "refusal_code", "comment", "assignee"} {
			typed[k] = r.PostFormValue(k)
		}
	}
	var assigneeName string
	for _, o := range officers {
		if o.IIN == c.Assignee {
			assigneeName = o.Name
		}
	}
	names, namesErr := a.names(r.Context(), s.Region, c, p)
	a.render(w, r, "case.html", status, s, errText, map[string]any{"Case": c, "Passport": p, "Step": step, "History": history,
		"Can": can, "Officers": officers, "Result": resultText(c), "Docs": c.Docs(), "Files": a.o.Attachments != nil,
		"Clerk": s.Has("clerk"), "Typed": typed, "AssigneeName": assigneeName, "Names": names, "NamesErr": namesErr, "Diagram": flow(p, webkit.Lang(r), step)})
}

// flow is the drawing of the passport version the case runs under, the step it is at marked (none once
// closed): the employee sees where the case is and what comes next.
func flow(p *catalog.Passport, lang string, at *catalog.Step) template.HTML {
	current := ""
	if at != nil {
		current = at.ID
	}
	return template.HTML(diagram.RenderAt(p, lang, current)) //nolint:gosec // drawn by the suite from the passport, every text escaped
}

// names are the people the case names (the applicant, and each IIN of the form: the ward, the child,
// the representative), looked up in ГБД ФЛ through ШЭП as the checks are, by form field. The case
// keeps IINs only; a name is read when the page is drawn and never stored. A look-up that fails leaves
// the names out and says so (true); a person ГБД ФЛ does not know is left out.
func (a *ARM) names(ctx context.Context, region string, c *engine.Case, p *catalog.Passport) (map[string]string, bool) {
	iins := map[string]string{"applicant_iin": c.ApplicantIIN}
	for _, f := range p.Fields {
		if v := c.Form[f.ID]; f.Type == "iin" && v != "" {
			iins[f.ID] = v
		}
	}
	out := map[string]string{}
	failed := false
	for field, v := range iins {
		if v == "" {
			continue
		}
		person, err := a.o.Engine.Person(ctx, region, v)
		switch {
		case errors.Is(err, registries.ErrNoRecord):
		case err != nil:
			failed = true
			a.o.Log.WarnContext(ctx, "arm: a name could not be looked up in ГБД ФЛ", "case", c.Number, "field", field, "error", err)
		default:
			out[field] = strings.TrimSpace(person.GetSurname() + " " + person.GetName() + " " + person.GetPatronymic())
		}
	}
	return out, failed
}

// resultText is the case's result documents as the employee reads them before signing.
func resultText(c *engine.Case) string {
	var b strings.Builder
	for i, d := range c.Docs() {
		if i > 0 {
			b.WriteString("\n────────\n\n")
		}
		b.Write(d.Content)
	}
	return b.String()
}

func (a *ARM) officers(ctx context.Context, region string) ([]engine.Employee, error) {
	rows, err := a.o.DB.Query(ctx, `SELECT iin, name, roles FROM employees WHERE region = $1 AND active AND 'officer' = ANY(roles) ORDER BY name`, region)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (engine.Employee, error) {
		var e engine.Employee
		err := r.Scan(&e.IIN, &e.Name, &e.Roles)
		return e, err
	})
}

// result downloads a result document (?doc=n, the first when absent); ?part=signature gives its
// detached CMS signature, ?part=pdf its printable form and ?part=pdf-signature the form's signature.
func (a *ARM) result(w http.ResponseWriter, r *http.Request, s *session) {
	c, ok := a.load(w, r, s)
	if !ok {
		return
	}
	docs := c.Docs()
	n := 0
	if v := r.URL.Query().Get("doc"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			http.NotFound(w, r)
			return
		}
	}
	if n < 0 || n >= len(docs) {
		http.NotFound(w, r)
		return
	}
	d := docs[n]
	name := c.Number
	if n > 0 {
		name += "-" + d.ID
	}
	if part := r.URL.Query().Get("part"); part == "pdf" || part == "pdf-signature" {
		servePrintable(w, r, d, name, part == "pdf-signature")
		return
	}
	if r.URL.Query().Get("part") == "signature" {
		if len(d.Signature) == 0 {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/pkcs7-signature")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.txt.p7s"`)
		_, _ = w.Write(d.Signature)
		return
	}
	w.Header().Set("Content-Type", d.MediaType)
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.txt"`)
	_, _ = w.Write(d.Content)
}

// document serves the scan attached as the case's n-th document, once its bytes are the ones the
// application's signature covers: the application carries each file's size and SHA-256, and the object
// store is shared by every channel, so a file replaced or damaged there is refused, not shown.
func (a *ARM) document(w http.ResponseWriter, r *http.Request, s *session) {
	c, ok := a.load(w, r, s)
	if !ok {
		return
	}
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 0 || n >= len(c.Documents) || c.Documents[n].ObjectKey == "" || a.o.Attachments == nil {
		http.NotFound(w, r)
		return
	}
	d := c.Documents[n]
	t := texts[webkit.Lang(r)]
	b, err := a.o.Attachments.GetBytes(r.Context(), d.ObjectKey)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		a.showCase(w, r, s, http.StatusNotFound, t["err_doc_missing"])
		return
	}
	if err != nil {
		a.site.Fail(w, r, err)
		return
	}
	if sum := sha256.Sum256(b); int64(len(b)) != d.Size || hex.EncodeToString(sum[:]) != d.SHA256 {
		a.o.Log.WarnContext(r.Context(), "arm: an attachment does not match the signed application", "case", c.Number,
			"document", d.ID, "object", d.ObjectKey, "size", len(b), "signed_size", d.Size)
		a.showCase(w, r, s, http.StatusConflict, t["err_doc_altered"])
		return
	}
	name := d.Name
	if name == "" {
		name = d.ID
	}
	w.Header().Set("Content-Type", d.MediaType)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	_, _ = w.Write(b)
}

func (a *ARM) act(w http.ResponseWriter, r *http.Request, s *session) {
	c, ok := a.load(w, r, s)
	if !ok {
		return
	}
	act := engine.Action{Kind: r.PostFormValue("kind"), Step: r.PostFormValue("step"), Outcome: r.PostFormValue("outcome"),
		RefusalCode: r.PostFormValue("refusal_code"), Comment: r.PostFormValue("comment"), Assignee: r.PostFormValue("assignee")}
	if act.Kind == "sign" {
		// One signature per result document, in the case's order (the form's signature fields).
		for _, v := range r.PostForm["signature"] {
			sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
			if err != nil || len(sig) == 0 {
				a.showCase(w, r, s, http.StatusUnprocessableEntity, texts[webkit.Lang(r)]["err_no_signature"])
				return
			}
			act.Signatures = append(act.Signatures, sig)
		}
		if len(act.Signatures) == 0 {
			a.showCase(w, r, s, http.StatusUnprocessableEntity, texts[webkit.Lang(r)]["err_no_signature"])
			return
		}
	}
	err := a.o.Engine.Act(r.Context(), s.Region, c.ID, s.Employee, act)
	var ae *engine.ActionError
	switch {
	case errors.As(err, &ae):
		status := http.StatusUnprocessableEntity
		switch ae.Code {
		case "wrong_role":
			status = http.StatusForbidden
		case "closed", "wrong_step":
			status = http.StatusConflict
		}
		a.showCase(w, r, s, status, ae.Text(webkit.Lang(r)))
		return
	case err != nil:
		a.site.Fail(w, r, err)
		return
	}
	a.o.Log.InfoContext(r.Context(), "arm: action", "case", c.Number, "action", act.Kind, "iin", iin.Mask(s.IIN))
	http.Redirect(w, r, "/arm/cases/"+strconv.FormatInt(c.ID, 10), http.StatusSeeOther)
}

// SeedDemo makes the demo staff employees of every region (idempotently): the Pavlodar cast's clerk,
// officer and head. The head also takes the district akimat's step of the passports that have one
// (guardianship-establishment.27 names no akimat BIN), so that every passport of the catalogue can be
// walked in the demo; a real akimat's staff are employed with that role alone.
func (a *ARM) SeedDemo(ctx context.Context, regions []string) ([]demo.Entry, error) {
	roles := map[string][]string{"clerk-pavlodar": {"clerk"}, "officer-pavlodar": {"officer", "commission"},
		"head-pavlodar": {"head", "commission", "district_akimat:head"}}
	var out []demo.Entry
	for _, p := range demo.People {
		rs, ok := roles[p.Slug]
		if !ok {
			continue
		}
		for _, region := range regions {
			if err := PutEmployee(ctx, a.o.DB, region, engine.Employee{IIN: p.IIN, Name: p.Surname + " " + p.GivenName + " " + p.Patronymic, Roles: rs}); err != nil {
				return nil, err
			}
		}
		out = append(out, demo.Entry{Service: "rshep", Kind: "АРМ", Name: p.Surname + " " + p.GivenName, IIN: p.IIN,
			Role: strings.Join(rs, ", ") + " (" + strings.Join(regions, ", ") + ")"})
	}
	return out, nil
}

// PutEmployee adds or updates a member of a region's staff.
func PutEmployee(ctx context.Context, db *pgxpool.Pool, region string, e engine.Employee) error {
	_, err := db.Exec(ctx, `INSERT INTO employees (region, iin, name, roles) VALUES ($1, $2, $3, $4)
		ON CONFLICT (region, iin) DO UPDATE SET name = excluded.name, roles = excluded.roles, active = true`, region, e.IIN, e.Name, e.Roles)
	return err
}
