package rules_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/internal/calendar"
	"github.com/egov-suite/egov/internal/catalog"
	"github.com/egov-suite/egov/services/rshep/internal/rules"
)

// passport is a small regulation: the clerk registers, the head assigns, the officer decides and signs,
// the clerk issues.
func passport() *catalog.Passport {
	p := &catalog.Passport{Code: "test-service", Version: 1, Region: "99"}
	p.Steps = []catalog.Step{
		{ID: "receive", Role: "clerk", Duration: catalog.Duration{Value: 15, Unit: "minutes"}},
		{ID: "assign", Role: "head", Duration: catalog.Duration{Value: 1, Unit: "working_days"}},
		{ID: "examine", Role: "officer", Decides: true, Signs: true, Duration: catalog.Duration{Value: 3, Unit: "working_days"}},
		{ID: "issue", Role: "clerk", Duration: catalog.Duration{Value: 2, Unit: "hours"}},
	}
	p.Results = []catalog.Result{{Kind: "certificate", Signer: "officer"}, {Kind: "registration_ticket", Signer: "officer"}, {Kind: "refusal", Signer: "officer"}}
	p.Refusals = []catalog.Refusal{{Code: "grounds_absent"}}
	p.Extension = catalog.Extension{By: "head", Max: catalog.Duration{Value: 2, Unit: "working_days"}, Times: 1}
	return p
}

var (
	clerk   = rules.Actor{IIN: "1", Roles: []string{"clerk"}}
	head    = rules.Actor{IIN: "2", Roles: []string{"head"}}
	officer = rules.Actor{IIN: "3", Roles: []string{"officer"}}
	other   = rules.Actor{IIN: "4", Roles: []string{"officer"}}
)

func TestCheck(t *testing.T) {
	t.Parallel()
	p := passport()
	for _, tc := range []struct {
		name string
		s    rules.State
		who  rules.Actor
		kind string
		seen string
		code string // "" when allowed
	}{
		{name: "ok/clerk completes registration", s: rules.State{Step: 0}, who: clerk, kind: rules.Complete},
		{name: "ok/head assigns", s: rules.State{Step: 1}, who: head, kind: rules.Assign},
		{name: "ok/officer decides", s: rules.State{Step: 2}, who: officer, kind: rules.Decide},
		{name: "ok/officer redecides before signing", s: rules.State{Step: 2, Outcome: rules.Approve}, who: officer, kind: rules.Decide},
		{name: "ok/officer signs", s: rules.State{Step: 2, Outcome: rules.Refuse}, who: officer, kind: rules.Sign},
		{name: "ok/assigned officer decides", s: rules.State{Step: 2, Assignee: "3"}, who: officer, kind: rules.Decide},
		{name: "ok/head extends", s: rules.State{Step: 2}, who: head, kind: rules.Extend},
		{name: "ok/seen step matches", s: rules.State{Step: 2}, who: officer, kind: rules.Decide, seen: "examine"},
		{name: "fail/closed", s: rules.State{Step: 2, Closed: true}, who: officer, kind: rules.Decide, code: "closed"},
		{name: "fail/past the steps", s: rules.State{Step: 4}, who: clerk, kind: rules.Complete, code: "closed"},
		{name: "fail/moved on", s: rules.State{Step: 3}, who: clerk, kind: rules.Complete, seen: "examine", code: "wrong_step"},
		{name: "fail/clerk decides", s: rules.State{Step: 2}, who: clerk, kind: rules.Decide, code: "wrong_role"},
		{name: "fail/other officer of an assigned case", s: rules.State{Step: 2, Assignee: "3"}, who: other, kind: rules.Decide, code: "wrong_role"},
		{name: "fail/decide at a step that does not", s: rules.State{Step: 0}, who: clerk, kind: rules.Decide, code: "wrong_step"},
		{name: "fail/second decision after signing", s: rules.State{Step: 2, Outcome: rules.Approve, Signed: true}, who: officer, kind: rules.Decide, code: "closed"},
		{name: "fail/sign before deciding", s: rules.State{Step: 2}, who: officer, kind: rules.Sign, code: "wrong_step"},
		{name: "fail/sign twice", s: rules.State{Step: 2, Outcome: rules.Approve, Signed: true}, who: officer, kind: rules.Sign, code: "wrong_step"},
		{name: "fail/sign at a step that does not", s: rules.State{Step: 1, Outcome: rules.Approve}, who: head, kind: rules.Sign, code: "wrong_step"},
		{name: "fail/complete an undecided deciding step", s: rules.State{Step: 2}, who: officer, kind: rules.Complete, code: "wrong_step"},
		{name: "fail/complete an unsigned signing step", s: rules.State{Step: 2, Outcome: rules.Approve}, who: officer, kind: rules.Complete, code: "wrong_step"},
		{name: "fail/assign at the clerk's step", s: rules.State{Step: 0}, who: clerk, kind: rules.Assign, code: "wrong_step"},
		{name: "fail/assign twice", s: rules.State{Step: 1, Assignee: "3"}, who: head, kind: rules.Assign, code: "invalid"},
		{name: "fail/officer extends", s: rules.State{Step: 2}, who: officer, kind: rules.Extend, code: "wrong_role"},
		{name: "fail/extend twice", s: rules.State{Step: 2, Extensions: 1}, who: head, kind: rules.Extend, code: "invalid"},
		{name: "fail/unknown action", s: rules.State{Step: 2}, who: officer, kind: "approve", code: "invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := rules.Check(p, tc.s, tc.who, tc.kind, tc.seen)
			if tc.code == "" {
				require.NoError(t, err)
				assert.True(t, rules.Permitted(p, tc.s, tc.who)[tc.kind] || tc.seen != "", "Permitted agrees with Check")
				return
			}
			var r *rules.Refusal
			require.True(t, errors.As(err, &r), "a *Refusal, got %v", err)
			assert.Equal(t, tc.code, r.Code, r.Message)
			if tc.seen == "" {
				assert.False(t, rules.Permitted(p, tc.s, tc.who)[tc.kind], "Permitted agrees with Check")
			}
		})
	}
}

func TestSignerRole(t *testing.T) {
	t.Parallel()
	p := passport()
	p.Steps[2].Role = "head" // the head decides and signs, but the passport says the officer signs the result
	p.Results[0].Signer, p.Results[1].Signer = "officer", "officer"
	err := rules.Check(p, rules.State{Step: 2, Outcome: rules.Approve}, head, rules.Sign, "")
	var r *rules.Refusal
	require.ErrorAs(t, err, &r)
	assert.Equal(t, "wrong_role", r.Code)
	require.NoError(t, rules.Check(p, rules.State{Step: 2, Outcome: rules.Approve}, rules.Actor{IIN: "5", Roles: []string{"head", "officer"}}, rules.Sign, ""))
}

func TestCheckDecision(t *testing.T) {
	t.Parallel()
	p := passport()
	for _, tc := range []struct {
		name string
		d    rules.Decision
		ok   bool
	}{
		{name: "ok/approve drops a stray ground", d: rules.Decision{Outcome: rules.Approve, RefusalCode: "grounds_absent", Comment: " fine "}, ok: true},
		{name: "ok/motivated refusal", d: rules.Decision{Outcome: rules.Refuse, RefusalCode: "grounds_absent", Comment: "no record"}, ok: true},
		{name: "fail/unknown ground", d: rules.Decision{Outcome: rules.Refuse, RefusalCode: "whim", Comment: "no"}},
		{name: "fail/unmotivated refusal", d: rules.Decision{Outcome: rules.Refuse, RefusalCode: "grounds_absent", Comment: "  "}},
		{name: "fail/unknown outcome", d: rules.Decision{Outcome: "maybe"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d, err := rules.CheckDecision(p, tc.d)
			if !tc.ok {
				var r *rules.Refusal
				require.ErrorAs(t, err, &r)
				assert.Equal(t, "invalid", r.Code)
				return
			}
			require.NoError(t, err)
			if d.Outcome == rules.Approve {
				assert.Empty(t, d.RefusalCode)
				assert.Equal(t, "fine", d.Comment)
			}
		})
	}
}

func TestResults(t *testing.T) {
	t.Parallel()
	p := passport()
	assert.Len(t, rules.Results(p, rules.Approve), 2, "an approval issues every positive document")
	refusal := rules.Results(p, rules.Refuse)
	require.Len(t, refusal, 1)
	assert.Equal(t, "refusal", refusal[0].Kind)
	assert.Equal(t, "officer", rules.Signer(p, rules.Refuse))
}

func TestDeadlines(t *testing.T) {
	t.Parallel()
	cal := calendar.Default()
	p := passport()
	// Friday 2 October 2026, 10:00 in Kazakhstan.
	start := time.Date(2026, 10, 2, 10, 0, 0, 0, calendar.Zone)
	assert.Equal(t, start.Add(15*time.Minute), rules.Add(cal, start, catalog.Duration{Value: 15, Unit: "minutes"}))
	assert.Equal(t, start.Add(2*time.Hour), rules.Add(cal, start, catalog.Duration{Value: 2, Unit: "hours"}))
	assert.Equal(t, start.AddDate(0, 0, 3), rules.Add(cal, start, catalog.Duration{Value: 3, Unit: "calendar_days"}))
	wd := rules.Add(cal, start, catalog.Duration{Value: 1, Unit: "working_days"})
	assert.Equal(t, cal.AddWorkingDays(start, 1), wd)
	assert.True(t, wd.Sub(start) > 24*time.Hour, "one working day from a Friday runs over the weekend: %s", wd)

	due := rules.ServiceDue(cal, p, start)
	want := start.Add(15 * time.Minute)
	want = cal.AddWorkingDays(want, 1)
	want = cal.AddWorkingDays(want, 3)
	want = want.Add(2 * time.Hour)
	assert.Equal(t, want, due)

	assert.Equal(t, start.Add(75*time.Minute), rules.WarnAt(p, start, start.Add(100*time.Minute)))
	p.Deadlines.WarnAtPercent = 50
	assert.Equal(t, start.Add(50*time.Minute), rules.WarnAt(p, start, start.Add(100*time.Minute)))

	newDue, newStep := rules.Extended(cal, p, due, start)
	assert.Equal(t, cal.AddWorkingDays(due, 2), newDue)
	assert.Equal(t, cal.AddWorkingDays(start, 2), newStep)
}

// TestPassportTerm: a passport's own term (Pavlodar's «3 дня» in all) is the case's deadline instead of
// the sum of the steps, and no step's deadline runs past it while it is ahead.
func TestPassportTerm(t *testing.T) {
	t.Parallel()
	cal := calendar.Default()
	// Friday 2 October 2026, 10:00 in Kazakhstan.
	start := time.Date(2026, 10, 2, 10, 0, 0, 0, calendar.Zone)
	threeDays := catalog.Duration{Value: 3, Unit: "calendar_days"}
	examine := catalog.Step{ID: "examine", Role: "officer", Duration: threeDays}
	caseDue := start.AddDate(0, 0, 3)
	for _, tc := range []struct {
		name string
		term *catalog.Duration
		want time.Time
	}{
		{name: "ok/no term: the steps one after the other", want: cal.AddWorkingDays(cal.AddWorkingDays(start.Add(15*time.Minute), 1), 3).Add(2 * time.Hour)},
		{name: "ok/the passport's term", term: &threeDays, want: caseDue},
		{name: "ok/a term in working days", term: &catalog.Duration{Value: 5, Unit: "working_days"}, want: cal.AddWorkingDays(start, 5)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := passport()
			p.Term = tc.term
			assert.Equal(t, tc.want, rules.ServiceDue(cal, p, start))
		})
	}
	for _, tc := range []struct {
		name    string
		at      time.Time
		caseDue *time.Time
		want    time.Time
	}{
		{name: "ok/no case deadline: the step's own term", at: start.Add(time.Hour), want: start.Add(time.Hour).AddDate(0, 0, 3)},
		{name: "ok/within the case's term: the step's own term", at: start, caseDue: &caseDue, want: caseDue},
		{name: "ok/the step would run past the case: capped", at: start.Add(24 * time.Hour), caseDue: &caseDue, want: caseDue},
		{name: "ok/the case is already late: the step keeps its term", at: caseDue.Add(time.Hour), caseDue: &caseDue, want: caseDue.Add(time.Hour).AddDate(0, 0, 3)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, rules.StepDue(cal, examine, tc.at, tc.caseDue))
		})
	}
}

// akimatPassport is the shape of S3: the district akimat adopts (and signs) the resolution in its own
// step.
func akimatPassport() *catalog.Passport {
	p := passport()
	p.Bodies = []catalog.Body{{ID: "district_akimat", BIN: "050540000006"}}
	p.Steps[2].Signs = false
	p.Steps = append(p.Steps[:3], catalog.Step{ID: "adopt", Role: "head", Body: "district_akimat", Signs: true,
		Duration: catalog.Duration{Value: 6, Unit: "working_days"}}, p.Steps[3])
	for i := range p.Results {
		p.Results[i].Signer = "district_akimat"
	}
	return p
}

// TestRefusalSignedApart: the S3 shape as the catalogue decides it — the officer signs a refusal at the
// examining step and the case skips the akimat; an approval is signed at the akimat's step only.
func TestRefusalSignedApart(t *testing.T) {
	t.Parallel()
	p := akimatPassport()
	p.Steps[2].SignsRefusal = true
	p.Results[2].Signer = "officer"
	akim := rules.Actor{IIN: "7", Roles: []string{"district_akimat:head"}}
	for _, tc := range []struct {
		name string
		s    rules.State
		who  rules.Actor
		kind string
		code string
	}{
		{name: "ok/the officer signs a refusal at the examining step", s: rules.State{Step: 2, Outcome: rules.Refuse}, who: officer, kind: rules.Sign},
		{name: "ok/the officer redecides before signing the refusal", s: rules.State{Step: 2, Outcome: rules.Refuse}, who: officer, kind: rules.Decide},
		{name: "ok/an approval passes the examining step unsigned", s: rules.State{Step: 2, Outcome: rules.Approve}, who: officer, kind: rules.Complete},
		{name: "ok/the akim signs an approval", s: rules.State{Step: 3, Outcome: rules.Approve}, who: akim, kind: rules.Sign},
		{name: "fail/an approval is not signed at the examining step", s: rules.State{Step: 2, Outcome: rules.Approve}, who: officer, kind: rules.Sign, code: "wrong_step"},
		{name: "fail/a refusal unsigned cannot pass on", s: rules.State{Step: 2, Outcome: rules.Refuse}, who: officer, kind: rules.Complete, code: "wrong_step"},
		{name: "fail/the head does not sign the officer's refusal", s: rules.State{Step: 2, Outcome: rules.Refuse}, who: head, kind: rules.Sign, code: "wrong_role"},
		{name: "fail/the akim does not sign a refusal", s: rules.State{Step: 3, Outcome: rules.Refuse}, who: akim, kind: rules.Sign, code: "wrong_step"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := rules.Check(p, tc.s, tc.who, tc.kind, "")
			if tc.code == "" {
				require.NoError(t, err)
				return
			}
			var r *rules.Refusal
			require.ErrorAs(t, err, &r)
			assert.Equal(t, tc.code, r.Code)
		})
	}
	assert.Equal(t, "examine", p.SigningStepOf(true).ID)
	assert.Equal(t, "adopt", p.SigningStepOf(false).ID)
}

func TestAnotherBody(t *testing.T) {
	t.Parallel()
	p := akimatPassport()
	akim := rules.Actor{IIN: "7", Roles: []string{"district_akimat:head"}}
	atAdopt := rules.State{Step: 3, Outcome: rules.Approve, Assignee: "3"}
	for _, tc := range []struct {
		name string
		who  rules.Actor
		kind string
		code string
	}{
		{name: "ok/the akimat's head signs", who: akim, kind: rules.Sign},
		{name: "fail/the provider's head", who: head, kind: rules.Sign, code: "wrong_role"},
		{name: "fail/the assigned officer", who: officer, kind: rules.Sign, code: "wrong_role"},
		{name: "fail/the akimat assigns", who: akim, kind: rules.Assign, code: "wrong_step"},
		{name: "fail/the akimat extends the provider's term", who: akim, kind: rules.Extend, code: "wrong_role"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := rules.Check(p, atAdopt, tc.who, tc.kind, "")
			if tc.code == "" {
				require.NoError(t, err)
				return
			}
			var r *rules.Refusal
			require.ErrorAs(t, err, &r)
			assert.Equal(t, tc.code, r.Code, r.Message)
		})
	}
	assert.True(t, rules.Holds(p, atAdopt, akim), "in the akimat's inbox: the officer's assignment does not bind another body")
	assert.False(t, rules.Holds(p, rules.State{Step: 2}, akim), "not before the akimat's step")
	assert.True(t, rules.OtherBodyOnly(akim.Roles))
	assert.False(t, rules.OtherBodyOnly(head.Roles))
	assert.False(t, rules.OtherBodyOnly(nil))
	assert.False(t, rules.OtherBodyOnly([]string{"head", "district_akimat:head"}))

	bin, whose := rules.SignerBIN(p, &p.Steps[3])
	assert.Equal(t, "050540000006", bin)
	assert.Equal(t, "the district_akimat", whose)
	p.Provider.BIN = "041240000016"
	bin, whose = rules.SignerBIN(p, &p.Steps[2])
	assert.Equal(t, "041240000016", bin)
	assert.Equal(t, "the provider", whose)
}
