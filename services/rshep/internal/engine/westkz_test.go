package engine_test

import (
	"crypto/sha256"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/egov-suite/egov/internal/calendar"
	"github.com/egov-suite/egov/internal/catalog"
	"github.com/egov-suite/egov/internal/demo"
	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
	envelopev1 "github.com/egov-suite/egov/proto/egov/envelope/v1"
	"github.com/egov-suite/egov/services/rshep/internal/engine"
)

// headIIN is the demo head (руководитель) who signs in the five-step passports.
const headIIN = "680415300016"

// scans are the electronic copies of documents ids, attached to a portal application.
func scans(ids ...string) []*applicationv1.SubmittedDocument {
	out := make([]*applicationv1.SubmittedDocument, 0, len(ids))
	for _, id := range ids {
		sum := sha256.Sum256([]byte(id))
		out = append(out, &applicationv1.SubmittedDocument{Id: id, Attachment: &envelopev1.Attachment{Name: id + ".pdf",
			MediaType: "application/pdf", Size: 1024, Sha256: sum[:], ObjectKey: "sha256-" + id}})
	}
	return out
}

// asel's portal application for a West Kazakhstan passport of the catalogue, with the copies of п. 9.
func asel(s *suite, t *testing.T, code string, fields map[string]string) application {
	f := map[string]string{"applicant_iin": "880512400011"}
	for k, v := range fields {
		f[k] = v
	}
	return application{service: code, region: "27", channel: portal, applicant: "880512400011", fields: f,
		documents: scans("standard_documents"), signer: s.citizen(t, "880512400011")}
}

// refusalText is the passport's text of a refusal ground.
func refusalText(t *testing.T, code, ground string) string {
	t.Helper()
	c, err := catalog.Builtin()
	require.NoError(t, err)
	p, ok := c.Get(code, "27")
	require.True(t, ok, code)
	for _, r := range p.Refusals {
		if r.Code == ground {
			return r.Text.RU
		}
	}
	t.Fatalf("%s has no ground %s", code, ground)
	return ""
}

// TestWestKazakhstanFiveSteps walks the catalogue's West Kazakhstan passports of the five-step shape
// (канцелярия → руководитель → исполнитель → руководитель → канцелярия) through the real engine: an
// approval issues each positive result signed by the head, and a refusal on the grounds of п. 10 of the
// Standard issues the motivated answer with the regulation's text.
func TestWestKazakhstanFiveSteps(t *testing.T) {
	s := start(t)
	for _, tc := range []struct {
		code   string
		fields map[string]string
		// results are the ids of the documents an approval issues.
		results []string
		// examine is the officer's term in working days (п. 5 действие 3).
		examine int
	}{
		{code: "camp-referral", fields: map[string]string{"child_iin": demo.ChildIIN, "camp_kind": "country", "school": "СОШ № 1, г. Уральск"},
			results: []string{"referral"}, examine: 3},
		{code: "patronage", fields: map[string]string{"ward_iin": demo.WardIIN}, results: []string{"patronage_notice", "payment_decision"}, examine: 9},
		{code: "adoption-candidates-register", fields: map[string]string{"marital_status": "married", "spouse_iin": demo.SpouseIIN},
			results: []string{"notice"}, examine: 9},
		{code: "adoption-payment", fields: map[string]string{"child_iin": demo.ChildIIN}, results: []string{"decision"}, examine: 4},
	} {
		for _, outcome := range []string{engine.Approve, engine.Refuse} {
			t.Run("ok/"+tc.code+": "+outcome, func(t *testing.T) {
				id := s.send(t, asel(s, t, tc.code, tc.fields))
				s.waitFor(t, id, "REGISTERED")
				c := s.checked(t, s.caseOf(t, id))
				require.Regexp(t, `^27-\d{4}-\d{6}$`, c.Number)
				for _, ch := range c.Checks {
					require.True(t, ch.Found, ch.Summary)
				}
				require.Equal(t, "register", s.stepOf(t, c))
				require.NoError(t, s.act(t, c, "clerk", engine.Action{Kind: "complete", Step: "register"}))
				require.NoError(t, s.act(t, c, "head", engine.Action{Kind: "complete", Step: "assign", Assignee: s.staff["officer"].IIN}))
				c = s.get(t, c)
				require.Equal(t, "examine", s.stepOf(t, c))
				// The officer's term, on the working-day calendar, from the start of the step.
				require.Equal(t, calendar.Default().AddWorkingDays(*c.StepStartedAt, tc.examine), c.StepDueAt.In(calendar.Zone))
				d := engine.Action{Kind: "decide", Step: "examine", Outcome: outcome}
				if outcome == engine.Refuse {
					d.RefusalCode, d.Comment = "grounds_absent", "не относится к категориям, указанным в Стандарте"
				}
				require.NoError(t, s.act(t, c, "officer", d))
				var ae *engine.ActionError
				require.ErrorAs(t, s.act(t, c, "officer", engine.Action{Kind: "sign"}), &ae)
				require.Equal(t, "wrong_role", ae.Code, "the head signs in these passports")
				require.NoError(t, s.act(t, c, "head", engine.Action{Kind: "sign", Step: "sign"}))
				require.NoError(t, s.act(t, c, "clerk", engine.Action{Kind: "complete", Step: "issue"}))

				var n *applicationv1.StatusNotification
				if outcome == engine.Refuse {
					s.waitFor(t, id, "REGISTERED", "IN_PROGRESS", "REFUSED", "RESULT_ISSUED")
					n = s.last(id)
					require.Equal(t, "grounds_absent", n.GetRefusalCode())
					require.Equal(t, refusalText(t, tc.code, "grounds_absent"), n.GetReason().GetRu())
					require.Len(t, n.GetResults(), 1)
					require.Equal(t, "refusal", n.GetResults()[0].GetKind())
				} else {
					s.waitFor(t, id, "REGISTERED", "IN_PROGRESS", "APPROVED", "RESULT_ISSUED")
					n = s.last(id)
					var ids []string
					for _, r := range n.GetResults() {
						ids = append(ids, r.GetId())
					}
					require.Equal(t, tc.results, ids)
				}
				v := s.ca.Verifier(t, s.ca.Checker(time.Minute))
				for _, r := range n.GetResults() {
					res, err := v.VerifyDocument(t.Context(), r.GetDocument(), headIIN)
					require.NoError(t, err, r.GetId())
					require.Equal(t, headIIN, res.Holder.IIN)
					require.Contains(t, string(r.GetDocument().GetContent()), c.Number)
				}
			})
		}
	}
}

// TestWestKazakhstanIntakeAndChecks: what the passports refuse before anyone examines the case, with
// their own texts: an application without the copies of п. 9 of the Standard, and a child the applicant
// is not the parent of (S8's look-up in ГБД ФЛ), refused by the node automatically.
func TestWestKazakhstanIntakeAndChecks(t *testing.T) {
	s := start(t)
	t.Run("fail/no copies of п. 9: refused at intake, nothing registered", func(t *testing.T) {
		a := asel(s, t, "adoption-candidates-register", map[string]string{"marital_status": "single"})
		a.documents = nil
		id := s.send(t, a)
		s.waitFor(t, id, "REFUSED")
		n := s.last(id)
		require.Equal(t, "documents_irregular", n.GetRefusalCode())
		require.Equal(t, refusalText(t, "adoption-candidates-register", "documents_irregular"), n.GetReason().GetRu())
		_, err := s.eng.ByApplication(t.Context(), id)
		require.ErrorIs(t, err, engine.ErrNotFound)
	})
	t.Run("fail/a choice the passport has not: refused at intake", func(t *testing.T) {
		id := s.send(t, asel(s, t, "camp-referral", map[string]string{"child_iin": demo.ChildIIN, "camp_kind": "sanatorium", "school": "СОШ № 1"}))
		s.waitFor(t, id, "REFUSED")
		require.Equal(t, "documents_irregular", s.last(id).GetRefusalCode())
	})
	t.Run("fail/the ward is not the applicant's child: refused automatically", func(t *testing.T) {
		id := s.send(t, asel(s, t, "adoption-payment", map[string]string{"child_iin": demo.WardIIN}))
		s.waitFor(t, id, "REGISTERED", "REFUSED", "RESULT_ISSUED")
		n := s.last(id)
		require.Equal(t, "documents_irregular", n.GetRefusalCode())
		require.Equal(t, refusalText(t, "adoption-payment", "documents_irregular"), n.GetReason().GetRu())
		s.verifyResult(t, id, "system")
	})
}

// TestGuardianshipEstablishment walks S3 of the catalogue: the district akimat's staff adopt the
// resolution in their own step of 6 working days, which the provider's head cannot take; a refusal, as
// the passport decides, is signed by the officer at the examining step and does not pass the akimat.
func TestGuardianshipEstablishment(t *testing.T) {
	s := start(t)
	s.employ(t, "akim", "700101300005", "Ахметов", "ГУ «Аппарат акима района»", akimatBIN, "district_akimat:head")
	fields := map[string]string{"ward_iin": demo.WardIIN, "guardianship_kind": "guardianship"}
	examine := func(t *testing.T, d engine.Action) (string, *engine.Case) {
		t.Helper()
		id := s.send(t, asel(s, t, "guardianship-establishment", fields))
		s.waitFor(t, id, "REGISTERED")
		c := s.checked(t, s.caseOf(t, id))
		for _, ch := range c.Checks {
			require.True(t, ch.Found, ch.Summary)
		}
		require.NoError(t, s.act(t, c, "clerk", engine.Action{Kind: "complete", Step: "register"}))
		require.NoError(t, s.act(t, c, "head", engine.Action{Kind: "complete", Step: "assign", Assignee: s.staff["officer"].IIN}))
		c = s.get(t, c)
		require.Equal(t, calendar.Default().AddWorkingDays(*c.StepStartedAt, 12), c.StepDueAt.In(calendar.Zone))
		require.NoError(t, s.act(t, c, "officer", d))
		return id, s.get(t, c)
	}
	v := s.ca.Verifier(t, s.ca.Checker(time.Minute))

	t.Run("ok/approved: the akimat adopts the resolution", func(t *testing.T) {
		id, c := examine(t, engine.Action{Kind: "decide", Step: "examine", Outcome: engine.Approve})
		require.Equal(t, "adopt", s.stepOf(t, c))
		require.Equal(t, calendar.Default().AddWorkingDays(*c.StepStartedAt, 6), c.StepDueAt.In(calendar.Zone))
		var ae *engine.ActionError
		require.ErrorAs(t, s.act(t, c, "head", engine.Action{Kind: "sign"}), &ae)
		require.Equal(t, "wrong_role", ae.Code, "the provider's head cannot adopt the akimat's resolution")
		require.NoError(t, s.act(t, c, "akim", engine.Action{Kind: "sign", Step: "adopt"}))
		require.NoError(t, s.act(t, c, "clerk", engine.Action{Kind: "complete", Step: "issue"}))
		s.waitFor(t, id, "REGISTERED", "IN_PROGRESS", "APPROVED", "RESULT_ISSUED")
		n := s.last(id)
		require.Len(t, n.GetResults(), 1)
		require.Equal(t, "resolution", n.GetResults()[0].GetKind())
		require.Contains(t, string(n.GetResult().GetContent()), "Акимат района (города областного значения)")
		res, err := v.VerifyDocument(t.Context(), n.GetResult(), s.staff["akim"].IIN)
		require.NoError(t, err)
		require.Equal(t, akimatBIN, res.Holder.BIN)
	})

	t.Run("ok/refused: the officer signs, the akimat is skipped", func(t *testing.T) {
		id, c := examine(t, engine.Action{Kind: "decide", Step: "examine", Outcome: engine.Refuse, RefusalCode: "grounds_absent",
			Comment: "кандидат не прошёл подготовку, предусмотренную Стандартом"})
		require.Equal(t, "examine", s.stepOf(t, c), "the refusal waits for the officer's signature")
		var ae *engine.ActionError
		require.ErrorAs(t, s.act(t, c, "officer", engine.Action{Kind: "complete"}), &ae)
		require.Equal(t, "wrong_step", ae.Code, "an unsigned refusal does not pass on")
		require.ErrorAs(t, s.act(t, c, "akim", engine.Action{Kind: "sign"}), &ae)
		require.Equal(t, "wrong_role", ae.Code, "the akimat does not sign a refusal")
		require.NoError(t, s.act(t, c, "officer", engine.Action{Kind: "sign", Step: "examine"}))
		c = s.get(t, c)
		require.Equal(t, "issue", s.stepOf(t, c), "past the akimat's step")
		require.NoError(t, s.act(t, c, "clerk", engine.Action{Kind: "complete", Step: "issue"}))
		s.waitFor(t, id, "REGISTERED", "IN_PROGRESS", "REFUSED", "RESULT_ISSUED")
		n := s.last(id)
		require.Equal(t, refusalText(t, "guardianship-establishment", "grounds_absent"), n.GetReason().GetRu())
		require.Len(t, n.GetResults(), 1)
		require.Equal(t, "refusal", n.GetResults()[0].GetKind())
		require.NotContains(t, string(n.GetResult().GetContent()), "Акимат района", "the provider's letter, not the akimat's")
		res, err := v.VerifyDocument(t.Context(), n.GetResult(), s.staff["officer"].IIN)
		require.NoError(t, err)
		require.Equal(t, s.staff["officer"].IIN, res.Holder.IIN)
		require.Equal(t, []string{"register", "assign", "examine", "issue"}, stepsOf(t, s.eng, c))
	})
}

// TestPavlodarTermInAll: Pavlodar's «3 дня» is the whole term (passport `term`): the case is due three
// calendar days after registration, not after the sum of its steps, and a step begun later is due with
// the case, not three days after its own start.
func TestPavlodarTermInAll(t *testing.T) {
	s := start(t)
	id := s.send(t, guardianship(s, t, "55", portal, nil))
	s.waitFor(t, id, "REGISTERED")
	c := s.caseOf(t, id)
	due := c.StepStartedAt.In(calendar.Zone).AddDate(0, 0, 3)
	require.Equal(t, due, c.DueAt.In(calendar.Zone), "three days from registration, not six")
	require.Equal(t, due, c.StepDueAt.In(calendar.Zone))
	s.clock.Advance(24 * time.Hour)
	require.NoError(t, s.act(t, c, "clerk", engine.Action{Kind: "complete", Step: "register"}))
	c = s.get(t, c)
	require.Equal(t, "examine", s.stepOf(t, c))
	require.True(t, c.StepStartedAt.In(calendar.Zone).AddDate(0, 0, 3).After(due), "the step's own term would run past the case")
	require.Equal(t, due, c.StepDueAt.In(calendar.Zone), "the examination is due with the case")
}

// TestWestKazakhstanPaperChannels: S1 taken in person at the канцелярия (the clerk enters and signs it in
// АРМ, the originals received) and S3 through Госкорпорация (the operator signs it, the applicant looked
// up in ГБД ФЛ) both register with the documents received on paper and walk to their result like the
// portal's.
func TestWestKazakhstanPaperChannels(t *testing.T) {
	s := start(t)
	s.employ(t, "akim", "700101300005", "Ахметов", "ГУ «Аппарат акима района»", akimatBIN, "district_akimat:head")
	paper := func(ids ...string) []*applicationv1.SubmittedDocument {
		out := scans(ids...)
		for _, d := range out {
			d.PaperReceived = true
		}
		return out
	}

	t.Run("ok/camp-referral at the канцелярия", func(t *testing.T) {
		app := &applicationv1.Application{ApplicationId: uuid.NewString(), ServiceCode: "camp-referral", Region: "27",
			Channel: applicationv1.Channel_CHANNEL_OFFICE, ApplicantIin: "880512400011", Language: "ru", SubmittedAt: timestamppb.Now(),
			Fields:    map[string]string{"applicant_iin": "880512400011", "child_iin": demo.ChildIIN, "camp_kind": "school", "school": "СОШ № 5"},
			Documents: paper("camp_application", "standard_documents")}
		content, err := proto.MarshalOptions{Deterministic: true}.Marshal(app)
		require.NoError(t, err)
		doc, err := s.staff["clerk"].sign.SignDocument(engine.MediaTypeApplication, content)
		require.NoError(t, err)
		c, err := s.eng.Office(t.Context(), "27", s.staff["clerk"].Employee, doc)
		require.NoError(t, err)
		require.Equal(t, "office", c.Channel)
		require.Len(t, c.Documents, 2)
		c = s.checked(t, c)
		for _, ch := range c.Checks {
			require.True(t, ch.Found, ch.Summary)
		}
		require.NoError(t, s.act(t, c, "clerk", engine.Action{Kind: "complete", Step: "register"}))
		require.NoError(t, s.act(t, c, "head", engine.Action{Kind: "complete", Step: "assign", Assignee: s.staff["officer"].IIN}))
		require.NoError(t, s.act(t, c, "officer", engine.Action{Kind: "decide", Step: "examine", Outcome: engine.Approve}))
		require.NoError(t, s.act(t, c, "head", engine.Action{Kind: "sign", Step: "sign"}))
		require.NoError(t, s.act(t, c, "clerk", engine.Action{Kind: "complete", Step: "issue"}))
		c = s.get(t, c)
		require.Equal(t, "RESULT_ISSUED", c.Status)
		require.Equal(t, "referral", c.Docs()[0].Kind)
		require.NoError(t, s.eng.HandOver(t.Context(), "27", c.ID, s.staff["clerk"].Employee, true))
		require.Equal(t, "HANDED_OVER", s.get(t, c).Status)
	})

	t.Run("ok/guardianship-establishment through Госкорпорация", func(t *testing.T) {
		a := application{service: "guardianship-establishment", region: "27", channel: tson, applicant: "880512400011",
			fields:    map[string]string{"applicant_iin": "880512400011", "ward_iin": demo.WardIIN, "guardianship_kind": "trusteeship"},
			documents: paper("guardianship_application", "standard_documents"), signer: s.operator(t)}
		id := s.send(t, a)
		s.waitFor(t, id, "REGISTERED")
		c := s.checked(t, s.caseOf(t, id))
		require.Len(t, c.Checks, 2, "the applicant and the child in ГБД ФЛ; no power of attorney to look up")
		for _, ch := range c.Checks {
			require.True(t, ch.Found, ch.Summary)
		}
		require.NoError(t, s.act(t, c, "clerk", engine.Action{Kind: "complete", Step: "register"}))
		require.NoError(t, s.act(t, c, "head", engine.Action{Kind: "complete", Step: "assign", Assignee: s.staff["officer"].IIN}))
		require.NoError(t, s.act(t, c, "officer", engine.Action{Kind: "decide", Step: "examine", Outcome: engine.Approve}))
		require.NoError(t, s.act(t, c, "akim", engine.Action{Kind: "sign", Step: "adopt"}))
		require.NoError(t, s.act(t, c, "clerk", engine.Action{Kind: "complete", Step: "issue"}))
		s.waitFor(t, id, "REGISTERED", "IN_PROGRESS", "APPROVED", "RESULT_ISSUED")
		require.Equal(t, "resolution", s.last(id).GetResults()[0].GetKind())
	})
}
