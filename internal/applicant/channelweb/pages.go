package channelweb

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/applicant"
	"github.com/egov-suite/egov/internal/catalog"
	"github.com/egov-suite/egov/internal/webkit"
	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
)

// Pages are the application pages every channel has — the signing page, the signature taken and sent,
// the result document — over the channel core, for a site whose signed-in user is U. The site mounts
// them under /applications/{id}/… with its own templates (a "sign.html" that offers the application's
// bytes for signing) and says through the hooks what its regulation makes differ: whose list an
// application is on, whom the signature must name, what the signing page shows beside the bytes, and
// what happens after a submission.
type Pages[U any] struct {
	Desk *applicant.Desk
	Web  *webkit.Site
	// Attachments keep the channel's uploads.
	Attachments Attachments
	// Owner is whose list the user's applications are on (the citizen's IIN, the ЦОН office).
	Owner func(u U) string
	// Expect is what the signature over the application must verify for (the portal: the applicant's
	// own IIN; a ЦОН: the operator's IIN and the organisation's BIN).
	Expect func(u U) envelope.Expect
	// SignView is what the signing page shows: the site's data for "sign.html".
	SignView func(r *http.Request, a *applicant.Application) (map[string]any, error)
	// Render draws a page of the site.
	Render func(w http.ResponseWriter, r *http.Request, name string, status int, u U, errText string, data any)
	// Text is the site's word for key in the request's language (err_no_signature, err_status).
	Text func(r *http.Request, key string) string
	// Sent is where the user goes after a submission that went to ШЭП (the receipt at a ЦОН, the
	// application's page on the portal); AfterSubmit, when set, runs first (a ЦОН arms its timers).
	Sent        func(a *applicant.Application) string
	AfterSubmit func(r *http.Request, a *applicant.Application)
}

// Draft records the passport's form from r as a draft on the user's list: values are the fields the
// site read (ReadFields, its fixed values winning), the documents come from r with their scans and, at a
// counter (paper), the marks that the originals were received. What the attachments' limits or the
// passport refuse comes back as problems for the form to show, and nothing is recorded; also are the
// site's own records of the draft, written in its transaction.
func (p *Pages[U]) Draft(r *http.Request, u U, pp *catalog.Passport, applicantIIN string, values map[string]string, paper bool,
	also ...applicant.Also) (string, []string, error) {
	l := webkit.Lang(r)
	docs, problems, err := p.Attachments.ReadDocuments(r.Context(), pp, p.Desk.ChannelName(), l, r, paper)
	if err != nil || len(problems) > 0 {
		return "", problems, err
	}
	a := &applicationv1.Application{ServiceCode: pp.Code, Region: pp.Region, ApplicantIin: applicantIIN, Fields: values, Documents: docs, Language: l}
	id, err := p.Desk.Draft(r.Context(), p.Owner(u), a, also...)
	var pr applicant.Problems
	if errors.As(err, &pr) {
		return "", pr, nil
	}
	return id, nil, err
}

// Load reads the user's application of the path's {id}; it answers 404 itself when there is none.
func (p *Pages[U]) Load(w http.ResponseWriter, r *http.Request, u U) (*applicant.Application, bool) {
	a, err := p.Desk.Get(r.Context(), p.Owner(u), r.PathValue("id"))
	if errors.Is(err, applicant.ErrNotFound) {
		http.NotFound(w, r)
		return nil, false
	}
	if err != nil {
		p.Web.Fail(w, r, err)
		return nil, false
	}
	return a, true
}

// SignPage offers a draft for signing; anything else goes to the application's page.
func (p *Pages[U]) SignPage(w http.ResponseWriter, r *http.Request, u U) {
	a, ok := p.Load(w, r, u)
	if !ok {
		return
	}
	if a.Status != applicant.StatusDraft {
		http.Redirect(w, r, "/applications/"+a.ID, http.StatusSeeOther)
		return
	}
	p.renderSign(w, r, u, a, http.StatusOK, "")
}

func (p *Pages[U]) renderSign(w http.ResponseWriter, r *http.Request, u U, a *applicant.Application, status int, errText string) {
	v, err := p.SignView(r, a)
	if err != nil {
		p.Web.Fail(w, r, err)
		return
	}
	p.Render(w, r, "sign.html", status, u, errText, v)
}

// Sign takes the signature over the draft: condition 2 is checked, and the application goes to ШЭП or
// is refused with the regulation's text (its page shows it).
func (p *Pages[U]) Sign(w http.ResponseWriter, r *http.Request, u U) {
	a, ok := p.Load(w, r, u)
	if !ok {
		return
	}
	sig, ok := webkit.Signature(r)
	if !ok {
		p.renderSign(w, r, u, a, http.StatusUnprocessableEntity, p.Text(r, "err_no_signature"))
		return
	}
	err := p.Desk.Submit(r.Context(), p.Owner(u), a.ID, sig, p.Expect(u))
	var refused *applicant.Refused
	switch {
	case errors.Is(err, applicant.ErrStatusUnavailable):
		p.renderSign(w, r, u, a, http.StatusServiceUnavailable, p.Text(r, "err_status"))
		return
	case errors.As(err, &refused):
		// Condition 2 failed: nothing was sent and the draft stays; the signing page says why, in the
		// regulation's words, and asks for a valid key.
		l := webkit.Lang(r)
		msg := webkit.Pick(l, refused.Text.RU, refused.Text.KK)
		if detail := webkit.Pick(l, refused.DetailRU, refused.DetailKK); detail != "" {
			msg += ": " + detail
		}
		p.renderSign(w, r, u, a, http.StatusUnprocessableEntity, msg+". "+p.Text(r, "sign_again"))
		return
	case errors.Is(err, applicant.ErrSubmitted), errors.Is(err, applicant.ErrOutcomeUnknown):
		// Sent before (a second click, a retry after a lost answer), or perhaps just now with the
		// database gone around the commit: never "failed" — the application's page tells what became of
		// it, and nothing is sent twice.
		http.Redirect(w, r, "/applications/"+a.ID, http.StatusSeeOther)
		return
	case err != nil:
		p.Web.Fail(w, r, err)
		return
	}
	if p.AfterSubmit != nil {
		p.AfterSubmit(r, a)
	}
	http.Redirect(w, r, p.Sent(a), http.StatusSeeOther)
}

// Events streams the application's changes as server-sent events (webkit.Stream) from the status
// numbered ?after= on: the application's page listens and reloads itself when a status comes, and
// without JavaScript it is reloaded by hand.
func (p *Pages[U]) Events(w http.ResponseWriter, r *http.Request, u U) {
	a, ok := p.Load(w, r, u)
	if !ok {
		return
	}
	after, err := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	if err != nil {
		after = a.Recorded
	}
	owner := p.Owner(u)
	p.Web.Stream(w, r, after, func(ctx context.Context) (int64, bool, error) {
		n, err := p.Desk.Newest(ctx, owner, a.ID)
		return n, false, err
	})
}

// Result serves the application's result document, or with ?part=signature its signature.
func (p *Pages[U]) Result(w http.ResponseWriter, r *http.Request, u U) {
	a, ok := p.Load(w, r, u)
	if !ok {
		return
	}
	if r.URL.Query().Get("part") == "pdf" {
		ServePrintable(w, r, p.Desk, a)
		return
	}
	ServeResult(w, r, a)
}

// AfterRefusal is what the passport says a refused applicant can do next, for a refused application
// (nil otherwise, or when the passport says nothing).
func AfterRefusal(d *applicant.Desk, a *applicant.Application) *catalog.AfterRefusal {
	if !a.Refused {
		return nil
	}
	if p, ok := d.Catalog().Get(a.ServiceCode, a.Region); ok {
		return p.AfterRefusal
	}
	return nil
}
