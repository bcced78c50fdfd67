package mio

import (
	"context"
	"encoding/base64"
	"errors"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/egov-suite/egov/internal/iin"
	"github.com/egov-suite/egov/internal/registries"
	"github.com/egov-suite/egov/internal/webkit"
	"github.com/egov-suite/egov/services/eastana/internal/intake"
)

// The applications received («поступившие»): every application that reached ИС Е-Астана, by the channel
// it came from and its state, and the case page where the employee decides it. The intake registered the
// child at once and drafted the result (the registration ticket, the referral, or the queue's refusal);
// the employee reads the draft and signs it with their ЭЦП, or replaces it with a motivated refusal.
// Only then does the decision's notification go to the applicant, with the signed document.

func (c *Cabinet) routeCases(mux *http.ServeMux) {
	mux.HandleFunc("GET /mio/{$}", c.auth(c.cases))
	mux.HandleFunc("GET /mio/cases/{id}", c.auth(c.casePage))
	mux.HandleFunc("GET /mio/cases/{id}/scan", c.auth(c.scan))
	mux.HandleFunc("POST /mio/cases/{id}/sign", c.auth(c.sign))
	mux.HandleFunc("POST /mio/cases/{id}/refuse", c.auth(c.refuse))
}

// channels and states are the filters of the list, in the order the page offers them.
var (
	channels = []string{"", "portal", "tson", "eastana", "office"}
	states   = []string{"awaiting", "issued", "refused", ""}
)

func (c *Cabinet) cases(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	f := intake.Filter{Channel: q.Get("channel"), State: q.Get("state"), Limit: 500}
	if _, ok := q["state"]; !ok {
		f.State = "awaiting"
	}
	if !slices.Contains(channels, f.Channel) || !slices.Contains(states, f.State) {
		http.NotFound(w, r)
		return
	}
	list, err := c.o.Intake.Cases(r.Context(), f)
	if err != nil {
		c.site.Fail(w, r, err)
		return
	}
	c.render(w, r, "cases.html", http.StatusOK, s, "", "", map[string]any{"Cases": list, "Channel": f.Channel, "State": f.State,
		"Channels": channels, "States": states})
}

// load is the case of the path's {id}; false when the answer is written (not found, a failure).
func (c *Cabinet) load(w http.ResponseWriter, r *http.Request) (*intake.Case, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		http.NotFound(w, r)
		return nil, false
	}
	k, err := c.o.Intake.Case(r.Context(), id)
	if errors.Is(err, intake.ErrNoCase) {
		http.NotFound(w, r)
		return nil, false
	}
	if err != nil {
		c.site.Fail(w, r, err)
		return nil, false
	}
	return k, true
}

func (c *Cabinet) casePage(w http.ResponseWriter, r *http.Request, s *session) {
	notice := ""
	switch r.URL.Query().Get("done") {
	case "signed":
		notice = texts[webkit.Lang(r)]["done_signed"]
	case "refused":
		notice = texts[webkit.Lang(r)]["done_refused"]
	case "received":
		notice = texts[webkit.Lang(r)]["done_received"]
	}
	c.showCase(w, r, s, http.StatusOK, "", notice)
}

func (c *Cabinet) showCase(w http.ResponseWriter, r *http.Request, s *session, status int, errText, notice string) {
	k, ok := c.load(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	data := map[string]any{"Case": k, "Motivation": ""}
	if r.Method == http.MethodPost {
		data["Motivation"] = r.PostFormValue("motivation")
	}
	if k.EntryID != nil {
		pos, err := c.o.Store.Position(ctx, *k.EntryID)
		if err != nil {
			c.site.Fail(w, r, err)
			return
		}
		data["Position"] = pos
	}
	data["Check"] = c.check(ctx, k)
	statuses, err := c.o.Intake.Statuses(ctx, k.ID)
	if err != nil {
		c.site.Fail(w, r, err)
		return
	}
	data["Statuses"] = statuses
	if k.State == "awaiting" {
		d, err := c.o.Intake.Draft(ctx, k.ID, s.Employee, c.o.Now())
		var de *intake.DecisionError
		switch {
		case errors.As(err, &de):
			errText = joinText(errText, webkit.Pick(webkit.Lang(r), de.Text.RU, de.Text.KK))
		case err != nil:
			c.site.Fail(w, r, err)
			return
		default:
			data["Draft"] = d
			data["DraftText"] = strings.HasPrefix(d.MediaType, "text/")
			data["Draft64"] = base64.StdEncoding.EncodeToString(d.Content)
		}
	}
	var scanned bool
	if err := c.o.DB.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM office_scans WHERE application_id = $1)`, k.ApplicationID).Scan(&scanned); err != nil {
		c.site.Fail(w, r, err)
		return
	}
	data["Scan"] = scanned && k.Sender == intake.Local
	c.render(w, r, "case.html", status, s, errText, notice, data)
}

func joinText(a, b string) string {
	if a == "" {
		return b
	}
	return a + " " + b
}

// scan serves the scan of a paper application taken in person.
func (c *Cabinet) scan(w http.ResponseWriter, r *http.Request, _ *session) {
	k, ok := c.load(w, r)
	if !ok {
		return
	}
	var name, mt string
	var content []byte
	err := c.o.DB.QueryRow(r.Context(), `SELECT name, media_type, content FROM office_scans WHERE application_id = $1`, k.ApplicationID).
		Scan(&name, &mt, &content)
	if err != nil || k.Sender != intake.Local {
		http.NotFound(w, r)
		return
	}
	if name == "" {
		name = "scan"
	}
	w.Header().Set("Content-Type", mt)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	_, _ = w.Write(content)
}

// sign takes the employee's signature of the draft: the intake checks it (the employee's own ЭЦП, over
// the draft as it is now) and issues the decision; a draft that changed meanwhile (the child's place
// moved, another employee decided) is refused with the intake's text and shown again.
func (c *Cabinet) sign(w http.ResponseWriter, r *http.Request, s *session) {
	k, ok := c.load(w, r)
	if !ok {
		return
	}
	t := texts[webkit.Lang(r)]
	content, err := base64.StdEncoding.DecodeString(strings.TrimSpace(r.PostFormValue("content")))
	if err != nil || len(content) == 0 {
		c.showCase(w, r, s, http.StatusUnprocessableEntity, t["err_content"], "")
		return
	}
	sig, ok := webkit.Signature(r)
	if !ok {
		c.showCase(w, r, s, http.StatusUnprocessableEntity, t["err_no_signature"], "")
		return
	}
	err = c.o.Intake.Sign(r.Context(), k.ID, s.Employee, content, sig, c.o.Now())
	if c.decisionFailed(w, r, s, err) {
		return
	}
	c.o.Log.InfoContext(r.Context(), "mio: decision signed", "case", k.Number, "iin", iin.Mask(s.IIN))
	http.Redirect(w, r, Prefix+"cases/"+strconv.FormatInt(k.ID, 10)+"?done=signed", http.StatusSeeOther)
}

// refuse replaces the draft with a motivated refusal (the employee's motivation, signed the same way
// when the intake asks for it).
func (c *Cabinet) refuse(w http.ResponseWriter, r *http.Request, s *session) {
	k, ok := c.load(w, r)
	if !ok {
		return
	}
	t := texts[webkit.Lang(r)]
	motivation := strings.TrimSpace(r.PostFormValue("motivation"))
	if motivation == "" {
		c.showCase(w, r, s, http.StatusUnprocessableEntity, t["err_motivation"], "")
		return
	}
	err := c.o.Intake.Refuse(r.Context(), k.ID, s.Employee, motivation, c.o.Now())
	if c.decisionFailed(w, r, s, err) {
		return
	}
	c.o.Log.InfoContext(r.Context(), "mio: refused", "case", k.Number, "iin", iin.Mask(s.IIN))
	http.Redirect(w, r, Prefix+"cases/"+strconv.FormatInt(k.ID, 10)+"?done=refused", http.StatusSeeOther)
}

// decisionFailed answers a failed Sign or Refuse: the intake's text for the employee, else a failure.
func (c *Cabinet) decisionFailed(w http.ResponseWriter, r *http.Request, s *session, err error) bool {
	var de *intake.DecisionError
	switch {
	case err == nil:
		return false
	case errors.As(err, &de):
		c.showCase(w, r, s, http.StatusConflict, webkit.Pick(webkit.Lang(r), de.Text.RU, de.Text.KK), "")
	default:
		c.site.Fail(w, r, err)
	}
	return true
}

// childCheck is what ГБД ФЛ says of the case's child now: found, its name and birth date, and whether
// the applicant is one of its parents or guardians. Failed: the register did not answer (the page says
// so; the decision's checks were made at receipt).
type childCheck struct {
	Found, Parent, Deceased, Failed bool
	Name                            string
	Born                            time.Time
}

// check asks ГБД ФЛ (through ШЭП, as the intake does) about the case's child. The name is read when the
// page is drawn and never stored.
func (c *Cabinet) check(ctx context.Context, k *intake.Case) childCheck {
	p, err := c.o.Intake.Registry.Person(ctx, k.ChildIIN)
	switch {
	case errors.Is(err, registries.ErrNoRecord):
		return childCheck{}
	case err != nil:
		c.o.Log.WarnContext(ctx, "mio: ГБД ФЛ did not answer for a case's child", "case", k.Number, "error", err)
		return childCheck{Failed: true}
	}
	out := childCheck{Found: true, Name: strings.TrimSpace(p.GetSurname() + " " + p.GetName() + " " + p.GetPatronymic())}
	if child, err := intake.Child(p); err == nil {
		out.Born, out.Deceased, out.Parent = child.BirthDate, child.Deceased, slices.Contains(child.Representatives, k.ApplicantIIN)
	}
	return out
}
