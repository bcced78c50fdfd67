package desk

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/egov-suite/egov/internal/applicant"
	"github.com/egov-suite/egov/internal/applicant/channelweb"
	"github.com/egov-suite/egov/internal/catalog"
	"github.com/egov-suite/egov/internal/iin"
	"github.com/egov-suite/egov/internal/pgdb"
	"github.com/egov-suite/egov/internal/serve"
	"github.com/egov-suite/egov/internal/webkit"
	"github.com/egov-suite/egov/services/tson/internal/statecorp"
)

// Госкорпорация's part of the 2019 regulations at the desk (a passport's state_corp): the worker's
// check of the document set with the receipt of refusal to accept, and the timed steps of the paper.

// presence reads the worker's marks of each document of the form: "p_<id>" the original received,
// "e_<id>" its validity run out, a file in "d_<id>" a scan.
func presence(p *catalog.Passport, r *http.Request) map[string]statecorp.Presence {
	out := map[string]statecorp.Presence{}
	for _, d := range p.DocumentsFor("tson") {
		x := statecorp.Presence{Paper: r.FormValue("p_"+d.ID) != "", Expired: r.FormValue("e_"+d.ID) != ""}
		if mf := r.MultipartForm; mf != nil {
			for _, h := range mf.File["d_"+d.ID] {
				x.Scan = x.Scan || h.Size > 0
			}
		}
		out[d.ID] = x
	}
	return out
}

func docNames(ds []catalog.Document, lang string) []string {
	out := make([]string, 0, len(ds))
	for _, d := range ds {
		out = append(out, webkit.Pick(lang, d.Name.RU, d.Name.KK))
	}
	return out
}

// setProblems are an incomplete set's problems as the form shows them, the regulation's ground first.
func setProblems(p *catalog.Passport, lang string, set statecorp.SetCheck) []string {
	t := texts[lang]
	out := []string{refusalText(p, p.StateCorp.Receipt.Ground, lang)}
	for _, n := range docNames(set.Missing, lang) {
		out = append(out, t["doc_missing"]+": "+n)
	}
	for _, n := range docNames(set.Expired, lang) {
		out = append(out, t["doc_expired"]+": "+n)
	}
	return out
}

// refuse refuses to accept an incomplete set (п. 2): the look-ups and the set are read again from the
// form (nothing hidden in it is trusted), the receipt is recorded, and no application exists.
func (d *Desk) refuse(w http.ResponseWriter, r *http.Request) {
	d.authBody(8*d.o.Attachments.MaxSize+1<<20, func(w http.ResponseWriter, r *http.Request, op *operator) {
		p, ok := d.passport(w, r)
		if !ok {
			return
		}
		if p.StateCorp == nil {
			http.NotFound(w, r)
			return
		}
		l := webkit.Lang(r)
		citizen, rep, poa, _ := readCounter(r, texts[l])
		values := channelweb.ReadFields(p, "tson", r, map[string]string{fieldApplicant: citizen, fieldRepresentative: rep, fieldPOA: poa})
		c := d.atCounter(w, r, op, p, values)
		if c == nil {
			return
		}
		set := statecorp.CheckSet(p, "tson", presence(p, r))
		if set.Complete() {
			d.renderLookup(w, r, op, p, http.StatusConflict, texts[l]["err_set_complete"], c, nil)
			return
		}
		poaText := ""
		if c.POA != nil {
			poaText = fmt.Sprintf("%s, %s, до %s, нотариус %s", c.POA.GetNumber(), c.POA.GetIssuedOn(), c.POA.GetValidUntil(), c.POA.GetNotaryName())
		}
		id := uuid.NewString()
		if _, err := d.o.DB.Exec(r.Context(), `INSERT INTO intake_refusals (id, office, service_code, region, citizen_iin, citizen_name,
			representative_name, power_of_attorney, missing, expired, operator_iin, operator_name, language, at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
			id, d.o.Office, p.Code, p.Region, citizen, Name(c.Citizen), Name(c.Representative), poaText,
			docNames(set.Missing, l), docNames(set.Expired, l), op.IIN, op.Name, l, d.o.Now()); err != nil {
			d.web.Fail(w, r, err)
			return
		}
		d.o.Log.InfoContext(r.Context(), "tson: documents refused at intake; receipt issued, no case opened", "service", p.Code, "region", p.Region,
			"citizen", iin.Mask(citizen), "missing", len(set.Missing), "expired", len(set.Expired))
		http.Redirect(w, r, "/refusals/"+id, http.StatusSeeOther)
	})(w, r)
}

// intakeRefusal is a receipt of refusal to accept as kept.
type intakeRefusal struct {
	ID                                                      string
	Number                                                  int64
	ServiceCode, Region, CitizenIIN, CitizenName            string
	RepresentativeName, PowerOfAttorney, OperatorName, Lang string
	Missing, Expired                                        []string
	At                                                      time.Time
}

// refusalRow is a receipt of refusal to accept in the office's list.
type refusalRow struct {
	ID, Service, MaskedIIN string
	Number                 int64
	At                     time.Time
}

// refusals are the office's receipts of refusal to accept, newest first.
func (d *Desk) refusals(ctx context.Context, lang string, limit int) ([]refusalRow, error) {
	rows, err := d.o.DB.Query(ctx, `SELECT id, number, service_code, region, citizen_iin, at FROM intake_refusals WHERE office = $1
		ORDER BY at DESC LIMIT $2`, d.o.Office, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (refusalRow, error) {
		var x refusalRow
		var code, region, citizen string
		err := r.Scan(&x.ID, &x.Number, &code, &region, &citizen, &x.At)
		x.Service, x.MaskedIIN = code, iin.Mask(citizen)
		if p, ok := d.o.Desk.Catalog().Get(code, region); ok {
			x.Service = webkit.Pick(lang, p.Name.RU, p.Name.KK)
		}
		return x, err
	})
}

// refusalReceipt prints the receipt of refusal to accept documents with what the regulation and the
// Standard's form say it carries (the passport's state_corp.receipt and its decisions).
func (d *Desk) refusalReceipt(w http.ResponseWriter, r *http.Request, op *operator) {
	var x intakeRefusal
	err := d.o.DB.QueryRow(r.Context(), `SELECT id, number, service_code, region, citizen_iin, citizen_name, representative_name,
		power_of_attorney, operator_name, language, missing, expired, at FROM intake_refusals WHERE id = $1 AND office = $2`,
		r.PathValue("id"), d.o.Office).Scan(&x.ID, &x.Number, &x.ServiceCode, &x.Region, &x.CitizenIIN, &x.CitizenName,
		&x.RepresentativeName, &x.PowerOfAttorney, &x.OperatorName, &x.Lang, &x.Missing, &x.Expired, &x.At)
	if errors.Is(err, pgx.ErrNoRows) || uuid.Validate(r.PathValue("id")) != nil {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		d.web.Fail(w, r, err)
		return
	}
	p, ok := d.o.Desk.Catalog().Get(x.ServiceCode, x.Region)
	if !ok || p.StateCorp == nil {
		d.web.Fail(w, r, fmt.Errorf("tson: receipt %s: no Госкорпорация part in passport %s/%s", x.ID, x.ServiceCode, x.Region))
		return
	}
	l := webkit.Lang(r)
	rc := p.StateCorp.Receipt
	d.render(w, r, "refusal.html", http.StatusOK, op, "", map[string]any{"R": x, "MaskedIIN": iin.Mask(x.CitizenIIN),
		"Name": webkit.Pick(l, p.Name.RU, p.Name.KK), "Provider": webkit.Pick(l, p.Provider.Name.RU, p.Provider.Name.KK),
		"Title": webkit.Pick(l, rc.Title.RU, rc.Title.KK), "Form": rc.Form, "Ground": refusalText(p, rc.Ground, l),
		"Note": webkit.Pick(l, rc.Note.RU, rc.Note.KK), "Office": d.o.Office})
}

// timers are an application's timed steps (q is the pool, or a transaction that locks them).
func timers(ctx context.Context, q interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}, id string, lock bool) (map[statecorp.Step]statecorp.Timer, error) {
	sql := `SELECT step, due_at, done_at, done_by FROM handover_steps WHERE application_id = $1`
	if lock {
		sql += ` FOR UPDATE`
	}
	rows, err := q.Query(ctx, sql, id)
	if err != nil {
		return nil, err
	}
	ts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (statecorp.Timer, error) {
		var t statecorp.Timer
		err := r.Scan(&t.Step, &t.Due, &t.DoneAt, &t.DoneBy)
		return t, err
	})
	out := map[statecorp.Step]statecorp.Timer{}
	for _, t := range ts {
		out[t.Step] = t
	}
	return out, err
}

func (d *Desk) timers(ctx context.Context, id string) (map[statecorp.Step]statecorp.Timer, error) {
	return timers(ctx, d.o.DB, id, false)
}

// stepView is a timed step on the application's page.
type stepView struct {
	statecorp.Timer
	ID       string
	Late     bool
	Markable bool
}

func stepViews(ts map[statecorp.Step]statecorp.Timer, now time.Time) []stepView {
	var out []stepView
	for _, s := range statecorp.Steps {
		if t, ok := ts[s]; ok {
			out = append(out, stepView{Timer: t, ID: string(s), Late: t.Late(now), Markable: statecorp.Markable(s, ts)})
		}
	}
	return out
}

// ErrStep is a mark of a step that is not the application's next one (or was marked before).
var ErrStep = errors.New("tson: the step cannot be marked now")

// Mark records that the worker did step (the documents carried, the result brought back). The result's
// arrival starts its storage, in the same transaction.
func (d *Desk) Mark(ctx context.Context, p *catalog.Passport, id string, step statecorp.Step, by string) error {
	now := d.o.Now()
	return pgdb.InTx(ctx, d.o.DB, func(tx pgx.Tx) error {
		ts, err := timers(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if !statecorp.Markable(step, ts) {
			return ErrStep
		}
		if _, err := tx.Exec(ctx, `UPDATE handover_steps SET done_at = $3, done_by = $4 WHERE application_id = $1 AND step = $2`,
			id, string(step), now, by); err != nil {
			return err
		}
		if step == statecorp.ResultBack {
			_, err = tx.Exec(ctx, `INSERT INTO handover_steps (application_id, step, due_at) VALUES ($1, 'storage', $2) ON CONFLICT DO NOTHING`,
				id, statecorp.Due(d.o.Calendar, now, p.StateCorp.Storage))
		}
		return err
	})
}

func (d *Desk) markStep(w http.ResponseWriter, r *http.Request, op *operator) {
	a, ok := d.pages.Load(w, r, op)
	if !ok {
		return
	}
	p, ok := d.o.Desk.Catalog().Get(a.ServiceCode, a.Region)
	if !ok || p.StateCorp == nil {
		http.NotFound(w, r)
		return
	}
	err := d.Mark(r.Context(), p, a.ID, statecorp.Step(r.PathValue("step")), op.Name+" ("+iin.Mask(op.IIN)+")")
	if errors.Is(err, ErrStep) {
		d.showApplication(w, r, op, http.StatusConflict, texts[webkit.Lang(r)]["err_step"])
		return
	}
	if err != nil {
		d.web.Fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/applications/"+a.ID, http.StatusSeeOther)
}

// keys are the code/region of the passports with a Госкорпорация part.
func (d *Desk) keys() []string {
	var out []string
	for _, p := range d.o.Desk.Passports() {
		if p.StateCorp != nil {
			out = append(out, p.Code+"/"+p.Region)
		}
	}
	return out
}

// Timers keeps Госкорпорация's timed steps until ctx ends (statecorp): it arms each step's deadline when
// its start has happened — submission, the result's issue — and archives a result whose storage ran out
// as unclaimed. Every deadline is a row, so a restart loses none.
func (d *Desk) Timers(ctx context.Context, interval time.Duration) error {
	return serve.Repeat(ctx, interval, nil, d.o.Log, "tson: Госкорпорация timers", d.TimersOnce)
}

// TimersOnce does one round and returns how much it did.
func (d *Desk) TimersOnce(ctx context.Context) (int, error) {
	keys := d.keys()
	if len(keys) == 0 {
		return 0, nil
	}
	n, err := d.arm(ctx, keys)
	if err != nil {
		return n, err
	}
	m, err := d.archive(ctx)
	return n + m, err
}

// arm starts the documents' carriage of the submitted applications and the result's carriage of the
// issued ones, each from the moment it began (not from now), so arming late changes no deadline.
func (d *Desk) arm(ctx context.Context, keys []string) (int, error) {
	type row struct {
		id, code, region, step string
		from                   time.Time
	}
	rows, err := d.o.DB.Query(ctx, `
		SELECT a.id, a.service_code, a.region, 'to_provider', a.submitted_at FROM applications a
			WHERE a.owner = $1 AND a.submitted_at IS NOT NULL AND a.service_code || '/' || a.region = ANY($2)
			AND NOT EXISTS (SELECT 1 FROM handover_steps h WHERE h.application_id = a.id AND h.step = 'to_provider')
		UNION ALL
		SELECT a.id, a.service_code, a.region, 'result_back', a.closed_at FROM applications a
			WHERE a.owner = $1 AND a.closed_at IS NOT NULL AND a.result_content IS NOT NULL AND a.service_code || '/' || a.region = ANY($2)
			AND NOT EXISTS (SELECT 1 FROM handover_steps h WHERE h.application_id = a.id AND h.step = 'result_back')
		LIMIT 256`, d.o.Office, keys)
	if err != nil {
		return 0, err
	}
	rs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var x row
		err := r.Scan(&x.id, &x.code, &x.region, &x.step, &x.from)
		return x, err
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, x := range rs {
		p, ok := d.o.Desk.Catalog().Get(x.code, x.region)
		if !ok || p.StateCorp == nil {
			continue
		}
		due := statecorp.Due(d.o.Calendar, x.from, statecorp.Term(p.StateCorp, statecorp.Step(x.step)))
		tag, err := d.o.DB.Exec(ctx, `INSERT INTO handover_steps (application_id, step, due_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
			x.id, x.step, due)
		if err != nil {
			return n, err
		}
		n += int(tag.RowsAffected())
	}
	return n, nil
}

// archiveBy is who archives an unclaimed result.
const archiveBy = "архив Госкорпорации (срок хранения истёк)"

// archive marks the results whose storage ran out unclaimed (UNCLAIMED, the passport's text): the
// result stays with the application. A result handed over meanwhile ends its storage as it is.
func (d *Desk) archive(ctx context.Context) (int, error) {
	rows, err := d.o.DB.Query(ctx, `SELECT h.application_id FROM handover_steps h JOIN applications a ON a.id = h.application_id
		WHERE a.owner = $1 AND h.step = 'storage' AND h.done_at IS NULL AND h.due_at <= $2 ORDER BY h.due_at LIMIT 64`, d.o.Office, d.o.Now())
	if err != nil {
		return 0, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, err
	}
	for i, id := range ids {
		err := d.o.Desk.HandOver(ctx, d.o.Office, id, archiveBy, true)
		if err != nil && !errors.Is(err, applicant.ErrNotIssued) {
			return i, err
		}
		if _, err := d.o.DB.Exec(ctx, `UPDATE handover_steps SET done_at = $2, done_by = $3 WHERE application_id = $1 AND step = 'storage' AND done_at IS NULL`,
			id, d.o.Now(), archiveBy); err != nil {
			return i, err
		}
		d.o.Log.InfoContext(ctx, "tson: an unclaimed result archived after its storage", "application", id)
	}
	return len(ids), nil
}
