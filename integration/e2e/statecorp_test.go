package e2e

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/integration/harness"
	"github.com/egov-suite/egov/qakit"
)

// TestStateCorpRefusalToAcceptAndTimedHandOver runs West Kazakhstan's guardian allowance (2019) through
// Госкорпорация as its regulation describes it: the worker refuses an incomplete set with the receipt
// of refusal to accept and no case is opened; a complete set goes to the provider, the documents' and
// the result's carriage each have their own deadline on the working-day calendar, and a result nobody
// collects is archived as unclaimed when its storage runs out. The storage is one minute here instead
// of a month; the carriage terms are the passport's working days.
func TestStateCorpRefusalToAcceptAndTimedHandOver(t *testing.T) {
	dir := harness.Catalog(t, func(name string, b []byte) []byte {
		if name != "guardian-allowance.27.yaml" {
			return b
		}
		after := strings.Replace(string(b), "storage: {value: 30, unit: calendar_days}", "storage: {value: 1, unit: minutes}", 1)
		require.NotEqual(t, string(b), after, "the allowance passport's storage term")
		return []byte(after)
	})
	w := start(t, "EGOV_RSHEP_CATALOG_DIR="+dir, "EGOV_TSON_CATALOG_DIR="+dir, "EGOV_TSON_TIMERS_INTERVAL=1s")
	ctx := t.Context()
	const within = 60 * time.Second
	const page = "/new/guardian-allowance/27"
	op := w.operator(t)
	countApps := func() int {
		var n int
		require.NoError(t, w.db.QueryRow(ctx, `SELECT count(*) FROM tson.applications WHERE service_code = 'guardian-allowance'`).Scan(&n))
		return n
	}

	t.Run("fail/an incomplete set: the receipt of refusal to accept, no case", func(t *testing.T) {
		counter := map[string]string{"citizen_iin": asel}
		// The guardian's application is missing and the documents of п. 9 have expired.
		pg, err := op.Submit(ctx, page, qakit.Form{Path: page, Fields: map[string]string{"ward_iin": ward},
			Extra: merge(counter, map[string]string{"e_standard_documents": "1"}), Paper: []string{"standard_documents"}})
		require.NoError(t, err)
		require.Equal(t, 422, pg.Status)
		require.Contains(t, pg.Body, `id="refuse-accept"`, "the worker is offered the refusal")
		require.Contains(t, pg.Body, "неполного пакета документов")
		pg, err = op.Submit(ctx, page, qakit.Form{Path: page + "/refuse", Fields: map[string]string{"ward_iin": ward},
			Extra: merge(counter, map[string]string{"e_standard_documents": "1"}), Paper: []string{"standard_documents"}})
		require.NoError(t, err)
		require.Equal(t, 200, pg.Status, pg.Body)
		require.Contains(t, pg.URL, "/refusals/")
		for _, want := range []string{`id="refusal-receipt"`, "Расписка об отказе в приёме документов", "приложение 3 Стандарта",
			"Заявление опекуна или попечителя для назначения пособия", "Документы, указанные в пункте 9 Стандарта",
			"неполного пакета документов согласно пункта 9 Стандарта", "Ахметова", "88********11", "в двух экземплярах", "Нурланова"} {
			require.Contains(t, pg.Body, want)
		}
		require.Regexp(t, `id="refusal-missing"><li>Заявление опекуна`, pg.Body)
		require.Regexp(t, `id="refusal-expired"><li>Документы, указанные в пункте 9`, pg.Body)
		require.Zero(t, countApps(), "no application, nothing to РШЭП")
		receipt := pg.Path()
		list, err := op.Get(ctx, "/")
		require.NoError(t, err)
		require.Contains(t, list.Body, `href="`+receipt+`"`, "the office lists its receipts")
		var cases int
		require.NoError(t, w.db.QueryRow(ctx, `SELECT count(*) FROM rshep.cases WHERE service_code = 'guardian-allowance'`).Scan(&cases))
		require.Zero(t, cases)

		// A complete set is no ground for the refusal.
		pg, err = op.Submit(ctx, page, qakit.Form{Path: page + "/refuse", Fields: map[string]string{"ward_iin": ward},
			Extra: counter, Paper: []string{"guardian_application", "standard_documents"}})
		require.NoError(t, err)
		require.Equal(t, 409, pg.Status)
		require.Contains(t, pg.Body, "оснований для отказа в приёме нет")
		// Nor does the desk take a ward the guardian has no link to in ГБД ФЛ (the passport's check).
		pg, err = op.Submit(ctx, page, qakit.Form{Path: page, Fields: map[string]string{"ward_iin": child},
			Extra: counter, Paper: []string{"guardian_application", "standard_documents"}})
		require.NoError(t, err)
		require.Equal(t, 422, pg.Status)
		require.Contains(t, pg.Body, "в ГБД ФЛ нет связи (guardian)")
		require.Zero(t, countApps())
	})

	t.Run("ok/accepted: documents carried, result back, unclaimed after storage", func(t *testing.T) {
		pg, err := op.Submit(ctx, page, qakit.Form{Path: page, Fields: map[string]string{"ward_iin": ward},
			Extra: map[string]string{"citizen_iin": asel}, Paper: []string{"guardian_application", "standard_documents"}})
		require.NoError(t, err)
		require.Contains(t, pg.URL, "/sign", pg.Body)
		id, err := qakit.Application(pg)
		require.NoError(t, err)
		app := "/applications/" + id
		_, err = op.SignPage(ctx, pg, app+"/sign", op.Sign, nil)
		require.NoError(t, err)
		pg, err = op.Until(ctx, app, within, qakit.Has("REGISTERED"))
		require.NoError(t, err)
		require.Contains(t, pg.Body, `id="step-to_provider" data-done="" data-late=""`, "the documents' carriage has its deadline")
		require.NotContains(t, pg.Body, `id="step-result_back"`)
		var due, submitted time.Time
		require.NoError(t, w.db.QueryRow(ctx, `SELECT h.due_at, a.submitted_at FROM tson.handover_steps h JOIN tson.applications a ON a.id = h.application_id
			WHERE h.application_id = $1 AND h.step = 'to_provider'`, id).Scan(&due, &submitted))
		require.True(t, due.After(submitted.Add(20*time.Hour)), "one working day, not minutes: due %s after %s", due, submitted)
		// The result cannot be handed over before it has come back.
		require.NotContains(t, pg.Body, `id="mark-result_back"`)
		pg, err = op.Post(ctx, app+"/steps/result_back", url.Values{"csrf": {csrf(t, pg.Body)}})
		require.NoError(t, err)
		require.Equal(t, 409, pg.Status)
		pg, err = op.Post(ctx, app+"/steps/to_provider", url.Values{"csrf": {csrf(t, pg.Body)}})
		require.NoError(t, err)
		require.Regexp(t, `id="step-to_provider" data-done="1"`, pg.Body)

		// The provider: канцелярия → руководитель → исполнитель → руководитель → канцелярия.
		number := qakit.Number(pg)
		clerk, head, officer := w.staff(t, "clerk-pavlodar", "27"), w.staff(t, "head-pavlodar", "27"), w.staff(t, "officer-pavlodar", "27")
		path, _, err := clerk.Case(ctx, number)
		require.NoError(t, err)
		_, err = clerk.Act(ctx, path, "complete", nil)
		require.NoError(t, err)
		_, err = head.Act(ctx, path, "complete", url.Values{"assignee": {"750723300016"}})
		require.NoError(t, err)
		_, err = officer.Act(ctx, path, "decide", url.Values{"outcome": {"approved"}})
		require.NoError(t, err)
		_, err = head.SignResult(ctx, path)
		require.NoError(t, err)
		_, err = clerk.Act(ctx, path, "complete", nil)
		require.NoError(t, err)
		pg, err = op.Until(ctx, app, within, func(pg qakit.Page) bool {
			return qakit.Closed(pg) && strings.Contains(pg.Body, `id="mark-result_back"`)
		})
		require.NoError(t, err)
		w.result(t, op, app, envelope.Expect{Purpose: envelope.PurposeDocument, IIN: "680415300016"})
		require.NotContains(t, pg.Body, `id="hand-over"`, "not before it has come back")
		require.NotContains(t, pg.Body, `id="unclaimed"`, "unclaimed is the archive's, not a button")
		res, err := op.Post(ctx, app+"/hand-over", url.Values{"csrf": {csrf(t, pg.Body)}})
		require.NoError(t, err)
		require.Equal(t, 409, res.Status)

		pg, err = op.Post(ctx, app+"/steps/result_back", url.Values{"csrf": {csrf(t, pg.Body)}})
		require.NoError(t, err)
		require.Regexp(t, `id="step-result_back" data-done="1"`, pg.Body)
		require.Contains(t, pg.Body, `id="step-storage" data-done=""`)
		require.Contains(t, pg.Body, `id="hand-over"`, "at Госкорпорация now, for the applicant")

		// Nobody comes: the storage runs out and the result is archived as unclaimed, kept with the application.
		pg, err = op.Until(ctx, app, 3*time.Minute, qakit.Has("UNCLAIMED"))
		require.NoError(t, err)
		require.Equal(t, []string{"DRAFT", "SUBMITTED", "DELIVERED", "REGISTERED", "IN_PROGRESS", "APPROVED", "RESULT_ISSUED", "UNCLAIMED"}, qakit.Statuses(pg))
		require.Contains(t, pg.Body, "передан в архив Государственной корпорации")
		require.Regexp(t, regexp.MustCompile(`id="step-storage" data-done="1"`), pg.Body)
		require.NotContains(t, pg.Body, `id="hand-over"`)
		w.result(t, op, app, envelope.Expect{Purpose: envelope.PurposeDocument, IIN: "680415300016"})
	})
}

func merge(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}
