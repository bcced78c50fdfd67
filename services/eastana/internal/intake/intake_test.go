package intake_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/calendar"
	"github.com/egov-suite/egov/internal/ncatest"
	"github.com/egov-suite/egov/internal/pgdb"
	"github.com/egov-suite/egov/internal/pgtest"
	"github.com/egov-suite/egov/internal/pki"
	"github.com/egov-suite/egov/internal/registries"
	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
	gbdflv1 "github.com/egov-suite/egov/proto/egov/gbdfl/v1"
	"github.com/egov-suite/egov/services/eastana/internal/documents"
	"github.com/egov-suite/egov/services/eastana/internal/intake"
	"github.com/egov-suite/egov/services/eastana/internal/queue"
	"github.com/egov-suite/egov/services/eastana/internal/schema"
	"github.com/egov-suite/egov/services/eastana/internal/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// t0 is a Tuesday: the decision's term of 3 working days ends on Friday.
var t0 = time.Date(2026, 9, 1, 9, 0, 0, 0, time.UTC)

const (
	parent = "850101400001"
	// binMIO is the МИО's BIN in the employees' certificates.
	binMIO = "010740002845"
)

// register is ГБД ФЛ's answers in the register's wire form (gbdflv1.Person), by IIN: the records a
// test's applications name. The path through ШЭП is the service's, tested end to end.
type register map[string]*gbdflv1.Person

func (r register) Person(_ context.Context, iin string) (*gbdflv1.Person, error) {
	if p, ok := r[iin]; ok {
		return p, nil
	}
	return nil, registries.ErrNoRecord
}

func person(iin string, birth time.Time, deceased bool, parents ...string) *gbdflv1.Person {
	p := &gbdflv1.Person{Iin: iin, BirthDate: birth.Format(time.DateOnly), Deceased: deceased}
	for _, id := range parents {
		p.Family = append(p.Family, &gbdflv1.FamilyLink{Relation: gbdflv1.Relation_RELATION_PARENT, Iin: id})
	}
	return p
}

// world is a test's ИС Е-Астана: the intake on its own database, an in-memory НУЦ, and a МИО employee on
// the staff with their signing key.
type world struct {
	url string
	in  *intake.Intake
	s   *store.Store
	ca  *ncatest.Authority
	mio intake.Employee
	key *envelope.Signer
}

func setup(t testing.TB, reg register) *world { return setupWith(t, reg, 4) }

// setupWith is setup with a pool of conns connections.
func setupWith(t testing.TB, reg register, conns int32) *world {
	t.Helper()
	url := pgtest.URL(t)
	pool, err := pgdb.Open(t.Context(), url, "eastana", conns)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	_, err = pgdb.Migrate(t.Context(), pool, "eastana", schema.Migrations())
	require.NoError(t, err)
	s, err := store.New(pool, queue.Passport2012())
	require.NoError(t, err)
	require.NoError(t, s.AddList(t.Context(), intake.City))
	// НУЦ's clock is the tests' morning: certificates, signing times and OCSP answers agree with it.
	ca := ncatest.New(t, ncatest.WithClock(func() time.Time { return t0 }))
	w := &world{url: url, s: s, ca: ca, in: &intake.Intake{Store: s, DB: pool, Registry: reg, Verifier: ca.Verifier(t, ca.Checker(time.Minute)),
		Seal: ca.System(t, "eastana"), BIN: binMIO}}
	w.mio = w.employ(t, "870614400527", "Сарсенова Динара Жумабековна")
	w.key = w.signingKey(t, w.mio.IIN, binMIO, pki.Sign)
	return w
}

// employ puts an employee on the staff.
func (w *world) employ(t testing.TB, iin, name string) intake.Employee {
	t.Helper()
	e := intake.Employee{IIN: iin, Name: name, Position: "главный специалист"}
	require.NoError(t, w.in.PutEmployee(t.Context(), e))
	return e
}

func (w *world) signingKey(t testing.TB, iin, bin string, purpose pki.Purpose) *envelope.Signer {
	t.Helper()
	return w.ca.Issue(t, pki.Request{Profile: pki.Employee, Purpose: purpose, Subject: pki.Subject{IIN: iin, Surname: "Сотрудник",
		GivenName: "МИО", Organization: "ГУ «Управление образования города Астаны»", BIN: bin}}, pki.ECDSAP256)
}

// sign drafts case id for e, signs the draft with key, and hands it to Sign; it returns the draft.
func (w *world) sign(t *testing.T, id int64, e intake.Employee, key *envelope.Signer, at time.Time) (*intake.Draft, error) {
	t.Helper()
	d, err := w.in.Draft(t.Context(), id, w.mio, at)
	require.NoError(t, err)
	sig, err := key.Sign(d.Content)
	require.NoError(t, err)
	return d, w.in.Sign(t.Context(), id, e, d.Content, sig, at)
}

// caseOf is the case of application id from sender.
func (w *world) caseOf(t *testing.T, sender, id string) intake.Case {
	t.Helper()
	cases, err := w.in.Cases(t.Context(), intake.Filter{Limit: 1000})
	require.NoError(t, err)
	for _, c := range cases {
		if c.Sender == sender && c.ApplicationID == id {
			return c
		}
	}
	t.Fatalf("no case %s/%s", sender, id)
	return intake.Case{}
}

// outbox collects what the forward worker sends.
type outbox struct {
	sent []*applicationv1.StatusNotification
	to   []intake.Origin
}

func (o *outbox) send(_ context.Context, to intake.Origin, n *applicationv1.StatusNotification) error {
	o.sent, o.to = append(o.sent, n), append(o.to, to)
	return nil
}

func application(id, child string, channel applicationv1.Channel) *applicationv1.Application {
	fields := map[string]string{}
	if child != "" {
		fields[intake.FieldChildIIN] = child
	}
	return &applicationv1.Application{ApplicationId: id, ServiceCode: "preschool-registration", Region: "71", Channel: channel,
		ApplicantIin: parent, Fields: fields}
}

var portal = intake.Origin{Sender: "portal", CorrelationID: "m1"}

func decisionCode(err error) string {
	var d *intake.DecisionError
	if errors.As(err, &d) {
		return d.Code
	}
	return ""
}

func TestDecide(t *testing.T) {
	t.Parallel()
	born := func(years int) time.Time { return t0.AddDate(-years, -1, 0) }
	reg := register{
		"230801500001": person("230801500001", born(3), false, parent),
		"230801500002": person("230801500002", born(3), false, parent),
		"180801500003": person("180801500003", born(8), false, parent),
		"230801500004": person("230801500004", born(3), true, parent),
		"230801500005": person("230801500005", born(3), false, "900101300009"),
		"220801500006": person("220801500006", born(4), false, parent),
	}
	w := setup(t, reg)
	ctx := t.Context()

	// Registered at once, answered REGISTERED with the application's number and the term; the child's
	// queue numbers are 1 and 2 by the time of receipt, the second with one child ahead.
	n, err := w.in.Receive(ctx, portal, application("a1", "230801500001", applicationv1.Channel_CHANNEL_PORTAL), t0)
	require.NoError(t, err)
	require.Equal(t, applicationv1.CaseStatus_CASE_STATUS_REGISTERED, n.GetStatus())
	require.Equal(t, "ЕА-2026-000001", n.GetRegistrationNumber())
	require.Equal(t, int64(1), n.GetSequence(), "the case's first notification")
	require.Equal(t, intake.TextRegistered.RU, n.GetText().GetRu())
	require.Equal(t, calendar.Default().AddWorkingDays(t0, 3), n.GetDeadline().AsTime().In(calendar.Zone))
	require.Nil(t, n.GetQueue(), "the place goes out with the signed decision")
	_, err = w.in.Receive(ctx, intake.Origin{Sender: "tson", CorrelationID: "m2"}, application("a2", "230801500002", applicationv1.Channel_CHANNEL_TSON), t0.Add(time.Minute))
	require.NoError(t, err)
	c := w.caseOf(t, "tson", "a2")
	require.Equal(t, "awaiting", c.State)
	require.Equal(t, documents.KindTicket, c.Decision)
	require.Equal(t, "tson", c.Channel)
	require.Equal(t, "230801500002", c.ChildIIN)
	pos, err := w.s.Position(ctx, *c.EntryID)
	require.NoError(t, err)
	require.Equal(t, int64(2), pos.Entry.Number)
	require.Equal(t, int64(1), pos.Ahead)
	d, err := w.in.Draft(ctx, c.ID, w.mio, t0.Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, documents.KindTicket, d.Kind)
	require.Equal(t, documents.MediaType, d.MediaType)
	for _, s := range []string{"ЕА-2026-000002", "Номер в очереди: 2", "Перед ребёнком в очереди: 1", "ИИН 230801500002", "ИИН " + parent,
		"Сарсенова Динара Жумабековна", "Кезектегі нөмірі: 2", "Баланың алдында кезекте: 1"} {
		require.Contains(t, string(d.Content), s)
	}

	// A free place of the child's age: the referral at once, which the employee signs.
	_, _, err = w.s.AddKindergarten(ctx, store.Kindergarten{ID: "k1", ListID: "astana", Name: queue.Text{RU: "Ясли-сад № 1", KK: "№ 1 бөбекжай-бақша"},
		Groups: []store.Group{{AgeFrom: 4, AgeTo: 5, Capacity: 1, Free: 1}}}, "МИО", t0)
	require.NoError(t, err)
	_, err = w.in.Receive(ctx, portal, application("a6", "220801500006", applicationv1.Channel_CHANNEL_EASTANA), t0.Add(2*time.Minute))
	require.NoError(t, err)
	c = w.caseOf(t, "portal", "a6")
	require.Equal(t, documents.KindReferral, c.Decision)
	d, err = w.in.Draft(ctx, c.ID, w.mio, t0.Add(time.Hour))
	require.NoError(t, err)
	require.Contains(t, string(d.Content), "Ясли-сад № 1")
	require.Contains(t, string(d.Content), "Направление действительно до: "+t0.Add(2*time.Minute).AddDate(0, 1, 0).In(calendar.Zone).Format("02.01.2006"))
	require.Contains(t, string(d.Content), documents.ReferralNote.RU)

	for _, c := range []struct {
		name, child string
		want        *queue.Refusal
	}{
		{"fail/no child iin", "", intake.RefuseNoChild},
		{"fail/not in ГБД ФЛ", "230801500099", queue.RefuseChildNotFound},
		{"fail/seven or older", "180801500003", queue.RefuseTooOld},
		{"fail/deceased", "230801500004", queue.RefuseChildDeceased},
		{"fail/applicant not a parent", "230801500005", queue.RefuseNotParent},
		{"fail/already listed", "230801500001", queue.RefuseAlreadyListed},
	} {
		// The queue's refusal is registered and answered REGISTERED as well: the employee signs it.
		n, err := w.in.Receive(ctx, portal, application("r-"+c.name, c.child, applicationv1.Channel_CHANNEL_PORTAL), t0.Add(time.Hour))
		require.NoError(t, err, c.name)
		require.Equal(t, applicationv1.CaseStatus_CASE_STATUS_REGISTERED, n.GetStatus(), c.name)
		cs := w.caseOf(t, "portal", "r-"+c.name)
		require.Equal(t, documents.KindRefusal, cs.Decision, c.name)
		require.Nil(t, cs.EntryID, c.name)
		d, err := w.in.Draft(ctx, cs.ID, w.mio, t0.Add(time.Hour))
		require.NoError(t, err, c.name)
		require.Contains(t, string(d.Content), c.want.Text.RU, c.name)
		require.Contains(t, string(d.Content), c.want.Text.KK, c.name)
		_, err = w.sign(t, cs.ID, w.mio, w.key, t0.Add(2*time.Hour))
		require.NoError(t, err, c.name)
		st, err := w.in.Statuses(ctx, cs.ID)
		require.NoError(t, err, c.name)
		require.Len(t, st, 2, c.name)
		got := st[1]
		require.Equal(t, applicationv1.CaseStatus_CASE_STATUS_REFUSED, got.GetStatus(), c.name)
		require.Equal(t, c.want.Code, got.GetRefusalCode(), c.name)
		require.Equal(t, c.want.Text.RU, got.GetReason().GetRu(), c.name)
		require.Equal(t, c.want.Text.KK, got.GetReason().GetKk(), c.name)
	}
	// The refusals took no queue numbers: the next registration is number 4.
	reg["230801500007"] = person("230801500007", born(2), false, parent)
	_, err = w.in.Receive(ctx, portal, application("a7", "230801500007", applicationv1.Channel_CHANNEL_PORTAL), t0.Add(2*time.Hour))
	require.NoError(t, err)
	pos, err = w.s.Position(ctx, *w.caseOf(t, "portal", "a7").EntryID)
	require.NoError(t, err)
	require.Equal(t, int64(4), pos.Entry.Number)
}

func TestDecideRegisterUnavailable(t *testing.T) {
	t.Parallel()
	w := setup(t, nil)
	w.in.Registry = failing{}
	_, err := w.in.Decide(t.Context(), application("a1", "230801500001", applicationv1.Channel_CHANNEL_PORTAL), t0)
	require.ErrorContains(t, err, "ГБД ФЛ")
	// Nothing was kept: the delivery is retried.
	_, err = w.in.Receive(t.Context(), portal, application("a1", "230801500001", applicationv1.Channel_CHANNEL_PORTAL), t0)
	require.ErrorContains(t, err, "ГБД ФЛ")
	cases, err := w.in.Cases(t.Context(), intake.Filter{})
	require.NoError(t, err)
	require.Empty(t, cases)
}

// failing is a register that cannot be reached: ШЭП's answer when ГБД ФЛ is down.
type failing struct{}

func (failing) Person(context.Context, string) (*gbdflv1.Person, error) {
	return nil, fmt.Errorf("gbdfl.GetPerson: %w", context.DeadlineExceeded)
}

func TestChild(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		p       *gbdflv1.Person
		want    *queue.Child
		wantErr string
	}{
		{name: "ok/parents and guardian, not the spouse", p: &gbdflv1.Person{Iin: "230801500001", BirthDate: "2023-08-01", Family: []*gbdflv1.FamilyLink{
			{Relation: gbdflv1.Relation_RELATION_PARENT, Iin: "1"}, {Relation: gbdflv1.Relation_RELATION_GUARDIAN, Iin: "2"},
			{Relation: gbdflv1.Relation_RELATION_SPOUSE, Iin: "3"}, {Relation: gbdflv1.Relation_RELATION_PARENT, Iin: "1"}}},
			want: &queue.Child{IIN: "230801500001", BirthDate: time.Date(2023, 8, 1, 0, 0, 0, 0, time.UTC), Representatives: []string{"1", "2"}}},
		{name: "fail/unreadable birth date", p: &gbdflv1.Person{Iin: "230801500001", BirthDate: "01.08.2023"}, wantErr: "birth date of 230801500001"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := intake.Child(c.p)
			if c.wantErr != "" {
				require.ErrorContains(t, err, c.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, c.want, got)
		})
	}
}

func TestReceiveOnce(t *testing.T) {
	t.Parallel()
	reg := register{"230801500001": person("230801500001", t0.AddDate(-3, 0, 0), false, parent)}
	w := setup(t, reg)
	ctx := t.Context()

	first, err := w.in.Receive(ctx, portal, application("a1", "230801500001", applicationv1.Channel_CHANNEL_PORTAL), t0)
	require.NoError(t, err)
	require.Equal(t, applicationv1.CaseStatus_CASE_STATUS_REGISTERED, first.GetStatus())
	// ШЭП delivers the same application again (the answer was not sent): the same answer and number, not
	// a refusal of the child as already listed, and no second queue number.
	again, err := w.in.Receive(ctx, portal, application("a1", "230801500001", applicationv1.Channel_CHANNEL_PORTAL), t0.Add(time.Minute))
	require.NoError(t, err)
	require.True(t, proto.Equal(first, again), "%v != %v", first, again)
	// The same child by another application: registered, its draft the queue's refusal; kept as well.
	refused, err := w.in.Receive(ctx, portal, application("a2", "230801500001", applicationv1.Channel_CHANNEL_PORTAL), t0.Add(time.Minute))
	require.NoError(t, err)
	require.Equal(t, "ЕА-2026-000002", refused.GetRegistrationNumber())
	require.Equal(t, documents.KindRefusal, w.caseOf(t, "portal", "a2").Decision)
	again, err = w.in.Receive(ctx, portal, application("a2", "230801500001", applicationv1.Channel_CHANNEL_PORTAL), t0.Add(time.Hour))
	require.NoError(t, err)
	require.True(t, proto.Equal(refused, again))
	// An application id is the sender's: the same id from ЦОН is another application.
	reg["230801500002"] = person("230801500002", t0.AddDate(-2, 0, 0), false, parent)
	other, err := w.in.Receive(ctx, intake.Origin{Sender: "tson", CorrelationID: "m2"}, application("a1", "230801500002", applicationv1.Channel_CHANNEL_TSON), t0.Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, "ЕА-2026-000003", other.GetRegistrationNumber())
	pos, err := w.s.Position(ctx, *w.caseOf(t, "tson", "a1").EntryID)
	require.NoError(t, err)
	require.Equal(t, int64(2), pos.Entry.Number)

	// The applicant's signature not confirmed: refused at once, kept, answered the same again.
	eds, err := w.in.RefuseSignature(ctx, portal, application("a3", "230801500002", applicationv1.Channel_CHANNEL_PORTAL), "revoked", t0)
	require.NoError(t, err)
	require.Equal(t, applicationv1.CaseStatus_CASE_STATUS_REFUSED, eds.GetStatus())
	require.Equal(t, "eds_not_confirmed", eds.GetRefusalCode())
	again, err = w.in.RefuseSignature(ctx, portal, application("a3", "230801500002", applicationv1.Channel_CHANNEL_PORTAL), "revoked", t0.Add(time.Hour))
	require.NoError(t, err)
	require.True(t, proto.Equal(eds, again))
	c := w.caseOf(t, "portal", "a3")
	require.Equal(t, "refused", c.State)
	_, err = w.in.Draft(ctx, c.ID, w.mio, t0)
	require.Equal(t, "decided", decisionCode(err), "an automatic refusal is signed by nobody")

	_, err = w.in.Receive(ctx, intake.Origin{}, application("a4", "230801500002", applicationv1.Channel_CHANNEL_TSON), t0)
	require.ErrorContains(t, err, "sender and id")
}
