package cabinet

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/applicant/channelweb"
	"github.com/egov-suite/egov/internal/catalog"
	"github.com/egov-suite/egov/internal/iin"
	"github.com/egov-suite/egov/internal/webkit"
	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
	"github.com/egov-suite/egov/services/eastana/internal/intake"
)

// The application is drafted without a row of its own: the signing page carries its bytes, and what
// comes back signed is checked again in full (the signature, the signer, the passport's form, the
// channel) before the intake sees it. A tampered draft is therefore the signer's own signed statement,
// refused like any other bad input; nothing is written before the signature verifies.

func (s *Site) formPage(w http.ResponseWriter, r *http.Request, u *user) {
	p, ok := s.offered(w, r)
	if !ok {
		return
	}
	s.renderForm(w, r, u, p, http.StatusOK, nil, "", nil)
}

func (s *Site) renderForm(w http.ResponseWriter, r *http.Request, u *user, p *catalog.Passport, status int, values map[string]string,
	errText string, problems []string) {
	l := webkit.Lang(r)
	fields, _ := channelweb.Form(p, Channel, l, values, map[string]string{"applicant_iin": u.IIN})
	s.render(w, r, "form.html", status, u, errText, map[string]any{"Passport": p, "Name": webkit.Pick(l, p.Name.RU, p.Name.KK),
		"Provider": webkit.Pick(l, p.Provider.Name.RU, p.Provider.Name.KK), "Fields": fields, "Problems": problems})
}

// draft checks the form against the passport (IIN check digits, required fields, choices) and, when it
// is correct, shows the application to sign. Incorrect data are refused with the regulation's text
// («…в связи с некорректностью введенных данных») and each problem named; nothing is written.
func (s *Site) draft(w http.ResponseWriter, r *http.Request, u *user) {
	p, ok := s.offered(w, r)
	if !ok {
		return
	}
	l := webkit.Lang(r)
	values := channelweb.ReadFields(p, Channel, r, map[string]string{"applicant_iin": u.IIN})
	a := &applicationv1.Application{ApplicationId: uuid.NewString(), ServiceCode: p.Code, Region: p.Region, ApplicantIin: u.IIN,
		Fields: values, Language: l, Channel: applicationv1.Channel_CHANNEL_EASTANA, SubmittedAt: timestamppb.New(s.o.Now())}
	if problems := problemsOf(p, a, l); len(problems) > 0 {
		s.renderForm(w, r, u, p, http.StatusUnprocessableEntity, values, refusalText(p, "intake_refused", l), problems)
		return
	}
	content, err := proto.Marshal(a)
	if err != nil {
		s.web.Fail(w, r, err)
		return
	}
	s.renderSign(w, r, u, p, a, content, http.StatusOK, "")
}

// problemsOf is what is wrong with a in lang.
func problemsOf(p *catalog.Passport, a *applicationv1.Application, lang string) []string {
	var out []string
	for _, t := range p.CheckApplicationText(a) {
		out = append(out, webkit.Pick(lang, t.RU, t.KK))
	}
	return out
}

func (s *Site) renderSign(w http.ResponseWriter, r *http.Request, u *user, p *catalog.Passport, a *applicationv1.Application, content []byte,
	status int, errText string) {
	l := webkit.Lang(r)
	fields, _ := channelweb.Form(p, Channel, l, a.GetFields(), nil)
	s.render(w, r, "sign.html", status, u, errText, map[string]any{"Passport": p, "Name": webkit.Pick(l, p.Name.RU, p.Name.KK),
		"Fields": fields, "Content64": base64.StdEncoding.EncodeToString(content)})
}

// sign takes the signed application: condition 2 (the signature verifies, the certificate is НУЦ's, a
// SIGNATURE key, valid and not revoked, and names the signed-in citizen, who is the applicant), then
// the application checked again, then the intake. The seed's p. 9 lists the IIN and the validity only;
// the suite checks revocation too, as on the other channels (README, «Decisions»). A signature that
// fails is refused with the regulation's text and the exact reason, and the application stays on the
// page to be signed again with a valid key.
func (s *Site) sign(w http.ResponseWriter, r *http.Request, u *user) {
	p, ok := s.offered(w, r)
	if !ok {
		return
	}
	l := webkit.Lang(r)
	t := texts[l]
	content, err := base64.StdEncoding.DecodeString(strings.TrimSpace(r.PostFormValue("content")))
	a := new(applicationv1.Application)
	if err != nil || len(content) == 0 || proto.Unmarshal(content, a) != nil {
		s.renderForm(w, r, u, p, http.StatusUnprocessableEntity, nil, refusalText(p, "intake_refused", l), []string{t["err_content"]})
		return
	}
	sig, ok := webkit.Signature(r)
	if !ok {
		s.renderSign(w, r, u, p, a, content, http.StatusUnprocessableEntity, t["err_no_signature"])
		return
	}
	_, verr := s.o.Verifier.Verify(r.Context(), content, sig, envelope.Expect{Purpose: envelope.PurposeDocument, IIN: u.IIN})
	switch {
	case envelope.CodeOf(verr) == envelope.CodeStatusUnavailable:
		s.renderSign(w, r, u, p, a, content, http.StatusServiceUnavailable, t["err_status"])
		return
	case verr != nil:
		ru, kk, _ := envelope.Refusal(verr)
		s.o.Log.InfoContext(r.Context(), "eastana cabinet: signature refused (condition 2)", "iin", iin.Mask(u.IIN),
			"reason", string(envelope.CodeOf(verr)))
		s.renderSign(w, r, u, p, a, content, http.StatusUnprocessableEntity,
			refusalText(p, "eds_not_confirmed", l)+": "+webkit.Pick(l, ru, kk)+". "+t["sign_again"])
		return
	}
	if problems := s.recheck(p, a, u, l); len(problems) > 0 {
		s.renderForm(w, r, u, p, http.StatusUnprocessableEntity, a.GetFields(), refusalText(p, "intake_refused", l), problems)
		return
	}
	n, err := s.o.Intake.Receive(detached(r), intake.Origin{Sender: intake.Local, ApplicantIIN: u.IIN}, a, s.o.Now())
	if err != nil {
		s.web.Fail(w, r, err)
		return
	}
	s.o.Log.InfoContext(r.Context(), "eastana cabinet: application received", "application", a.GetApplicationId(),
		"iin", iin.Mask(u.IIN), "status", n.GetStatus().String())
	s.afterReceive(w, r, u, a)
}

// recheck is what is wrong with a signed application, which came back from the browser: the form as
// the passport asks for it on this channel, the applicant the signed-in citizen, an application id as
// this cabinet makes them.
func (s *Site) recheck(p *catalog.Passport, a *applicationv1.Application, u *user, l string) []string {
	t := texts[l]
	problems := problemsOf(p, a, l)
	if a.GetApplicantIin() != u.IIN {
		problems = append(problems, t["err_applicant"])
	}
	if a.GetChannel() != applicationv1.Channel_CHANNEL_EASTANA || a.GetServiceCode() != p.Code || a.GetRegion() != p.Region {
		problems = append(problems, t["err_content"])
	}
	if _, err := uuid.Parse(a.GetApplicationId()); err != nil {
		problems = append(problems, t["err_content"])
	}
	return problems
}

// caseID is a path's {id}, or an error for one that is no case number.
func caseID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, errors.New("eastana cabinet: not a case id")
	}
	return id, nil
}
