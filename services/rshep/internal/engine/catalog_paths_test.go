package engine_test

import (
	"crypto/sha256"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/calendar"
	"github.com/egov-suite/egov/internal/catalog"
	"github.com/egov-suite/egov/internal/demo"
	"github.com/egov-suite/egov/internal/iin"
	"github.com/egov-suite/egov/internal/pki"
	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
	envelopev1 "github.com/egov-suite/egov/proto/egov/envelope/v1"
	"github.com/egov-suite/egov/services/rshep/internal/arm"
	"github.com/egov-suite/egov/services/rshep/internal/engine"
	"github.com/egov-suite/egov/services/rshep/internal/rules"
	"github.com/egov-suite/egov/services/rshep/internal/timers"
)

// outside are the grounds a channel gives before an application reaches РШЭП: where no person of the
// provider can choose them (a fully automated passport), the engine never gives them. Any other ground no
// path of the test reaches fails the test: a new passport's ground is walked, or named here with the reason.
var outside = map[string]string{
	"auth_refused": "the portal refuses the sign-in («отказ в авторизации»); the application is never sent",
}

// TestCatalogPaths walks every path of every passport of the built-in catalogue on every channel:
// approval, refusal on each ground, the intake refusals, a failed registry check, extension, and the
// missed deadline with its escalation; it asserts the statuses the citizen is told (derived from the
// passport by plan), the deadlines on the working-day calendar, and every signature on every result.
// A passport added to the catalogue is walked without an edit here.
func TestCatalogPaths(t *testing.T) {
	t.Parallel()
	cat, err := catalog.Builtin()
	require.NoError(t, err)
	s := start(t)
	w := newWalks(t, s, cat)

	t.Run("paths", func(t *testing.T) {
		for _, p := range cat.All() {
			if !engine.Runs(p) {
				continue // another provider system's (ИС Е-Астана's), tested in its service
			}
			reached := map[string]bool{}
			var mu sync.Mutex
			reach := func(code string) { mu.Lock(); reached[code] = true; mu.Unlock() }
			t.Run(p.Code+"."+p.Region, func(t *testing.T) {
				for _, ch := range p.Channels {
					t.Run(ch, func(t *testing.T) {
						w.channel(t, p, ch, reach)
					})
				}
			})
			t.Run(p.Code+"."+p.Region+"/every ground", func(t *testing.T) {
				for _, r := range p.Refusals {
					if _, ok := outside[r.Code]; ok && !manual(p) {
						continue
					}
					require.True(t, reached[r.Code], "no path of the test gives the ground %q of %s.%s: teach the test to drive it", r.Code, p.Code, p.Region)
				}
			})
		}
	})
	t.Run("deadlines", func(t *testing.T) { w.deadlines(t) })
}

// walks is the path test's state: the suite, the catalogue, and keys of the staff by organisation.
type walks struct {
	s    *suite
	cat  *catalog.Catalog
	cal  *calendar.Calendar
	body engine.Employee // a member of every other body's staff, with every role they take

	mu   sync.Mutex
	keys map[string]*envelope.Signer // by IIN and BIN
}

func newWalks(t *testing.T, s *suite, cat *catalog.Catalog) *walks {
	w := &walks{s: s, cat: cat, cal: calendar.Default(), keys: map[string]*envelope.Signer{}}
	w.body = engine.Employee{IIN: demo.SpouseIIN, Name: "Ахметов Сотрудник"}
	for _, p := range cat.All() {
		for _, st := range p.Steps {
			if st.Body != "" && !slices.Contains(w.body.Roles, st.Performer()) {
				w.body.Roles = append(w.body.Roles, st.Performer())
			}
		}
	}
	if len(w.body.Roles) > 0 {
		for _, r := range regions {
			require.NoError(t, arm.PutEmployee(t.Context(), s.db, r, w.body))
		}
	}
	return w
}

// who is the employee that takes performer's steps.
func (w *walks) who(t testing.TB, performer string) engine.Employee {
	t.Helper()
	if strings.Contains(performer, ":") {
		return w.body
	}
	for _, k := range []string{"clerk", "officer", "head"} {
		if e := w.s.staff[k].Employee; e.Has(performer) {
			return e
		}
	}
	require.Failf(t, "no staff", "nobody of the suite's staff holds the role %q", performer)
	return engine.Employee{}
}

// key is iin's signing key of the organisation bin (the provider's or a body's; the suite's when "").
func (w *walks) key(t testing.TB, iinV, bin string) *envelope.Signer {
	t.Helper()
	if bin == "" {
		bin = demo.BINPavlodarEducation
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if k, ok := w.keys[iinV+"/"+bin]; ok {
		return k
	}
	k := w.s.ca.Issue(t, pki.Request{Profile: pki.Employee, Purpose: pki.Sign, Subject: pki.Subject{IIN: iinV, Surname: "Сотрудник",
		GivenName: "Сотрудник", Organization: "услугодатель " + bin, BIN: bin}}, pki.ECDSAP256)
	w.keys[iinV+"/"+bin] = k
	return k
}

var channelOf = map[string]applicationv1.Channel{"portal": portal, "tson": tson, "office": applicationv1.Channel_CHANNEL_OFFICE}

// form fills every field of the channel with what ГБД ФЛ and ЕНИС confirm: the applicant, her ward or
// her child as the checks' relations want, the valid power of attorney.
func form(p *catalog.Passport, ch string) map[string]string {
	subject := map[string]string{}
	for _, c := range p.Checks {
		switch c.Relation {
		case "guardian", "parent_or_guardian":
			subject[c.Field] = demo.WardIIN
		case "parent":
			subject[c.Field] = demo.ChildIIN
		}
		if c.Registry == "enis" {
			subject[c.Field] = demo.PowerOfAttorneyValid
		}
	}
	out := map[string]string{}
	for _, f := range p.FieldsFor(ch) {
		v, ok := subject[f.ID]
		switch {
		case ok:
		case f.ID == "applicant_iin":
			v = applicantIIN
		case f.ID == engine.FieldEmail:
			v = "asel.akhmetova@example.kz" // an address, given with the consent (the first choice, "yes")
		case f.Type == "iin":
			v = "841103300017" // Иванов, a representative ГБД ФЛ knows
		case f.Type == "choice":
			v = f.Choices[0]
		case f.Type == "date":
			v = "2026-01-15"
		case f.Type == "bool":
			v = "true"
		default:
			v = "текст заявления"
		}
		out[f.ID] = v
	}
	return out
}

const applicantIIN = "880512400011"

// documents attaches every document of the channel (scanned, and at a ЦОН or the office received on paper).
func documents(p *catalog.Passport, ch string) []*applicationv1.SubmittedDocument {
	var out []*applicationv1.SubmittedDocument
	for _, d := range p.DocumentsFor(ch) {
		sum := sha256.Sum256([]byte(d.ID))
		out = append(out, &applicationv1.SubmittedDocument{Id: d.ID, PaperReceived: ch != "portal", Attachment: &envelopev1.Attachment{
			Name: d.ID + ".pdf", MediaType: "application/pdf", Size: 1024, Sha256: sum[:], ObjectKey: "sha256-" + d.ID}})
	}
	return out
}

// submitted is an application on its way: its id, and the case once the office entered it.
type submitted struct {
	id       string
	office   *engine.Case
	refusal  *engine.OfficeRefusal
	channel  string
	passport *catalog.Passport
}

// submit sends the application (portal, ЦОН) or has the clerk enter it (office); signer overrides who signs.
func (w *walks) submit(t *testing.T, p *catalog.Passport, ch string, fields map[string]string, signer *envelope.Signer) submitted {
	t.Helper()
	clerk := w.who(t, "clerk")
	applicant := applicantIIN
	if v, ok := fields["applicant_iin"]; ok && iin.Valid(v) {
		applicant = v // a check of the applicant made to fail: ГБД ФЛ does not know her
	}
	if signer == nil {
		switch ch {
		case "portal":
			signer = w.s.citizen(t, applicant)
		case "tson":
			signer = w.s.operator(t)
		default:
			signer = w.key(t, clerk.IIN, p.Provider.BIN)
		}
	}
	a := application{service: p.Code, region: p.Region, channel: channelOf[ch], applicant: applicant, fields: fields,
		documents: documents(p, ch), signer: signer}
	if ch != "office" {
		return submitted{id: w.s.send(t, a), channel: ch, passport: p}
	}
	id := uuid.NewString()
	app := &applicationv1.Application{ApplicationId: id, ServiceCode: a.service, Region: a.region, Channel: a.channel,
		ApplicantIin: a.applicant, Fields: a.fields, Documents: a.documents, SubmittedAt: timestamppb.Now(), Language: "ru"}
	content, err := proto.MarshalOptions{Deterministic: true}.Marshal(app)
	require.NoError(t, err)
	doc, err := signer.SignDocument(engine.MediaTypeApplication, content)
	require.NoError(t, err)
	c, err := w.s.eng.Office(t.Context(), p.Region, clerk, doc)
	var or *engine.OfficeRefusal
	if err != nil {
		require.ErrorAs(t, err, &or)
		return submitted{id: id, refusal: or, channel: ch, passport: p}
	}
	return submitted{id: id, office: c, channel: ch, passport: p}
}

// told waits until the citizen has been told exactly want; at the office, where no channel is told,
// the case's status is the last of want.
func (w *walks) told(t *testing.T, a submitted, want []string) {
	t.Helper()
	if a.channel != "office" {
		w.s.waitFor(t, a.id, want...)
		return
	}
	if len(want) == 0 {
		return
	}
	c := w.s.get(t, a.office)
	require.Equal(t, want[len(want)-1], c.Status)
}

// caseOf is the case of a registered application.
func (w *walks) caseOf(t *testing.T, a submitted) *engine.Case {
	t.Helper()
	if a.office != nil {
		return w.s.get(t, a.office)
	}
	return w.s.caseOf(t, a.id)
}

// channel walks every path of a passport on one channel.
func (w *walks) channel(t *testing.T, p *catalog.Passport, ch string, reach func(string)) {
	type walk struct {
		name string
		run  func(t *testing.T)
	}
	var todo []walk
	if manual(p) {
		todo = append(todo, walk{"ok/approved", func(t *testing.T) { w.walk(t, p, ch, path{Outcome: engine.Approve}) }},
			walk{"ok/extended and approved", func(t *testing.T) { w.walk(t, p, ch, path{Outcome: engine.Approve, Extend: true}) }})
		for _, r := range p.Refusals {
			todo = append(todo, walk{"ok/refused on " + r.Code, func(t *testing.T) {
				w.walk(t, p, ch, path{Outcome: engine.Refuse, Ground: r.Code})
				reach(r.Code)
			}})
		}
	} else {
		todo = append(todo, walk{"ok/approved by the system", func(t *testing.T) { w.walk(t, p, ch, path{Outcome: engine.Approve}) }})
	}
	for _, c := range p.Checks {
		if !slices.Contains(c.Channels, ch) {
			continue
		}
		todo = append(todo, walk{"ok/check " + c.ID + " fails", func(t *testing.T) {
			w.failedCheck(t, p, ch, c)
			reach(c.Refusal)
		}})
	}
	todo = append(todo, walk{"fail/the form is irregular", func(t *testing.T) {
		fields := form(p, ch)
		fields["applicant_iin"] = "123456789012"
		ground := p.IntakeGround(ch) // a ground may refuse at intake on its channels (refusals[].intake)
		w.intake(t, p, ch, fields, nil, ground)
		reach(ground)
	}}, walk{"fail/signed by someone else", func(t *testing.T) {
		code := "eds_not_confirmed"
		if !slices.ContainsFunc(p.Refusals, func(r catalog.Refusal) bool { return r.Code == code }) {
			code = catalog.IntakeRefusal
		}
		signer := w.s.citizen(t, "841103300017")
		if ch == "portal" {
			signer = w.s.citizen(t, demo.SpouseIIN) // not the applicant
		}
		w.intake(t, p, ch, form(p, ch), signer, code)
		reach(code)
	}})
	for _, wk := range todo {
		t.Run(wk.name, func(t *testing.T) {
			t.Parallel()
			wk.run(t)
		})
	}
}

// walk drives one path of plan: each move by the staff its step names, the citizen's statuses after
// each, the deadlines at each person's step, and every signature of the result.
func (w *walks) walk(t *testing.T, p *catalog.Passport, ch string, pt path) {
	moves := plan(p, pt)
	a := w.submit(t, p, ch, form(p, ch), nil)
	require.Nil(t, a.refusal, "the office refused the application")
	w.told(t, a, moves[0].Emits)
	c := w.caseOf(t, a)
	require.WithinDuration(t, registeredDue(w.cal, p, c.RegisteredAt), *c.DueAt, time.Second,
		"the service's term: every step's term in turn, from registration")
	w.drive(t, a, c, moves, pt)
}

// drive makes the moves after the submission of a registered case, checking what the citizen is told after
// each, the step's term before each, and at the end the signatures of the result.
func (w *walks) drive(t *testing.T, a submitted, c *engine.Case, moves []move, pt path) {
	p := a.passport
	told := slices.Clone(moves[0].Emits)
	due := *c.DueAt
	signer, extendedAt := "", ""
	at, entered := "", due // the step the last move was made at, and the case's deadline when it began
	for _, m := range moves[1:] {
		c = w.s.get(t, c)
		require.Equal(t, m.Step, w.s.stepOf(t, c), "the plan and the case are at different steps")
		if m.Step != at {
			at, entered = m.Step, due
		}
		st := p.Steps[c.Step]
		want := stepDue(w.cal, st, *c.StepStartedAt, entered)
		if st.ID == extendedAt {
			want = p.Extension.Max.From(w.cal, want)
		}
		require.WithinDuration(t, want, *c.StepDueAt, time.Second, "step %s's term", st.ID)
		who := w.who(t, m.Performer)
		act := engine.Action{Kind: m.Kind, Step: m.Step}
		switch m.Kind {
		case "decide":
			act.Outcome = pt.Outcome
			if pt.Outcome == engine.Refuse {
				act.RefusalCode, act.Comment = pt.Ground, "основание "+pt.Ground+": мотивировка отказа"
			}
		case "extend":
			act.Comment = "запрос сведений в другой орган"
		case "sign":
			bin, _ := rules.SignerBIN(p, &st)
			for _, d := range c.Docs() {
				sig, err := w.key(t, who.IIN, bin).Sign(d.Content)
				require.NoError(t, err)
				act.Signatures = append(act.Signatures, sig)
			}
			signer = who.IIN
		}
		require.NoError(t, w.s.eng.Act(t.Context(), p.Region, c.ID, who, act), "%s at %s by %s", m.Kind, m.Step, m.Performer)
		told = append(told, m.Emits...)
		w.told(t, a, told)
		if m.Kind == "extend" {
			after := w.s.get(t, c)
			require.WithinDuration(t, p.Extension.Max.From(w.cal, due), *after.DueAt, time.Second, "the extended term")
			require.WithinDuration(t, p.Extension.Max.From(w.cal, *c.StepDueAt), *after.StepDueAt, time.Second, "the extended step")
			due, extendedAt = *after.DueAt, m.Step
		}
	}
	require.Equal(t, statusesOf(moves), told)
	c = w.s.get(t, c)
	require.True(t, c.Closed())
	if pt.Outcome == engine.Refuse {
		require.Equal(t, pt.Ground, c.RefusalCode)
	}
	w.verify(t, a, c, signer)
	w.noTimerLeft(t, c)
	if a.channel == "office" {
		// The office hands the printed result over in person: the case's last status.
		require.NoError(t, w.s.eng.HandOver(t.Context(), p.Region, c.ID, w.who(t, "clerk"), true))
		require.Equal(t, "HANDED_OVER", w.s.get(t, c).Status)
	}
}

// registeredDue is the service's deadline of a case registered at t: the passport's term where the
// regulation gives one, else each step's term from the end of the one before.
func registeredDue(cal *calendar.Calendar, p *catalog.Passport, t time.Time) time.Time {
	if p.Term != nil {
		return p.Term.From(cal, t)
	}
	for _, s := range p.Steps {
		t = s.Duration.From(cal, t)
	}
	return t
}

// stepDue is the deadline of step s begun at start in a case due at caseDue: its own term, ending no later
// than the case while the case is not yet late (the passport's term binds every step in it).
func stepDue(cal *calendar.Calendar, s catalog.Step, start, caseDue time.Time) time.Time {
	due := s.Duration.From(cal, start)
	if caseDue.After(start) && due.After(caseDue) {
		return caseDue
	}
	return due
}

// verify checks every result document: signed by signer (a person's IIN), or by the node's system key
// when signer is ""; on a channel, what the citizen received is what the case holds.
func (w *walks) verify(t *testing.T, a submitted, c *engine.Case, signer string) {
	t.Helper()
	v := w.s.ca.Verifier(t, w.s.ca.Checker(time.Minute))
	want := rules.Results(a.passport, c.Outcome)
	var docs []*envelopev1.SignedDocument
	if a.channel == "office" {
		for _, d := range c.Docs() {
			docs = append(docs, &envelopev1.SignedDocument{MediaType: d.MediaType, Content: d.Content, Signature: d.Signature})
		}
	} else {
		n := w.s.last(a.id)
		for _, r := range n.GetResults() {
			docs = append(docs, r.GetDocument())
		}
		if c.Outcome == engine.Refuse {
			require.Equal(t, c.RefusalCode, n.GetRefusalCode())
			for _, r := range a.passport.Refusals {
				if r.Code == c.RefusalCode {
					require.Equal(t, r.Text.RU, n.GetReason().GetRu(), "the regulation's refusal text")
					require.Equal(t, r.Text.KK, n.GetReason().GetKk())
				}
			}
		}
	}
	require.Len(t, docs, len(want), "one signed document per result of the outcome")
	for _, d := range docs {
		if signer == "" {
			res, err := v.Verify(t.Context(), d.GetContent(), d.GetSignature(), envelope.Expect{Purpose: envelope.PurposeEnvelope})
			require.NoError(t, err)
			require.Equal(t, engine.ParticipantID(c.Region), res.Holder.Name)
			continue
		}
		res, err := v.VerifyDocument(t.Context(), d, signer)
		require.NoError(t, err)
		require.Equal(t, signer, res.Holder.IIN)
	}
}

// noTimerLeft: a closed case has no timer armed, so nothing of it fires or escalates however late.
func (w *walks) noTimerLeft(t *testing.T, c *engine.Case) {
	t.Helper()
	var armed int
	require.NoError(t, w.s.db.QueryRow(t.Context(), `SELECT count(*) FROM timers WHERE case_id = $1 AND fired_at IS NULL AND NOT cancelled`,
		strconv.FormatInt(c.ID, 10)).Scan(&armed))
	require.Zero(t, armed)
}

// failedCheck makes a registry check fail (the person unknown to ГБД ФЛ, the power of attorney unknown to
// ЕНИС): the case is refused on the check's ground at once, signed by the node's key.
func (w *walks) failedCheck(t *testing.T, p *catalog.Passport, ch string, c catalog.Check) {
	fields := form(p, ch)
	fields[c.Field] = demo.MissingIIN
	if c.Registry == "enis" {
		fields[c.Field] = "2026-ДОВ-999999"
	}
	a := w.submit(t, p, ch, fields, nil)
	require.Nil(t, a.refusal)
	want := append(registration(p), "REFUSED", "RESULT_ISSUED")
	w.told(t, a, want)
	cs := w.caseOf(t, a)
	require.Equal(t, c.Refusal, cs.RefusalCode)
	w.verify(t, a, cs, "")
}

// intake sends an application the engine must refuse at intake with code: no case is opened.
func (w *walks) intake(t *testing.T, p *catalog.Passport, ch string, fields map[string]string, signer *envelope.Signer, code string) {
	a := w.submit(t, p, ch, fields, signer)
	if ch == "office" {
		require.NotNil(t, a.refusal, "the office accepted it")
		require.Equal(t, code, a.refusal.Code)
		return
	}
	w.s.waitFor(t, a.id, "REFUSED")
	n := w.s.last(a.id)
	require.Equal(t, code, n.GetRefusalCode())
	require.NotEmpty(t, n.GetComment(), "the refusal says what was wrong")
	for _, r := range p.Refusals {
		if r.Code == code {
			require.Equal(t, r.Text.RU, n.GetReason().GetRu())
		}
	}
	_, err := w.s.eng.ByApplication(t.Context(), a.id)
	require.ErrorIs(t, err, engine.ErrNotFound, "a refused application is not registered")
}

// deadlines lets every passport's first person's step pass its deadline on every channel: warned once,
// overdue, escalated once to the head, and the citizen told nothing new; the case is then decided late.
// It runs alone: it moves the engine's clock.
func (w *walks) deadlines(t *testing.T) {
	type late struct {
		p     *catalog.Passport
		a     submitted
		c     *engine.Case
		moves []move
	}
	var cases []late
	latest := w.s.clock.Now()
	for _, p := range w.cat.All() {
		if !manual(p) || !engine.Runs(p) {
			continue // no person's step: the walk of the approval checks no timer is left once issued
		}
		for _, ch := range p.Channels {
			moves := plan(p, path{Outcome: engine.Approve})
			a := w.submit(t, p, ch, form(p, ch), nil)
			require.Nil(t, a.refusal)
			w.told(t, a, moves[0].Emits)
			c := w.caseOf(t, a)
			require.Equal(t, map[string]int{"service": 1, "step": 1, "warn": 1}, w.s.timerKinds(t, c, "armed"), "%s.%s %s", p.Code, p.Region, ch)
			if c.StepDueAt.After(latest) {
				latest = *c.StepDueAt
			}
			cases = append(cases, late{p: p, a: a, c: c, moves: moves})
		}
	}
	require.NotEmpty(t, cases)
	w.s.clock.Advance(latest.Sub(w.s.clock.Now()) + time.Minute)
	_, err := timers.Claim(t.Context(), w.s.db, w.s.clock.Now(), 10000, "replica-1", w.s.eng.Fire)
	require.NoError(t, err)
	for _, l := range cases {
		t.Run(l.p.Code+"."+l.p.Region+"/"+l.a.channel, func(t *testing.T) {
			c := w.s.get(t, l.c)
			require.True(t, c.Warned)
			require.True(t, c.Overdue)
			require.True(t, c.Escalated)
			h, err := w.s.eng.History(t.Context(), c.ID)
			require.NoError(t, err)
			count := map[string]int{}
			for _, e := range h {
				count[e.Action]++
			}
			overdue := 1
			if !c.DueAt.After(w.s.clock.Now()) {
				overdue++ // the service's own deadline passed as well
			}
			require.Equal(t, 1, count[engine.ActWarned])
			require.Equal(t, overdue, count[engine.ActOverdue])
			require.Equal(t, 1, count[engine.ActEscalated], "escalated once to the head")
			w.told(t, l.a, l.moves[0].Emits)
		})
	}
	fired, err := timers.Claim(t.Context(), w.s.db, w.s.clock.Now(), 10000, "replica-1", w.s.eng.Fire)
	require.NoError(t, err)
	require.Zero(t, fired, "a timer fires once")
	for _, l := range cases {
		t.Run(l.p.Code+"."+l.p.Region+"/"+l.a.channel+"/decided late", func(t *testing.T) {
			w.drive(t, l.a, w.s.get(t, l.c), l.moves, path{Outcome: engine.Approve})
		})
	}
}
