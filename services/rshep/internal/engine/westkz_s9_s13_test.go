package engine_test

import (
	"crypto/sha256"
	"strings"
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

var office = applicationv1.Channel_CHANNEL_OFFICE

// wkoForms are the forms of West Kazakhstan's S9–S13 as the demo citizen Асель fills them: her son
// Алихан for the school services and the visits, Дана (an orphan) for the foster family.
var wkoForms = map[string]map[string]string{
	"school-transport": {"child_iin": demo.ChildIIN, "settlement": "с. Январцево", "school": "Январцевская СОШ"},
	"school-meals":     {"child_iin": demo.ChildIIN, "school": "СОШ № 1 г. Уральска", "category": "social_assistance"},
	"visit-permission": {"child_iin": demo.ChildIIN},
	"foster-family":    {"ward_iin": demo.WardIIN, "bank_account": "KZ86125KZT5004100100"},
	"child-opinion":    {"child_iin": demo.ChildIIN, "matter": "изменение фамилии ребенка"},
}

// wkoDocuments are the documents the passport asks for on channel: a scan on the portal, the original
// marked received in person.
func wkoDocuments(t *testing.T, p *catalog.Passport, channel string) []*applicationv1.SubmittedDocument {
	t.Helper()
	var out []*applicationv1.SubmittedDocument
	for _, d := range p.DocumentsFor(channel) {
		if !d.Required {
			continue
		}
		sd := &applicationv1.SubmittedDocument{Id: d.ID, PaperReceived: channel != "portal"}
		if channel == "portal" {
			sum := sha256.Sum256([]byte(d.ID))
			sd.Attachment = &envelopev1.Attachment{Name: d.ID + ".pdf", MediaType: "application/pdf", Size: 2048, Sha256: sum[:], ObjectKey: "sha256-" + d.ID}
		}
		out = append(out, sd)
	}
	require.NotEmpty(t, out, "%s asks for documents on %s", p.Code, channel)
	return out
}

// wkoApplication is the application of service on channel, with extra fields over the demo form.
func (s *suite) wkoApplication(t *testing.T, p *catalog.Passport, channel applicationv1.Channel, extra map[string]string) application {
	t.Helper()
	fields := map[string]string{"applicant_iin": "880512400011"}
	for k, v := range wkoForms[p.Code] {
		fields[k] = v
	}
	for k, v := range extra {
		fields[k] = v
	}
	a := application{service: p.Code, region: "27", channel: channel, applicant: "880512400011", fields: fields,
		documents: wkoDocuments(t, p, catalog.ChannelName(channel)), signer: s.citizen(t, "880512400011")}
	switch channel {
	case tson:
		a.signer = s.operator(t)
	case office:
		a.signer = s.staff["clerk"].sign
	}
	return a
}

// enter has the clerk enter an office application in АРМ, as the office page does.
func (s *suite) enter(t *testing.T, a application) (*engine.Case, error) {
	t.Helper()
	app := &applicationv1.Application{ApplicationId: uuid.NewString(), ServiceCode: a.service, Region: a.region, Channel: a.channel,
		ApplicantIin: a.applicant, Fields: a.fields, Documents: a.documents, SubmittedAt: timestamppb.Now(), Language: "ru"}
	content, err := proto.MarshalOptions{Deterministic: true}.Marshal(app)
	require.NoError(t, err)
	doc, err := a.signer.SignDocument(engine.MediaTypeApplication, content)
	require.NoError(t, err)
	return s.eng.Office(t.Context(), a.region, s.staff["clerk"].Employee, doc)
}

// TestWestKazakhstanS9ToS13 walks each of the five passports through the real engine, on every channel
// the passport has: канцелярия → руководитель → ответственный исполнитель (approves or refuses on a ground
// of the passport) → руководитель signs → канцелярия issues; the citizen on the portal and at
// Госкорпорация receives the signed result, the office hands it over or marks it unclaimed. Each case's
// step terms are the regulation's.
func TestWestKazakhstanS9ToS13(t *testing.T) {
	s := start(t)
	cat, err := catalog.Builtin()
	require.NoError(t, err)
	head := s.staff["head"].IIN
	tests := []struct {
		name    string
		service string
		channel applicationv1.Channel
		refusal string // the officer's ground; approved when empty
		docs    []string
		// terms are the steps' terms by step id, checked as the case reaches each step.
		terms map[string]catalog.Duration
	}{
		{name: "ok/S9 transport to school, portal, approved", service: "school-transport", channel: portal, docs: []string{"certificate"},
			terms: map[string]catalog.Duration{"assign": {Value: 15, Unit: "minutes"}, "examine": {Value: 3, Unit: "working_days"},
				"sign": {Value: 15, Unit: "minutes"}, "issue": {Value: 1, Unit: "working_days"}}},
		{name: "fail/S9 transport to school, Госкорпорация, refused on the grounds of п. 10 of the Standard", service: "school-transport",
			channel: tson, refusal: "grounds_absent", docs: []string{"refusal"}},
		{name: "ok/S9 transport to school, канцелярия of the akim, approved and handed over", service: "school-transport", channel: office,
			docs: []string{"certificate"}},
		{name: "ok/S10 school meals, portal, approved", service: "school-meals", channel: portal, docs: []string{"certificate"},
			terms: map[string]catalog.Duration{"assign": {Value: 1, Unit: "working_days"}, "examine": {Value: 3, Unit: "working_days"},
				"sign": {Value: 1, Unit: "working_days"}, "issue": {Value: 30, Unit: "minutes"}}},
		{name: "fail/S10 school meals, канцелярия, refused for the documents", service: "school-meals", channel: office,
			refusal: "documents_irregular", docs: []string{"refusal"}},
		{name: "ok/S11 visits, канцелярия, the permission approved", service: "visit-permission", channel: office, docs: []string{"decision"},
			terms: map[string]catalog.Duration{"assign": {Value: 5, Unit: "minutes"}, "examine": {Value: 9, Unit: "working_days"}}},
		{name: "ok/S11 visits, Госкорпорация, approved", service: "visit-permission", channel: tson, docs: []string{"decision"}},
		{name: "fail/S11 visits, portal, refused", service: "visit-permission", channel: portal, refusal: "grounds_absent", docs: []string{"refusal"}},
		{name: "ok/S12 foster family, portal, the contract and the payment decision", service: "foster-family", channel: portal,
			docs: []string{"foster_contract", "payment_decision"}, terms: map[string]catalog.Duration{"examine": {Value: 9, Unit: "working_days"}}},
		{name: "ok/S12 foster family, канцелярия, both documents handed over", service: "foster-family", channel: office,
			docs: []string{"foster_contract", "payment_decision"}},
		{name: "fail/S12 foster family, portal, refused with one letter", service: "foster-family", channel: portal, refusal: "grounds_absent",
			docs: []string{"refusal"}},
		{name: "ok/S13 the child's opinion, канцелярия, the decision handed over", service: "child-opinion", channel: office, docs: []string{"decision"},
			terms: map[string]catalog.Duration{"assign": {Value: 5, Unit: "minutes"}, "examine": {Value: 9, Unit: "working_days"},
				"sign": {Value: 5, Unit: "minutes"}, "issue": {Value: 5, Unit: "minutes"}}},
		{name: "fail/S13 the child's opinion, канцелярия, refused", service: "child-opinion", channel: office, refusal: "grounds_absent",
			docs: []string{"refusal"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, ok := cat.Get(tt.service, "27")
			require.True(t, ok)
			a := s.wkoApplication(t, p, tt.channel, nil)
			var c *engine.Case
			id := ""
			if tt.channel == office {
				var err error
				c, err = s.enter(t, a)
				require.NoError(t, err)
				require.Equal(t, "office", c.Channel)
			} else {
				id = s.send(t, a)
				s.waitFor(t, id, "REGISTERED")
				c = s.caseOf(t, id)
			}
			if tt.channel == tson && len(p.Checks) > 0 {
				c = s.checked(t, c)
				for _, ch := range c.Checks {
					require.True(t, ch.Found, ch.Summary)
				}
			}
			term := func(step string) {
				want, ok := tt.terms[step]
				if !ok {
					return
				}
				cur := s.get(t, c)
				require.Equal(t, step, s.stepOf(t, cur))
				require.WithinDuration(t, want.From(calendar.Default(), *cur.StepStartedAt), *cur.StepDueAt, time.Second, step)
			}
			require.NoError(t, s.act(t, c, "clerk", engine.Action{Kind: "complete", Step: "register"}))
			term("assign")
			require.NoError(t, s.act(t, c, "head", engine.Action{Kind: "complete", Step: "assign", Assignee: s.staff["officer"].IIN}))
			term("examine")
			decide := engine.Action{Kind: "decide", Step: "examine", Outcome: engine.Approve}
			if tt.refusal != "" {
				decide = engine.Action{Kind: "decide", Step: "examine", Outcome: engine.Refuse, RefusalCode: tt.refusal, Comment: "основание отсутствует"}
			}
			require.NoError(t, s.act(t, c, "officer", decide))
			term("sign")
			var ae *engine.ActionError
			require.ErrorAs(t, s.act(t, c, "officer", engine.Action{Kind: "sign", Step: "sign"}), &ae)
			require.Equal(t, "wrong_role", ae.Code, "the head signs: «руководитель услугодателя … подписывает»")
			var kinds []string
			for _, d := range s.get(t, c).Docs() {
				kinds = append(kinds, d.ID)
			}
			require.Equal(t, tt.docs, kinds)
			require.NoError(t, s.act(t, c, "head", engine.Action{Kind: "sign", Step: "sign"}))
			term("issue")
			require.NoError(t, s.act(t, c, "clerk", engine.Action{Kind: "complete", Step: "issue"}))

			decided := "APPROVED"
			if tt.refusal != "" {
				decided = "REFUSED"
			}
			if tt.channel == office {
				// The office notifies no channel: the result is printed and handed over in person.
				c = s.get(t, c)
				require.Equal(t, "RESULT_ISSUED", c.Status)
				require.ErrorAs(t, s.eng.HandOver(t.Context(), "27", c.ID, s.staff["officer"].Employee, true), &ae)
				require.Equal(t, "wrong_role", ae.Code)
				handed := tt.refusal == ""
				require.NoError(t, s.eng.HandOver(t.Context(), "27", c.ID, s.staff["clerk"].Employee, handed))
				want := map[bool]string{true: "HANDED_OVER", false: "UNCLAIMED"}[handed]
				require.Equal(t, want, s.get(t, c).Status)
				return
			}
			s.waitFor(t, id, "REGISTERED", "IN_PROGRESS", decided, "RESULT_ISSUED")
			n := s.last(id)
			require.Len(t, n.GetResults(), len(tt.docs))
			for i, d := range n.GetResults() {
				require.Equal(t, tt.docs[i], d.GetId())
			}
			if tt.refusal != "" {
				require.Equal(t, tt.refusal, n.GetRefusalCode())
				for _, r := range p.Refusals {
					if r.Code == tt.refusal {
						require.Equal(t, r.Text.RU, n.GetReason().GetRu(), "the regulation's text")
					}
				}
			}
			res := s.verifyResult(t, id, head)
			require.Equal(t, head, res.Holder.IIN)
			if tt.service == "foster-family" && tt.refusal == "" {
				require.Contains(t, string(n.GetResults()[0].GetDocument().GetContent()), "ДОГОВОР № "+c.Number)
				require.Contains(t, string(n.GetResults()[1].GetDocument().GetContent()), "РЕШЕНИЕ № "+c.Number)
				require.Contains(t, string(n.GetResults()[1].GetDocument().GetContent()), "KZ86125KZT5004100100")
			}
		})
	}
}

// TestWestKazakhstanS9ToS13Intake: what the five passports may not take is refused at intake with the
// regulation's text, and opens no case.
func TestWestKazakhstanS9ToS13Intake(t *testing.T) {
	s := start(t)
	cat, err := catalog.Builtin()
	require.NoError(t, err)
	get := func(code string) *catalog.Passport {
		p, ok := cat.Get(code, "27")
		require.True(t, ok)
		return p
	}
	tests := []struct {
		name    string
		app     func(t *testing.T) application
		code    string
		comment string
	}{
		{name: "fail/S13 on the portal: paper only, at the канцелярия", app: func(t *testing.T) application {
			a := s.wkoApplication(t, get("child-opinion"), office, nil)
			a.channel, a.signer, a.documents = portal, s.citizen(t, "880512400011"), nil
			return a
		}, code: "documents_irregular", comment: "услуга не оказывается через канал \"portal\""},
		{name: "fail/S10 at Госкорпорация: no such channel", app: func(t *testing.T) application {
			a := s.wkoApplication(t, get("school-meals"), office, nil)
			a.channel, a.signer = tson, s.operator(t)
			return a
		}, code: "documents_irregular", comment: "услуга не оказывается через канал \"tson\""},
		{name: "fail/S12 on the portal without the documents of п. 9 of the Standard", app: func(t *testing.T) application {
			a := s.wkoApplication(t, get("foster-family"), portal, nil)
			a.documents = nil
			return a
		}, code: "documents_irregular", comment: "не представлен документ «Документы, указанные в пункте 9 Стандарта»"},
		{name: "fail/S10 with a category not in the list", app: func(t *testing.T) application {
			return s.wkoApplication(t, get("school-meals"), portal, map[string]string{"category": "athlete"})
		}, code: "documents_irregular", comment: "значение \"athlete\" не из списка"},
		{name: "fail/S11 signed by another person than the applicant", app: func(t *testing.T) application {
			a := s.wkoApplication(t, get("visit-permission"), portal, nil)
			a.signer = s.citizen(t, "841103300017")
			return a
		}, code: "eds_not_confirmed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.app(t)
			id := s.send(t, a)
			s.waitFor(t, id, "REFUSED")
			n := s.last(id)
			require.Equal(t, tt.code, n.GetRefusalCode())
			var want string
			for _, r := range get(a.service).Refusals {
				if r.Code == tt.code {
					want = r.Text.RU
				}
			}
			require.Equal(t, want, n.GetReason().GetRu(), "the regulation's text")
			require.Contains(t, n.GetComment(), tt.comment)
			_, err := s.eng.ByApplication(t.Context(), id)
			require.ErrorIs(t, err, engine.ErrNotFound)
		})
	}

	// Госкорпорация's look-ups (S9 п. 9 процесс 3): a power of attorney ЕНИС does not know is refused at once
	// with the message of процесс 4, signed by the node.
	id := s.send(t, s.wkoApplication(t, get("school-transport"), tson,
		map[string]string{"representative_iin": "841103300017", "poa_number": "2026-ДОВ-999999"}))
	s.waitFor(t, id, "REGISTERED", "REFUSED", "RESULT_ISSUED")
	n := s.last(id)
	require.Equal(t, "data_missing", n.GetRefusalCode())
	require.True(t, strings.HasPrefix(n.GetReason().GetRu(), "невозможность получения данных"), n.GetReason().GetRu())
	s.verifyResult(t, id, "system")

	// The канцелярия refuses an incomplete set in п. 2's words («услугодатель … отказывает в приеме
	// заявления»), with what is missing, and opens no case.
	for _, tt := range []struct{ service, code, text string }{
		{"school-transport", "intake_refused", "отказ в приеме заявления в случае представления услугополучателем неполного пакета документов, " +
			"согласно перечню, предусмотренному пунктом 9 Стандарта государственной услуги и (или) предоставления документов с истекшим сроком действия"},
		{"foster-family", "intake_refused", "отказ в приеме заявления в случае предоставления услугополучателем неполного пакета документов " +
			"согласно пункта 9 Стандарта, и (или) документов с истекшим сроком действия"},
		{"child-opinion", "documents_irregular", "отказ в приеме заявления в случае предоставления услугополучателем неполного пакета документов " +
			"согласно пункту 9 Стандарта и (или) документов с истекшим сроком действия"},
	} {
		a := s.wkoApplication(t, get(tt.service), office, nil)
		a.documents = a.documents[:len(a.documents)-1] // without the documents of п. 9 of the Standard
		_, err = s.enter(t, a)
		var r *engine.OfficeRefusal
		require.ErrorAs(t, err, &r, tt.service)
		require.Equal(t, tt.code, r.Code, tt.service)
		require.Equal(t, tt.text, r.Text.RU, tt.service)
		require.Contains(t, r.Detail.RU, "не представлен документ «Документы, указанные в пункте 9 Стандарта»", tt.service)
	}
	var cases int
	require.NoError(t, s.db.QueryRow(t.Context(), `SELECT count(*) FROM cases WHERE region = '27' AND channel = 'office'`).Scan(&cases))
	require.Zero(t, cases)
}
