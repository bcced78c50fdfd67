package mio

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/applicant/channelweb"
	"github.com/egov-suite/egov/internal/catalog"
	"github.com/egov-suite/egov/internal/iin"
	"github.com/egov-suite/egov/internal/pgdb"
	"github.com/egov-suite/egov/internal/webkit"
	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
	envelopev1 "github.com/egov-suite/egov/proto/egov/envelope/v1"
	"github.com/egov-suite/egov/services/eastana/internal/intake"
)

// The in-person intake at МИО (the regulation's МИО channel, process 3 to condition 2): the applicant
// comes with the paper application (приложение 9) and the originals; the employee enters the
// applicant's and the child's IINs and, with the applicant's consent, the e-mail for the result,
// attaches the scan of the paper application and signs the application with their own ЭЦП. The
// signature is checked (condition 2: the IIN in the certificate is the signed-in employee's, the
// certificate valid and not revoked) before ИС Е-Астана receives the application, as from any channel,
// and it is then decided like any other (the case page). The draft has no row of its own: the signing
// page carries its bytes, and what comes back signed is checked again in full; only the scan is kept
// at the draft, in eastana's own table, since the signed application names it by its SHA-256.

// The office channel's names.
const (
	officeChannel = "office"
	// ServiceCode is the passport the cabinet takes applications for (region Astana).
	ServiceCode = "preschool-registration"
	// Region is Astana.
	Region = "71"
	// scanDocument is the passport's document of the paper application.
	scanDocument = "preschool_application"
	// scanKeyPrefix marks a document's attachment kept in office_scans (not an object store's key).
	scanKeyPrefix = "eastana-office-scan/"
	// The passport's fields of the result's delivery by e-mail (version 2).
	fieldEmail   = "email"
	fieldConsent = "email_consent"
)

// scanTypes are the media types a scan may have, as sniffed from its bytes.
var scanTypes = []string{"application/pdf", "image/jpeg", "image/png"}

// passport is the passport of the office intake; false (and the answer written) when the catalogue has
// none, which is the build's fault.
func (c *Cabinet) passport(w http.ResponseWriter, r *http.Request) (*catalog.Passport, bool) {
	p, ok := c.o.Catalog.Get(ServiceCode, Region)
	if !ok {
		c.site.Fail(w, r, fmt.Errorf("mio: the catalogue has no passport %s.%s", ServiceCode, Region))
		return nil, false
	}
	return p, true
}

func (c *Cabinet) officeForm(w http.ResponseWriter, r *http.Request, s *session) {
	p, ok := c.passport(w, r)
	if !ok {
		return
	}
	c.renderOffice(w, r, s, p, http.StatusOK, nil, "", nil)
}

func (c *Cabinet) renderOffice(w http.ResponseWriter, r *http.Request, s *session, p *catalog.Passport, status int, values map[string]string,
	errText string, problems []string) {
	l := webkit.Lang(r)
	fields, docs := channelweb.Form(p, officeChannel, l, values, nil)
	c.render(w, r, "office.html", status, s, errText, "", map[string]any{"Name": webkit.Pick(l, p.Name.RU, p.Name.KK),
		"Fields": fields, "Docs": docs, "Problems": problems, "MaxMB": c.o.ScanMax >> 20})
}

// officeDraft checks the form and the scan and shows the application to sign. Incorrect data are
// refused with the passport's text («…в связи с некорректностью введенных данных») and each problem
// named; only a correct form keeps its scan.
func (c *Cabinet) officeDraft(w http.ResponseWriter, r *http.Request, s *session) {
	p, ok := c.passport(w, r)
	if !ok {
		return
	}
	l := webkit.Lang(r)
	t := texts[l]
	values := channelweb.ReadFields(p, officeChannel, r, nil)
	now := c.o.Now()
	a := &applicationv1.Application{ApplicationId: uuid.NewString(), ServiceCode: p.Code, Region: p.Region, ApplicantIin: values["applicant_iin"],
		Fields: values, Language: l, Channel: applicationv1.Channel_CHANNEL_OFFICE, SubmittedAt: timestamppb.New(now)}
	sc, problem, err := readScan(r, c.o.ScanMax, l)
	if err != nil {
		c.site.Fail(w, r, err)
		return
	}
	var problems []string
	if problem != "" {
		problems = append(problems, problem)
	}
	id := uuid.New()
	if sc != nil {
		sc.ObjectKey = scanKeyPrefix + id.String()
		a.Documents = []*applicationv1.SubmittedDocument{{Id: scanDocument, Attachment: sc.Attachment, PaperReceived: true}}
	}
	problems = append(problems, problemsOf(p, a, l)...)
	if sc == nil && problem == "" {
		// The paper application is what the employee took: its scan is asked for whatever the passport's
		// list of the channel's documents says.
		problems = append(problems, t["err_scan_missing"])
	}
	if len(problems) > 0 {
		c.renderOffice(w, r, s, p, http.StatusUnprocessableEntity, values, refusalText(p, "intake_refused", l), problems)
		return
	}
	content, err := proto.MarshalOptions{Deterministic: true}.Marshal(a)
	if err != nil {
		c.site.Fail(w, r, err)
		return
	}
	// Drafts never signed leave their scans behind: removed a day later, here rather than by a worker
	// of its own (a draft is where they come from).
	if _, err := c.o.DB.Exec(r.Context(), `DELETE FROM office_scans WHERE application_id IS NULL AND taken_at < $1`, now.Add(-24*time.Hour)); err != nil {
		c.site.Fail(w, r, err)
		return
	}
	if _, err := c.o.DB.Exec(r.Context(), `INSERT INTO office_scans (id, name, media_type, size, sha256, content, taken_by, taken_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, id, sc.GetName(), sc.GetMediaType(), sc.GetSize(), sc.GetSha256(), sc.content, s.IIN, now); err != nil {
		c.site.Fail(w, r, err)
		return
	}
	c.renderOfficeSign(w, r, s, p, a, content, http.StatusOK, "")
}

func (c *Cabinet) renderOfficeSign(w http.ResponseWriter, r *http.Request, s *session, p *catalog.Passport, a *applicationv1.Application,
	content []byte, status int, errText string) {
	l := webkit.Lang(r)
	fields, _ := channelweb.Form(p, officeChannel, l, a.GetFields(), nil)
	var att *envelopev1.Attachment
	for _, d := range a.GetDocuments() {
		if d.GetId() == scanDocument {
			att = d.GetAttachment()
		}
	}
	c.render(w, r, "office_sign.html", status, s, errText, "", map[string]any{"Name": webkit.Pick(l, p.Name.RU, p.Name.KK),
		"Fields": fields, "Scan": att, "Content64": base64.StdEncoding.EncodeToString(content)})
}

// officeSign takes the application the employee signed: condition 2 first (a refusal with the
// regulation's text and the exact reason, the application left on the page to sign again with a valid
// key), then the application checked again and its scan found unchanged, then ИС Е-Астана receives it.
// The signed bytes and the signature are kept, and the scan bound to the application, before the
// intake decides it; a repeat of the same post is answered as the first (the intake keeps one decision
// per application).
func (c *Cabinet) officeSign(w http.ResponseWriter, r *http.Request, s *session) {
	p, ok := c.passport(w, r)
	if !ok {
		return
	}
	l := webkit.Lang(r)
	t := texts[l]
	content, err := base64.StdEncoding.DecodeString(strings.TrimSpace(r.PostFormValue("content")))
	a := new(applicationv1.Application)
	if err != nil || len(content) == 0 || proto.Unmarshal(content, a) != nil {
		c.renderOffice(w, r, s, p, http.StatusUnprocessableEntity, nil, refusalText(p, "intake_refused", l), []string{t["err_content"]})
		return
	}
	sig, ok := webkit.Signature(r)
	if !ok {
		c.renderOfficeSign(w, r, s, p, a, content, http.StatusUnprocessableEntity, t["err_no_signature"])
		return
	}
	_, verr := c.o.Verifier.Verify(r.Context(), content, sig, envelope.Expect{Purpose: envelope.PurposeDocument, IIN: s.IIN})
	switch {
	case envelope.CodeOf(verr) == envelope.CodeStatusUnavailable:
		c.renderOfficeSign(w, r, s, p, a, content, http.StatusServiceUnavailable, t["err_status"])
		return
	case verr != nil:
		ru, kk, _ := envelope.Refusal(verr)
		c.o.Log.InfoContext(r.Context(), "mio: the employee's signature refused (condition 2)", "iin", iin.Mask(s.IIN),
			"reason", string(envelope.CodeOf(verr)))
		c.renderOfficeSign(w, r, s, p, a, content, http.StatusUnprocessableEntity, t["err_eds"]+": "+webkit.Pick(l, ru, kk)+". "+t["sign_again"])
		return
	}
	problems := problemsOf(p, a, l)
	if a.GetChannel() != applicationv1.Channel_CHANNEL_OFFICE || a.GetServiceCode() != p.Code || a.GetRegion() != p.Region {
		problems = append(problems, t["err_content"])
	}
	if _, err := uuid.Parse(a.GetApplicationId()); err != nil {
		problems = append(problems, t["err_content"])
	}
	if len(problems) > 0 {
		c.renderOffice(w, r, s, p, http.StatusUnprocessableEntity, a.GetFields(), refusalText(p, "intake_refused", l), problems)
		return
	}
	// The rest runs to its end even if the browser goes away: the application is the employee's signed act.
	ctx := context.WithoutCancel(r.Context())
	now := c.o.Now()
	err = c.keepOffice(ctx, a, content, sig, s.IIN, now)
	if errors.Is(err, errScanGone) {
		c.renderOffice(w, r, s, p, http.StatusUnprocessableEntity, a.GetFields(), refusalText(p, "intake_refused", l), []string{t["err_scan_gone"]})
		return
	}
	if err != nil {
		c.site.Fail(w, r, err)
		return
	}
	n, err := c.o.Intake.Receive(ctx, intake.Origin{Sender: intake.Local, ApplicantIIN: a.GetApplicantIin()}, a, now)
	if err != nil {
		c.site.Fail(w, r, err)
		return
	}
	c.o.Log.InfoContext(r.Context(), "mio: application taken in person", "application", a.GetApplicationId(), "iin", iin.Mask(s.IIN),
		"status", n.GetStatus().String())
	c.afterOffice(w, r, s, a)
}

// errScanGone: the scan a signed application names is not the one kept at its draft (gone after a day
// unsigned, or altered).
var errScanGone = errors.New("mio: the scan of the application is gone or altered")

// keepOffice keeps the signed application and binds its scan to it, in one transaction; errScanGone
// when the scan it names is not the one kept at the draft (and then nothing is kept).
func (c *Cabinet) keepOffice(ctx context.Context, a *applicationv1.Application, content, sig []byte, by string, now time.Time) error {
	return pgdb.InTx(ctx, c.o.DB, func(tx pgx.Tx) error {
		for _, d := range a.GetDocuments() {
			att := d.GetAttachment()
			if att == nil {
				continue
			}
			id, ok := strings.CutPrefix(att.GetObjectKey(), scanKeyPrefix)
			if !ok || uuid.Validate(id) != nil {
				return errScanGone
			}
			tag, err := tx.Exec(ctx, `UPDATE office_scans SET application_id = $2 WHERE id = $1 AND sha256 = $3 AND size = $4
				AND (application_id IS NULL OR application_id = $2)`, id, a.GetApplicationId(), att.GetSha256(), att.GetSize())
			if err != nil {
				return err
			}
			if tag.RowsAffected() != 1 {
				return errScanGone
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO office_applications (application_id, content, signature, signed_by, signed_at)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (application_id) DO NOTHING`, a.GetApplicationId(), content, sig, by, now)
		return err
	})
}

// scan is an uploaded scan with its bytes.
type scan struct {
	*envelopev1.Attachment
	content []byte
}

// readScan reads the scan of the paper application from the form: nil with no problem when none was
// attached (the passport's check names the missing document), a problem in lang for one the limits
// refuse.
func readScan(r *http.Request, limit int64, lang string) (*scan, string, error) {
	f, h, err := r.FormFile("d_" + scanDocument)
	if errors.Is(err, http.ErrMissingFile) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, "", err
	}
	t := texts[lang]
	if int64(len(b)) > limit {
		return nil, fmt.Sprintf(t["err_scan_size"], limit>>20), nil
	}
	mt := http.DetectContentType(b)
	if i := strings.IndexByte(mt, ';'); i >= 0 {
		mt = mt[:i]
	}
	if !slices.Contains(scanTypes, mt) || len(b) == 0 {
		return nil, t["err_scan_type"], nil
	}
	sum := sha256.Sum256(b)
	return &scan{Attachment: &envelopev1.Attachment{Name: filepath.Base(h.Filename), MediaType: mt, Size: int64(len(b)), Sha256: sum[:]},
		content: bytes.Clone(b)}, "", nil
}

// problemsOf is what is wrong with a in lang: the passport's checks (the IINs, the e-mail's form and,
// with the applicant's consent, its presence), and an address typed without the consent, which would
// otherwise be kept unused: the employee clears it or marks the consent.
func problemsOf(p *catalog.Passport, a *applicationv1.Application, lang string) []string {
	var out []string
	for _, t := range p.CheckApplicationText(a) {
		out = append(out, webkit.Pick(lang, t.RU, t.KK))
	}
	if strings.TrimSpace(a.GetFields()[fieldEmail]) != "" && a.GetFields()[fieldConsent] != "yes" {
		out = append(out, texts[lang]["err_email_consent"])
	}
	return out
}

// refusalText is the passport's text of a refusal ground in lang, the ground's code when it has none.
func refusalText(p *catalog.Passport, code, lang string) string {
	for _, r := range p.Refusals {
		if r.Code == code {
			return webkit.Pick(lang, r.Text.RU, r.Text.KK)
		}
	}
	return code
}

// afterOffice opens the case the application became, to be decided like any other.
func (c *Cabinet) afterOffice(w http.ResponseWriter, r *http.Request, _ *session, a *applicationv1.Application) {
	k, err := c.o.Intake.CaseOf(r.Context(), intake.Local, a.GetApplicationId())
	if err != nil {
		c.site.Fail(w, r, fmt.Errorf("mio: the case of the application taken in person: %w", err))
		return
	}
	http.Redirect(w, r, Prefix+"cases/"+strconv.FormatInt(k.ID, 10)+"?done=received", http.StatusSeeOther)
}
