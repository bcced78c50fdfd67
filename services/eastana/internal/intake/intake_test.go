package intake_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/egov-suite/egov/internal/pgdb"
	"github.com/egov-suite/egov/internal/pgtest"
	"github.com/egov-suite/egov/internal/registries"
	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
	gbdflv1 "github.com/egov-suite/egov/proto/egov/gbdfl/v1"
	"github.com/egov-suite/egov/services/eastana/internal/intake"
	"github.com/egov-suite/egov/services/eastana/internal/queue"
	"github.com/egov-suite/egov/services/eastana/internal/schema"
	"github.com/egov-suite/egov/services/eastana/internal/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var t0 = time.Date(2026, 9, 1, 9, 0, 0, 0, time.UTC)

const parent = "850101400001"

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

func setup(t *testing.T, reg register) (*intake.Intake, *store.Store) {
	t.Helper()
	pool, err := pgdb.Open(t.Context(), pgtest.URL(t), "eastana", 4)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	_, err = pgdb.Migrate(t.Context(), pool, "eastana", schema.Migrations())
	require.NoError(t, err)
	s, err := store.New(pool, queue.Passport2012())
	require.NoError(t, err)
	require.NoError(t, s.AddList(t.Context(), intake.City))
	return &intake.Intake{Store: s, DB: pool, Registry: reg}, s
}

func application(id, child string, channel applicationv1.Channel) *applicationv1.Application {
	fields := map[string]string{}
	if child != "" {
		fields[intake.FieldChildIIN] = child
	}
	return &applicationv1.Application{ApplicationId: id, ServiceCode: "preschool-registration", Region: "71", Channel: channel,
		ApplicantIin: parent, Fields: fields}
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
	in, s := setup(t, reg)
	ctx := t.Context()

	// Registered in order: queue numbers 1 and 2, the second with one child ahead.
	d, err := in.Decide(ctx, application("a1", "230801500001", applicationv1.Channel_CHANNEL_PORTAL), t0)
	require.NoError(t, err)
	require.Nil(t, d.Refusal)
	require.Equal(t, applicationv1.CaseStatus_CASE_STATUS_QUEUED, d.Notification.GetStatus())
	require.Equal(t, &applicationv1.QueuePlace{ListId: "astana", Number: 1, Ahead: 0, Kind: "general"}, d.Notification.GetQueue())
	require.Equal(t, "portal", d.Result.Entry.Channel)
	require.Equal(t, "a1", d.Notification.GetApplicationId())
	require.Equal(t, int64(1), d.Notification.GetSequence(), "the case's first notification")
	d, err = in.Decide(ctx, application("a2", "230801500002", applicationv1.Channel_CHANNEL_TSON), t0.Add(time.Minute))
	require.NoError(t, err)
	require.Equal(t, applicationv1.CaseStatus_CASE_STATUS_QUEUED, d.Notification.GetStatus())
	require.Equal(t, int64(2), d.Notification.GetQueue().GetNumber())
	require.Equal(t, int64(1), d.Notification.GetQueue().GetAhead())
	require.Contains(t, d.Notification.GetText().GetRu(), "номер 2, впереди 1")
	require.Contains(t, d.Notification.GetText().GetKk(), "нөмірі 2, алдында 1")

	// A free place of the child's age: the referral at once, valid a month.
	_, _, err = s.AddKindergarten(ctx, store.Kindergarten{ID: "k1", ListID: "astana", Name: queue.Text{RU: "Ясли-сад № 1", KK: "№ 1 бөбекжай-бақша"},
		Groups: []store.Group{{AgeFrom: 4, AgeTo: 5, Capacity: 1, Free: 1}}}, "МИО", t0)
	require.NoError(t, err)
	at := t0.Add(2 * time.Minute)
	d, err = in.Decide(ctx, application("a6", "220801500006", applicationv1.Channel_CHANNEL_EASTANA), at)
	require.NoError(t, err)
	require.Equal(t, applicationv1.CaseStatus_CASE_STATUS_REFERRAL_OFFERED, d.Notification.GetStatus())
	require.NotNil(t, d.Result.Referral)
	require.Equal(t, at.AddDate(0, 1, 0), d.Notification.GetDeadline().AsTime())
	require.Equal(t, int64(3), d.Notification.GetQueue().GetNumber())

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
		d, err := in.Decide(ctx, application("r-"+c.name, c.child, applicationv1.Channel_CHANNEL_PORTAL), t0.Add(time.Hour))
		require.NoError(t, err, c.name)
		require.Nil(t, d.Result, c.name)
		require.Equal(t, c.want, d.Refusal, c.name)
		n := d.Notification
		require.Equal(t, applicationv1.CaseStatus_CASE_STATUS_REFUSED, n.GetStatus(), c.name)
		require.Equal(t, c.want.Code, n.GetRefusalCode(), c.name)
		require.Equal(t, c.want.Text.RU, n.GetReason().GetRu(), c.name)
		require.Equal(t, c.want.Text.KK, n.GetReason().GetKk(), c.name)
	}
	// The refusals took no numbers: the next registration is number 4.
	reg["230801500007"] = person("230801500007", born(2), false, parent)
	d, err = in.Decide(ctx, application("a7", "230801500007", applicationv1.Channel_CHANNEL_PORTAL), t0.Add(2*time.Hour))
	require.NoError(t, err)
	require.Equal(t, int64(4), d.Notification.GetQueue().GetNumber(), fmt.Sprint(d.Notification))
}

func TestDecideRegisterUnavailable(t *testing.T) {
	t.Parallel()
	in, _ := setup(t, nil)
	in.Registry = failing{}
	_, err := in.Decide(t.Context(), application("a1", "230801500001", applicationv1.Channel_CHANNEL_PORTAL), t0)
	require.ErrorContains(t, err, "ГБД ФЛ")
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
	in, _ := setup(t, reg)
	ctx := t.Context()
	portal := intake.Origin{Sender: "portal", CorrelationID: "m1"}

	first, err := in.Receive(ctx, portal, application("a1", "230801500001", applicationv1.Channel_CHANNEL_PORTAL), t0)
	require.NoError(t, err)
	require.Equal(t, applicationv1.CaseStatus_CASE_STATUS_QUEUED, first.GetStatus())
	// ШЭП delivers the same application again (the notification was not sent): the same answer, not a
	// refusal of the child as already listed, and no second number.
	again, err := in.Receive(ctx, portal, application("a1", "230801500001", applicationv1.Channel_CHANNEL_PORTAL), t0.Add(time.Minute))
	require.NoError(t, err)
	require.True(t, proto.Equal(first, again), "%v != %v", first, again)
	// The same child by another application: refused, and the refusal is kept as well.
	refused, err := in.Receive(ctx, portal, application("a2", "230801500001", applicationv1.Channel_CHANNEL_PORTAL), t0.Add(time.Minute))
	require.NoError(t, err)
	require.Equal(t, queue.RefuseAlreadyListed.Code, refused.GetRefusalCode())
	again, err = in.Receive(ctx, portal, application("a2", "230801500001", applicationv1.Channel_CHANNEL_PORTAL), t0.Add(time.Hour))
	require.NoError(t, err)
	require.True(t, proto.Equal(refused, again))
	// An application id is the sender's: the same id from ЦОН is another application.
	reg["230801500002"] = person("230801500002", t0.AddDate(-2, 0, 0), false, parent)
	other, err := in.Receive(ctx, intake.Origin{Sender: "tson", CorrelationID: "m2"}, application("a1", "230801500002", applicationv1.Channel_CHANNEL_TSON), t0.Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, int64(2), other.GetQueue().GetNumber())
	require.Equal(t, int64(1), other.GetQueue().GetAhead())

	_, err = in.Receive(ctx, intake.Origin{}, application("a3", "230801500002", applicationv1.Channel_CHANNEL_TSON), t0)
	require.ErrorContains(t, err, "sender and id")
}

func TestForwardLaterEvents(t *testing.T) {
	t.Parallel()
	kid := "230801500001"
	reg := register{kid: person(kid, t0.AddDate(-3, -1, 0), false, parent)}
	in, s := setup(t, reg)
	ctx := t.Context()
	// A child of the queue without an application (entered before, as the demo queue): its events have
	// no channel to notify.
	_, err := s.Register(ctx, store.Registration{ListID: intake.City, ApplicantIIN: "900000000000", Channel: "office",
		Child: &queue.Child{IIN: "930801500009", BirthDate: t0.AddDate(-3, -2, 0), Representatives: []string{"900000000000"}}}, t0)
	require.NoError(t, err)
	portal := intake.Origin{Sender: "portal", CorrelationID: "m1"}
	first, err := in.Receive(ctx, portal, application("a1", kid, applicationv1.Channel_CHANNEL_PORTAL), t0.Add(time.Minute))
	require.NoError(t, err)
	require.Equal(t, int64(2), first.GetQueue().GetNumber())

	var sent []*applicationv1.StatusNotification
	send := func(_ context.Context, to intake.Origin, n *applicationv1.StatusNotification) error {
		require.Equal(t, intake.Origin{Sender: "portal", CorrelationID: "m1", ApplicantIIN: parent}, to)
		sent = append(sent, n)
		return nil
	}
	// Nothing new: the registration's events were reported by the decision; the other child's has no channel.
	n, err := in.ForwardOnce(ctx, 100, send)
	require.NoError(t, err)
	require.Equal(t, 1, n, "the other child's registration, marked without a send")
	require.Empty(t, sent)

	// Two places of age 3 freed: the first goes to the first child, the second to ours.
	at := t0.Add(time.Hour)
	ids, _, err := s.AddKindergarten(ctx, store.Kindergarten{ID: "k1", ListID: intake.City, Name: queue.Text{RU: "Ясли-сад № 1", KK: "№ 1 бөбекжай-бақша"},
		Groups: []store.Group{{AgeFrom: 3, AgeTo: 4, Capacity: 2}}}, "МИО", t0)
	require.NoError(t, err)
	offers, err := s.Release(ctx, ids[0], 2, "МИО", at)
	require.NoError(t, err)
	require.Len(t, offers, 2)

	// A send that fails: nothing is marked, and the next round sends the same.
	failed := errors.New("ШЭП unreachable")
	_, err = in.ForwardOnce(ctx, 100, func(context.Context, intake.Origin, *applicationv1.StatusNotification) error { return failed })
	require.ErrorIs(t, err, failed)
	n, err = in.ForwardOnce(ctx, 100, send)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.Len(t, sent, 1)
	got := sent[0]
	require.Equal(t, applicationv1.CaseStatus_CASE_STATUS_REFERRAL_OFFERED, got.GetStatus())
	require.Equal(t, int64(2), got.GetSequence(), "after the decision's 1")
	require.Equal(t, "a1", got.GetApplicationId())
	require.Equal(t, "preschool-registration", got.GetServiceCode())
	require.Equal(t, at.AddDate(0, 1, 0), got.GetDeadline().AsTime())
	require.Equal(t, int64(2), got.GetQueue().GetNumber())

	// The parents register the referral: ENROLLED, sequence 3.
	mine := offers[0]
	if mine.ChildIIN != kid {
		mine = offers[1]
	}
	require.NoError(t, s.Enroll(ctx, mine.ID, at.Add(time.Hour)))
	_, err = in.ForwardOnce(ctx, 100, send)
	require.NoError(t, err)
	require.Len(t, sent, 2)
	require.Equal(t, applicationv1.CaseStatus_CASE_STATUS_ENROLLED, sent[1].GetStatus())
	require.Equal(t, int64(3), sent[1].GetSequence())
	n, err = in.ForwardOnce(ctx, 100, send)
	require.NoError(t, err)
	require.Zero(t, n)
}
