package intake_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"testing"
	"testing/fstest"
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
	in  *intake.Intake
	s   *store.Store
	ca  *ncatest.Authority
	mio intake.Employee
	key *envelope.Signer
}

func setup(t testing.TB, reg register) *world {
	t.Helper()
	pool, err := pgdb.Open(t.Context(), pgtest.URL(t), "eastana", 4)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	_, err = pgdb.Migrate(t.Context(), pool, "eastana", schema.Migrations())
	require.NoError(t, err)
	s, err := store.New(pool, queue.Passport2012())
	require.NoError(t, err)
	require.NoError(t, s.AddList(t.Context(), intake.City))
	// НУЦ's clock is the tests' morning: certificates, signing times and OCSP answers agree with it.
	ca := ncatest.New(t, ncatest.WithClock(func() time.Time { return t0 }))
	w := &world{s: s, ca: ca, in: &intake.Intake{Store: s, DB: pool, Registry: reg, Verifier: ca.Verifier(t, ca.Checker(time.Minute)),
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

func TestSignTicket(t *testing.T) {
	t.Parallel()
	kid := "230801500001"
	w := setup(t, register{kid: person(kid, t0.AddDate(-3, -1, 0), false, parent)})
	w.in.VerifyURL = "https://portal.example.kz"
	ctx := t.Context()
	_, err := w.in.Receive(ctx, portal, application("a1", kid, applicationv1.Channel_CHANNEL_PORTAL), t0)
	require.NoError(t, err)
	c := w.caseOf(t, "portal", "a1")

	// Nothing goes out before the employee signs.
	var out outbox
	n, err := w.in.ForwardOnce(ctx, 100, out.send)
	require.NoError(t, err)
	require.Zero(t, n)

	at := t0.Add(3 * time.Hour)
	d, err := w.sign(t, c.ID, w.mio, w.key, at)
	require.NoError(t, err)
	got, err := w.in.Case(ctx, c.ID)
	require.NoError(t, err)
	require.Equal(t, "issued", got.State)
	require.Equal(t, documents.KindTicket, got.Decision)
	require.Equal(t, w.mio.IIN, got.SignedBy)
	require.Equal(t, at, got.SignedAt.UTC())
	// Signed once: a second signature is refused.
	sig, err := w.key.Sign(d.Content)
	require.NoError(t, err)
	require.Equal(t, "decided", decisionCode(w.in.Sign(ctx, c.ID, w.mio, d.Content, sig, at)))

	// The decision goes out from the outbox: QUEUED, sequence 2, with the signed ticket and its printable
	// form sealed by the system key. A failed send is sent again the same, and then never again.
	failed := errors.New("ШЭП unreachable")
	_, err = w.in.ForwardOnce(ctx, 100, func(context.Context, intake.Origin, *applicationv1.StatusNotification) error { return failed })
	require.ErrorIs(t, err, failed)
	_, err = w.in.ForwardOnce(ctx, 100, out.send)
	require.NoError(t, err)
	require.Len(t, out.sent, 1)
	q := out.sent[0]
	require.Equal(t, intake.Origin{Sender: "portal", CorrelationID: "m1", ApplicantIIN: parent}, out.to[0])
	require.Equal(t, applicationv1.CaseStatus_CASE_STATUS_QUEUED, q.GetStatus())
	require.Equal(t, int64(2), q.GetSequence())
	require.Equal(t, "ЕА-2026-000001", q.GetRegistrationNumber())
	require.Equal(t, &applicationv1.QueuePlace{ListId: "astana", Number: 1, Ahead: 0, Kind: "general"}, q.GetQueue())
	require.Contains(t, q.GetText().GetRu(), "номер в очереди 1, перед вами 0")
	require.Len(t, q.GetResults(), 1)
	rd := q.GetResults()[0]
	require.Equal(t, documents.KindTicket, rd.GetKind())
	require.Equal(t, d.Content, rd.GetDocument().GetContent())
	require.True(t, proto.Equal(rd.GetDocument(), q.GetResult()))
	res, err := w.in.Verifier.Verify(ctx, rd.GetDocument().GetContent(), rd.GetDocument().GetSignature(),
		envelope.Expect{Purpose: envelope.PurposeDocument, IIN: w.mio.IIN})
	require.NoError(t, err, "the employee's own signature")
	require.Equal(t, w.mio.IIN, res.Holder.IIN)
	require.Equal(t, "application/pdf", rd.GetPrintable().GetMediaType())
	_, err = w.in.Verifier.Verify(ctx, rd.GetPrintable().GetContent(), rd.GetPrintable().GetSignature(), envelope.Expect{Purpose: envelope.PurposeIssued})
	require.NoError(t, err, "the printable form sealed by ИС Е-Астана")
	require.Contains(t, rd.GetVerifyUrl(), "https://portal.example.kz/verify?")
	n, err = w.in.ForwardOnce(ctx, 100, out.send)
	require.NoError(t, err)
	require.Zero(t, n)
	require.Len(t, out.sent, 1, "sent once")

	st, err := w.in.Statuses(ctx, c.ID)
	require.NoError(t, err)
	require.Len(t, st, 2)
	require.Equal(t, applicationv1.CaseStatus_CASE_STATUS_REGISTERED, st[0].GetStatus())
	require.True(t, proto.Equal(q, st[1]))
	_, err = w.in.Statuses(ctx, 999)
	require.ErrorIs(t, err, intake.ErrNoCase)
}

func TestSignStale(t *testing.T) {
	t.Parallel()
	kid := "230801500001"
	w := setup(t, register{kid: person(kid, t0.AddDate(-3, -1, 0), false, parent)})
	ctx := t.Context()
	_, err := w.in.Receive(ctx, portal, application("a1", kid, applicationv1.Channel_CHANNEL_PORTAL), t0)
	require.NoError(t, err)
	c := w.caseOf(t, "portal", "a1")
	ticket, err := w.in.Draft(ctx, c.ID, w.mio, t0.Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, documents.KindTicket, ticket.Kind)

	// Between the draft and the signature a place of the child's age is released: the child has a
	// referral now, and the signed ticket is refused as stale.
	ids, _, err := w.s.AddKindergarten(ctx, store.Kindergarten{ID: "k1", ListID: intake.City, Name: queue.Text{RU: "Ясли-сад № 1", KK: "№ 1 бөбекжай-бақша"},
		Groups: []store.Group{{AgeFrom: 3, AgeTo: 4, Capacity: 1}}}, "МИО", t0)
	require.NoError(t, err)
	_, err = w.s.Release(ctx, ids[0], 1, "Омаров Б.", t0.Add(2*time.Hour))
	require.NoError(t, err)
	sig, err := w.key.Sign(ticket.Content)
	require.NoError(t, err)
	err = w.in.Sign(ctx, c.ID, w.mio, ticket.Content, sig, t0.Add(3*time.Hour))
	require.Equal(t, "stale", decisionCode(err), "%v", err)
	var de *intake.DecisionError
	require.ErrorAs(t, err, &de)
	require.NotEmpty(t, de.Text.RU)
	require.NotEmpty(t, de.Text.KK)
	got, err := w.in.Case(ctx, c.ID)
	require.NoError(t, err)
	require.Equal(t, "awaiting", got.State)
	require.Equal(t, documents.KindReferral, got.Decision)

	// The new draft is the referral, naming who released the place; signed, it is the decision, and the
	// release's event is in it, not a notification of its own.
	var out outbox
	_, err = w.in.ForwardOnce(ctx, 100, out.send)
	require.NoError(t, err)
	require.Empty(t, out.sent, "the referral waits for the signature")
	d, err := w.sign(t, c.ID, w.mio, w.key, t0.Add(3*time.Hour))
	require.NoError(t, err)
	require.Equal(t, documents.KindReferral, d.Kind)
	require.Contains(t, string(d.Content), "Место освобождено: Омаров Б.")
	_, err = w.in.ForwardOnce(ctx, 100, out.send)
	require.NoError(t, err)
	require.Len(t, out.sent, 1)
	require.Equal(t, applicationv1.CaseStatus_CASE_STATUS_REFERRAL_OFFERED, out.sent[0].GetStatus())
	require.Equal(t, int64(2), out.sent[0].GetSequence())
	require.Equal(t, t0.Add(2*time.Hour).AddDate(0, 1, 0), out.sent[0].GetDeadline().AsTime())
	require.Equal(t, d.Content, out.sent[0].GetResults()[0].GetDocument().GetContent())
}

// TestSignStaleUnderLock: the queue changes after Sign has checked the signed bytes and before it takes
// the locks; the check under the locks sees it.
func TestSignStaleUnderLock(t *testing.T) {
	t.Parallel()
	first, ours := "230801500001", "230801500002"
	w := setup(t, register{first: person(first, t0.AddDate(-3, -1, 0), false, parent), ours: person(ours, t0.AddDate(-3, -1, 0), false, parent)})
	ctx := t.Context()
	for i, kid := range []string{first, ours} {
		_, err := w.in.Receive(ctx, portal, application(fmt.Sprint("a", i), kid, applicationv1.Channel_CHANNEL_PORTAL), t0.Add(time.Duration(i)*time.Minute))
		require.NoError(t, err)
	}
	c := w.caseOf(t, "portal", "a1")
	ticket, err := w.in.Draft(ctx, c.ID, w.mio, t0.Add(time.Hour))
	require.NoError(t, err)
	require.Contains(t, string(ticket.Content), "Перед ребёнком в очереди: 1")
	sig, err := w.key.Sign(ticket.Content)
	require.NoError(t, err)
	w.in.SetHook(func(ctx context.Context, point string) error {
		if point != "locking" {
			return nil
		}
		// The child ahead of ours leaves the list: nobody waits before ours any more.
		return w.s.Remove(ctx, *w.caseOf(t, "portal", "a0").EntryID, t0.Add(2*time.Hour))
	})
	err = w.in.Sign(ctx, c.ID, w.mio, ticket.Content, sig, t0.Add(2*time.Hour))
	require.Equal(t, "stale", decisionCode(err), "%v", err)
	w.in.SetHook(nil)
	got, err := w.in.Case(ctx, c.ID)
	require.NoError(t, err)
	require.Equal(t, "awaiting", got.State)
	d, err := w.sign(t, c.ID, w.mio, w.key, t0.Add(3*time.Hour))
	require.NoError(t, err)
	require.Contains(t, string(d.Content), "Перед ребёнком в очереди: 0")
}

func TestSignWrongSigner(t *testing.T) {
	t.Parallel()
	kid := "230801500001"
	w := setup(t, register{kid: person(kid, t0.AddDate(-3, -1, 0), false, parent)})
	ctx := t.Context()
	_, err := w.in.Receive(ctx, portal, application("a1", kid, applicationv1.Channel_CHANNEL_PORTAL), t0)
	require.NoError(t, err)
	c := w.caseOf(t, "portal", "a1")
	colleague := w.employ(t, "870614400539", "Бекова Алия")
	gone := w.employ(t, "870614400540", "Ушедший Сотрудник")
	require.NoError(t, w.in.SetActive(ctx, gone.IIN, false))
	revoked := w.signingKey(t, w.mio.IIN, binMIO, pki.Sign)
	w.ca.Revoke(revoked.Cert, 1)
	for _, tc := range []struct {
		name string
		who  intake.Employee
		key  *envelope.Signer
		want string
	}{
		{"fail/a colleague's key", w.mio, w.signingKey(t, colleague.IIN, binMIO, pki.Sign), "wrong_signer"},
		{"fail/not on the staff", intake.Employee{IIN: "750723300016", Name: "Посторонний"}, w.signingKey(t, "750723300016", binMIO, pki.Sign), "not_staff"},
		{"fail/switched off", gone, w.signingKey(t, gone.IIN, binMIO, pki.Sign), "inactive"},
		{"fail/revoked certificate", w.mio, revoked, "revoked"},
		{"fail/authentication key", w.mio, w.signingKey(t, w.mio.IIN, binMIO, pki.Auth), "signature"},
		{"fail/another organisation's key", w.mio, w.signingKey(t, w.mio.IIN, "041240000016", pki.Sign), "wrong_signer"},
	} {
		// Not parallel: the cases try the same case one after the other, each leaving it awaiting.
		t.Run(tc.name, func(t *testing.T) {
			_, err := w.sign(t, c.ID, tc.who, tc.key, t0.Add(time.Hour))
			require.Equal(t, tc.want, decisionCode(err), "%v", err)
			var de *intake.DecisionError
			require.ErrorAs(t, err, &de)
			require.NotEmpty(t, de.Text.KK)
		})
	}
	t.Run("fail/not the document drafted", func(t *testing.T) {
		content := []byte("Направление в ДДО № 1")
		sig, err := w.key.Sign(content)
		require.NoError(t, err)
		require.Equal(t, "stale", decisionCode(w.in.Sign(ctx, c.ID, w.mio, content, sig, t0.Add(time.Hour))))
	})
	t.Run("fail/a signature over other bytes", func(t *testing.T) {
		d, err := w.in.Draft(ctx, c.ID, w.mio, t0)
		require.NoError(t, err)
		sig, err := w.key.Sign([]byte("other"))
		require.NoError(t, err)
		require.Equal(t, "signature", decisionCode(w.in.Sign(ctx, c.ID, w.mio, d.Content, sig, t0.Add(time.Hour))))
	})
	// Nothing was issued: the case awaits, no notification is queued.
	got, err := w.in.Case(ctx, c.ID)
	require.NoError(t, err)
	require.Equal(t, "awaiting", got.State)
	st, err := w.in.Statuses(ctx, c.ID)
	require.NoError(t, err)
	require.Len(t, st, 1)
	_, err = w.sign(t, c.ID, w.mio, w.key, t0.Add(time.Hour))
	require.NoError(t, err, "the employee's own key")
}

func TestRefuseRemovesEntry(t *testing.T) {
	t.Parallel()
	kids := []string{"230801500001", "220801500002", "220801500003"}
	reg := register{}
	for i, k := range kids {
		reg[k] = person(k, t0.AddDate(-3-min(i, 1), -1, 0), false, parent)
	}
	w := setup(t, reg)
	ctx := t.Context()
	for i, k := range kids[:2] {
		_, err := w.in.Receive(ctx, portal, application(fmt.Sprint("a", i), k, applicationv1.Channel_CHANNEL_PORTAL), t0.Add(time.Duration(i)*time.Minute))
		require.NoError(t, err)
	}
	c := w.caseOf(t, "portal", "a0")
	require.Equal(t, "motivation", decisionCode(w.in.Refuse(ctx, c.ID, w.mio, "  ", t0)))
	require.Equal(t, "not_staff", decisionCode(w.in.Refuse(ctx, c.ID, intake.Employee{IIN: "750723300016"}, "нет", t0)))
	// Still in the list: nothing changed.
	pos, err := w.s.Position(ctx, *c.EntryID)
	require.NoError(t, err)
	require.Equal(t, "waiting", pos.Entry.State)

	motivation := "Документы, представленные в МИО, не подтверждают проживание в г. Астане"
	require.NoError(t, w.in.Refuse(ctx, c.ID, w.mio, motivation, t0.Add(time.Hour)))
	pos, err = w.s.Position(ctx, *c.EntryID)
	require.NoError(t, err)
	require.Equal(t, "removed", pos.Entry.State)
	ev, err := w.s.Events(ctx, *c.EntryID)
	require.NoError(t, err)
	require.Equal(t, "removed", ev[len(ev)-1].Kind)
	d, err := w.sign(t, c.ID, w.mio, w.key, t0.Add(2*time.Hour))
	require.NoError(t, err)
	require.Equal(t, documents.KindRefusal, d.Kind)
	require.Contains(t, string(d.Content), "Мотивировка отказа: "+motivation)

	// A referral given at once, refused: declined, and its place passes to the next child of its age.
	_, _, err = w.s.AddKindergarten(ctx, store.Kindergarten{ID: "k1", ListID: intake.City, Name: queue.Text{RU: "Ясли-сад № 1", KK: "№ 1 бөбекжай-бақша"},
		Groups: []store.Group{{AgeFrom: 4, AgeTo: 5, Capacity: 1, Free: 1}}}, "МИО", t0)
	require.NoError(t, err)
	// The place went to the waiting child of age 4 (a1) at once; a2 then applies and waits.
	_, err = w.in.Receive(ctx, portal, application("a2", kids[2], applicationv1.Channel_CHANNEL_PORTAL), t0.Add(3*time.Hour))
	require.NoError(t, err)
	c1 := w.caseOf(t, "portal", "a1")
	require.Equal(t, documents.KindReferral, c1.Decision)
	require.NoError(t, w.in.Refuse(ctx, c1.ID, w.mio, "Заявитель отозвал заявление", t0.Add(4*time.Hour)))
	c2 := w.caseOf(t, "portal", "a2")
	require.Equal(t, documents.KindReferral, c2.Decision, "the declined place passed to the next child")
	_, err = w.sign(t, c1.ID, w.mio, w.key, t0.Add(5*time.Hour))
	require.NoError(t, err)

	var out outbox
	_, err = w.in.ForwardOnce(ctx, 100, out.send)
	require.NoError(t, err)
	require.Len(t, out.sent, 2, "the two refusals; the removal and the decline are in them")
	for _, n := range out.sent {
		require.Equal(t, applicationv1.CaseStatus_CASE_STATUS_REFUSED, n.GetStatus())
		require.Equal(t, int64(2), n.GetSequence())
		require.Equal(t, "grounds_absent", n.GetRefusalCode())
	}
	require.Equal(t, motivation, out.sent[0].GetComment())
	require.Equal(t, "decided", decisionCode(w.in.Refuse(ctx, c.ID, w.mio, "ещё раз", t0.Add(6*time.Hour))))
}

func TestLocalOriginNotSent(t *testing.T) {
	t.Parallel()
	kid := "230801500001"
	w := setup(t, register{kid: person(kid, t0.AddDate(-3, -1, 0), false, parent)})
	ctx := t.Context()
	a := application("cab-1", kid, applicationv1.Channel_CHANNEL_EASTANA)
	a.Fields[intake.FieldEmail], a.Fields[intake.FieldEmailConsent] = "asel@example.kz", "yes"
	n, err := w.in.Receive(ctx, intake.Origin{Sender: intake.Local}, a, t0)
	require.NoError(t, err)
	require.Equal(t, applicationv1.CaseStatus_CASE_STATUS_REGISTERED, n.GetStatus())
	c := w.caseOf(t, intake.Local, "cab-1")
	require.Equal(t, "eastana", c.Channel)
	require.Equal(t, "asel@example.kz", c.Email)
	_, err = w.sign(t, c.ID, w.mio, w.key, t0.Add(time.Hour))
	require.NoError(t, err)
	// Its later events are kept for the cabinet as well.
	ids, _, err := w.s.AddKindergarten(ctx, store.Kindergarten{ID: "k1", ListID: intake.City, Name: queue.Text{RU: "Ясли-сад № 1", KK: "№ 1 бөбекжай-бақша"},
		Groups: []store.Group{{AgeFrom: 3, AgeTo: 4, Capacity: 1}}}, "МИО", t0)
	require.NoError(t, err)
	_, err = w.s.Release(ctx, ids[0], 1, "МИО", t0.Add(2*time.Hour))
	require.NoError(t, err)

	sent := 0
	_, err = w.in.ForwardOnce(ctx, 100, func(context.Context, intake.Origin, *applicationv1.StatusNotification) error { sent++; return nil })
	require.NoError(t, err)
	require.Zero(t, sent, "a case of the cabinets is not sent through ШЭП")
	st, err := w.in.Statuses(ctx, c.ID)
	require.NoError(t, err)
	require.Len(t, st, 3)
	for i, want := range []applicationv1.CaseStatus{applicationv1.CaseStatus_CASE_STATUS_REGISTERED, applicationv1.CaseStatus_CASE_STATUS_QUEUED,
		applicationv1.CaseStatus_CASE_STATUS_REFERRAL_OFFERED} {
		require.Equal(t, want, st[i].GetStatus())
		require.Equal(t, int64(i+1), st[i].GetSequence())
	}
	require.Len(t, st[1].GetResults(), 1)

	// Without consent the address is not kept.
	reg2 := application("cab-2", "230801500002", applicationv1.Channel_CHANNEL_EASTANA)
	reg2.Fields[intake.FieldEmail], reg2.Fields[intake.FieldEmailConsent] = "asel@example.kz", "no"
	_, err = w.in.Receive(ctx, intake.Origin{Sender: intake.Local}, reg2, t0)
	require.NoError(t, err)
	require.Empty(t, w.caseOf(t, intake.Local, "cab-2").Email)
}

func TestLaterEventsWaitForDecision(t *testing.T) {
	t.Parallel()
	kid := "230801500001"
	w := setup(t, register{kid: person(kid, t0.AddDate(-3, -1, 0), false, parent)})
	ctx := t.Context()
	// A child of the queue without an application (entered before, as the demo queue): its events have
	// no channel to notify.
	_, err := w.s.Register(ctx, store.Registration{ListID: intake.City, ApplicantIIN: "900000000000", Channel: "office",
		Child: &queue.Child{IIN: "930801500009", BirthDate: t0.AddDate(-3, -2, 0), Representatives: []string{"900000000000"}}}, t0)
	require.NoError(t, err)
	_, err = w.in.Receive(ctx, portal, application("a1", kid, applicationv1.Channel_CHANNEL_PORTAL), t0.Add(time.Minute))
	require.NoError(t, err)
	c := w.caseOf(t, "portal", "a1")
	var out outbox
	n, err := w.in.ForwardOnce(ctx, 100, out.send)
	require.NoError(t, err)
	require.Equal(t, 1, n, "the other child's registration, marked without a send; ours waits")
	require.Empty(t, out.sent)

	// The ticket signed, then two places of age 3 freed: the first goes to the first child, the second to
	// ours, a referral of the queue's own, sealed by ИС Е-Астана and naming who released the place.
	_, err = w.sign(t, c.ID, w.mio, w.key, t0.Add(time.Hour))
	require.NoError(t, err)
	at := t0.Add(2 * time.Hour)
	ids, _, err := w.s.AddKindergarten(ctx, store.Kindergarten{ID: "k1", ListID: intake.City, Name: queue.Text{RU: "Ясли-сад № 1", KK: "№ 1 бөбекжай-бақша"},
		Groups: []store.Group{{AgeFrom: 3, AgeTo: 4, Capacity: 2}}}, "МИО", t0)
	require.NoError(t, err)
	offers, err := w.s.Release(ctx, ids[0], 2, "Сарсенова Д. Ж.", at)
	require.NoError(t, err)
	require.Len(t, offers, 2)
	// A send that fails: the decision is retried first, and the referral never overtakes it.
	failed := errors.New("ШЭП unreachable")
	_, err = w.in.ForwardOnce(ctx, 100, func(context.Context, intake.Origin, *applicationv1.StatusNotification) error { return failed })
	require.ErrorIs(t, err, failed)
	_, err = w.in.ForwardOnce(ctx, 100, out.send)
	require.NoError(t, err)
	require.Len(t, out.sent, 2)
	require.Equal(t, applicationv1.CaseStatus_CASE_STATUS_QUEUED, out.sent[0].GetStatus())
	require.Equal(t, int64(2), out.sent[0].GetSequence())
	got := out.sent[1]
	require.Equal(t, applicationv1.CaseStatus_CASE_STATUS_REFERRAL_OFFERED, got.GetStatus())
	require.Equal(t, int64(3), got.GetSequence(), "after the decision's 2")
	require.Equal(t, "a1", got.GetApplicationId())
	require.Equal(t, "ЕА-2026-000001", got.GetRegistrationNumber())
	require.Equal(t, at.AddDate(0, 1, 0), got.GetDeadline().AsTime())
	require.Equal(t, int64(2), got.GetQueue().GetNumber())
	require.Len(t, got.GetResults(), 1)
	doc := got.GetResults()[0].GetDocument()
	require.Contains(t, string(doc.GetContent()), "Место освобождено: Сарсенова Д. Ж.")
	require.Contains(t, string(doc.GetContent()), "ИС Е-Астана автоматически")
	res, err := w.in.Verifier.Verify(ctx, doc.GetContent(), doc.GetSignature(), envelope.Expect{Purpose: envelope.PurposeIssued})
	require.NoError(t, err)
	require.Equal(t, "eastana", res.Holder.Name)

	// The parents register the referral: ENROLLED, sequence 4.
	mine := offers[0]
	if mine.ChildIIN != kid {
		mine = offers[1]
	}
	require.NoError(t, w.s.Enroll(ctx, mine.ID, at.Add(time.Hour)))
	_, err = w.in.ForwardOnce(ctx, 100, out.send)
	require.NoError(t, err)
	require.Len(t, out.sent, 3)
	require.Equal(t, applicationv1.CaseStatus_CASE_STATUS_ENROLLED, out.sent[2].GetStatus())
	require.Equal(t, int64(4), out.sent[2].GetSequence())
	n, err = w.in.ForwardOnce(ctx, 100, out.send)
	require.NoError(t, err)
	require.Zero(t, n)
}

func TestEmployees(t *testing.T) {
	t.Parallel()
	w := setup(t, nil)
	ctx := t.Context()
	got, err := w.in.Employee(ctx, w.mio.IIN)
	require.NoError(t, err)
	require.Equal(t, w.mio, got)
	_, err = w.in.Employee(ctx, "750723300016")
	require.ErrorIs(t, err, intake.ErrNotStaff)
	require.NoError(t, w.in.SetActive(ctx, w.mio.IIN, false))
	_, err = w.in.Employee(ctx, w.mio.IIN)
	require.ErrorIs(t, err, intake.ErrNotStaff)
	require.ErrorIs(t, err, intake.ErrInactive)
	require.NoError(t, w.in.PutEmployee(ctx, w.mio), "put again: active again")
	_, err = w.in.Employee(ctx, w.mio.IIN)
	require.NoError(t, err)
	require.ErrorIs(t, w.in.SetActive(ctx, "750723300016", false), intake.ErrNotStaff)
	require.Error(t, w.in.PutEmployee(ctx, intake.Employee{IIN: "750723300016"}))
}

// TestMigrationKeepsApplications: the applications answered before the decision flow stay readable as
// cases, decided (issued with an entry, refused without), numbered, with their one notification.
func TestMigrationKeepsApplications(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool, err := pgdb.Open(ctx, pgtest.URL(t), "eastana", 4)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	before := fstest.MapFS{}
	all := schema.Migrations()
	names, err := fs.Glob(all, "*.sql")
	require.NoError(t, err)
	for _, name := range names {
		if name < "0004" {
			b, err := fs.ReadFile(all, name)
			require.NoError(t, err)
			before[name] = &fstest.MapFile{Data: b}
		}
	}
	_, err = pgdb.Migrate(ctx, pool, "eastana", before)
	require.NoError(t, err)
	s, err := store.New(pool, queue.Passport2012())
	require.NoError(t, err)
	require.NoError(t, s.AddList(ctx, intake.City))
	res, err := s.Register(ctx, store.Registration{ListID: intake.City, ApplicantIIN: parent, Channel: "portal",
		Child: &queue.Child{IIN: "230801500001", BirthDate: t0.AddDate(-3, 0, 0), Representatives: []string{parent}}}, t0)
	require.NoError(t, err)
	n, err := proto.Marshal(&applicationv1.StatusNotification{ApplicationId: "old-1", Status: applicationv1.CaseStatus_CASE_STATUS_QUEUED, Sequence: 1})
	require.NoError(t, err)
	for i, entry := range []*int64{&res.Entry.ID, nil} {
		_, err = pool.Exec(ctx, `INSERT INTO applications (sender, application_id, correlation_id, applicant_iin, entry_id, notification, received_at)
			VALUES ('portal', $1, 'm', $2, $3, $4, $5)`, fmt.Sprint("old-", i+1), parent, entry, n, t0.Add(time.Duration(i)*time.Minute))
		require.NoError(t, err)
	}
	_, err = pgdb.Migrate(ctx, pool, "eastana", all)
	require.NoError(t, err)

	in := &intake.Intake{Store: s, DB: pool}
	cases, err := in.Cases(ctx, intake.Filter{})
	require.NoError(t, err)
	require.Len(t, cases, 2)
	require.Equal(t, []string{"ЕА-2026-000001", "ЕА-2026-000002"}, []string{cases[0].Number, cases[1].Number})
	require.Equal(t, []string{"issued", "refused"}, []string{cases[0].State, cases[1].State})
	st, err := in.Statuses(ctx, cases[0].ID)
	require.NoError(t, err)
	require.Len(t, st, 1)
	require.Equal(t, "old-1", st[0].GetApplicationId())
	// A new application numbers on after them, and the old ones' events are not held back.
	_, err = in.RefuseSignature(ctx, portal, application("new", "", applicationv1.Channel_CHANNEL_PORTAL), "", t0.Add(time.Hour))
	require.NoError(t, err)
	cases, err = in.Cases(ctx, intake.Filter{State: "refused"})
	require.NoError(t, err)
	require.Equal(t, "ЕА-2026-000003", cases[1].Number)
}
