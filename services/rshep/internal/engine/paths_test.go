package engine_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/calendar"
	"github.com/egov-suite/egov/internal/demo"
	"github.com/egov-suite/egov/internal/pgdb"
	"github.com/egov-suite/egov/internal/printform"
	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
	envelopev1 "github.com/egov-suite/egov/proto/egov/envelope/v1"
	"github.com/egov-suite/egov/services/rshep/internal/engine"
	"github.com/egov-suite/egov/services/rshep/internal/timers"
	"github.com/egov-suite/egov/shepsdk"
)

var (
	portal = applicationv1.Channel_CHANNEL_PORTAL
	tson   = applicationv1.Channel_CHANNEL_TSON
)

func guardianship(s *suite, t testing.TB, region string, channel applicationv1.Channel, extra map[string]string) application {
	fields := map[string]string{"applicant_iin": "880512400011", "ward_iin": demo.WardIIN}
	for k, v := range extra {
		fields[k] = v
	}
	signer := s.citizen(t, "880512400011")
	if channel == tson {
		signer = s.operator(t)
	}
	return application{service: "guardianship-certificate", region: region, channel: channel, applicant: "880512400011", fields: fields, signer: signer}
}

// verifyResult checks the signature of the result the citizen received.
func (s *suite) verifyResult(t *testing.T, id string, wantSigner string) *envelope.Result {
	t.Helper()
	n := s.last(id)
	require.Equal(t, applicationv1.CaseStatus_CASE_STATUS_RESULT_ISSUED, n.GetStatus())
	doc := n.GetResult()
	require.NotEmpty(t, doc.GetContent())
	v := s.ca.Verifier(t, s.ca.Checker(time.Minute))
	res, err := v.VerifyDocument(t.Context(), doc, wantSigner)
	if wantSigner == "system" {
		require.Error(t, err, "a system key cannot sign a person's document")
		res, err = v.Verify(t.Context(), doc.GetContent(), doc.GetSignature(), envelope.Expect{Purpose: envelope.PurposeEnvelope})
	}
	require.NoError(t, err)
	// Every document comes with its printable form: a PDF signed by the node's system key, whose QR code
	// opens the portal's /verify with the number and the digest of the signed text.
	require.NotEmpty(t, n.GetResults())
	for _, d := range n.GetResults() {
		pf := d.GetPrintable()
		require.Equal(t, printform.MediaType, pf.GetMediaType(), d.GetId())
		require.True(t, bytes.HasPrefix(pf.GetContent(), []byte("%PDF-")), d.GetId())
		pres, err := v.Verify(t.Context(), pf.GetContent(), pf.GetSignature(), envelope.Expect{Purpose: envelope.PurposeIssued})
		require.NoError(t, err, d.GetId())
		require.Equal(t, "rshep-"+n.GetRegion(), pres.Holder.Name)
		require.Equal(t, printform.VerifyLink(verifyBase, n.GetRegistrationNumber(), d.GetId(), d.GetDocument().GetContent()), d.GetVerifyUrl())
		_, err = v.Verify(t.Context(), append(bytes.Clone(pf.GetContent()), ' '), pf.GetSignature(), envelope.Expect{Purpose: envelope.PurposeIssued})
		require.Equal(t, envelope.CodeBadSignature, envelope.CodeOf(err), "a changed PDF does not verify")
	}
	return res
}

func TestPavlodarPortalApproved(t *testing.T) {
	s := start(t)
	id := s.send(t, guardianship(s, t, "55", portal, nil))
	s.waitFor(t, id, "REGISTERED")
	c := s.caseOf(t, id)
	require.Regexp(t, `^55-\d{4}-000001$`, c.Number)
	require.Equal(t, "register", s.stepOf(t, c))
	// Waiting for the clerk: the service's deadline and the register step's warning and deadline armed.
	require.Equal(t, map[string]int{"service": 1, "step": 1, "warn": 1}, s.timerKinds(t, c, "armed"))

	require.NoError(t, s.act(t, c, "clerk", engine.Action{Kind: "complete"}))
	s.waitFor(t, id, "REGISTERED", "IN_PROGRESS")
	// The clerk cannot decide or sign: the examining step is the officer's.
	var ae *engine.ActionError
	require.ErrorAs(t, s.act(t, c, "clerk", engine.Action{Kind: "decide", Outcome: engine.Approve}), &ae)
	require.Equal(t, "wrong_role", ae.Code)
	require.NoError(t, s.act(t, c, "officer", engine.Action{Kind: "decide", Outcome: engine.Approve}))
	require.ErrorAs(t, s.act(t, c, "clerk", engine.Action{Kind: "sign"}), &ae)
	require.Equal(t, "wrong_role", ae.Code)
	require.NoError(t, s.act(t, c, "officer", engine.Action{Kind: "sign"}))
	s.waitFor(t, id, "REGISTERED", "IN_PROGRESS", "APPROVED", "RESULT_ISSUED")
	res := s.verifyResult(t, id, "750723300016")
	require.Equal(t, demo.BINPavlodarEducation, res.Holder.BIN)
	require.Contains(t, string(s.last(id).GetResult().GetContent()), c.Number)

	// A second decision on a closed case is refused, and nothing changes.
	require.ErrorAs(t, s.act(t, c, "officer", engine.Action{Kind: "decide", Outcome: engine.Refuse, RefusalCode: "documents_irregular", Comment: "x"}), &ae)
	require.Equal(t, "closed", ae.Code)
	h, err := s.eng.History(t.Context(), c.ID)
	require.NoError(t, err)
	actions := make([]string, len(h))
	for i, e := range h {
		actions[i] = e.Action
	}
	require.Equal(t, []string{"registered", "checked", "step_completed", "decided", "signed", "step_completed", "result_issued"}, actions)
	require.Equal(t, "920306400011", h[2].Actor)
}

func TestPavlodarTSONRefusedByOfficer(t *testing.T) {
	s := start(t)
	id := s.send(t, guardianship(s, t, "55", tson, map[string]string{"representative_iin": "841103300017", "poa_number": demo.PowerOfAttorneyValid}))
	s.waitFor(t, id, "REGISTERED")
	c := s.checked(t, s.caseOf(t, id))
	require.Len(t, c.Checks, 2, "the ЦОН channel checks ГБД ФЛ and ЕНИС")
	for _, ch := range c.Checks {
		require.True(t, ch.Found, ch.Summary)
	}
	require.NoError(t, s.act(t, c, "clerk", engine.Action{Kind: "complete"}))
	var ae *engine.ActionError
	require.ErrorAs(t, s.act(t, c, "officer", engine.Action{Kind: "decide", Outcome: engine.Refuse, RefusalCode: "documents_irregular"}), &ae)
	require.Equal(t, "invalid", ae.Code, "a refusal must be motivated")
	require.ErrorAs(t, s.act(t, c, "officer", engine.Action{Kind: "decide", Outcome: engine.Refuse, RefusalCode: "no_such_ground", Comment: "x"}), &ae)
	require.NoError(t, s.act(t, c, "officer", engine.Action{Kind: "decide", Outcome: engine.Refuse, RefusalCode: "documents_irregular",
		Comment: "Заключение комиссии: нет решения органа опеки о назначении опекуна"}))
	require.NoError(t, s.act(t, c, "officer", engine.Action{Kind: "sign"}))
	s.waitFor(t, id, "REGISTERED", "IN_PROGRESS", "REFUSED", "RESULT_ISSUED")
	n := s.last(id)
	require.Equal(t, "documents_irregular", n.GetRefusalCode())
	require.Equal(t, "отказ в запрашиваемой электронной государственной услуге в связи с имеющимися нарушениями в документах получателя", n.GetReason().GetRu())
	s.verifyResult(t, id, "750723300016")
}

func TestPavlodarTSONPowerOfAttorneyMissingIsRefusedAutomatically(t *testing.T) {
	s := start(t)
	for _, poa := range []string{demo.PowerOfAttorneyExpired, "2026-ДОВ-999999"} {
		id := s.send(t, guardianship(s, t, "55", tson, map[string]string{"representative_iin": "841103300017", "poa_number": poa}))
		s.waitFor(t, id, "REGISTERED", "REFUSED", "RESULT_ISSUED")
		n := s.last(id)
		require.Equal(t, "data_missing", n.GetRefusalCode())
		require.Contains(t, n.GetReason().GetRu(), "невозможности получения данных")
		s.verifyResult(t, id, "system")
	}
}

func TestIntakeRefusals(t *testing.T) {
	s := start(t)
	cases := []struct {
		name string
		app  func() application
		code string
	}{
		{"unknown service", func() application {
			a := guardianship(s, t, "55", portal, nil)
			a.service = "no-such-service"
			return a
		}, "unknown_service"},
		{"another region's passport", func() application {
			a := guardianship(s, t, "55", portal, nil)
			a.service = "minors-property-certificate"
			return a
		}, "unknown_service"},
		{"bad IIN in the form", func() application {
			return guardianship(s, t, "55", portal, map[string]string{"ward_iin": "123456789012"})
		}, "documents_irregular"},
		{"a channel the passport has not", func() application { return guardianship(s, t, "27", tson, nil) }, "documents_irregular"},
		{"signed by someone else", func() application {
			a := guardianship(s, t, "55", portal, nil)
			a.signer = s.citizen(t, "841103300017")
			return a
		}, "eds_not_confirmed"},
		{"a required document missing", func() application {
			return application{service: "disabled-children-home-education", region: "51", channel: portal, applicant: "880512400011",
				fields: map[string]string{"applicant_iin": "880512400011", "child_iin": demo.ChildIIN, "bank_account": "KZ123"},
				signer: s.citizen(t, "880512400011")}
		}, "documents_irregular"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := s.send(t, tc.app())
			s.waitFor(t, id, "REFUSED")
			n := s.last(id)
			require.Equal(t, tc.code, n.GetRefusalCode())
			require.NotEmpty(t, n.GetReason().GetRu())
			require.NotEmpty(t, n.GetComment())
			// The comment in both languages; comment keeps the Russian text for older readers. What the
			// regulation's grounds refuse (the form, the channel) reads in Kazakh in Kazakh.
			require.Equal(t, n.GetComment(), n.GetCommentText().GetRu())
			require.NotEmpty(t, n.GetCommentText().GetKk())
			if tc.code == "documents_irregular" {
				require.NotEqual(t, n.GetCommentText().GetRu(), n.GetCommentText().GetKk())
			}
			_, err := s.eng.ByApplication(t.Context(), id)
			require.ErrorIs(t, err, engine.ErrNotFound, "a refused application is not registered")
		})
	}
	rs, err := s.eng.Rejections(t.Context(), "55", 100)
	require.NoError(t, err)
	require.Len(t, rs, 4)
}

func TestRevokedSignatureIsRefused(t *testing.T) {
	s := start(t)
	a := guardianship(s, t, "55", portal, nil)
	s.ca.Revoke(a.signer.Cert, 1)
	id := s.send(t, a)
	s.waitFor(t, id, "REFUSED")
	n := s.last(id)
	require.Equal(t, "eds_not_confirmed", n.GetRefusalCode())
	require.Contains(t, n.GetComment(), "не подтверждением подлинности ЭЦП")
}

func TestPavlodarExtendedWarnedAndEscalated(t *testing.T) {
	s := start(t)
	id := s.send(t, guardianship(s, t, "55", portal, nil))
	s.waitFor(t, id, "REGISTERED")
	c := s.caseOf(t, id)
	due := *c.DueAt
	require.WithinDuration(t, c.RegisteredAt.In(calendar.Zone).AddDate(0, 0, 3), due, time.Second, "«3 дня» in all (the passport's term), not 3 + 3")

	// 75 % of the three days of registration: the warning.
	s.clock.Advance(55 * time.Hour)
	fired, err := timers.Claim(t.Context(), s.db, s.clock.Now(), 100, "replica-1", s.eng.Fire)
	require.NoError(t, err)
	require.Equal(t, 1, fired)
	c = s.get(t, c)
	require.True(t, c.Warned)
	require.False(t, c.Overdue)

	// The head extends the term; the citizen is told the new deadline.
	var ae *engine.ActionError
	require.ErrorAs(t, s.act(t, c, "clerk", engine.Action{Kind: "extend", Comment: "запрос в орган опеки"}), &ae)
	require.Equal(t, "wrong_role", ae.Code)
	require.NoError(t, s.act(t, c, "head", engine.Action{Kind: "extend", Comment: "запрос в орган опеки"}))
	s.waitFor(t, id, "REGISTERED", "EXTENDED")
	require.WithinDuration(t, due.AddDate(0, 0, 3), s.last(id).GetDeadline().AsTime(), time.Second)
	require.ErrorAs(t, s.act(t, c, "head", engine.Action{Kind: "extend", Comment: "ещё раз"}), &ae)
	require.Equal(t, "invalid", ae.Code, "once only")

	// The registration step's deadline and the service's (both moved by the extension) pass: escalated to
	// the head, once.
	s.clock.Advance(4 * 24 * time.Hour)
	_, err = timers.Claim(t.Context(), s.db, s.clock.Now(), 100, "replica-1", s.eng.Fire)
	require.NoError(t, err)
	c = s.get(t, c)
	require.True(t, c.Overdue)
	require.True(t, c.Escalated)
	fired, err = timers.Claim(t.Context(), s.db, s.clock.Now(), 100, "replica-1", s.eng.Fire)
	require.NoError(t, err)
	require.Zero(t, fired)
	h, err := s.eng.History(t.Context(), c.ID)
	require.NoError(t, err)
	count := map[string]int{}
	for _, e := range h {
		count[e.Action]++
		// The engine's own notes read in Kazakh on АРМ's Kazakh page.
		switch e.Action {
		case engine.ActWarned, engine.ActOverdue, engine.ActEscalated, engine.ActExtended:
			require.NotEmpty(t, e.NoteKK, "%s: %s", e.Action, e.Note)
			require.NotEqual(t, e.Note, e.NoteKK, e.Action)
		}
	}
	require.Equal(t, 2, count[engine.ActWarned], "one warning before the first deadline, one before the extended one")
	// The step is due with the case (the passport's term binds it): both deadlines passed, each recorded once.
	require.Equal(t, 2, count[engine.ActOverdue])
	require.Equal(t, 1, count[engine.ActEscalated])
	require.Equal(t, 1, count[engine.ActExtended])

	// The case can still be decided late; the timers then stop.
	require.NoError(t, s.act(t, c, "clerk", engine.Action{Kind: "complete"}))
	require.NoError(t, s.act(t, c, "officer", engine.Action{Kind: "decide", Outcome: engine.Approve}))
	require.NoError(t, s.act(t, c, "officer", engine.Action{Kind: "sign"}))
	s.waitFor(t, id, "REGISTERED", "EXTENDED", "IN_PROGRESS", "APPROVED", "RESULT_ISSUED")
	s.clock.Advance(30 * 24 * time.Hour)
	fired, err = timers.Claim(t.Context(), s.db, s.clock.Now(), 100, "replica-1", s.eng.Fire)
	require.NoError(t, err)
	require.Zero(t, fired, "a closed case's timers are cancelled")
}

func TestZhambylWorkingDays(t *testing.T) {
	s := start(t)
	id := s.send(t, guardianship(s, t, "59", tson, map[string]string{}))
	// Registration is automatic (1 minute, system): the case is at once with the officer.
	s.waitFor(t, id, "REGISTERED", "IN_PROGRESS")
	c := s.caseOf(t, id)
	require.Equal(t, "examine", s.stepOf(t, c))
	want := calendar.Default().AddWorkingDays(*c.StepStartedAt, 5)
	require.WithinDuration(t, want, *c.StepDueAt, time.Second)
	require.NoError(t, s.act(t, c, "officer", engine.Action{Kind: "decide", Outcome: engine.Approve}))
	require.NoError(t, s.act(t, c, "officer", engine.Action{Kind: "sign"}))
	s.waitFor(t, id, "REGISTERED", "IN_PROGRESS", "APPROVED", "RESULT_ISSUED")
	s.verifyResult(t, id, "750723300016")
}

func TestWestKazakhstanFullyAutomated(t *testing.T) {
	s := start(t)
	// Асель is Дана's guardian in ГБД ФЛ: approved with no person involved, signed by the node's key.
	id := s.send(t, guardianship(s, t, "27", portal, nil))
	s.waitFor(t, id, "REGISTERED", "IN_PROGRESS", "APPROVED", "RESULT_ISSUED")
	res := s.verifyResult(t, id, "system")
	require.Equal(t, "rshep-27", res.Holder.Name)
	// The five automatic steps ran in one transaction: timers were armed for the step the case rested
	// in after registration and for the whole service, not for each step it passed through.
	require.Equal(t, map[string]int{"service": 1, "step": 1, "warn": 1}, s.timerKinds(t, s.caseOf(t, id), ""))

	// Алихан is her son, not her ward: refused automatically on the ground the passport gives.
	id = s.send(t, guardianship(s, t, "27", portal, map[string]string{"ward_iin": demo.ChildIIN}))
	s.waitFor(t, id, "REGISTERED", "REFUSED", "RESULT_ISSUED")
	require.Equal(t, "grounds_absent", s.last(id).GetRefusalCode())
	s.verifyResult(t, id, "system")
	// The refusal says that ГБД ФЛ links the ward to no one, never whose IIN was typed: the name stays
	// in the case for АРМ's staff, who are entitled to it.
	refusal := s.last(id)
	require.Contains(t, refusal.GetComment(), "нет связи с заявителем")
	require.Contains(t, refusal.GetCommentText().GetKk(), "ЖТ МДҚ-да өтініш берушімен байланыс жоқ")
	require.Contains(t, string(refusal.GetResult().GetContent()), "Негіздеме: ЖТ МДҚ-да өтініш берушімен байланыс жоқ",
		"the refusal letter's Kazakh part gives the motivation in Kazakh")
	for what, text := range map[string]string{"comment": refusal.GetComment(), "comment_kk": refusal.GetCommentText().GetKk(), "reason": refusal.GetReason().GetRu() + refusal.GetReason().GetKk(),
		"result document": string(refusal.GetResult().GetContent())} {
		require.NotContains(t, text, "Алихан", "the %s names the third person", what)
	}
	var summaries []string
	for _, r := range s.checked(t, s.caseOf(t, id)).Checks {
		summaries = append(summaries, r.Summary)
	}
	require.Contains(t, strings.Join(summaries, "; "), "Алихан", "АРМ's case view keeps the name")

	// The automated service's terms are minutes: once issued, no timer of the case is left armed, so
	// nothing fires and nothing escalates however late it is.
	c := s.caseOf(t, id)
	var armed int
	require.NoError(t, s.db.QueryRow(t.Context(), `SELECT count(*) FROM timers WHERE case_id = $1 AND fired_at IS NULL AND NOT cancelled`,
		strconv.FormatInt(c.ID, 10)).Scan(&armed))
	require.Zero(t, armed)
}

// TestSignatureOverAnOldDraftIsRefused: the officer signs a draft, then the decision changes before the
// signature arrives; the signature covers the old text and is refused.
func TestSignatureOverAnOldDraftIsRefused(t *testing.T) {
	s := start(t)
	id := s.send(t, guardianship(s, t, "55", portal, nil))
	s.waitFor(t, id, "REGISTERED")
	c := s.caseOf(t, id)
	require.NoError(t, s.act(t, c, "clerk", engine.Action{Kind: "complete"}))
	require.NoError(t, s.act(t, c, "officer", engine.Action{Kind: "decide", Outcome: engine.Approve}))
	draft := s.get(t, c).ResultContent
	sig, err := s.staff["officer"].sign.Sign(draft)
	require.NoError(t, err)
	require.NoError(t, s.act(t, c, "officer", engine.Action{Kind: "decide", Outcome: engine.Refuse, RefusalCode: "documents_irregular",
		Comment: "передумал: нет решения органа опеки"}))
	var ae *engine.ActionError
	require.ErrorAs(t, s.eng.Act(t.Context(), "55", c.ID, s.staff["officer"].Employee, engine.Action{Kind: "sign", Signature: sig}), &ae)
	require.Equal(t, "signature", ae.Code, "verified against the current draft, the old signature does not match")
	require.NoError(t, s.act(t, c, "officer", engine.Action{Kind: "sign"}))
	s.waitFor(t, id, "REGISTERED", "IN_PROGRESS", "REFUSED", "RESULT_ISSUED")
}

func TestMinorsPropertyFiveSteps(t *testing.T) {
	s := start(t)
	a := application{service: "minors-property-certificate", region: "27", channel: portal, applicant: "880512400011",
		fields: map[string]string{"applicant_iin": "880512400011", "child_iin": demo.ChildIIN, "purpose": "property",
			"property_description": "квартира, г. Уральск"}, documents: scans("standard_documents"), signer: s.citizen(t, "880512400011")}
	id := s.send(t, a)
	s.waitFor(t, id, "REGISTERED")
	c := s.caseOf(t, id)
	// канцелярия → руководитель (назначает) → исполнитель (решает) → руководитель (подписывает) → канцелярия (выдаёт)
	require.NoError(t, s.act(t, c, "clerk", engine.Action{Kind: "complete", Step: "register"}))
	var ae *engine.ActionError
	require.ErrorAs(t, s.act(t, c, "officer", engine.Action{Kind: "complete", Step: "assign"}), &ae)
	require.Equal(t, "wrong_role", ae.Code)
	require.ErrorAs(t, s.act(t, c, "head", engine.Action{Kind: "complete", Step: "assign", Assignee: "920306400011"}), &ae)
	require.Equal(t, "invalid", ae.Code, "a clerk is not an officer")
	require.NoError(t, s.act(t, c, "head", engine.Action{Kind: "complete", Step: "assign", Assignee: "750723300016"}))
	require.ErrorAs(t, s.act(t, c, "officer", engine.Action{Kind: "decide", Step: "register", Outcome: engine.Approve}), &ae)
	require.Equal(t, "wrong_step", ae.Code, "a stale page")
	require.NoError(t, s.act(t, c, "officer", engine.Action{Kind: "decide", Step: "examine", Outcome: engine.Approve}))
	require.ErrorAs(t, s.act(t, c, "officer", engine.Action{Kind: "sign"}), &ae)
	require.Equal(t, "wrong_role", ae.Code, "the head signs in this passport")
	require.NoError(t, s.act(t, c, "head", engine.Action{Kind: "sign", Step: "sign"}))
	s.waitFor(t, id, "REGISTERED", "IN_PROGRESS", "APPROVED")
	require.NoError(t, s.act(t, c, "clerk", engine.Action{Kind: "complete", Step: "issue"}))
	s.waitFor(t, id, "REGISTERED", "IN_PROGRESS", "APPROVED", "RESULT_ISSUED")
	s.verifyResult(t, id, "680415300016")
}

func TestDisabledChildrenCommission(t *testing.T) {
	s := start(t)
	docs := []*applicationv1.SubmittedDocument{}
	for _, d := range []string{"birth_certificate", "residence", "ppk_conclusion", "disability_certificate", "bank_account_document"} {
		sum := sha256.Sum256([]byte(d))
		docs = append(docs, &applicationv1.SubmittedDocument{Id: d, Attachment: &envelopev1.Attachment{Name: d + ".pdf",
			MediaType: "application/pdf", Size: 1024, Sha256: sum[:], ObjectKey: "sha256-" + d}})
	}
	a := application{service: "disabled-children-home-education", region: "51", channel: portal, applicant: "880512400011",
		fields:    map[string]string{"applicant_iin": "880512400011", "child_iin": demo.ChildIIN, "bank_account": "KZ86125KZT5004100100"},
		documents: docs, signer: s.citizen(t, "880512400011")}
	id := s.send(t, a)
	// The employee's processing is the first step: «в работе» on registration, not when it ends.
	s.waitFor(t, id, "REGISTERED", "IN_PROGRESS")
	c := s.caseOf(t, id)
	require.Len(t, c.Documents, 5)
	require.NoError(t, s.act(t, c, "officer", engine.Action{Kind: "complete", Step: "examine"}))
	s.waitFor(t, id, "REGISTERED", "IN_PROGRESS")
	require.NoError(t, s.act(t, c, "head", engine.Action{Kind: "extend", Comment: "комиссия соберётся позже"}))
	require.NoError(t, s.act(t, c, "head", engine.Action{Kind: "decide", Step: "commission", Outcome: engine.Refuse,
		RefusalCode: "documents_irregular", Comment: "заключение ПМПК просрочено"}))
	require.NoError(t, s.act(t, c, "officer", engine.Action{Kind: "sign", Step: "sign"}))
	s.waitFor(t, id, "REGISTERED", "IN_PROGRESS", "EXTENDED", "REFUSED", "RESULT_ISSUED")
	s.verifyResult(t, id, "750723300016")
}

// TestRedeliveryRegistersOnce hands the same delivery to the engine again, and to a second engine
// replica at the same time: one case, one number, one REGISTERED.
func TestRedeliveryRegistersOnce(t *testing.T) {
	s := start(t)
	env, id, from := s.build(t, guardianship(s, t, "55", portal, nil))
	signed, err := from.Signer.SignEnvelope(env)
	require.NoError(t, err)
	d := &shepsdk.Delivery{Envelope: env, Signed: signed, Attempt: 1}
	other := s.engine(t, "replica-2")
	errs := make(chan error, 3)
	for _, e := range []*engine.Engine{s.eng, other, s.eng} {
		go func() { errs <- e.Handle(context.Background(), "55", d) }()
	}
	for range 3 {
		require.NoError(t, <-errs)
	}
	s.waitFor(t, id, "REGISTERED")
	var n int
	require.NoError(t, s.db.QueryRow(t.Context(), `SELECT count(*) FROM cases WHERE application_id = $1`, id).Scan(&n))
	require.Equal(t, 1, n)
	require.NoError(t, s.db.QueryRow(t.Context(), `SELECT count(*) FROM outbox o JOIN cases c ON c.region = o.region WHERE c.application_id = $1`, id).Scan(&n))
	require.Equal(t, 1, n, "one notification owed")
}

// TestTimersFireOnceWithTwoReplicas lets two engine replicas claim the same due timers at once.
func TestTimersFireOnceWithTwoReplicas(t *testing.T) {
	s := start(t)
	var ids []string
	for range 20 {
		ids = append(ids, s.send(t, guardianship(s, t, "55", portal, nil)))
	}
	for _, id := range ids {
		s.waitFor(t, id, "REGISTERED")
	}
	s.clock.Advance(4 * 24 * time.Hour) // past the warning and the deadline of the first step, and the three days in all
	other := s.engine(t, "replica-2")
	errs := make(chan error, 2)
	for i, e := range []*engine.Engine{s.eng, other} {
		go func() {
			_, err := timers.Claim(context.Background(), s.db, s.clock.Now(), 1000, []string{"replica-1", "replica-2"}[i], e.Fire)
			errs <- err
		}()
	}
	require.NoError(t, <-errs)
	require.NoError(t, <-errs)
	var warned, overdue, escalated int
	require.NoError(t, pgdb.InTx(t.Context(), s.db, func(tx pgx.Tx) error {
		return tx.QueryRow(t.Context(), `SELECT count(*) FILTER (WHERE action = 'deadline_warning'), count(*) FILTER (WHERE action = 'step_overdue'),
			count(*) FILTER (WHERE action = 'escalated') FROM case_events`).Scan(&warned, &overdue, &escalated)
	}))
	require.Equal(t, 20, warned)
	require.Equal(t, 40, overdue, "the step's deadline and the service's, each once per case")
	require.Equal(t, 20, escalated)
}

// timerKinds counts a case's timers by kind; armed counts only those neither fired nor cancelled.
func (s *suite) timerKinds(t testing.TB, c *engine.Case, only string) map[string]int {
	t.Helper()
	q := `SELECT kind, count(*) FROM timers WHERE case_id = $1`
	if only == "armed" {
		q += ` AND fired_at IS NULL AND NOT cancelled`
	}
	rows, err := s.db.Query(t.Context(), q+` GROUP BY kind`, strconv.FormatInt(c.ID, 10))
	require.NoError(t, err)
	out := map[string]int{}
	for rows.Next() {
		var k string
		var n int
		require.NoError(t, rows.Scan(&k, &n))
		out[k] = n
	}
	require.NoError(t, rows.Err())
	return out
}

func (s *suite) get(t testing.TB, c *engine.Case) *engine.Case {
	t.Helper()
	c, err := s.eng.Get(t.Context(), c.Region, c.ID)
	require.NoError(t, err)
	return c
}

func (s *suite) stepOf(t testing.TB, c *engine.Case) string {
	t.Helper()
	p, err := s.eng.Passport(t.Context(), c)
	require.NoError(t, err)
	return c.CurrentStep(p).ID
}

// checked waits until the case's registry checks are done.
func (s *suite) checked(t testing.TB, c *engine.Case) *engine.Case {
	t.Helper()
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		c = s.get(t, c)
		require.True(ct, c.ChecksDone)
	}, 20*time.Second, 20*time.Millisecond)
	return c
}
