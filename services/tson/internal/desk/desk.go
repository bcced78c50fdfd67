// Package desk is the ЦОН operator's workstation (ЦОН, Госкорпорация «Правительство для граждан»):
// the operator signs in with their certificate, takes a citizen's application at the counter —
// possibly from a representative with a notarised power of attorney — looks the citizen (and the
// representative and the power of attorney) up in ГБД ФЛ and ЕНИС through ШЭП, marks the paper
// originals received and attaches scans, signs the application with the operator's key, prints the
// receipt (расписка), follows the statuses, and hands the result over or marks it unclaimed.
package desk

import (
	"context"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/applicant"
	"github.com/egov-suite/egov/internal/applicant/channelweb"
	"github.com/egov-suite/egov/internal/applicant/lifecycle"
	"github.com/egov-suite/egov/internal/calendar"
	"github.com/egov-suite/egov/internal/catalog"
	"github.com/egov-suite/egov/internal/demo"
	"github.com/egov-suite/egov/internal/iin"
	"github.com/egov-suite/egov/internal/webkit"
	enisv1 "github.com/egov-suite/egov/proto/egov/enis/v1"
	gbdflv1 "github.com/egov-suite/egov/proto/egov/gbdfl/v1"
	"github.com/egov-suite/egov/services/tson/internal/statecorp"
)

//go:embed web/*.html
var web embed.FS

// Registries are the look-ups the counter makes (through ШЭП).
type Registries interface {
	Person(ctx context.Context, iin string) (*gbdflv1.Person, error)
	PowerOfAttorney(ctx context.Context, req *enisv1.GetPowerOfAttorneyRequest) (*enisv1.PowerOfAttorney, error)
}

// Options build the desk.
type Options struct {
	Desk        *applicant.Desk
	Registries  Registries
	Attachments channelweb.Attachments
	DB          *pgxpool.Pool
	Now         func() time.Time
	Log         *slog.Logger
	SessionTTL  time.Duration
	SignerURL   string
	// BIN is the organisation every operator's certificate must name (Госкорпорация).
	BIN string
	// Office is whose list the applications are on (one ЦОН).
	Office string
	// Proxies are the trusted reverse proxies (EGOV_TRUSTED_PROXIES).
	Proxies webkit.Proxies
	// Calendar is the working-day calendar of Госкорпорация's timed steps.
	Calendar *calendar.Calendar
	// Centre is the ЦОН's name and address, printed on every receipt.
	Centre Centre
}

// Desk is the operator's workstation.
type Desk struct {
	o     Options
	web   *webkit.Site
	tmpl  *template.Template
	pages *channelweb.Pages[*operator]
}

// New builds the desk.
func New(o Options) *Desk {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Calendar == nil {
		o.Calendar = calendar.Default()
	}
	d := &Desk{o: o, web: webkit.New(webkit.Options{Prefix: "/", Cookie: "tson_session", DB: o.DB, TTL: o.SessionTTL,
		Now: o.Now, SignerURL: o.SignerURL, Proxies: o.Proxies, Log: o.Log})}
	d.tmpl = template.Must(template.Must(template.New("").Funcs(channelweb.Funcs()).ParseFS(channelweb.Partials, "web/*.html")).ParseFS(web, "web/*.html"))
	// The office's applications, signed with the operator's key of Госкорпорация; after sending, the
	// receipt, and Госкорпорация's timed steps start.
	d.pages = &channelweb.Pages[*operator]{Desk: o.Desk, Web: d.web, Attachments: o.Attachments,
		Owner:       func(*operator) string { return o.Office },
		Expect:      func(op *operator) envelope.Expect { return envelope.Expect{IIN: op.IIN, BIN: o.BIN} },
		SignView:    d.view,
		Render:      d.render,
		Text:        func(r *http.Request, key string) string { return texts[webkit.Lang(r)][key] },
		Sent:        func(a *applicant.Application) string { return "/applications/" + a.ID + "/receipt" },
		AfterSubmit: d.afterSubmit}
	return d
}

// Handler serves the desk.
func (d *Desk) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /static/", d.web.Static())
	mux.HandleFunc("GET /lang/{lang}", d.web.SetLang)
	mux.HandleFunc("GET /login", d.loginPage)
	mux.HandleFunc("POST /login", d.web.Guest(d.login))
	mux.HandleFunc("POST /logout", d.auth(d.logout))
	mux.HandleFunc("GET /{$}", d.auth(d.list))
	mux.HandleFunc("GET /new", d.auth(d.services))
	mux.HandleFunc("GET /new/{code}/{region}", d.auth(d.lookupPage))
	mux.HandleFunc("POST /new/{code}/{region}/lookup", d.auth(d.lookup))
	mux.HandleFunc("POST /new/{code}/{region}", d.draft)
	mux.HandleFunc("POST /new/{code}/{region}/refuse", d.refuse)
	mux.HandleFunc("GET /refusals/{id}", d.auth(d.refusalReceipt))
	mux.HandleFunc("POST /applications/{id}/steps/{step}", d.auth(d.markStep))
	mux.HandleFunc("GET /applications/{id}/sign", d.auth(d.pages.SignPage))
	mux.HandleFunc("POST /applications/{id}/sign", d.auth(d.pages.Sign))
	mux.HandleFunc("GET /applications/{id}", d.auth(d.application))
	mux.HandleFunc("GET /applications/{id}/receipt", d.auth(d.receipt))
	mux.HandleFunc("GET /applications/{id}/receipt.pdf", d.auth(d.receiptPDF))
	mux.HandleFunc("GET /applications/{id}/events", d.auth(d.pages.Events))
	mux.HandleFunc("GET /applications/{id}/result", d.auth(d.pages.Result))
	mux.HandleFunc("POST /applications/{id}/hand-over", d.auth(d.handOver))
	return d.web.Secure(mux)
}

// operator is the signed-in operator.
type operator struct {
	IIN, Name string
	web       *webkit.Session
}

type authed func(w http.ResponseWriter, r *http.Request, op *operator)

func (d *Desk) auth(next authed) http.HandlerFunc { return d.authBody(0, next) }

// authBody is auth for a multipart POST of up to limit bytes (webkit.AuthBody).
func (d *Desk) authBody(limit int64, next authed) http.HandlerFunc {
	return d.web.AuthBody("/login", limit, func(w http.ResponseWriter, r *http.Request, ws *webkit.Session) {
		op := &operator{IIN: ws.Subject, web: ws}
		err := d.o.DB.QueryRow(r.Context(), `SELECT name FROM operators WHERE iin = $1 AND active`, ws.Subject).Scan(&op.Name)
		if errors.Is(err, pgx.ErrNoRows) {
			d.web.End(w, r)
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		if err != nil {
			d.web.Fail(w, r, err)
			return
		}
		next(w, r, op)
	})
}

func (d *Desk) render(w http.ResponseWriter, r *http.Request, name string, status int, op *operator, errText string, data any) {
	p := webkit.Page{T: texts[webkit.Lang(r)], Error: errText, Data: data, Guest: name == "login.html"}
	if op != nil {
		p.Session, p.User = op.web, op
	}
	if r.Method == http.MethodPost {
		p.Path = "/"
	}
	d.web.Render(w, r, d.tmpl, name, status, p)
}

func (d *Desk) loginPage(w http.ResponseWriter, r *http.Request) {
	d.renderLogin(w, r, http.StatusOK, "")
}

func (d *Desk) renderLogin(w http.ResponseWriter, r *http.Request, status int, errText string) {
	nonce, err := d.web.Challenge(r.Context(), "tson-login")
	if err != nil {
		d.web.Fail(w, r, err)
		return
	}
	d.render(w, r, "login.html", status, nil, errText, map[string]any{"Challenge": nonce,
		"Challenge64": base64.StdEncoding.EncodeToString([]byte(nonce))})
}

// login checks the signed challenge: an employee's authentication certificate of the organisation, held
// by an active operator. (The regulation's operator signs in «по логину и паролю»; the desk asks for the
// certificate instead, which the operator holds anyway to sign the applications.)
func (d *Desk) login(w http.ResponseWriter, r *http.Request) {
	l := webkit.Lang(r)
	t := texts[l]
	res, err := d.web.SignIn(r, d.o.Desk.Verifier(), envelope.Expect{BIN: d.o.BIN})
	if err != nil {
		msg, status := webkit.SignInRefusal(err, l, t)
		if msg == "" {
			d.web.Fail(w, r, err)
			return
		}
		d.renderLogin(w, r, status, msg)
		return
	}
	var active bool
	if err := d.o.DB.QueryRow(r.Context(), `SELECT active FROM operators WHERE iin = $1`, res.Holder.IIN).Scan(&active); err != nil || !active {
		d.o.Log.InfoContext(r.Context(), "tson: sign-in refused: not an operator", "iin", iin.Mask(res.Holder.IIN))
		d.renderLogin(w, r, http.StatusForbidden, t["err_not_operator"])
		return
	}
	if err := d.web.Begin(w, r, res.Holder.IIN, d.o.Office); err != nil {
		d.web.Fail(w, r, err)
		return
	}
	d.o.Log.InfoContext(r.Context(), "tson: operator signed in", "iin", iin.Mask(res.Holder.IIN))
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (d *Desk) logout(w http.ResponseWriter, r *http.Request, _ *operator) {
	d.web.End(w, r)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// row is an application in the list.
type row struct {
	*applicant.Application
	Service     string
	MaskedIIN   string
	CitizenName string
}

func (d *Desk) list(w http.ResponseWriter, r *http.Request, op *operator) {
	apps, err := d.o.Desk.List(r.Context(), d.o.Office, 300)
	if err != nil {
		d.web.Fail(w, r, err)
		return
	}
	l := webkit.Lang(r)
	rows := make([]row, 0, len(apps))
	for _, a := range apps {
		x := row{Application: a, Service: a.ServiceCode, MaskedIIN: iin.Mask(a.ApplicantIIN)}
		if p, ok := d.o.Desk.Catalog().Get(a.ServiceCode, a.Region); ok {
			x.Service = webkit.Pick(l, p.Name.RU, p.Name.KK)
		}
		rows = append(rows, x)
	}
	refusals, err := d.refusals(r.Context(), l, 50)
	if err != nil {
		d.web.Fail(w, r, err)
		return
	}
	d.render(w, r, "list.html", http.StatusOK, op, "", map[string]any{"Applications": rows, "Refusals": refusals})
}

func (d *Desk) services(w http.ResponseWriter, r *http.Request, op *operator) {
	l := webkit.Lang(r)
	type svc struct{ Code, Region, Name, Provider string }
	var out []svc
	for _, p := range d.o.Desk.Passports() {
		out = append(out, svc{p.Code, p.Region, webkit.Pick(l, p.Name.RU, p.Name.KK), webkit.Pick(l, p.Provider.Name.RU, p.Provider.Name.KK)})
	}
	d.render(w, r, "services.html", http.StatusOK, op, "", map[string]any{"Services": out})
}

func (d *Desk) passport(w http.ResponseWriter, r *http.Request) (*catalog.Passport, bool) {
	p, ok := d.o.Desk.Catalog().Get(r.PathValue("code"), r.PathValue("region"))
	if ok {
		for _, x := range d.o.Desk.Passports() {
			if x == p {
				return p, true
			}
		}
	}
	http.NotFound(w, r)
	return nil, false
}

// counterCheck is what the look-ups found.
type counterCheck struct {
	CitizenIIN, RepresentativeIIN, POANumber string
	Citizen, Representative                  *gbdflv1.Person
	POA                                      *enisv1.PowerOfAttorney
	// Missing lists what the registries do not have; Refusal is the regulation's text then.
	Missing []string
	Refusal string
}

// OK reports whether the application can be taken.
func (c *counterCheck) OK() bool { return len(c.Missing) == 0 }

// Name is a person's full name.
func Name(p *gbdflv1.Person) string {
	if p == nil {
		return ""
	}
	return strings.TrimSpace(p.GetSurname() + " " + p.GetName() + " " + p.GetPatronymic())
}

func (d *Desk) lookupPage(w http.ResponseWriter, r *http.Request, op *operator) {
	p, ok := d.passport(w, r)
	if !ok {
		return
	}
	d.renderLookup(w, r, op, p, http.StatusOK, "", &counterCheck{}, nil)
}

func (d *Desk) renderLookup(w http.ResponseWriter, r *http.Request, op *operator, p *catalog.Passport, status int, errText string, c *counterCheck, problems []string) {
	d.render(w, r, "new.html", status, op, errText, d.lookupData(r, p, c, problems))
}

func (d *Desk) lookupData(r *http.Request, p *catalog.Passport, c *counterCheck, problems []string) map[string]any {
	l := webkit.Lang(r)
	data := map[string]any{"Passport": p, "Name": webkit.Pick(l, p.Name.RU, p.Name.KK), "Check": c, "Problems": problems,
		"MaxMB": d.o.Attachments.MaxSize >> 20, "Paper": true, "Expiry": p.StateCorp != nil, "Asked": c.CitizenIIN != ""}
	if c.CitizenIIN != "" && c.OK() {
		fixed := map[string]string{fieldApplicant: c.CitizenIIN, fieldRepresentative: c.RepresentativeIIN, fieldPOA: c.POANumber}
		fields, docs := channelweb.Form(p, "tson", l, formValues(r), fixed)
		data["Fields"], data["Docs"] = fields, docs
	}
	return data
}

// formValues are the values of the form fields already typed (on a redraw).
func formValues(r *http.Request) map[string]string {
	out := map[string]string{}
	if r.Form == nil {
		return out
	}
	for k, v := range r.Form {
		if id, ok := strings.CutPrefix(k, "f_"); ok && len(v) > 0 {
			out[id] = v[0]
		}
	}
	return out
}

// readCounter takes the citizen's, the representative's IIN and the power of attorney from the form.
func readCounter(r *http.Request, t map[string]string) (citizen, rep, poa, problem string) {
	citizen, rep, poa = strings.TrimSpace(r.FormValue("citizen_iin")), strings.TrimSpace(r.FormValue("representative_iin")), strings.TrimSpace(r.FormValue("poa_number"))
	if _, err := iin.Parse(citizen); err != nil {
		return citizen, rep, poa, t["err_iin"] + " (" + err.Error() + ")"
	}
	if rep != "" {
		if _, err := iin.Parse(rep); err != nil {
			return citizen, rep, poa, t["err_iin"] + " (" + err.Error() + ")"
		}
	}
	if (rep == "") != (poa == "") {
		return citizen, rep, poa, t["err_poa_pair"]
	}
	return citizen, rep, poa, ""
}

func (d *Desk) lookup(w http.ResponseWriter, r *http.Request, op *operator) {
	p, ok := d.passport(w, r)
	if !ok {
		return
	}
	if c := d.atCounter(w, r, op, p, nil); c != nil {
		d.renderLookup(w, r, op, p, http.StatusOK, "", c, nil)
	}
}

// atCounter reads who is at the counter (the citizen, a representative and the power of attorney) and
// runs the passport's checks on them and on the form's fields (form: the fields read, nil at the
// look-up). When the application cannot be taken — a malformed IIN, a registry that does not answer, a
// missing record, an absent link or an invalid power of attorney — it answers the page itself and
// returns nil.
func (d *Desk) atCounter(w http.ResponseWriter, r *http.Request, op *operator, p *catalog.Passport, form map[string]string) *counterCheck {
	l := webkit.Lang(r)
	t := texts[l]
	citizen, rep, poa, problem := readCounter(r, t)
	if problem != "" {
		d.renderLookup(w, r, op, p, http.StatusUnprocessableEntity, problem, &counterCheck{}, nil)
		return nil
	}
	values := map[string]string{}
	for k, v := range form {
		values[k] = v
	}
	values[fieldApplicant], values[fieldRepresentative], values[fieldPOA] = citizen, rep, poa
	c, err := d.check(r.Context(), p, l, values)
	if err != nil {
		d.o.Log.WarnContext(r.Context(), "tson: look-up failed", "error", err)
		d.renderLookup(w, r, op, p, http.StatusServiceUnavailable, t["err_registry"], &counterCheck{CitizenIIN: citizen, RepresentativeIIN: rep, POANumber: poa}, nil)
		return nil
	}
	if !c.OK() {
		d.o.Log.InfoContext(r.Context(), "tson: the passport's checks fail; the application cannot be taken", "service", p.Code, "region", p.Region)
		d.renderLookup(w, r, op, p, http.StatusUnprocessableEntity, "", c, nil)
		return nil
	}
	return c
}

// draft takes the application at the counter: the look-ups again (the form's hidden values are not
// trusted), the fields, the documents (paper received, scans), then a draft for the operator to sign.
// The session and the request's origin are checked before the body is read (webkit.AuthBody).
func (d *Desk) draft(w http.ResponseWriter, r *http.Request) {
	d.authBody(8*d.o.Attachments.MaxSize+1<<20, func(w http.ResponseWriter, r *http.Request, op *operator) {
		p, ok := d.passport(w, r)
		if !ok {
			return
		}
		l := webkit.Lang(r)
		citizen, rep, poa, _ := readCounter(r, texts[l])
		fixed := map[string]string{fieldApplicant: citizen, fieldRepresentative: rep, fieldPOA: poa}
		values := channelweb.ReadFields(p, "tson", r, fixed)
		c := d.atCounter(w, r, op, p, values)
		if c == nil {
			return
		}
		if p.StateCorp != nil {
			// The worker checks the document set before anything is kept (п. 2): an incomplete one is
			// refused with a receipt and opens no case.
			if set := statecorp.CheckSet(p, "tson", presence(p, r)); !set.Complete() {
				data := d.lookupData(r, p, c, setProblems(p, l, set))
				data["Refuse"] = true
				d.render(w, r, "new.html", http.StatusUnprocessableEntity, op, "", data)
				return
			}
		}
		poaText := ""
		if c.POA != nil {
			poaText = fmt.Sprintf("%s, %s, до %s, нотариус %s", c.POA.GetNumber(), c.POA.GetIssuedOn(), c.POA.GetValidUntil(), c.POA.GetNotaryName())
		}
		// What the counter learnt is kept with the draft, in its transaction: the receipt is printed from it.
		counter := func(ctx context.Context, tx pgx.Tx, id string) error {
			_, err := tx.Exec(ctx, `INSERT INTO counter (application_id, citizen_name, representative_name, power_of_attorney,
				operator_iin, operator_name, at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
				id, Name(c.Citizen), Name(c.Representative), poaText, op.IIN, op.Name, d.o.Now())
			return err
		}
		id, problems, err := d.pages.Draft(r, op, p, citizen, values, true, counter)
		if err != nil {
			d.web.Fail(w, r, err)
			return
		}
		if len(problems) > 0 {
			d.renderLookup(w, r, op, p, http.StatusUnprocessableEntity, "", c, problems)
			return
		}
		http.Redirect(w, r, "/applications/"+id+"/sign", http.StatusSeeOther)
	})(w, r)
}

// counterRow is what the counter recorded of an application.
type counterRow struct {
	CitizenName, RepresentativeName, PowerOfAttorney, OperatorName string
	At                                                             time.Time
}

func (d *Desk) counter(ctx context.Context, id string) (counterRow, error) {
	var c counterRow
	err := d.o.DB.QueryRow(ctx, `SELECT citizen_name, representative_name, power_of_attorney, operator_name, at FROM counter WHERE application_id = $1`, id).
		Scan(&c.CitizenName, &c.RepresentativeName, &c.PowerOfAttorney, &c.OperatorName, &c.At)
	return c, err
}

func (d *Desk) view(r *http.Request, a *applicant.Application) (map[string]any, error) {
	l := webkit.Lang(r)
	c, err := d.counter(r.Context(), a.ID)
	if err != nil {
		return nil, err
	}
	p, _ := d.o.Desk.Catalog().Get(a.ServiceCode, a.Region)
	name := a.ServiceCode
	if p != nil {
		name = webkit.Pick(l, p.Name.RU, p.Name.KK)
	}
	fields, docs := channelweb.Form(p, "tson", l, a.Doc.GetFields(), nil)
	names := map[string]string{}
	for _, x := range docs {
		names[x.ID] = x.Name
	}
	type docRow struct {
		Name  string
		Paper bool
		Scan  string
	}
	var got []docRow
	for _, sd := range a.Doc.GetDocuments() {
		x := docRow{Name: names[sd.GetId()], Paper: sd.GetPaperReceived()}
		if at := sd.GetAttachment(); at != nil {
			x.Scan = at.GetName()
		}
		got = append(got, x)
	}
	return map[string]any{"App": a, "Name": name, "Counter": c, "Fields": fields, "Received": got,
		"Content64": base64.StdEncoding.EncodeToString(a.Content), "MaskedIIN": iin.Mask(a.ApplicantIIN)}, nil
}

// afterSubmit starts Госкорпорация's timed steps of the application just sent; the timers' worker arms
// them too, should this fail.
func (d *Desk) afterSubmit(r *http.Request, a *applicant.Application) {
	if _, err := d.arm(r.Context(), d.keys()); err != nil {
		d.o.Log.WarnContext(r.Context(), "tson: arming the timed steps failed; the timers' worker retries", "application", a.ID, "error", err)
	}
}

func (d *Desk) application(w http.ResponseWriter, r *http.Request, op *operator) {
	d.showApplication(w, r, op, http.StatusOK, "")
}

func (d *Desk) showApplication(w http.ResponseWriter, r *http.Request, op *operator, status int, errText string) {
	a, ok := d.pages.Load(w, r, op)
	if !ok {
		return
	}
	v, err := d.view(r, a)
	if err != nil {
		d.web.Fail(w, r, err)
		return
	}
	if v["Statuses"], err = d.o.Desk.Statuses(r.Context(), a.ID); err != nil {
		d.web.Fail(w, r, err)
		return
	}
	v["Result"] = channelweb.Result(r.Context(), d.o.Desk, a, "/applications/"+a.ID+"/result")
	v["AfterRefusal"] = channelweb.AfterRefusal(d.o.Desk, a)
	ready := lifecycle.CanHandOver(a.Issued())
	v["CanHandOver"], v["CanUnclaim"] = ready, lifecycle.CanUnclaim(a.Issued())
	if p, ok := d.o.Desk.Catalog().Get(a.ServiceCode, a.Region); ok && p.StateCorp != nil {
		// The result is handed over once it has come back; an unclaimed one is archived when its
		// storage runs out, not by a button.
		ts, err := d.timers(r.Context(), a.ID)
		if err != nil {
			d.web.Fail(w, r, err)
			return
		}
		v["Steps"] = stepViews(ts, d.o.Now())
		v["CanHandOver"], v["CanUnclaim"] = ready && statecorp.CanHandOver(ts), false
	}
	d.render(w, r, "application.html", status, op, errText, v)
}

// receipt is the расписка for the citizen, printable.
func (d *Desk) receipt(w http.ResponseWriter, r *http.Request, op *operator) {
	a, ok := d.pages.Load(w, r, op)
	if !ok {
		return
	}
	v, err := d.view(r, a)
	if err != nil {
		d.web.Fail(w, r, err)
		return
	}
	v["Centre"] = d.o.Centre
	if v["Receipt"], err = d.printableReceipt(r, a); err != nil {
		d.web.Fail(w, r, err)
		return
	}
	d.render(w, r, "receipt.html", http.StatusOK, op, "", v)
}

// handOver records the hand-over of the result to the citizen, or that it was not claimed.
func (d *Desk) handOver(w http.ResponseWriter, r *http.Request, op *operator) {
	a, ok := d.pages.Load(w, r, op)
	if !ok {
		return
	}
	by, unclaimed := op.Name+" ("+iin.Mask(op.IIN)+")", r.PostFormValue("unclaimed") != ""
	p, ok := d.o.Desk.Catalog().Get(a.ServiceCode, a.Region)
	if ok && p.StateCorp != nil {
		ts, err := d.timers(r.Context(), a.ID)
		if err != nil {
			d.web.Fail(w, r, err)
			return
		}
		if unclaimed || !statecorp.CanHandOver(ts) {
			d.showApplication(w, r, op, http.StatusConflict, texts[webkit.Lang(r)]["err_not_arrived"])
			return
		}
	}
	err := d.o.Desk.HandOver(r.Context(), d.o.Office, a.ID, by, unclaimed)
	if err == nil && ok && p.StateCorp != nil {
		// The hand-over ends the storage; should this fail, the archive finds the result handed over.
		_, err = d.o.DB.Exec(r.Context(), `UPDATE handover_steps SET done_at = $2, done_by = $3 WHERE application_id = $1 AND step = 'storage' AND done_at IS NULL`,
			a.ID, d.o.Now(), by)
	}
	if errors.Is(err, applicant.ErrNotIssued) {
		d.showApplication(w, r, op, http.StatusConflict, texts[webkit.Lang(r)]["err_hand_over"])
		return
	}
	if err != nil {
		d.web.Fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/applications/"+a.ID, http.StatusSeeOther)
}

// SeedDemo makes the demo ЦОН operator an operator of the desk (idempotently).
func (d *Desk) SeedDemo(ctx context.Context) ([]demo.Entry, error) {
	var out []demo.Entry
	for _, p := range demo.People {
		if p.Slug != "tson-operator" {
			continue
		}
		name := p.Surname + " " + p.GivenName + " " + p.Patronymic
		if err := PutOperator(ctx, d.o.DB, p.IIN, name); err != nil {
			return nil, err
		}
		out = append(out, demo.Entry{Service: "tson", Kind: "оператор", Name: p.Surname + " " + p.GivenName, IIN: p.IIN, Role: "оператор ЦОН"})
	}
	return out, nil
}

// PutOperator adds or updates an operator.
func PutOperator(ctx context.Context, db *pgxpool.Pool, iinValue, name string) error {
	_, err := db.Exec(ctx, `INSERT INTO operators (iin, name) VALUES ($1, $2) ON CONFLICT (iin) DO UPDATE SET name = excluded.name, active = true`, iinValue, name)
	return err
}
