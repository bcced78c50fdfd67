package applicant_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/applicant"
	"github.com/egov-suite/egov/internal/applicant/channelweb"
	"github.com/egov-suite/egov/internal/pki"
	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
	envelopev1 "github.com/egov-suite/egov/proto/egov/envelope/v1"
	"github.com/egov-suite/egov/shepsdk"
)

// TestSignAgainAfterAFailingKey: a signature that fails condition 2 (another person's key, a revoked
// or a mere authentication key) refuses the signature, not the application: nothing is recorded or
// queued, the draft stays, and the right key then sends it.
func TestSignAgainAfterAFailingKey(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		key    func(f *fixture) *envelope.Signer
		detail string
	}{
		{"fail/another person's key", func(f *fixture) *envelope.Signer { return f.ca.Person(t, "841103300017", pki.Sign) }, "ИИН"},
		{"fail/a revoked key", func(f *fixture) *envelope.Signer {
			k := f.ca.Person(t, applicantID, pki.Sign)
			f.ca.Revoke(k.Cert, 1)
			return k
		}, "отозван"},
		{"fail/the AUTH key", func(f *fixture) *envelope.Signer { return f.ca.Person(t, applicantID, pki.Auth) }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			id := f.draft(t)
			a, err := f.desk.Get(t.Context(), owner, id)
			require.NoError(t, err)
			sig, err := tc.key(f).Sign(a.Content)
			require.NoError(t, err)
			err = f.desk.Submit(t.Context(), owner, id, sig, envelope.Expect{IIN: applicantID})
			var refused *applicant.Refused
			require.True(t, errors.As(err, &refused), "%v", err)
			require.Contains(t, refused.Text.RU, "не подтверждением подлинности ЭЦП")
			require.NotEmpty(t, refused.DetailRU)
			require.NotEmpty(t, refused.DetailKK)
			require.Contains(t, refused.DetailRU, tc.detail)

			a, err = f.desk.Get(t.Context(), owner, id)
			require.NoError(t, err)
			require.Equal(t, applicant.StatusDraft, a.Status, "the draft stays")
			require.Nil(t, a.MessageID, "nothing queued")
			require.False(t, a.Refused)
			require.Equal(t, []string{applicant.StatusDraft}, f.statuses(t, id))

			require.NoError(t, f.submit(t, id), "signed again with the right key")
			require.Equal(t, []string{applicant.StatusDraft, applicant.StatusSubmitted}, f.statuses(t, id))
		})
	}
}

// TestNoticesInOrderAndUnread: the notices of an application never put a status above one that came
// after it (ШЭП's receipt stamped after РШЭП's result), a result issued after a refusal reads as a
// refusal, and the unread count follows what was recorded after the seen row.
func TestNoticesInOrderAndUnread(t *testing.T) {
	t.Parallel()
	f := setup(t)
	id := f.draft(t)
	require.NoError(t, f.submit(t, id))
	_, seen, err := f.desk.Unread(t.Context(), owner, 0)
	require.NoError(t, err)

	t0 := time.Now()
	add := func(key string, seq int, status string, at time.Time, reason string) {
		_, err := f.db.Exec(t.Context(), `INSERT INTO statuses (application_id, key, seq, status, at, reason_ru) VALUES ($1, $2, $3, $4, $5, $6)`,
			id, key, seq, status, at, reason)
		require.NoError(t, err)
	}
	add("rshep:1", 1, "REGISTERED", t0.Add(1*time.Second), "")
	add("rshep:2", 2, "REFUSED", t0.Add(2*time.Second), "нет данных")
	add("rshep:3", 3, "RESULT_ISSUED", t0.Add(3*time.Second), "нет данных")
	add("shep:DELIVERED", -1, "DELIVERED", t0.Add(5*time.Second), "") // the receipt, stamped last

	ns, err := f.desk.Notices(t.Context(), owner, 10)
	require.NoError(t, err)
	var got []string
	for _, n := range ns {
		got = append(got, channelweb.Shown(n.Status.Status, n.ReasonRU != ""))
	}
	require.Equal(t, []string{"REFUSAL_ISSUED", "REFUSED", "REGISTERED", "DELIVERED", "SUBMITTED"}, got)

	count, newest, err := f.desk.Unread(t.Context(), owner, seen)
	require.NoError(t, err)
	require.Equal(t, 4, count)
	require.Greater(t, newest, seen)
	count, _, err = f.desk.Unread(t.Context(), owner, newest)
	require.NoError(t, err)
	require.Zero(t, count)

	a, err := f.desk.Get(t.Context(), owner, id)
	require.NoError(t, err)
	require.True(t, a.Refused)
	require.Equal(t, "Отказано: ответ готов", channelweb.StatusName("ru", channelweb.Shown("RESULT_ISSUED", a.Refused)))
	require.Equal(t, "Результат готов", channelweb.StatusName("ru", channelweb.Shown("RESULT_ISSUED", false)))
}

// TestCabinetAdoptsApplicationsMadeAtATSON: РШЭП copies the statuses of an application made at a ЦОН
// to the personal cabinet; there the first one puts the application on its applicant's list (the
// envelope's user id), the rest follow once each, and a desk that is no cabinet, or a copy that names
// no applicant, adopts nothing.
func TestCabinetAdoptsApplicationsMadeAtATSON(t *testing.T) {
	t.Parallel()
	notice := func(id string, seq int64, status applicationv1.CaseStatus, user string) *shepsdk.Delivery {
		n := &applicationv1.StatusNotification{ApplicationId: id, RegistrationNumber: "55-2026-000042", ServiceCode: "guardianship-certificate",
			Region: "55", Status: status, Time: timestamppb.Now(), Sequence: seq,
			Text: &applicationv1.LocalizedText{Ru: "Заявление зарегистрировано", Kk: "Өтініш тіркелді"}}
		b, err := proto.Marshal(n)
		require.NoError(t, err)
		return &shepsdk.Delivery{Envelope: &envelopev1.Envelope{MessageId: uuid.NewString(), Type: envelopev1.MessageType_MESSAGE_TYPE_NOTIFICATION,
			UserId: user, Payload: b}}
	}
	for _, tc := range []struct {
		name    string
		cabinet bool
		user    string
		want    int
	}{
		{"ok/the cabinet adopts it", true, applicantID, 1},
		{"fail/a ЦОН desk is no cabinet", false, applicantID, 0},
		{"fail/a copy that names no applicant", true, "", 0},
		{"fail/a user id that is no IIN", true, "rshep-55", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := setupDesk(t, tc.cabinet)
			id := uuid.NewString()
			require.NoError(t, f.desk.Handle(t.Context(), notice(id, 1, applicationv1.CaseStatus_CASE_STATUS_REGISTERED, tc.user)))
			require.NoError(t, f.desk.Handle(t.Context(), notice(id, 1, applicationv1.CaseStatus_CASE_STATUS_REGISTERED, tc.user)), "a repeat")
			require.NoError(t, f.desk.Handle(t.Context(), notice(id, 2, applicationv1.CaseStatus_CASE_STATUS_IN_PROGRESS, tc.user)))
			apps, err := f.desk.List(t.Context(), applicantID, 10)
			require.NoError(t, err)
			require.Len(t, apps, tc.want)
			if tc.want == 0 {
				return
			}
			a := apps[0]
			require.Equal(t, id, a.ID)
			require.Equal(t, "tson", a.Channel)
			require.Equal(t, "55-2026-000042", a.Number)
			require.Equal(t, "IN_PROGRESS", a.Status)
			require.Equal(t, []string{"REGISTERED", "IN_PROGRESS"}, f.statuses(t, id))
			ns, err := f.desk.Notices(t.Context(), applicantID, 10)
			require.NoError(t, err)
			require.Len(t, ns, 2, "in the applicant's notifications")
			require.ErrorIs(t, f.desk.Submit(t.Context(), applicantID, id, []byte("x"), envelope.Expect{IIN: applicantID}), applicant.ErrSubmitted,
				"nothing of it is signed or sent from the cabinet")
		})
	}
}
