package engine_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/egov-suite/egov/internal/calendar"

	"github.com/egov-suite/egov/internal/catalog"
	"github.com/egov-suite/egov/services/rshep/internal/engine"
)

// A plan is a path through a passport derived from its data alone: the moves a person (or the applicant)
// makes, each with the statuses the citizen is told as a result of it. The path test drives the engine
// along a plan and compares; the derivation itself is pinned by hand-written golden sequences
// (TestPlanGolden), so a wrong derivation cannot agree with a wrong engine unnoticed.

// move is one thing done to a case.
type move struct {
	// Kind is submit, complete, decide, sign or extend.
	Kind string
	// Step is the step the move is made at ("" for submit).
	Step string
	// Performer is the role (Step.Performer, or the extension's role) that makes it.
	Performer string
	// Emits are the statuses the citizen is told as a result, in order.
	Emits []string
}

// path is what a plan walks: approve, refuse on a ground, or extend and approve.
type path struct {
	Outcome string // engine.Approve or engine.Refuse
	Ground  string // the refusal ground of a refusal
	Extend  bool   // the term is extended at the first step a person takes
}

// walker follows a passport the way its data says a case moves.
type walker struct {
	p       *catalog.Passport
	step    int
	closed  bool
	decided string
	signed  bool
	emits   []string
}

func (w *walker) emit(s string) { w.emits = append(w.emits, s) }

// examination is the step whose start the citizen is told as «в работе» (IN_PROGRESS): the second when the
// first is a registration (the clerk's or the system's), else the first, an employee's own processing
// begun on registration (passport 51's МИО).
func examination(p *catalog.Passport) int {
	if r := p.Steps[0].Role; r == "clerk" || r == "system" {
		return 1
	}
	return 0
}

// signsHere reports whether the result of the decided outcome is signed at step s: a refusal at the step
// that signs refusals apart (steps[].signs_refusal) where the passport has one, else at the signing step.
func (w *walker) signsHere(s catalog.Step) bool {
	if w.decided == engine.Refuse {
		for _, o := range w.p.Steps {
			if o.SignsRefusal {
				return o.ID == s.ID
			}
		}
	}
	return s.Signs
}

// complete ends the current step: the next one starts (the examination's start is IN_PROGRESS), or the
// case closes with its result (RESULT_ISSUED). A refusal signed apart skips the steps up to and including
// the approval's signing step.
func (w *walker) complete() {
	next := w.step + 1
	if w.p.Steps[w.step].SignsRefusal && w.decided == engine.Refuse {
		for i, s := range w.p.Steps {
			if s.Signs {
				next = i + 1
			}
		}
	}
	if next < len(w.p.Steps) {
		w.step = next
		if w.step == examination(w.p) {
			w.emit("IN_PROGRESS")
		}
		return
	}
	w.closed = true
	w.emit("RESULT_ISSUED")
}

// sign is the result signed: the outcome is told.
func (w *walker) sign() {
	w.signed = true
	if w.decided == engine.Approve {
		w.emit("APPROVED")
	} else {
		w.emit("REFUSED")
	}
}

// settle runs the system's steps until a person's step or the end: an automatic decision approves.
func (w *walker) settle() {
	for !w.closed && w.p.Steps[w.step].Role == "system" {
		s := w.p.Steps[w.step]
		if s.Decides {
			w.decided = engine.Approve
		}
		if w.signsHere(s) {
			w.sign()
		}
		w.complete()
	}
}

// take drains what the last move emitted.
func (w *walker) take() []string {
	out := w.emits
	w.emits = nil
	return out
}

// registration is what the citizen is told when the case is registered: REGISTERED, and IN_PROGRESS
// when the examination begins with it.
func registration(p *catalog.Passport) []string {
	if examination(p) == 0 {
		return []string{"REGISTERED", "IN_PROGRESS"}
	}
	return []string{"REGISTERED"}
}

// plan derives the moves of a path and what each tells the citizen. A fully automated passport has no
// person's step: its plan is the submission alone, and its outcome is the system's (approve).
func plan(p *catalog.Passport, pt path) []move {
	w := &walker{p: p}
	for _, s := range registration(p) {
		w.emit(s)
	}
	w.settle()
	moves := []move{{Kind: "submit", Emits: w.take()}}
	extend := pt.Extend
	for !w.closed {
		s := w.p.Steps[w.step]
		if extend {
			extend = false
			w.emit("EXTENDED")
			moves = append(moves, move{Kind: "extend", Step: s.ID, Performer: p.Extension.By, Emits: w.take()})
		}
		switch {
		case s.Decides && w.decided == "":
			w.decided = pt.Outcome
			moves = append(moves, move{Kind: "decide", Step: s.ID, Performer: s.Performer()})
			if w.signsHere(s) {
				continue // the same person signs next, at the same step
			}
		case w.signsHere(s) && !w.signed:
			w.sign()
			moves = append(moves, move{Kind: "sign", Step: s.ID, Performer: s.Performer()})
		default:
			moves = append(moves, move{Kind: "complete", Step: s.ID, Performer: s.Performer()})
		}
		w.complete()
		w.settle()
		moves[len(moves)-1].Emits = w.take()
	}
	return moves
}

// statuses are every status of a plan, in order.
func statusesOf(moves []move) []string {
	var out []string
	for _, m := range moves {
		out = append(out, m.Emits...)
	}
	return out
}

// manual reports whether a person takes any step of the passport.
func manual(p *catalog.Passport) bool {
	return slices.ContainsFunc(p.Steps, func(s catalog.Step) bool { return s.Role != "system" })
}

// TestPlanGolden pins the derivation of plan against sequences written by hand from the regulations (and
// seen in the engine's own tests above), so the path test's expectations are not the engine's echo.
func TestPlanGolden(t *testing.T) {
	t.Parallel()
	cat, err := catalog.Builtin()
	require.NoError(t, err)
	tests := []struct {
		name, code, region string
		path               path
		want               []string
	}{
		{name: "ok/Pavlodar approved: the clerk registers, the officer decides and signs", code: "guardianship-certificate", region: "55",
			path: path{Outcome: engine.Approve}, want: []string{"submit:REGISTERED", "complete@register/clerk:IN_PROGRESS",
				"decide@examine/officer", "sign@examine/officer:APPROVED,RESULT_ISSUED"}},
		{name: "ok/Pavlodar extended at registration, before the examination begins", code: "guardianship-certificate", region: "55",
			path: path{Outcome: engine.Approve, Extend: true}, want: []string{"submit:REGISTERED", "extend@register/head:EXTENDED",
				"complete@register/clerk:IN_PROGRESS", "decide@examine/officer", "sign@examine/officer:APPROVED,RESULT_ISSUED"}},
		{name: "ok/Zhambyl registers automatically: extended once the examination runs", code: "guardianship-certificate", region: "59",
			path: path{Outcome: engine.Approve, Extend: true}, want: []string{"submit:REGISTERED,IN_PROGRESS", "extend@examine/head:EXTENDED",
				"decide@examine/officer", "sign@examine/officer:APPROVED,RESULT_ISSUED"}},
		{name: "ok/West Kazakhstan decides without a person", code: "guardianship-certificate", region: "27",
			path: path{Outcome: engine.Approve}, want: []string{"submit:REGISTERED,IN_PROGRESS,APPROVED,RESULT_ISSUED"}},
		{name: "ok/minors' property refused: the head signs, the clerk issues", code: "minors-property-certificate", region: "27",
			path: path{Outcome: engine.Refuse, Ground: "grounds_absent"}, want: []string{"submit:REGISTERED", "complete@register/clerk:IN_PROGRESS",
				"complete@assign/head", "decide@examine/officer", "sign@sign/head:REFUSED", "complete@issue/clerk:RESULT_ISSUED"}},
		{name: "ok/home education: in progress on registration, the commission decides, the officer signs", code: "disabled-children-home-education",
			region: "51", path: path{Outcome: engine.Refuse, Ground: "documents_irregular"}, want: []string{"submit:REGISTERED,IN_PROGRESS",
				"complete@examine/officer", "decide@commission/commission", "sign@sign/officer:REFUSED,RESULT_ISSUED"}},
		{name: "ok/home education extended at the officer's first step", code: "disabled-children-home-education", region: "51",
			path: path{Outcome: engine.Approve, Extend: true}, want: []string{"submit:REGISTERED,IN_PROGRESS", "extend@examine/head:EXTENDED",
				"complete@examine/officer", "decide@commission/commission", "sign@sign/officer:APPROVED,RESULT_ISSUED"}},
		{name: "ok/guardianship established: the district akimat signs the resolution", code: "guardianship-establishment", region: "27",
			path: path{Outcome: engine.Approve}, want: []string{"submit:REGISTERED", "complete@register/clerk:IN_PROGRESS", "complete@assign/head",
				"decide@examine/officer", "sign@adopt/district_akimat:head:APPROVED", "complete@issue/clerk:RESULT_ISSUED"}},
		{name: "ok/guardianship refused: the officer signs at the examination, the akimat is skipped", code: "guardianship-establishment", region: "27",
			path: path{Outcome: engine.Refuse, Ground: "grounds_absent"}, want: []string{"submit:REGISTERED", "complete@register/clerk:IN_PROGRESS",
				"complete@assign/head", "decide@examine/officer", "sign@examine/officer:REFUSED", "complete@issue/clerk:RESULT_ISSUED"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, ok := cat.Get(tt.code, tt.region)
			require.True(t, ok)
			var got []string
			for _, m := range plan(p, tt.path) {
				s := m.Kind
				if m.Step != "" {
					s += "@" + m.Step + "/" + m.Performer
				}
				if len(m.Emits) > 0 {
					s += ":" + strings.Join(m.Emits, ",")
				}
				got = append(got, s)
			}
			require.Equal(t, tt.want, got)
		})
	}
}

// TestTermsGolden pins the service deadlines the path test expects (registeredDue) against dates counted
// by hand on the 2026 calendar: a case registered on Friday 11 December 2026 at 10:00, with День
// Независимости on Wednesday the 16th.
func TestTermsGolden(t *testing.T) {
	t.Parallel()
	cat, err := catalog.Builtin()
	require.NoError(t, err)
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, calendar.Zone)
		require.NoError(t, err)
		return v
	}
	registered := at("2026-12-11 10:00")
	tests := []struct {
		name, code, region, want string
	}{
		{"ok/Pavlodar: the passport's «3 дня» in all, calendar days", "guardianship-certificate", "55", "2026-12-14 10:00"},
		{"ok/Zhambyl: the passport's 5 working days in all, past the holiday", "guardianship-certificate", "59", "2026-12-21 10:00"},
		{"ok/minors' property: 10 minutes, 2 working days, 10 minutes", "minors-property-certificate", "27", "2026-12-15 10:20"},
		{"ok/home education: 7 + 2 + 1 working days", "disabled-children-home-education", "51", "2026-12-28 10:00"},
		{"ok/West Kazakhstan automated: 30 minutes", "guardianship-certificate", "27", "2026-12-11 10:30"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, ok := cat.Get(tt.code, tt.region)
			require.True(t, ok)
			require.True(t, at(tt.want).Equal(registeredDue(calendar.Default(), p, registered)),
				"got %s", registeredDue(calendar.Default(), p, registered).In(calendar.Zone).Format("2006-01-02 15:04"))
		})
	}
}

// TestStepTermsGolden pins the step deadlines the path test expects (stepDue) against dates counted by hand:
// a passport's term in all ends every step in it; a step begun when the case is already late keeps its own.
func TestStepTermsGolden(t *testing.T) {
	t.Parallel()
	cat, err := catalog.Builtin()
	require.NoError(t, err)
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, calendar.Zone)
		require.NoError(t, err)
		return v
	}
	tests := []struct {
		name, code, region, step, start, caseDue, want string
	}{
		{"ok/Zhambyl's examination ends with the case's 5 working days, not a minute after", "guardianship-certificate", "59", "examine",
			"2026-12-11 10:01", "2026-12-21 10:00", "2026-12-21 10:00"},
		{"ok/Pavlodar's examination within the 3 days in all", "guardianship-certificate", "55", "examine",
			"2026-12-12 10:00", "2026-12-14 10:00", "2026-12-14 10:00"},
		{"ok/a step begun after the case's deadline keeps its own 3 days", "guardianship-certificate", "55", "examine",
			"2026-12-15 10:00", "2026-12-14 10:00", "2026-12-18 10:00"},
		{"ok/home education's officer: 7 working days, well within the case", "disabled-children-home-education", "51", "examine",
			"2026-12-11 10:00", "2026-12-28 10:00", "2026-12-23 10:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, ok := cat.Get(tt.code, tt.region)
			require.True(t, ok)
			i := slices.IndexFunc(p.Steps, func(s catalog.Step) bool { return s.ID == tt.step })
			require.GreaterOrEqual(t, i, 0)
			got := stepDue(calendar.Default(), p.Steps[i], at(tt.start), at(tt.caseDue))
			require.True(t, at(tt.want).Equal(got), "got %s", got.In(calendar.Zone).Format("2006-01-02 15:04"))
		})
	}
}
