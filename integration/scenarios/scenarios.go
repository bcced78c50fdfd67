// Package scenarios is the suite's end-to-end scenario table, written against a target (qakit.Target)
// so that the same scenarios run in process mode (integration/e2e, every service its own `egov run`
// process) and in container mode (integration/containers, every service a container of the image): the
// automated regulation's approval (the QA kit's guardianship scenario), the portal's approval by the
// provider's staff, an automatic refusal, a ЦОН application whose result is handed over, a paper
// application at the provider's office, and a message re-sent to ШЭП that is counted once. Every
// scenario uses its own applications, so they share one running suite.
package scenarios

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/envelope"
	shepv1 "github.com/egov-suite/egov/proto/egov/shep/v1"
	"github.com/egov-suite/egov/qakit"
)

// The cast (internal/demo) the scenarios use besides qakit's.
const (
	// Missing is an IIN ГБД ФЛ has no record of.
	Missing = "950708300016"
	// providerBIN is the provider's (the Pavlodar cast's employer's) BIN in the officer's certificate.
	providerBIN = "041240000016"
)

// within is how long a scenario waits for the suite to move an application on; a bound on a failure's
// wait, not a timing assertion.
const within = 2 * time.Minute

// Env is a running suite as the scenarios see it: its target, its PostgreSQL (to count what РШЭП and
// ШЭП recorded) and NATS as its administrator (to play a participant re-sending a message).
type Env struct {
	Target    *qakit.Target
	DB        *pgxpool.Pool
	AdminNATS string
}

// NewEnv connects to the target's PostgreSQL; the pool closes when the test ends.
func NewEnv(t testing.TB, target *qakit.Target, adminNATS string) *Env {
	t.Helper()
	db, err := pgxpool.New(context.Background(), target.Endpoints.Postgres)
	require.NoError(t, err)
	t.Cleanup(db.Close)
	return &Env{Target: target, DB: db, AdminNATS: adminNATS}
}

// Scenario is one end-to-end scenario.
type Scenario struct {
	Name string
	Run  func(t *testing.T, e *Env)
}

// Table is the scenario table both modes run.
func Table() []Scenario {
	return []Scenario{
		{"ok/automated approval, the QA kit's guardianship scenario, West Kazakhstan", automatedApproval},
		{"ok/portal approval by the staff, Pavlodar", portalApproval},
		{"ok/automatic refusal: the ward is missing in ГБД ФЛ, West Kazakhstan", automaticRefusal},
		{"ok/ЦОН application by a representative, the result handed over, Zhambyl", tsonHandOver},
		{"ok/paper application at the provider's office, handed over, Pavlodar region 51", officeIntake},
		{"ok/a message re-sent to ШЭП is counted once", resentOnce},
	}
}

// Run runs every scenario of the table as a sub-test against one suite.
func Run(t *testing.T, e *Env) {
	for _, s := range Table() {
		t.Run(s.Name, func(t *testing.T) { s.Run(t, e) })
	}
}

func (e *Env) citizen(t *testing.T) *qakit.Person {
	t.Helper()
	p, err := e.Target.Citizen(t.Context(), qakit.Citizen)
	require.NoError(t, err, "portal sign-in")
	return p
}

func (e *Env) staff(t *testing.T, slug, region string) *qakit.Staff {
	t.Helper()
	s, err := e.Target.Staff(t.Context(), slug, region)
	require.NoError(t, err, "АРМ sign-in")
	return s
}

// apply has Асель fill and sign a guardianship certificate's form on the portal; the application's path.
func (e *Env) apply(t *testing.T, c *qakit.Person, region, wardIIN string) string {
	t.Helper()
	app, err := c.Apply(t.Context(), "/services/guardianship-certificate/"+region, qakit.Form{Fields: map[string]string{"ward_iin": wardIIN}})
	require.NoError(t, err)
	return app
}

// caseCount is how many cases (registration numbers) РШЭП holds for an application.
func (e *Env) caseCount(t *testing.T, app string) int {
	t.Helper()
	var n int
	require.NoError(t, e.DB.QueryRow(t.Context(), `SELECT count(*) FROM rshep.cases WHERE application_id = $1`,
		strings.TrimPrefix(app, "/applications/")).Scan(&n))
	return n
}

// registered is an Until condition: the application is registered and its page shows the case's
// number, which the next step needs. Waiting for REGISTERED alone once gave an empty number on the ЦОН
// desk in container mode (the page listed REGISTERED with «—» for the number): the intake writes both
// in one transaction, but the page reads the application (applicant.Desk.Get) and its statuses
// (Desk.Statuses) in two queries, so a notification committed between them shows half.
func registered(pg qakit.Page) bool { return qakit.Has("REGISTERED")(pg) && qakit.Number(pg) != "" }

func automatedApproval(t *testing.T, e *Env) {
	ctx, asel := t.Context(), e.citizen(t)
	app := e.apply(t, asel, "27", qakit.WardIIN)
	pg, err := asel.Until(ctx, app, within, qakit.Closed)
	require.NoError(t, err)
	require.Equal(t, []string{"DRAFT", "SUBMITTED", "DELIVERED", "REGISTERED", "IN_PROGRESS", "APPROVED", "RESULT_ISSUED"}, qakit.Statuses(pg))
	res, err := e.Target.VerifyResult(ctx, asel, app, envelope.Expect{Purpose: envelope.PurposeEnvelope})
	require.NoError(t, err, "the result's signature verifies against НУЦ's root")
	require.Equal(t, "rshep-27", res.Holder.Name, "signed by West Kazakhstan's node")
	require.Equal(t, 1, e.caseCount(t, app))
}

func portalApproval(t *testing.T, e *Env) {
	ctx, asel := t.Context(), e.citizen(t)
	app := e.apply(t, asel, "55", qakit.WardIIN)
	pg, err := asel.Until(ctx, app, within, registered)
	require.NoError(t, err)
	number := qakit.Number(pg)
	require.True(t, strings.HasPrefix(number, "55-"), "the region's number: %q", number)
	clerk := e.staff(t, qakit.Clerk, "55")
	path, _, err := clerk.Case(ctx, number)
	require.NoError(t, err)
	_, err = clerk.Act(ctx, path, "complete", nil)
	require.NoError(t, err)
	officer := e.staff(t, qakit.Officer, "55")
	_, err = officer.Act(ctx, path, "decide", url.Values{"outcome": {"approved"}})
	require.NoError(t, err)
	_, err = officer.SignResult(ctx, path)
	require.NoError(t, err)
	pg, err = asel.Until(ctx, app, within, qakit.Closed)
	require.NoError(t, err)
	require.Equal(t, []string{"DRAFT", "SUBMITTED", "DELIVERED", "REGISTERED", "IN_PROGRESS", "APPROVED", "RESULT_ISSUED"}, qakit.Statuses(pg))
	res, err := e.Target.VerifyResult(ctx, asel, app, envelope.Expect{Purpose: envelope.PurposeDocument, IIN: qakit.OfficerIIN})
	require.NoError(t, err, "the result's signature verifies against НУЦ's root")
	require.Equal(t, providerBIN, res.Holder.BIN, "signed by the provider's officer")
	require.Equal(t, 1, e.caseCount(t, app))
}

func automaticRefusal(t *testing.T, e *Env) {
	ctx, asel := t.Context(), e.citizen(t)
	app := e.apply(t, asel, "27", Missing)
	pg, err := asel.Until(ctx, app, within, qakit.Closed)
	require.NoError(t, err)
	st := qakit.Statuses(pg)
	require.GreaterOrEqual(t, len(st), 6, "%v", st)
	require.Equal(t, []string{"DRAFT", "SUBMITTED", "DELIVERED", "REGISTERED"}, st[:4])
	require.Equal(t, []string{"REFUSED", "RESULT_ISSUED"}, st[len(st)-2:])
	require.Contains(t, pg.Body, "нет данных в ГБД ФЛ", "the refusal's ground")
	res, err := e.Target.VerifyResult(ctx, asel, app, envelope.Expect{Purpose: envelope.PurposeEnvelope})
	require.NoError(t, err)
	require.Equal(t, "rshep-27", res.Holder.Name, "signed by West Kazakhstan's node")
}

func tsonHandOver(t *testing.T, e *Env) {
	ctx := t.Context()
	op, err := e.Target.Operator(ctx)
	require.NoError(t, err, "desk sign-in")
	form := qakit.Form{Path: "/new/guardianship-certificate/59", Fields: map[string]string{"ward_iin": qakit.WardIIN},
		Extra: map[string]string{"citizen_iin": qakit.CitizenIIN, "representative_iin": qakit.RepresentativeIIN, "poa_number": qakit.PowerOfAttorney},
		Files: map[string][]byte{"standard_documents": Scan()}, Paper: []string{"power_of_attorney"}}
	pg, err := op.Submit(ctx, "/new/guardianship-certificate/59", form)
	require.NoError(t, err)
	require.Contains(t, pg.URL, "/sign", "the draft is recorded: %s", pg.Body)
	id, err := qakit.Application(pg)
	require.NoError(t, err)
	app := "/applications/" + id
	pg, err = op.SignPage(ctx, pg, app+"/sign", op.Sign, nil)
	require.NoError(t, err)
	require.Contains(t, pg.Body, `id="receipt"`, "the desk prints the receipt")
	pg, err = op.Until(ctx, app, within, registered)
	require.NoError(t, err)
	officer := e.staff(t, qakit.Officer, "59")
	path, _, err := officer.Case(ctx, qakit.Number(pg))
	require.NoError(t, err)
	_, err = officer.Act(ctx, path, "decide", url.Values{"outcome": {"approved"}})
	require.NoError(t, err)
	_, err = officer.SignResult(ctx, path)
	require.NoError(t, err)
	pg, err = op.Until(ctx, app, within, qakit.Closed)
	require.NoError(t, err)
	_, err = e.Target.VerifyResult(ctx, op, app, envelope.Expect{Purpose: envelope.PurposeDocument, IIN: qakit.OfficerIIN})
	require.NoError(t, err)
	token, err := qakit.CSRF(pg)
	require.NoError(t, err)
	_, err = op.Post(ctx, app+"/hand-over", url.Values{"csrf": {token}})
	require.NoError(t, err)
	pg, err = op.Get(ctx, app)
	require.NoError(t, err)
	require.Equal(t, []string{"DRAFT", "SUBMITTED", "DELIVERED", "REGISTERED", "IN_PROGRESS", "APPROVED", "RESULT_ISSUED", "HANDED_OVER"}, qakit.Statuses(pg))
	pg, err = op.Post(ctx, app+"/hand-over", url.Values{"csrf": {token}, "unclaimed": {"1"}})
	require.NoError(t, err)
	require.Equal(t, 409, pg.Status, "handed over once")
}

func officeIntake(t *testing.T, e *Env) {
	ctx := t.Context()
	clerk := e.staff(t, qakit.Clerk, "51")
	fields := map[string]string{"child_iin": qakit.ChildIIN, "bank_account": "KZ86125KZT5004100100"}
	paper := []string{"birth_certificate", "residence", "ppk_conclusion", "disability_certificate", "bank_account_document"}
	receipt, err := clerk.OfficeApply(ctx, "disabled-children-home-education", qakit.CitizenIIN,
		qakit.Form{Fields: fields, Paper: paper, Files: map[string][]byte{"birth_certificate": Scan()}})
	require.NoError(t, err)
	number := qakit.Number(receipt)
	require.True(t, strings.HasPrefix(number, "51-"), "the receipt names the case's number: %q", number)
	require.Contains(t, receipt.Body, "Ахметова Асель Маратовна", "the applicant as ГБД ФЛ knows her")
	require.Equal(t, []string{"REGISTERED"}, qakit.Statuses(receipt))
	path := strings.TrimSuffix(receipt.Path(), "/receipt")

	officer := e.staff(t, qakit.Officer, "51")
	_, err = officer.Act(ctx, path, "complete", nil)
	require.NoError(t, err)
	head := e.staff(t, qakit.Head, "51")
	_, err = head.Act(ctx, path, "decide", url.Values{"outcome": {"approved"}})
	require.NoError(t, err)
	pg, err := officer.SignResult(ctx, path)
	require.NoError(t, err)
	require.NoError(t, pg.Err())
	require.Contains(t, pg.Body, `data-status="RESULT_ISSUED"`)
	pg, err = clerk.HandOver(ctx, path, true)
	require.NoError(t, err)
	require.NoError(t, pg.Err())
	require.Contains(t, pg.Body, `data-status="HANDED_OVER"`)
	pg, err = clerk.HandOver(ctx, path, false)
	require.NoError(t, err)
	require.Equal(t, 409, pg.Status, "handed over once")
	receipt, err = clerk.Get(ctx, path+"/receipt")
	require.NoError(t, err)
	require.Equal(t, []string{"REGISTERED", "RESULT_ISSUED", "HANDED_OVER"}, qakit.Statuses(receipt))
}

// resentOnce: after an application has been decided, the portal's very envelope is published to ШЭП
// again under a new NATS message id (so JetStream's duplicate window does not drop it, as a sender
// re-sending after that window would): ШЭП refuses the copy as a duplicate of its message id, РШЭП
// still holds one case, and the citizen still sees each status once.
func resentOnce(t *testing.T, e *Env) {
	ctx, asel := t.Context(), e.citizen(t)
	app := e.apply(t, asel, "27", qakit.WardIIN)
	pg, err := asel.Until(ctx, app, within, qakit.Closed)
	require.NoError(t, err)
	want := []string{"DRAFT", "SUBMITTED", "DELIVERED", "REGISTERED", "IN_PROGRESS", "APPROVED", "RESULT_ISSUED"}
	require.Equal(t, want, qakit.Statuses(pg))

	var msgID string
	var sent []byte
	require.NoError(t, e.DB.QueryRow(ctx, `SELECT message_id, envelope FROM portal.applications WHERE id = $1`,
		strings.TrimPrefix(app, "/applications/")).Scan(&msgID, &sent))
	require.NotEmpty(t, sent, "the portal keeps the envelope it sent")
	nc, err := nats.Connect(e.AdminNATS)
	require.NoError(t, err)
	defer nc.Close()
	js, err := nc.JetStream()
	require.NoError(t, err)
	m := nats.NewMsg(shepv1.InSubject("portal"))
	m.Data = sent
	m.Header.Set(nats.MsgIdHdr, "resent/"+msgID)
	_, err = js.PublishMsg(m)
	require.NoError(t, err)

	// ШЭП's log records the refusal of the copy: only then is «one case» a statement about the copy.
	for deadline := time.Now().Add(within); ; {
		var refused int
		require.NoError(t, e.DB.QueryRow(ctx, `SELECT count(*) FROM shep.message_log WHERE message_id = $1 AND event = 'REJECTED' AND code = $2`,
			msgID, shepv1.CodeDuplicate).Scan(&refused))
		if refused > 0 {
			require.Equal(t, 1, refused, "the copy is refused once")
			break
		}
		require.True(t, time.Now().Before(deadline), "ШЭП did not refuse the re-sent copy within %s", within)
		time.Sleep(200 * time.Millisecond)
	}
	require.Equal(t, 1, e.caseCount(t, app), "one case for the application")
	pg, err = asel.Get(ctx, app)
	require.NoError(t, err)
	require.Equal(t, want, qakit.Statuses(pg), "each status once")
}

// Scan is a tiny PNG, an attached scan.
func Scan() []byte {
	return []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")
}
