package cabinet

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/applicant/channelweb"
	"github.com/egov-suite/egov/internal/webkit"
	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
	envelopev1 "github.com/egov-suite/egov/proto/egov/envelope/v1"
	"github.com/egov-suite/egov/services/eastana/internal/intake"
	"github.com/egov-suite/egov/services/eastana/internal/store"
)

// mountApplications mounts «Мои заявления»: the list, an application's page and its result documents.
func (s *Site) mountApplications(mux *http.ServeMux) {
	mux.HandleFunc("GET /applications", s.auth(s.list))
	mux.HandleFunc("GET /applications/{id}", s.auth(s.application))
	mux.HandleFunc("GET /applications/{id}/documents/{seq}/{doc}", s.auth(s.document))
	mux.HandleFunc("GET /applications/{id}/events", s.auth(s.events))
}

// events streams the case's new notifications as server-sent events (webkit.Stream) from the one
// numbered ?after= on: the application's page reloads itself when the МИО employee's decision or a later
// event of the queue comes. A waiting list's case stays open, so the stream ends only with the page.
func (s *Site) events(w http.ResponseWriter, r *http.Request, u *user) {
	c, ok := s.load(w, r, u)
	if !ok {
		return
	}
	after, err := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	if err != nil {
		after = 0
	}
	s.web.Stream(w, r, after, func(ctx context.Context) (int64, bool, error) {
		ns, err := s.o.Intake.Statuses(ctx, c.ID)
		if err != nil || len(ns) == 0 {
			return 0, false, err
		}
		return ns[len(ns)-1].GetSequence(), false, nil
	})
}

// afterReceive sends the citizen to the application's page.
func (s *Site) afterReceive(w http.ResponseWriter, r *http.Request, u *user, a *applicationv1.Application) {
	c, err := s.o.Intake.CaseOf(r.Context(), intake.Local, a.GetApplicationId())
	switch {
	case errors.Is(err, intake.ErrNoCase):
		http.Redirect(w, r, "/applications", http.StatusSeeOther)
	case err != nil:
		s.web.Fail(w, r, err)
	default:
		http.Redirect(w, r, "/applications/"+strconv.FormatInt(c.ID, 10)+"?sent=1", http.StatusSeeOther)
	}
}

// caseRow is a case in the list.
type caseRow struct {
	intake.Case
	Service string
}

// list is «Мои заявления»: every application ИС Е-Астана holds from the citizen, whichever channel it
// came by (the portal, ЦОН, МИО or this cabinet), newest first.
func (s *Site) list(w http.ResponseWriter, r *http.Request, u *user) {
	cases, err := s.o.Intake.Cases(r.Context(), intake.Filter{ApplicantIIN: u.IIN, Limit: 200, NewestFirst: true})
	if err != nil {
		s.web.Fail(w, r, err)
		return
	}
	l := webkit.Lang(r)
	rows := make([]caseRow, 0, len(cases))
	for _, c := range cases {
		rows = append(rows, caseRow{Case: c, Service: s.serviceName(l)})
	}
	s.render(w, r, "applications.html", http.StatusOK, u, "", map[string]any{"Cases": rows})
}

// serviceName is the name of the cabinet's service (one passport: the Astana registration).
func (s *Site) serviceName(l string) string {
	if ps := s.passports(); len(ps) > 0 {
		return webkit.Pick(l, ps[0].Name.RU, ps[0].Name.KK)
	}
	return ""
}

// load is the citizen's own case of the path's {id}; another person's case is not found, as one that
// does not exist.
func (s *Site) load(w http.ResponseWriter, r *http.Request, u *user) (*intake.Case, bool) {
	id, err := caseID(r)
	if err != nil {
		http.NotFound(w, r)
		return nil, false
	}
	c, err := s.o.Intake.Case(r.Context(), id)
	if errors.Is(err, intake.ErrNoCase) || err == nil && c.ApplicantIIN != u.IIN {
		http.NotFound(w, r)
		return nil, false
	}
	if err != nil {
		s.web.Fail(w, r, err)
		return nil, false
	}
	return c, true
}

// statusRow is a notification as the page shows it.
type statusRow struct {
	At                            time.Time
	Status, Text, Reason, Comment string
	Number, Ahead                 int64
	Deadline                      *time.Time
}

// resultView is a signed result document with its signature checked now.
type resultView struct {
	Name, Kind, Text string
	Link, SigLink    string
	PDFLink          string
	PDFSigLink       string
	Err              string
	Signer           string
	SigningTime      time.Time
	CertValid        bool
}

// placeView is the child's place in the queue now, and its movement.
type placeView struct {
	Number, Ahead int64
	List, Kind    string
	State         string
	Events        []store.Event
}

func (s *Site) application(w http.ResponseWriter, r *http.Request, u *user) {
	c, ok := s.load(w, r, u)
	if !ok {
		return
	}
	l := webkit.Lang(r)
	ns, err := s.o.Intake.Statuses(r.Context(), c.ID)
	if err != nil {
		s.web.Fail(w, r, err)
		return
	}
	var rows []statusRow
	var results []resultView
	var newest int64
	for _, n := range ns {
		newest = max(newest, n.GetSequence())
		row := statusRow{At: n.GetTime().AsTime(), Status: statusCode(n.GetStatus()),
			Text: webkit.Pick(l, n.GetText().GetRu(), n.GetText().GetKk()), Reason: webkit.Pick(l, n.GetReason().GetRu(), n.GetReason().GetKk()),
			Comment: webkit.Pick(l, n.GetCommentText().GetRu(), n.GetCommentText().GetKk())}
		if row.Comment == "" {
			row.Comment = n.GetComment()
		}
		if q := n.GetQueue(); q != nil {
			row.Number, row.Ahead = q.GetNumber(), q.GetAhead()
		}
		if n.GetDeadline() != nil {
			d := n.GetDeadline().AsTime()
			row.Deadline = &d
		}
		rows = append(rows, row)
		for i, d := range n.GetResults() {
			results = append(results, s.result(r, c, n.GetSequence(), i, d, l))
		}
	}
	var place *placeView
	if c.EntryID != nil && c.State != "awaiting" {
		// The place is the citizen's once the decision is signed: the number is the signed ticket's.
		pos, err := s.o.Store.Position(r.Context(), *c.EntryID)
		if err != nil {
			s.web.Fail(w, r, err)
			return
		}
		events, err := s.o.Store.Events(r.Context(), *c.EntryID)
		if err != nil {
			s.web.Fail(w, r, err)
			return
		}
		place = &placeView{Number: pos.Entry.Number, Ahead: pos.Ahead, List: pos.Entry.ListID, Kind: string(pos.Entry.Kind),
			State: pos.Entry.State, Events: events}
	}
	var after any
	if ps := s.passports(); len(ps) > 0 && c.State != "awaiting" && c.Decision == "refusal" {
		after = ps[0].AfterRefusal
	}
	s.render(w, r, "application.html", http.StatusOK, u, "", map[string]any{"Case": c, "Name": s.serviceName(l), "Statuses": rows,
		"Results": results, "Place": place, "Newest": newest, "Sent": r.URL.Query().Get("sent") != "", "AfterRefusal": after})
}

// statusCode is a status's contract name without its prefix (QUEUED, REGISTERED …).
func statusCode(st applicationv1.CaseStatus) string {
	return strings.TrimPrefix(st.String(), "CASE_STATUS_")
}

// result describes document i of the notification numbered seq, its signature checked now.
func (s *Site) result(r *http.Request, c *intake.Case, seq int64, i int, d *applicationv1.ResultDocument, l string) resultView {
	base := "/applications/" + strconv.FormatInt(c.ID, 10) + "/documents/" + strconv.FormatInt(seq, 10) + "/" + strconv.Itoa(i)
	v := resultView{Name: webkit.Pick(l, d.GetName().GetRu(), d.GetName().GetKk()), Kind: d.GetKind(), Link: base, SigLink: base + "?part=signature"}
	if strings.HasPrefix(d.GetDocument().GetMediaType(), "text/") {
		v.Text = string(d.GetDocument().GetContent())
	}
	if d.GetPrintable() != nil {
		v.PDFLink, v.PDFSigLink = base+"?part=pdf", base+"?part=pdf-signature"
	}
	// Issued: the МИО employee's signature, or ИС Е-Астана's seal on a referral the queue gave by itself.
	res, err := s.o.Verifier.Verify(r.Context(), d.GetDocument().GetContent(), d.GetDocument().GetSignature(),
		envelope.Expect{Purpose: envelope.PurposeIssued})
	if err != nil {
		ru, kk, _ := envelope.Refusal(err)
		v.Err = webkit.Pick(l, ru, kk)
		return v
	}
	v.Signer, v.SigningTime, v.CertValid = res.Holder.Name, res.SigningTime, !res.Status.Revoked
	return v
}

// document serves a result document of the citizen's case: the text, its detached signature, the
// printable form (PDF) or the PDF's signature.
func (s *Site) document(w http.ResponseWriter, r *http.Request, u *user) {
	c, ok := s.load(w, r, u)
	if !ok {
		return
	}
	seq, err1 := strconv.ParseInt(r.PathValue("seq"), 10, 64)
	i, err2 := strconv.Atoi(r.PathValue("doc"))
	if err1 != nil || err2 != nil {
		http.NotFound(w, r)
		return
	}
	ns, err := s.o.Intake.Statuses(r.Context(), c.ID)
	if err != nil {
		s.web.Fail(w, r, err)
		return
	}
	var d *applicationv1.ResultDocument
	for _, n := range ns {
		if n.GetSequence() == seq && i >= 0 && i < len(n.GetResults()) {
			d = n.GetResults()[i]
		}
	}
	if d == nil {
		http.NotFound(w, r)
		return
	}
	// The file's name in ASCII (a header's plain filename), with the application's number as written
	// (ЕА-…) in filename*.
	name := "eastana-" + strconv.FormatInt(c.ID, 10) + "-" + d.GetKind()
	full := c.Number + "-" + d.GetKind()
	var doc *envelopev1.SignedDocument
	switch r.URL.Query().Get("part") {
	case "", "signature":
		doc, name, full = d.GetDocument(), name+".txt", full+".txt"
	case "pdf", "pdf-signature":
		doc, name, full = d.GetPrintable(), name+".pdf", full+".pdf"
	}
	if doc == nil {
		http.NotFound(w, r)
		return
	}
	disposition := func(name, full string) string {
		return `attachment; filename="` + name + `"; filename*=UTF-8''` + url.PathEscape(full)
	}
	if strings.HasSuffix(r.URL.Query().Get("part"), "signature") {
		w.Header().Set("Content-Type", "application/pkcs7-signature")
		w.Header().Set("Content-Disposition", disposition(name+".p7s", full+".p7s"))
		_, _ = w.Write(doc.GetSignature())
		return
	}
	w.Header().Set("Content-Type", doc.GetMediaType())
	w.Header().Set("Content-Disposition", disposition(name, full))
	_, _ = w.Write(doc.GetContent())
}

// statusName is a status as the citizen reads it: the waiting list's own, else the channels' names.
func statusName(lang, status string) string {
	if n, ok := queueStatuses[lang][status]; ok {
		return n
	}
	return channelweb.StatusName(lang, status)
}

var queueStatuses = map[string]map[string]string{
	"ru": {"QUEUED": "Поставлен в очередь", "QUEUE_MOVED": "Очередь продвинулась", "REFERRAL_OFFERED": "Выдано направление в ДДО",
		"REFERRAL_EXPIRED": "Срок направления истёк", "REFERRAL_DECLINED": "От направления отказались", "ENROLLED": "Зачислен в ДДО",
		"REMOVED": "Снят с очереди", "REGISTERED": "Заявление принято"},
	"kk": {"QUEUED": "Кезекке қойылды", "QUEUE_MOVED": "Кезек жылжыды", "REFERRAL_OFFERED": "МЖҰ-ға жолдама берілді",
		"REFERRAL_EXPIRED": "Жолдаманың мерзімі өтті", "REFERRAL_DECLINED": "Жолдамадан бас тартылды", "ENROLLED": "МЖҰ-ға қабылданды",
		"REMOVED": "Кезектен шығарылды", "REGISTERED": "Өтініш қабылданды"},
}

// eventName is a queue event's kind as the citizen reads it.
func eventName(lang, kind string) string {
	if st, ok := intake.Statuses[kind]; ok {
		return statusName(lang, statusCode(st))
	}
	return kind
}
