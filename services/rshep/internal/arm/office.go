package arm

import (
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/egov-suite/egov/internal/applicant/channelweb"
	"github.com/egov-suite/egov/internal/catalog"
	"github.com/egov-suite/egov/internal/iin"
	"github.com/egov-suite/egov/internal/webkit"
	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
	envelopev1 "github.com/egov-suite/egov/proto/egov/envelope/v1"
	"github.com/egov-suite/egov/services/rshep/internal/engine"
)

// The office channel (канцелярия): the provider's clerk registers a paper application in АРМ. The
// citizen is identified through ГБД ФЛ, the paper documents are marked received and their scans kept in
// the object store, the clerk signs the application with their employee SIGN key, and it enters the
// engine's intake as the provider's own (no ШЭП hop: the office is the provider). A receipt (расписка)
// is printed; the printed result is handed over in person.

const (
	officeChannel = "office"
	// scanLimit bounds one scan, as at the ЦОН desk.
	scanLimit = 10 << 20
)

// scanTypes are the scans accepted, sniffed from their content.
var scanTypes = []string{"application/pdf", "image/jpeg", "image/png"}

// clerk requires the clerk's role for the office pages.
func (a *ARM) clerk(next authed) http.HandlerFunc {
	return a.auth(func(w http.ResponseWriter, r *http.Request, s *session) {
		if !s.Has("clerk") {
			a.render(w, r, "office.html", http.StatusForbidden, s, texts[webkit.Lang(r)]["err_not_clerk"], map[string]any{})
			return
		}
		next(w, r, s)
	})
}

// officePassports are the region's passports that accept the office channel.
func (a *ARM) officePassports(region string) []*catalog.Passport {
	var out []*catalog.Passport
	for _, p := range a.o.Engine.Catalog().All() {
		if p.Region == region && slices.Contains(p.Channels, officeChannel) {
			out = append(out, p)
		}
	}
	return out
}

// office lists the passports to take an application for.
func (a *ARM) office(w http.ResponseWriter, r *http.Request, s *session) {
	a.render(w, r, "office.html", http.StatusOK, s, "", map[string]any{"Passports": a.officePassports(s.Region)})
}

func (a *ARM) officePassport(w http.ResponseWriter, r *http.Request, s *session) (*catalog.Passport, bool) {
	p, ok := a.o.Engine.Catalog().Get(r.PathValue("code"), s.Region)
	if !ok || !slices.Contains(p.Channels, officeChannel) {
		http.NotFound(w, r)
		return nil, false
	}
	return p, true
}

// officeForm asks for the applicant's IIN.
func (a *ARM) officeForm(w http.ResponseWriter, r *http.Request, s *session) {
	p, ok := a.officePassport(w, r, s)
	if !ok {
		return
	}
	a.renderOfficeForm(w, r, s, p, http.StatusOK, "", "", nil)
}

// officeIdentify looks the applicant up in ГБД ФЛ and shows the passport's form on the office channel. The
// IIN is posted, never put in a URL.
func (a *ARM) officeIdentify(w http.ResponseWriter, r *http.Request, s *session) {
	p, ok := a.officePassport(w, r, s)
	if !ok {
		return
	}
	who := strings.TrimSpace(r.PostFormValue("iin"))
	if who == "" {
		a.renderOfficeForm(w, r, s, p, http.StatusUnprocessableEntity, texts[webkit.Lang(r)]["err_iin"], "", nil)
		return
	}
	a.renderOfficeForm(w, r, s, p, http.StatusOK, "", who, nil)
}

func (a *ARM) renderOfficeForm(w http.ResponseWriter, r *http.Request, s *session, p *catalog.Passport, status int, errText, who string, values map[string]string) {
	l := webkit.Lang(r)
	data := map[string]any{"Passport": p, "IIN": who}
	if who != "" {
		name, err := a.personName(r, s, who)
		switch {
		case err != nil:
			if errText == "" {
				errText = err.Error()
			}
			if status == http.StatusOK {
				status = http.StatusUnprocessableEntity
			}
		default:
			data["Name"] = name
			fields, docs := channelweb.Form(p, officeChannel, l, values, map[string]string{"applicant_iin": who})
			data["Fields"], data["Docs"] = fields, docs
		}
	}
	a.render(w, r, "office_form.html", status, s, errText, data)
}

// errPerson is an IIN the clerk cannot register an application for.
type errPerson string

func (e errPerson) Error() string { return string(e) }

// personName identifies the applicant in ГБД ФЛ (the clerk is entitled to see the name: it is the person
// at the desk, with their identity document).
func (a *ARM) personName(r *http.Request, s *session, who string) (string, error) {
	t := texts[webkit.Lang(r)]
	if _, err := iin.Parse(who); err != nil {
		return "", errPerson(t["err_iin"] + ": " + err.Error())
	}
	p, err := a.o.Engine.Person(r.Context(), s.Region, who)
	if errors.Is(err, engine.ErrNoRecord) {
		return "", errPerson(t["err_no_person"])
	}
	if err != nil {
		a.o.Log.WarnContext(r.Context(), "arm: ГБД ФЛ look-up failed", "iin", iin.Mask(who), "error", err)
		return "", errPerson(t["err_gbdfl"])
	}
	return strings.TrimSpace(p.GetSurname() + " " + p.GetName() + " " + p.GetPatronymic()), nil
}

// officeDraft reads the filled form, keeps the scans, and shows the application to sign.
func (a *ARM) officeDraft(w http.ResponseWriter, r *http.Request, s *session) {
	p, ok := a.officePassport(w, r, s)
	if !ok {
		return
	}
	l := webkit.Lang(r)
	t := texts[l]
	who := strings.TrimSpace(r.FormValue("iin"))
	if _, err := a.personName(r, s, who); err != nil {
		a.renderOfficeForm(w, r, s, p, http.StatusUnprocessableEntity, err.Error(), "", nil)
		return
	}
	fields := channelweb.ReadFields(p, officeChannel, r, map[string]string{"applicant_iin": who})
	if a.o.Attachments == nil {
		a.renderOfficeForm(w, r, s, p, http.StatusServiceUnavailable, t["err_no_store"], who, fields)
		return
	}
	att := channelweb.Attachments{Store: a.o.Attachments, MaxSize: scanLimit, Types: scanTypes}
	docs, problems, err := att.ReadDocuments(r.Context(), p, officeChannel, l, r, true)
	if err != nil {
		a.site.Fail(w, r, err)
		return
	}
	app := &applicationv1.Application{ApplicationId: uuid.NewString(), ServiceCode: p.Code, Region: p.Region,
		Channel: applicationv1.Channel_CHANNEL_OFFICE, ApplicantIin: who, Fields: fields, Documents: docs,
		SubmittedAt: timestamppb.New(a.o.Now()), Language: l}
	for _, pr := range p.CheckApplicationText(app) { // in the clerk's language, as ReadDocuments' problems
		problems = append(problems, webkit.Pick(l, pr.RU, pr.KK))
	}
	if len(problems) > 0 {
		a.renderOfficeForm(w, r, s, p, http.StatusUnprocessableEntity, strings.Join(problems, "; "), who, fields)
		return
	}
	content, err := proto.MarshalOptions{Deterministic: true}.Marshal(app)
	if err != nil {
		a.site.Fail(w, r, err)
		return
	}
	a.render(w, r, "office_sign.html", http.StatusOK, s, "", map[string]any{"Passport": p, "App": app,
		"Content": base64.StdEncoding.EncodeToString(content)})
}

// officeSign takes the clerk's signature of the application and registers it.
func (a *ARM) officeSign(w http.ResponseWriter, r *http.Request, s *session) {
	p, ok := a.officePassport(w, r, s)
	if !ok {
		return
	}
	t := texts[webkit.Lang(r)]
	content, err := base64.StdEncoding.DecodeString(r.PostFormValue("application"))
	app := &applicationv1.Application{}
	if err != nil || proto.Unmarshal(content, app) != nil || app.GetServiceCode() != p.Code {
		a.renderOfficeForm(w, r, s, p, http.StatusUnprocessableEntity, t["err_application"], "", nil)
		return
	}
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(r.PostFormValue("signature")))
	if err != nil || len(sig) == 0 {
		a.render(w, r, "office_sign.html", http.StatusUnprocessableEntity, s, t["err_no_signature"], map[string]any{"Passport": p, "App": app,
			"Content": base64.StdEncoding.EncodeToString(content)})
		return
	}
	c, err := a.o.Engine.Office(r.Context(), s.Region, s.Employee,
		&envelopev1.SignedDocument{MediaType: engine.MediaTypeApplication, Content: content, Signature: sig})
	var refused *engine.OfficeRefusal
	var ae *engine.ActionError
	switch {
	case errors.As(err, &refused):
		a.render(w, r, "office_sign.html", http.StatusUnprocessableEntity, s, webkit.Pick(webkit.Lang(r), refused.Text.RU, refused.Text.KK)+": "+webkit.Pick(webkit.Lang(r), refused.Detail.RU, refused.Detail.KK),
			map[string]any{"Passport": p, "App": app, "Content": base64.StdEncoding.EncodeToString(content)})
		return
	case errors.As(err, &ae):
		a.render(w, r, "office.html", http.StatusForbidden, s, ae.Message, map[string]any{})
		return
	case err != nil:
		a.site.Fail(w, r, err)
		return
	}
	a.o.Log.InfoContext(r.Context(), "arm: office application registered", "case", c.Number, "service", p.Code, "iin", iin.Mask(s.IIN))
	http.Redirect(w, r, "/arm/cases/"+strconv.FormatInt(c.ID, 10)+"/receipt", http.StatusSeeOther)
}

// receipt is the printable receipt (расписка о приёме) of an office application, with its current status:
// the office's status page, as no portal shows an office application's statuses.
func (a *ARM) receipt(w http.ResponseWriter, r *http.Request, s *session) {
	c, p, history, ok := a.loadFull(w, r, s)
	if !ok {
		return
	}
	name, err := a.personName(r, s, c.ApplicantIIN)
	if err != nil {
		name = "" // the receipt stands without the name; the IIN identifies the applicant
	}
	var clerk string
	for _, e := range history {
		if e.Action == engine.ActRegistered {
			clerk = e.ActorName
		}
	}
	docs := map[string]catalog.Document{}
	for _, d := range p.Documents {
		docs[d.ID] = d
	}
	a.render(w, r, "receipt.html", http.StatusOK, s, "", map[string]any{"Case": c, "Passport": p, "Name": name,
		"History": history, "DocNames": docs, "Clerk": clerk, "Receipt": a.officeReceipt(c, p, name, history)})
}

// handOver records the printed result handed over in person (handed=1) or unclaimed.
func (a *ARM) handOver(w http.ResponseWriter, r *http.Request, s *session) {
	c, ok := a.load(w, r, s)
	if !ok {
		return
	}
	err := a.o.Engine.HandOver(r.Context(), s.Region, c.ID, s.Employee, r.PostFormValue("handed") == "1")
	var ae *engine.ActionError
	switch {
	case errors.As(err, &ae):
		status := http.StatusConflict
		if ae.Code == "wrong_role" {
			status = http.StatusForbidden
		}
		a.showCase(w, r, s, status, ae.Message)
		return
	case err != nil:
		a.site.Fail(w, r, err)
		return
	}
	a.o.Log.InfoContext(r.Context(), "arm: result handed over", "case", c.Number, "handed", r.PostFormValue("handed") == "1", "iin", iin.Mask(s.IIN))
	http.Redirect(w, r, "/arm/cases/"+strconv.FormatInt(c.ID, 10), http.StatusSeeOther)
}
