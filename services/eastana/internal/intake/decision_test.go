package intake_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/calendar"
	"github.com/egov-suite/egov/internal/catalog"
	"github.com/egov-suite/egov/internal/pgdb"
	"github.com/egov-suite/egov/internal/pgtest"
	"github.com/egov-suite/egov/internal/pki"
	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
	"github.com/egov-suite/egov/services/eastana/internal/documents"
	"github.com/egov-suite/egov/services/eastana/internal/intake"
	"github.com/egov-suite/egov/services/eastana/internal/queue"
	"github.com/egov-suite/egov/services/eastana/internal/schema"
	"github.com/egov-suite/egov/services/eastana/internal/store"
)

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

// TestTwoEmployeesSignAtOnce: a second employee signs the same case while the first one's Sign is between
// its checks and its locks; the first finds the case decided and issues nothing, and the case has one
// decision.
func TestTwoEmployeesSignAtOnce(t *testing.T) {
	t.Parallel()
	kid := "230801500001"
	w := setup(t, register{kid: person(kid, t0.AddDate(-3, -1, 0), false, parent)})
	ctx := t.Context()
	_, err := w.in.Receive(ctx, portal, application("a1", kid, applicationv1.Channel_CHANNEL_PORTAL), t0)
	require.NoError(t, err)
	c := w.caseOf(t, "portal", "a1")
	colleague := w.employ(t, "870614400539", "Бекова Алия")
	colleagueKey := w.signingKey(t, colleague.IIN, binMIO, pki.Sign)

	d, err := w.in.Draft(ctx, c.ID, w.mio, t0)
	require.NoError(t, err)
	sig, err := w.key.Sign(d.Content)
	require.NoError(t, err)
	var second error
	w.in.SetHook(func(ctx context.Context, point string) error {
		if point != "locking" {
			return nil
		}
		w.in.SetHook(nil)
		theirs, err := w.in.Draft(ctx, c.ID, colleague, t0)
		if err != nil {
			return err
		}
		s, err := colleagueKey.Sign(theirs.Content)
		if err != nil {
			return err
		}
		second = w.in.Sign(ctx, c.ID, colleague, theirs.Content, s, t0)
		return nil
	})
	err = w.in.Sign(ctx, c.ID, w.mio, d.Content, sig, t0)
	require.Equal(t, "decided", decisionCode(err), "%v", err)
	require.NoError(t, second)
	got, err := w.in.Case(ctx, c.ID)
	require.NoError(t, err)
	require.Equal(t, colleague.IIN, got.SignedBy)
	st, err := w.in.Statuses(ctx, c.ID)
	require.NoError(t, err)
	require.Len(t, st, 2, "one decision")
	require.Contains(t, string(st[1].GetResult().GetContent()), "Бекова Алия")
}

// TestSignHoldsOneConnection: with a pool of two connections, Sign holds the list's lock on one while a
// registration of the same list takes the other and waits for the lock. Sign reads the child's place on
// its own transaction's connection, so it finishes (a read from the pool would wait for a connection the
// waiting registration never gives back), and then the registration goes on.
func TestSignHoldsOneConnection(t *testing.T) {
	t.Parallel()
	first, second := "230801500001", "230801500002"
	w := setupWith(t, register{first: person(first, t0.AddDate(-3, -1, 0), false, parent), second: person(second, t0.AddDate(-3, -1, 0), false, parent)}, 2)
	ctx := t.Context()
	_, err := w.in.Receive(ctx, portal, application("a1", first, applicationv1.Channel_CHANNEL_PORTAL), t0)
	require.NoError(t, err)
	c := w.caseOf(t, "portal", "a1")
	d, err := w.in.Draft(ctx, c.ID, w.mio, t0)
	require.NoError(t, err)
	sig, err := w.key.Sign(d.Content)
	require.NoError(t, err)
	// The watcher's own connection, outside the exhausted pool.
	watcher, err := pgx.Connect(ctx, w.url)
	require.NoError(t, err)
	t.Cleanup(func() { _ = watcher.Close(context.Background()) })
	registered := make(chan error, 1)
	w.in.SetHook(func(_ context.Context, point string) error {
		if point != "locked" {
			return nil
		}
		go func() {
			_, err := w.in.Receive(ctx, portal, application("a2", second, applicationv1.Channel_CHANNEL_PORTAL), t0.Add(time.Minute))
			registered <- err
		}()
		require.Eventually(t, func() bool {
			var n int
			err := watcher.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n)
			return err == nil && n > 0
		}, 30*time.Second, 5*time.Millisecond, "the registration waits for the list's lock")
		return nil
	})
	require.NoError(t, w.in.Sign(ctx, c.ID, w.mio, d.Content, sig, t0))
	w.in.SetHook(nil)
	require.NoError(t, <-registered)
	pos, err := w.s.Position(ctx, *w.caseOf(t, "portal", "a2").EntryID)
	require.NoError(t, err)
	require.Equal(t, int64(2), pos.Entry.Number)
}

// TestPassportWording: with the passport's notices set (as the service sets them), every notification of a
// case reads as the passport words it, its placeholders filled with the case's number, place and deadline.
func TestPassportWording(t *testing.T) {
	t.Parallel()
	kid := "230801500001"
	w := setup(t, register{kid: person(kid, t0.AddDate(-3, -1, 0), false, parent)})
	cat, err := catalog.Builtin()
	require.NoError(t, err)
	p, ok := cat.Get("preschool-registration", "71")
	require.True(t, ok)
	w.in.Notices = map[string]catalog.Text{}
	for _, n := range p.Notices {
		w.in.Notices[n.Status] = n.Text
	}
	ctx := t.Context()
	_, err = w.in.Receive(ctx, intake.Origin{Sender: intake.Local}, application("w-1", kid, applicationv1.Channel_CHANNEL_EASTANA), t0)
	require.NoError(t, err)
	c := w.caseOf(t, intake.Local, "w-1")
	_, err = w.sign(t, c.ID, w.mio, w.key, t0.Add(time.Hour))
	require.NoError(t, err)
	ids, _, err := w.s.AddKindergarten(ctx, store.Kindergarten{ID: "k1", ListID: intake.City, Name: queue.Text{RU: "Ясли-сад № 1", KK: "№ 1 бөбекжай-бақша"},
		Groups: []store.Group{{AgeFrom: 3, AgeTo: 4, Capacity: 1}}}, "МИО", t0)
	require.NoError(t, err)
	_, err = w.s.Release(ctx, ids[0], 1, "МИО", t0.Add(2*time.Hour))
	require.NoError(t, err)
	_, err = w.in.ForwardOnce(ctx, 100, func(context.Context, intake.Origin, *applicationv1.StatusNotification) error { return nil })
	require.NoError(t, err)

	st, err := w.in.Statuses(ctx, c.ID)
	require.NoError(t, err)
	require.Len(t, st, 3)
	require.Equal(t, "Заявление принято ИС Е-Астана", st[0].GetText().GetRu())
	require.Equal(t, "Ребёнок поставлен в очередь, номер в очереди 1, перед вами 0; регистрационный талон подписан сотрудником МИО",
		st[1].GetText().GetRu())
	require.Equal(t, "Бала кезекке қойылды, кезектегі нөмірі 1, алдыңызда 0; тіркеу талонына ЖАО қызметкері қол қойды", st[1].GetText().GetKk())
	offered := st[2]
	require.Equal(t, applicationv1.CaseStatus_CASE_STATUS_REFERRAL_OFFERED, offered.GetStatus())
	until := offered.GetDeadline().AsTime().In(calendar.Zone).Format("02.01.2006 15:04")
	require.Equal(t, "Выдано направление в ДДО; зарегистрируйте его в детском саду до "+until, offered.GetText().GetRu())
	for _, n := range st {
		require.NotContains(t, n.GetText().GetRu()+n.GetText().GetKk(), "{", "every placeholder filled")
	}
}

// TestCaseOf: a case is found by its sender and application id (the cabinets open the case an application
// became), and a citizen's list comes newest first when asked.
func TestCaseOf(t *testing.T) {
	t.Parallel()
	kid, kid2 := "230801500001", "230801500002"
	w := setup(t, register{kid: person(kid, t0.AddDate(-3, -1, 0), false, parent), kid2: person(kid2, t0.AddDate(-2, 0, 0), false, parent)})
	ctx := t.Context()
	_, err := w.in.Receive(ctx, portal, application("a1", kid, applicationv1.Channel_CHANNEL_PORTAL), t0)
	require.NoError(t, err)
	_, err = w.in.Receive(ctx, intake.Origin{Sender: intake.Local}, application("a1", kid2, applicationv1.Channel_CHANNEL_EASTANA), t0.Add(time.Minute))
	require.NoError(t, err)

	c, err := w.in.CaseOf(ctx, intake.Local, "a1")
	require.NoError(t, err)
	require.Equal(t, kid2, c.ChildIIN, "the same id from another sender is another application")
	c, err = w.in.CaseOf(ctx, "portal", "a1")
	require.NoError(t, err)
	require.Equal(t, kid, c.ChildIIN)
	_, err = w.in.CaseOf(ctx, intake.Local, "nobody")
	require.ErrorIs(t, err, intake.ErrNoCase)

	oldest, err := w.in.Cases(ctx, intake.Filter{ApplicantIIN: parent})
	require.NoError(t, err)
	newest, err := w.in.Cases(ctx, intake.Filter{ApplicantIIN: parent, NewestFirst: true})
	require.NoError(t, err)
	require.Len(t, oldest, 2)
	require.Equal(t, []string{kid, kid2}, []string{oldest[0].ChildIIN, oldest[1].ChildIIN})
	require.Equal(t, []string{kid2, kid}, []string{newest[0].ChildIIN, newest[1].ChildIIN})
}
