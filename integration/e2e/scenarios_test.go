package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/integration/harness"
	"github.com/egov-suite/egov/qakit"
)

// catalog is the built-in catalogue with one change, for the missed-deadline scenario: Zhambyl's (59)
// examination takes one minute instead of five working days. РШЭП reads it; the channels' forms are the
// same.
func catalog(t *testing.T) string {
	t.Helper()
	return harness.Catalog(t, func(name string, b []byte) []byte {
		if name != "guardianship-certificate.59.yaml" {
			return b
		}
		after := strings.Replace(string(b), "duration: {value: 5, unit: working_days}", "duration: {value: 1, unit: minutes}", 1)
		require.NotEqual(t, string(b), after, "the 59 passport's examination term")
		return []byte(after)
	})
}

// apply has the citizen fill and sign a passport's form with key; it returns the application's path.
func apply(t *testing.T, c *qakit.Person, code, region string, fields map[string]string, key *envelope.Signer) string {
	t.Helper()
	ctx := t.Context()
	pg, err := c.Submit(ctx, "/services/"+code+"/"+region, qakit.Form{Path: "/services/" + code + "/" + region, Fields: fields})
	require.NoError(t, err)
	require.Contains(t, pg.URL, "/sign", "the draft is recorded: %s", pg.Body)
	id, err := qakit.Application(pg)
	require.NoError(t, err)
	_, err = c.SignPage(ctx, pg, "/applications/"+id+"/sign", key, nil)
	require.NoError(t, err)
	return "/applications/" + id
}

// result downloads an application's result and its CMS signature and verifies them with want,
// independently of the suite's services (НУЦ's root and its OCSP responder).
func (w *world) result(t *testing.T, c *qakit.Person, path string, want envelope.Expect) *envelope.Result {
	t.Helper()
	res, err := w.s.VerifyResult(t.Context(), c, path, want)
	require.NoError(t, err, "the result's signature verifies")
	return res
}

// caseCount is how many cases (registration numbers) РШЭП holds for an application.
func (w *world) caseCount(t *testing.T, id string) int {
	t.Helper()
	var n int
	require.NoError(t, w.db.QueryRow(t.Context(), `SELECT count(*) FROM rshep.cases WHERE application_id = $1`, id).Scan(&n))
	return n
}

func TestGuardianshipPaths(t *testing.T) {
	w := start(t, "EGOV_RSHEP_CATALOG_DIR="+catalog(t), "EGOV_TRACE_EXPORTER=stdout")
	ctx := t.Context()
	aselP := w.citizen(t, "citizen-akhmetova")
	const within = 60 * time.Second

	// Left alone from the start: the examination's one-minute term runs out (checked last).
	overdue := apply(t, aselP, "guardianship-certificate", "59", map[string]string{"ward_iin": ward}, aselP.Sign)

	t.Run("every service on its own restricted NATS user", func(t *testing.T) {
		// Each process runs as egov run --services=<name> with only its own user; the paths below prove
		// they work under it. НУЦ and the registries do not use NATS and do not connect.
		require.Equal(t, map[string]string{"egov-shep": "shep", "egov-rshep": "rshep", "egov-portal": "portal", "egov-tson": "tson",
			"egov-eastana": "eastana"},
			w.s.NATSConnections(t))
	})

	t.Run("one trace per application", func(t *testing.T) {
		app := apply(t, aselP, "guardianship-certificate", "27", map[string]string{"ward_iin": ward}, aselP.Sign)
		_, err := aselP.Until(ctx, app, within, qakit.Closed)
		require.NoError(t, err)
		got := w.traceOf(t, strings.TrimPrefix(app, "/applications/"), "portal")
		t.Logf("one trace: %v", got)
		// Request and every notification cross ШЭП: REGISTERED, IN_PROGRESS, APPROVED, RESULT_ISSUED.
		require.GreaterOrEqual(t, count(got["shep"], "shep.route"), 5)
		require.GreaterOrEqual(t, count(got["portal"], "applicant.status"), 4)
	})

	t.Run("printed result: PDF, its QR code and the public /verify, West Kazakhstan", func(t *testing.T) {
		app := apply(t, aselP, "guardianship-certificate", "27", map[string]string{"ward_iin": ward}, aselP.Sign)
		_, err := aselP.Until(ctx, app, within, qakit.Closed)
		require.NoError(t, err)
		w.printedResult(t, aselP, "portal", app, "27")
	})

	t.Run("portal refuse for irregular documents, Pavlodar", func(t *testing.T) {
		app := apply(t, aselP, "guardianship-certificate", "55", map[string]string{"ward_iin": ward}, aselP.Sign)
		pg, err := aselP.Until(ctx, app, within, qakit.Has("REGISTERED"))
		require.NoError(t, err)
		clerk := w.staff(t, "clerk-pavlodar", "55")
		path, _, err := clerk.Case(ctx, qakit.Number(pg))
		require.NoError(t, err)
		_, err = clerk.Act(ctx, path, "complete", nil)
		require.NoError(t, err)
		officer := w.staff(t, "officer-pavlodar", "55")
		_, err = officer.Act(ctx, path, "decide", url.Values{"outcome": {"refused"}, "refusal_code": {"documents_irregular"},
			"comment": {"Копия свидетельства неразборчива"}})
		require.NoError(t, err)
		_, err = officer.SignResult(ctx, path)
		require.NoError(t, err)
		pg, err = aselP.Until(ctx, app, within, qakit.Closed)
		require.NoError(t, err)
		require.Equal(t, []string{"DRAFT", "SUBMITTED", "DELIVERED", "REGISTERED", "IN_PROGRESS", "REFUSED", "RESULT_ISSUED"}, qakit.Statuses(pg))
		require.Contains(t, pg.Body, "в связи с имеющимися нарушениями в документах")
		require.Contains(t, pg.Body, "Копия свидетельства неразборчива")
		w.result(t, aselP, app, envelope.Expect{Purpose: envelope.PurposeDocument, IIN: "750723300016"})
	})

	t.Run("term extension, Pavlodar", func(t *testing.T) {
		app := apply(t, aselP, "guardianship-certificate", "55", map[string]string{"ward_iin": ward}, aselP.Sign)
		pg, err := aselP.Until(ctx, app, within, qakit.Has("REGISTERED"))
		require.NoError(t, err)
		head := w.staff(t, "head-pavlodar", "55")
		path, _, err := head.Case(ctx, qakit.Number(pg))
		require.NoError(t, err)
		_, err = head.Act(ctx, path, "extend", url.Values{"comment": {"запрос дополнительных сведений"}})
		require.NoError(t, err)
		pg, err = aselP.Until(ctx, app, within, qakit.Has("EXTENDED"))
		require.NoError(t, err)
		require.Equal(t, []string{"DRAFT", "SUBMITTED", "DELIVERED", "REGISTERED", "EXTENDED"}, qakit.Statuses(pg))
		require.Contains(t, pg.Body, "Срок оказания услуги продлён")
		require.Contains(t, pg.Body, "запрос дополнительных сведений", "the head's reason reaches the citizen")
	})

	t.Run("ЦОН approve with a power of attorney, Zhambyl", func(t *testing.T) {
		op := w.operator(t)
		form := qakit.Form{Path: "/new/guardianship-certificate/59", Fields: map[string]string{"ward_iin": ward},
			Extra: map[string]string{"citizen_iin": asel, "representative_iin": ivanov, "poa_number": poaValid},
			Files: map[string][]byte{"standard_documents": png()}, Paper: []string{"power_of_attorney"}}
		pg, err := op.Submit(ctx, "/new/guardianship-certificate/59", form)
		require.NoError(t, err)
		require.Contains(t, pg.URL, "/sign", pg.Body)
		id, err := qakit.Application(pg)
		require.NoError(t, err)
		app := "/applications/" + id
		pg, err = op.SignPage(ctx, pg, app+"/sign", op.Sign, nil)
		require.NoError(t, err)
		require.Contains(t, pg.Body, `id="receipt"`)
		// Printed at once: the number may not be assigned yet, and the receipt says so honestly.
		text := w.printedReceipt(t, op, app, "ИИН "+asel, "ИИН "+ivanov, ward, poaValid)
		if !strings.Contains(text, "59-") {
			require.Contains(t, text, "ещё не присвоен")
		}
		pg, err = op.Until(ctx, app, within, qakit.Has("REGISTERED"))
		require.NoError(t, err)
		w.printedReceipt(t, op, app, qakit.Number(pg))
		officer := w.staff(t, "officer-pavlodar", "59")
		path, cp, err := officer.Case(ctx, qakit.Number(pg))
		require.NoError(t, err)
		w.scanInARM(t, officer, cp, png())
		_, err = officer.Act(ctx, path, "decide", url.Values{"outcome": {"approved"}})
		require.NoError(t, err)
		_, err = officer.SignResult(ctx, path)
		require.NoError(t, err)
		pg, err = op.Until(ctx, app, within, qakit.Closed)
		require.NoError(t, err)
		w.result(t, op, app, envelope.Expect{Purpose: envelope.PurposeDocument, IIN: "750723300016"})
		// РШЭП copies the statuses and the result to the citizen's cabinet on the portal, so the QR code of
		// the PDF the ЦОН prints opens the portal's /verify on the document, not «не найден».
		_, err = aselP.Until(ctx, app, within, qakit.Closed)
		require.NoError(t, err, "the application made at the ЦОН is in the citizen's cabinet")
		w.printedResult(t, op, "tson", app, "59")
		token := csrf(t, pg.Body)
		_, err = op.Post(ctx, app+"/hand-over", url.Values{"csrf": {token}})
		require.NoError(t, err)
		pg, err = op.Get(ctx, app)
		require.NoError(t, err)
		require.Equal(t, []string{"DRAFT", "SUBMITTED", "DELIVERED", "REGISTERED", "IN_PROGRESS", "APPROVED", "RESULT_ISSUED", "HANDED_OVER"}, qakit.Statuses(pg))
		// Once only.
		pg, err = op.Post(ctx, app+"/hand-over", url.Values{"csrf": {token}, "unclaimed": {"1"}})
		require.NoError(t, err)
		require.Equal(t, 409, pg.Status)
	})

	t.Run("ЦОН: missing in ГБД ФЛ, expired power of attorney", func(t *testing.T) {
		op := w.operator(t)
		for _, c := range []struct{ citizen, rep, poa, want string }{
			{missing, "", "", "невозможности получения данных в связи с отсутствием данных получателя государственной услуги в ГБД ФЛ"},
			{asel, ivanov, poaExpired, "доверенность в ЕНИС недействительна"},
		} {
			pg, err := op.Submit(ctx, "/new/guardianship-certificate/59", qakit.Form{Path: "/new/guardianship-certificate/59/lookup",
				Extra: map[string]string{"citizen_iin": c.citizen, "representative_iin": c.rep, "poa_number": c.poa}})
			require.NoError(t, err)
			require.Equal(t, 422, pg.Status)
			require.Contains(t, pg.Body, c.want)
		}
	})

	t.Run("refusals: revoked and another's certificate, ward missing in ГБД ФЛ", func(t *testing.T) {
		eds := "не подтверждением подлинности ЭЦП получателя"
		revoked, err := qakit.Key(w.keys, "citizen-akhmetova-revoked-SIGN.p12")
		require.NoError(t, err)
		ivanovKey, err := qakit.Key(w.keys, "citizen-ivanov-SIGN.p12")
		require.NoError(t, err)
		// The signature is refused, not the application: the signing page says why, the draft stays,
		// nothing reaches РШЭП, and the right key then sends it.
		for _, key := range []*envelope.Signer{revoked, ivanovKey} {
			pg, err := aselP.Submit(ctx, "/services/guardianship-certificate/55", qakit.Form{Path: "/services/guardianship-certificate/55",
				Fields: map[string]string{"ward_iin": ward}})
			require.NoError(t, err)
			id, err := qakit.Application(pg)
			require.NoError(t, err)
			app := "/applications/" + id
			signed, err := aselP.SignPage(ctx, pg, app+"/sign", key, nil)
			require.NoError(t, err)
			require.Equal(t, 422, signed.Status)
			require.Contains(t, signed.Body, eds)
			require.Contains(t, signed.Body, "подпишите снова")
			pg, err = aselP.Get(ctx, app)
			require.NoError(t, err)
			require.Equal(t, []string{"DRAFT"}, qakit.Statuses(pg))
			require.Zero(t, w.caseCount(t, id), "nothing reaches РШЭП")
			sign, err := aselP.Get(ctx, app+"/sign")
			require.NoError(t, err)
			_, err = aselP.SignPage(ctx, sign, app+"/sign", aselP.Sign, nil)
			require.NoError(t, err)
			pg, err = aselP.Until(ctx, app, within, qakit.Has("REGISTERED"))
			require.NoError(t, err)
			require.Equal(t, []string{"DRAFT", "SUBMITTED"}, qakit.Statuses(pg)[:2])
		}
		// West Kazakhstan checks the ward in ГБД ФЛ: no record, an automatic refusal signed by the node.
		app := apply(t, aselP, "guardianship-certificate", "27", map[string]string{"ward_iin": missing}, aselP.Sign)
		pg, err := aselP.Until(ctx, app, within, qakit.Closed)
		require.NoError(t, err)
		st := qakit.Statuses(pg)
		require.Equal(t, []string{"DRAFT", "SUBMITTED", "DELIVERED", "REGISTERED"}, st[:4])
		require.Equal(t, []string{"REFUSED", "RESULT_ISSUED"}, st[len(st)-2:])
		require.Contains(t, pg.Body, "нет данных в ГБД ФЛ")
		res := w.result(t, aselP, app, envelope.Expect{Purpose: envelope.PurposeEnvelope})
		require.Equal(t, "rshep-27", res.Holder.Name)
	})

	t.Run("missed deadline and escalation, Zhambyl", func(t *testing.T) {
		pg, err := aselP.Until(ctx, overdue, within, qakit.Has("REGISTERED"))
		require.NoError(t, err)
		head := w.staff(t, "head-pavlodar", "59")
		path, _, err := head.Case(ctx, qakit.Number(pg))
		require.NoError(t, err)
		deadline := time.Now().Add(3 * time.Minute)
		for {
			cp, err := head.Get(ctx, path)
			require.NoError(t, err)
			if strings.Contains(cp.Body, "на контроле у руководителя") {
				require.Contains(t, cp.Body, "передано на контроль руководителю услугодателя")
				break
			}
			require.True(t, time.Now().Before(deadline), "no escalation after the one-minute term")
			time.Sleep(time.Second)
		}
		pg, err = aselP.Get(ctx, overdue)
		require.NoError(t, err)
		require.Equal(t, []string{"DRAFT", "SUBMITTED", "DELIVERED", "REGISTERED", "IN_PROGRESS"}, qakit.Statuses(pg),
			"an escalation is the provider's own business: the citizen sees no new status")
	})

	// After every path: no service logged an IIN of the cast in the clear (only masked, 88********11).
	t.Run("no personal data in the logs", func(t *testing.T) {
		for name, log := range w.s.Logs() {
			require.NotEmpty(t, harness.Lines(log), "%s logged nothing", name)
			for _, x := range []string{asel, ivanov, ward, child, missing} {
				require.NotContains(t, log, x, "an IIN in %s's log", name)
			}
		}
	})
}

func csrf(t *testing.T, body string) string {
	t.Helper()
	i := strings.Index(body, `name="csrf" value="`)
	require.GreaterOrEqual(t, i, 0)
	rest := body[i+len(`name="csrf" value="`):]
	return rest[:strings.IndexByte(rest, '"')]
}

// scanInARM opens the scan the operator attached from the officer's case page: the very bytes; then,
// with the file replaced in the object store behind the suite's back, a refusal (409) instead of the
// file; then the original again.
func (w *world) scanInARM(t *testing.T, officer *qakit.Staff, cp qakit.Page, want []byte) {
	t.Helper()
	ctx := t.Context()
	m := regexp.MustCompile(`href="(/arm/cases/[0-9]+/documents/[0-9]+)" class="document"`).FindStringSubmatch(cp.Body)
	require.NotNil(t, m, "no document link on the case page")
	doc, err := officer.Get(ctx, m[1])
	require.NoError(t, err)
	require.Equal(t, 200, doc.Status)
	require.Equal(t, string(want), doc.Body, "the scan as attached at the ЦОН")

	nc, err := nats.Connect(w.s.AdminNATS())
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	store, err := js.ObjectStore(ctx, "attachments")
	require.NoError(t, err)
	sum := sha256.Sum256(want)
	key := "sha256/" + hex.EncodeToString(sum[:])
	_, err = store.PutBytes(ctx, key, append([]byte("altered "), want...))
	require.NoError(t, err)
	doc, err = officer.Get(ctx, m[1])
	require.NoError(t, err)
	require.Equal(t, 409, doc.Status)
	require.Contains(t, doc.Body, "не совпадает с подписанным заявлением")
	_, err = store.PutBytes(ctx, key, want)
	require.NoError(t, err)
	doc, err = officer.Get(ctx, m[1])
	require.NoError(t, err)
	require.Equal(t, string(want), doc.Body)
}

// png is a tiny scan.
func png() []byte {
	return []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")
}
