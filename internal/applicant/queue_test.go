package applicant_test

import (
	"fmt"
	"io/fs"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/egov-suite/egov/internal/applicant"
	"github.com/egov-suite/egov/internal/applicant/channelweb"
	"github.com/egov-suite/egov/internal/demo"
	"github.com/egov-suite/egov/internal/pgdb"
	"github.com/egov-suite/egov/internal/pgtest"
	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
	envelopev1 "github.com/egov-suite/egov/proto/egov/envelope/v1"
)

// kgDraft is a draft of the Astana kindergarten registration (preschool-registration.71) on the
// fixture's desk.
func (f *fixture) kgDraft(t testing.TB) string {
	t.Helper()
	id, err := f.desk.Draft(t.Context(), owner, &applicationv1.Application{ServiceCode: "preschool-registration", Region: "71",
		ApplicantIin: applicantID, Language: "ru", Fields: map[string]string{"applicant_iin": applicantID, "child_iin": demo.YoungChildIIN}})
	require.NoError(t, err)
	return id
}

// ticket is a signed result document of kind (the МИО employee's signature is not checked on receipt:
// the page checks it when shown).
func ticket(kind, text string) []*applicationv1.ResultDocument {
	return []*applicationv1.ResultDocument{{Id: kind, Kind: kind, Name: &applicationv1.LocalizedText{Ru: text, Kk: text},
		Document: &envelopev1.SignedDocument{MediaType: "text/plain; charset=utf-8", Content: []byte(text), Signature: []byte("cms:" + text)}}}
}

func place(number, ahead int64) *applicationv1.QueuePlace {
	return &applicationv1.QueuePlace{ListId: "astana", Number: number, Ahead: ahead, Kind: "general"}
}

// TestWaitingList: ИС Е-Астана's statuses on a channel. An application stays open while the child waits
// or holds a referral and closes when it leaves the list; a refusal signed after REGISTERED closes it;
// the newest place is the highest sequence's whatever the order of arrival; every result document is
// kept (the ticket, then the referral); the movement lists each place.
func TestWaitingList(t *testing.T) {
	t.Parallel()
	const (
		registered = applicationv1.CaseStatus_CASE_STATUS_REGISTERED
		queued     = applicationv1.CaseStatus_CASE_STATUS_QUEUED
		moved      = applicationv1.CaseStatus_CASE_STATUS_QUEUE_MOVED
		offered    = applicationv1.CaseStatus_CASE_STATUS_REFERRAL_OFFERED
		enrolled   = applicationv1.CaseStatus_CASE_STATUS_ENROLLED
		declined   = applicationv1.CaseStatus_CASE_STATUS_REFERRAL_DECLINED
		refused    = applicationv1.CaseStatus_CASE_STATUS_REFUSED
	)
	reg := &applicationv1.StatusNotification{Status: registered, Sequence: 1, RegistrationNumber: "EA-000057",
		Text: &applicationv1.LocalizedText{Ru: "Заявление принято ИС Е-Астана", Kk: "Өтінішті Е-Астана АЖ қабылдады"}}
	tests := []struct {
		name string
		// sent in this order
		notes []*applicationv1.StatusNotification
		// after each: closed?
		closed   []bool
		status   string
		place    *applicant.Place
		docs     []string
		movement []int64 // ahead, oldest first
		refused  bool
	}{
		{name: "ok/queued, moved, offered, enrolled: open until enrolled", notes: []*applicationv1.StatusNotification{
			reg,
			{Status: queued, Sequence: 2, Queue: place(57, 40), Results: ticket("registration_ticket", "Талон №57"),
				Text: &applicationv1.LocalizedText{Ru: "Ребёнок поставлен в очередь, номер в очереди {queue_number}, перед вами {queue_ahead}"}},
			{Status: moved, Sequence: 3, Queue: place(57, 31)},
			{Status: offered, Sequence: 4, Queue: place(57, 0), Results: ticket("referral", "Направление №57"),
				Deadline: timestamppb.New(time.Date(2027, 1, 31, 18, 0, 0, 0, time.UTC))},
			{Status: enrolled, Sequence: 5},
		}, closed: []bool{false, false, false, false, true}, status: "ENROLLED", place: &applicant.Place{List: "astana", Number: 57, Ahead: 0, Kind: "general", Seq: 4},
			docs: []string{"registration_ticket", "referral"}, movement: []int64{40, 31, 0}},
		{name: "ok/a declined referral ends it", notes: []*applicationv1.StatusNotification{
			reg,
			{Status: offered, Sequence: 2, Queue: place(3, 0), Results: ticket("referral", "Направление №3")},
			{Status: declined, Sequence: 3, Queue: place(3, 0)},
		}, closed: []bool{false, false, true}, status: "REFERRAL_DECLINED", place: &applicant.Place{List: "astana", Number: 3, Kind: "general", Seq: 3},
			docs: []string{"referral"}, movement: []int64{0, 0}},
		{name: "ok/a refusal signed after REGISTERED ends it", notes: []*applicationv1.StatusNotification{
			reg,
			{Status: refused, Sequence: 2, RefusalCode: "too_old",
				Reason: &applicationv1.LocalizedText{Ru: "Ребёнку исполнилось 7 лет", Kk: "Балаға 7 жас толды"}, Results: ticket("refusal", "Мотивированный отказ")},
		}, closed: []bool{false, true}, status: "REFUSED", docs: []string{"refusal"}, refused: true},
		{name: "ok/out of order: the newest place is the highest sequence's, closed once none is missing", notes: []*applicationv1.StatusNotification{
			reg,
			{Status: moved, Sequence: 3, Queue: place(57, 31)},
			{Status: applicationv1.CaseStatus_CASE_STATUS_REMOVED, Sequence: 4},
			{Status: queued, Sequence: 2, Queue: place(57, 40), Results: ticket("registration_ticket", "Талон №57")},
		}, closed: []bool{false, false, false, true}, status: "REMOVED", place: &applicant.Place{List: "astana", Number: 57, Ahead: 31, Kind: "general", Seq: 3},
			docs: []string{"registration_ticket"}, movement: []int64{40, 31}},
		{name: "fail/an unsigned refusal after REGISTERED (РШЭП's, whose letter follows) leaves it open", notes: []*applicationv1.StatusNotification{
			reg,
			{Status: refused, Sequence: 2, RefusalCode: "grounds_absent"},
		}, closed: []bool{false, false}, status: "REFUSED", refused: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			id := f.kgDraft(t)
			for i, note := range tt.notes {
				n := proto.CloneOf(note) // the case's message, its id set per run
				n.ApplicationId, n.Time, n.ServiceCode, n.Region = id, timestamppb.Now(), "preschool-registration", "71"
				require.NoError(t, f.desk.Handle(t.Context(), notification(t, n)))
				// A redelivery changes nothing.
				require.NoError(t, f.desk.Handle(t.Context(), notification(t, n)))
				a, err := f.desk.Get(t.Context(), owner, id)
				require.NoError(t, err)
				require.Equal(t, tt.closed[i], a.Closed(), "closed after notification %d (%s)", i, n.GetStatus())
			}
			a, err := f.desk.Get(t.Context(), owner, id)
			require.NoError(t, err)
			require.Equal(t, tt.status, a.Status)
			require.Equal(t, tt.place, a.Queue)
			require.Equal(t, tt.refused, a.Refused)
			docs, err := f.desk.Documents(t.Context(), a)
			require.NoError(t, err)
			kinds := []string{}
			for _, d := range docs {
				kinds = append(kinds, d.Kind)
			}
			if tt.docs == nil {
				tt.docs = []string{}
			}
			require.Equal(t, tt.docs, kinds, "every result document kept, in the order issued")
			if len(tt.docs) > 0 {
				require.Equal(t, docs[len(docs)-1].Content, a.ResultContent, "the newest document is the result shown")
			}
			waiting, err := f.desk.Waiting(t.Context(), owner, 10)
			require.NoError(t, err)
			if tt.place == nil {
				require.Empty(t, waiting)
				return
			}
			require.Len(t, waiting, 1)
			require.Equal(t, id, waiting[0].ID)
			ahead := []int64{}
			for _, p := range waiting[0].Places {
				ahead = append(ahead, p.Queue.Ahead)
			}
			require.Equal(t, tt.movement, ahead)
		})
	}
}

// TestQueueTexts: the queue number is filled into the passport's text, and the statuses have names in
// both languages.
func TestQueueTexts(t *testing.T) {
	t.Parallel()
	f := setup(t)
	id := f.kgDraft(t)
	for _, n := range []*applicationv1.StatusNotification{
		{Status: applicationv1.CaseStatus_CASE_STATUS_REGISTERED, Sequence: 1},
		{Status: applicationv1.CaseStatus_CASE_STATUS_QUEUED, Sequence: 2, Queue: place(1057, 12),
			Text: &applicationv1.LocalizedText{Ru: "Ребёнок поставлен в очередь, номер в очереди {queue_number}, перед вами {queue_ahead}",
				Kk: "Бала кезекке қойылды, кезектегі нөмірі {queue_number}, алдыңызда {queue_ahead}"}},
	} {
		n.ApplicationId, n.Time = id, timestamppb.Now()
		require.NoError(t, f.desk.Handle(t.Context(), notification(t, n)))
	}
	ss, err := f.desk.Statuses(t.Context(), id)
	require.NoError(t, err)
	last := ss[len(ss)-1]
	require.Equal(t, "Ребёнок поставлен в очередь, номер в очереди 1057, перед вами 12", last.TextRU)
	require.Equal(t, "Бала кезекке қойылды, кезектегі нөмірі 1057, алдыңызда 12", last.TextKK)
	for _, s := range []string{"QUEUED", "QUEUE_MOVED", "REFERRAL_OFFERED", "REFERRAL_EXPIRED", "REFERRAL_DECLINED", "ENROLLED", "REMOVED"} {
		for _, lang := range []string{"ru", "kk"} {
			require.NotEqual(t, s, channelweb.StatusName(lang, s), "%s has a %s name", s, lang)
		}
		require.NotEqual(t, channelweb.StatusName("ru", s), channelweb.StatusName("kk", s), s)
	}
}

// TestHandOverOfATicket: at a ЦОН the registration ticket is handed over while the child waits, once,
// and the hand-over stands after the status that brought it, before the list's later statuses; a
// waiting child's ticket is not left unclaimed; nothing is handed over before the signed decision.
func TestHandOverOfATicket(t *testing.T) {
	t.Parallel()
	f := setup(t)
	id := f.kgDraft(t)
	send := func(n *applicationv1.StatusNotification) {
		n.ApplicationId, n.Time = id, timestamppb.Now()
		require.NoError(t, f.desk.Handle(t.Context(), notification(t, n)))
	}
	send(&applicationv1.StatusNotification{Status: applicationv1.CaseStatus_CASE_STATUS_REGISTERED, Sequence: 1, RegistrationNumber: "ЕА-2026-000001"})
	require.ErrorIs(t, f.desk.HandOver(t.Context(), owner, id, "Нурланова Г.", false), applicant.ErrNotIssued, "nothing signed yet")
	send(&applicationv1.StatusNotification{Status: applicationv1.CaseStatus_CASE_STATUS_QUEUED, Sequence: 2, Queue: place(25, 24),
		Results: ticket("registration_ticket", "Талон №25")})
	require.ErrorIs(t, f.desk.HandOver(t.Context(), owner, id, "Нурланова Г.", true), applicant.ErrNotIssued, "a waiting child's ticket is not unclaimed")
	require.NoError(t, f.desk.HandOver(t.Context(), owner, id, "Нурланова Г.", false))
	require.ErrorIs(t, f.desk.HandOver(t.Context(), owner, id, "Нурланова Г.", false), applicant.ErrNotIssued, "once")
	send(&applicationv1.StatusNotification{Status: applicationv1.CaseStatus_CASE_STATUS_QUEUE_MOVED, Sequence: 3, Queue: place(25, 20)})
	require.Equal(t, []string{"DRAFT", "REGISTERED", "QUEUED", "HANDED_OVER", "QUEUE_MOVED"}, f.statuses(t, id))
	a, err := f.desk.Get(t.Context(), owner, id)
	require.NoError(t, err)
	require.Equal(t, "QUEUE_MOVED", a.Status, "the list's later status is the application's")
	require.NotNil(t, a.HandedOverAt)
	require.False(t, a.Closed())
}

// TestMigrationMarksFinal: statuses recorded before migration 0540 get the rule they were recorded under
// (RESULT_ISSUED, or a refusal at intake, ends an application; РШЭП's REFUSED waiting for its letter does
// not), so an application open before it closes as it would have.
func TestMigrationMarksFinal(t *testing.T) {
	t.Parallel()
	db, err := pgdb.Open(t.Context(), pgtest.URL(t), "portal", 2)
	require.NoError(t, err)
	t.Cleanup(db.Close)
	before := fstest.MapFS{}
	all := applicant.Migrations()
	entries, err := fs.ReadDir(all, ".")
	require.NoError(t, err)
	for _, e := range entries {
		if e.Name() < "0540" {
			b, err := fs.ReadFile(all, e.Name())
			require.NoError(t, err)
			before[e.Name()] = &fstest.MapFile{Data: b}
		}
	}
	_, err = pgdb.Migrate(t.Context(), db, "portal", before)
	require.NoError(t, err)
	rows := []struct {
		app, status string
		seq         int
		final       bool
	}{
		{"00000000-0000-0000-0000-000000000001", "REGISTERED", 1, false},
		{"00000000-0000-0000-0000-000000000001", "RESULT_ISSUED", 2, true},
		{"00000000-0000-0000-0000-000000000002", "REFUSED", 1, true},
		{"00000000-0000-0000-0000-000000000003", "REGISTERED", 1, false},
		{"00000000-0000-0000-0000-000000000003", "REFUSED", 2, false},
	}
	for _, r := range rows {
		_, err := db.Exec(t.Context(), `INSERT INTO applications (id, owner, channel, service_code, region, applicant_iin, content, status, created_at)
			VALUES ($1, $2, 'portal', 'guardianship-certificate', '55', $2, ''::bytea, 'SUBMITTED', now()) ON CONFLICT DO NOTHING`, r.app, owner)
		require.NoError(t, err)
		_, err = db.Exec(t.Context(), `INSERT INTO statuses (application_id, key, seq, status, at) VALUES ($1, $2, $3, $4, now())`,
			r.app, fmt.Sprintf("rshep:%d", r.seq), r.seq, r.status)
		require.NoError(t, err)
	}
	_, err = pgdb.Migrate(t.Context(), db, "portal", all)
	require.NoError(t, err)
	for _, r := range rows {
		var final bool
		require.NoError(t, db.QueryRow(t.Context(), `SELECT final FROM statuses WHERE application_id = $1 AND seq = $2`, r.app, r.seq).Scan(&final))
		require.Equal(t, r.final, final, "%s %s at %d", r.app, r.status, r.seq)
	}
}
