package engine_test

import (
	"crypto/sha256"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/demo"
	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
	envelopev1 "github.com/egov-suite/egov/proto/egov/envelope/v1"
	"github.com/egov-suite/egov/services/rshep/internal/engine"
)

// officeApplication is passport 51's application as the clerk enters it: paper documents received, one
// scanned, signed with signer.
func officeApplication(t *testing.T, service, region string, channel applicationv1.Channel, signer *envelope.Signer) (string, *envelopev1.SignedDocument) {
	t.Helper()
	var docs []*applicationv1.SubmittedDocument
	for _, d := range []string{"birth_certificate", "residence", "ppk_conclusion", "disability_certificate", "bank_account_document"} {
		sd := &applicationv1.SubmittedDocument{Id: d, PaperReceived: true}
		if d == "birth_certificate" {
			sum := sha256.Sum256([]byte(d))
			sd.Attachment = &envelopev1.Attachment{Name: d + ".pdf", MediaType: "application/pdf", Size: 1024, Sha256: sum[:], ObjectKey: "sha256-" + d}
		}
		docs = append(docs, sd)
	}
	id := uuid.NewString()
	app := &applicationv1.Application{ApplicationId: id, ServiceCode: service, Region: region, Channel: channel,
		ApplicantIin: "880512400011", Fields: map[string]string{"applicant_iin": "880512400011", "child_iin": demo.ChildIIN,
			"bank_account": "KZ86125KZT5004100100"}, Documents: docs, SubmittedAt: timestamppb.Now(), Language: "ru"}
	content, err := proto.MarshalOptions{Deterministic: true}.Marshal(app)
	require.NoError(t, err)
	doc, err := signer.SignDocument(engine.MediaTypeApplication, content)
	require.NoError(t, err)
	return id, doc
}

// TestOfficeIntake: the clerk's application enters the engine's own intake, gets its number and walks
// the same steps; the signed result is handed over in person; the office sends nothing to a channel.
func TestOfficeIntake(t *testing.T) {
	s := start(t)
	office := applicationv1.Channel_CHANNEL_OFFICE
	id, doc := officeApplication(t, "disabled-children-home-education", "51", office, s.staff["clerk"].sign)
	c, err := s.eng.Office(t.Context(), "51", s.staff["clerk"].Employee, doc)
	require.NoError(t, err)
	require.NotEmpty(t, c.Number)
	require.Equal(t, "office", c.Channel)
	require.Equal(t, "IN_PROGRESS", c.Status, "registered, and the МИО employee's processing (the first step) has begun")
	require.Len(t, c.Documents, 5)
	require.True(t, c.Documents[1].PaperReceived)

	var ae *engine.ActionError
	_, err = s.eng.Office(t.Context(), "51", s.staff["officer"].Employee, doc)
	require.ErrorAs(t, err, &ae, "only a clerk enters office applications")
	require.Equal(t, "wrong_role", ae.Code)

	again, err := s.eng.Office(t.Context(), "51", s.staff["clerk"].Employee, doc)
	require.NoError(t, err)
	require.Equal(t, c.Number, again.Number, "the same application entered twice is one case")

	clerk := s.staff["clerk"].Employee
	require.ErrorAs(t, s.eng.HandOver(t.Context(), "51", c.ID, clerk, true), &ae, "nothing to hand over before the result")
	require.Equal(t, "wrong_step", ae.Code)

	require.NoError(t, s.act(t, c, "officer", engine.Action{Kind: "complete", Step: "examine"}))
	require.NoError(t, s.act(t, c, "head", engine.Action{Kind: "decide", Step: "commission", Outcome: engine.Approve}))
	require.NoError(t, s.act(t, c, "officer", engine.Action{Kind: "sign", Step: "sign"}))
	c, err = s.eng.Get(t.Context(), "51", c.ID)
	require.NoError(t, err)
	require.Equal(t, "RESULT_ISSUED", c.Status)

	require.ErrorAs(t, s.eng.HandOver(t.Context(), "51", c.ID, s.staff["officer"].Employee, true), &ae)
	require.Equal(t, "wrong_role", ae.Code)
	require.NoError(t, s.eng.HandOver(t.Context(), "51", c.ID, clerk, true))
	c, err = s.eng.Get(t.Context(), "51", c.ID)
	require.NoError(t, err)
	require.Equal(t, "HANDED_OVER", c.Status)
	require.ErrorAs(t, s.eng.HandOver(t.Context(), "51", c.ID, clerk, false), &ae, "handed over once")

	// Nobody comes for the second application's result: unclaimed, once.
	_, doc2 := officeApplication(t, "disabled-children-home-education", "51", office, s.staff["clerk"].sign)
	c2, err := s.eng.Office(t.Context(), "51", clerk, doc2)
	require.NoError(t, err)
	require.NotEqual(t, c.Number, c2.Number)
	require.NoError(t, s.act(t, c2, "officer", engine.Action{Kind: "complete", Step: "examine"}))
	require.NoError(t, s.act(t, c2, "head", engine.Action{Kind: "decide", Step: "commission", Outcome: engine.Refuse,
		RefusalCode: "documents_irregular", Comment: "заключение ПМПК просрочено"}))
	require.NoError(t, s.act(t, c2, "officer", engine.Action{Kind: "sign", Step: "sign"}))
	require.NoError(t, s.eng.HandOver(t.Context(), "51", c2.ID, clerk, false))
	c2, err = s.eng.Get(t.Context(), "51", c2.ID)
	require.NoError(t, err)
	require.Equal(t, "UNCLAIMED", c2.Status)
	history, err := s.eng.History(t.Context(), c2.ID)
	require.NoError(t, err)
	require.Equal(t, engine.ActUnclaimed, history[len(history)-1].Action)
	require.Equal(t, clerk.IIN, history[0].Actor, "the registration is the clerk's")

	var outbox int
	require.NoError(t, s.db.QueryRow(t.Context(), `SELECT count(*) FROM outbox WHERE region = '51'`).Scan(&outbox))
	require.Zero(t, outbox, "the office owes no channel a notification")
	require.Empty(t, s.statuses(id), "no channel is notified of an office application")
}

// TestOfficeRefusals: what the office may not enter is refused at once, with the regulation's text, and
// leaves no case.
func TestOfficeRefusals(t *testing.T) {
	s := start(t)
	office := applicationv1.Channel_CHANNEL_OFFICE
	cases := []struct {
		name    string
		service string
		region  string
		channel applicationv1.Channel
		signer  *envelope.Signer
		code    string
	}{
		{"fail/a passport without the office channel", "guardianship-certificate", "55", office, s.staff["clerk"].sign, "documents_irregular"},
		{"fail/signed by a citizen, not an employee", "disabled-children-home-education", "51", office, s.citizen(t, "880512400011"), "eds_not_confirmed"},
		{"fail/a portal application entered at the office", "disabled-children-home-education", "51", applicationv1.Channel_CHANNEL_PORTAL, s.staff["clerk"].sign, "documents_irregular"},
		{"fail/signed by another employee than the clerk signed in", "disabled-children-home-education", "51", office, s.staff["officer"].sign, "eds_not_confirmed"},
		{"fail/another region's passport", "disabled-children-home-education", "55", office, s.staff["clerk"].sign, "unknown_service"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id, doc := officeApplication(t, tc.service, tc.region, tc.channel, tc.signer)
			_, err := s.eng.Office(t.Context(), tc.region, s.staff["clerk"].Employee, doc)
			var r *engine.OfficeRefusal
			require.ErrorAs(t, err, &r)
			require.Equal(t, tc.code, r.Code)
			require.NotEmpty(t, r.Text.RU)
			_, err = s.eng.ByApplication(t.Context(), id)
			require.ErrorIs(t, err, engine.ErrNotFound)
		})
	}
}

// TestOfficeApplicationThroughShep: an application claiming the office channel that comes through ШЭП is
// refused at intake (the office is the provider's own АРМ), with the reason, and no case.
func TestOfficeApplicationThroughShep(t *testing.T) {
	s := start(t)
	id := s.send(t, application{service: "disabled-children-home-education", region: "51", channel: applicationv1.Channel_CHANNEL_OFFICE,
		applicant: "880512400011", fields: map[string]string{"applicant_iin": "880512400011", "child_iin": demo.ChildIIN, "bank_account": "KZ123"},
		signer: s.staff["clerk"].sign})
	s.waitFor(t, id, "REFUSED")
	require.Equal(t, "documents_irregular", s.last(id).GetRefusalCode())
	require.Contains(t, s.last(id).GetComment(), "канцелярия регистрирует заявления только в АРМ")
	require.Contains(t, s.last(id).GetCommentText().GetKk(), "кеңсе өтініштерді тек қызмет берушінің АЖО-сында тіркейді")
	_, err := s.eng.ByApplication(t.Context(), id)
	require.ErrorIs(t, err, engine.ErrNotFound)
}
