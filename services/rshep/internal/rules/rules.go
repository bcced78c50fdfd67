// Package rules is the regulation of a case as pure functions: what each role may do at each step, what
// a decision requires, and which deadline applies. It does no I/O: the engine loads a case, asks the
// rules, and saves; the АРМ asks the same rules which buttons to show, so the two cannot disagree.
package rules

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/egov-suite/egov/internal/calendar"
	"github.com/egov-suite/egov/internal/catalog"
)

// Actions an employee takes on a case.
const (
	Complete = "complete" // pass the step on
	Assign   = "assign"   // the head hands the case to an officer (with complete)
	Decide   = "decide"
	Sign     = "sign"
	Extend   = "extend"
)

// Kinds are every action, in the order the АРМ lists them.
var Kinds = []string{Decide, Sign, Complete, Assign, Extend}

// Outcomes of a decision.
const (
	Approve = "approved"
	Refuse  = "refused"
)

// Refusal is an action the rules refuse; Code tells the АРМ which: wrong_role, wrong_step, closed,
// invalid or signature. Message is for the log; RU and KK are what the employee reads.
type Refusal struct {
	Code    string
	Message string
	RU, KK  string
}

func (r *Refusal) Error() string { return r.Message }

// Text is the refusal in the employee's language.
func (r *Refusal) Text(lang string) string {
	if lang == "kk" && r.KK != "" {
		return r.KK
	}
	if r.RU != "" {
		return r.RU
	}
	return r.Message
}

// NewRefusal makes a refusal: en for the log, ru and kk for the employee, each a format over the leading
// args it has verbs for (the employee's words may leave out an identifier the log keeps).
func NewRefusal(code, en, ru, kk string, args ...any) error {
	return &Refusal{Code: code, Message: sprintf(en, args), RU: sprintf(ru, args), KK: sprintf(kk, args)}
}

func refuse(code, en, ru, kk string, args ...any) error { return NewRefusal(code, en, ru, kk, args...) }

// sprintf formats with as many of args as format has verbs.
func sprintf(format string, args []any) string {
	n := strings.Count(format, "%") - 2*strings.Count(format, "%%")
	return fmt.Sprintf(format, args[:min(n, len(args))]...)
}

// Actor is who acts: an employee's IIN and roles (system for the engine itself).
type Actor struct {
	IIN   string
	Roles []string
}

// Has reports whether the actor holds role.
func (a Actor) Has(role string) bool { return slices.Contains(a.Roles, role) }

// State is what the rules read of a case.
type State struct {
	Closed     bool
	Step       int    // index into the passport's steps
	Assignee   string // the officer the head assigned, or ""
	Outcome    string // Approve, Refuse or "" (not decided)
	Signed     bool   // the result carries its signature
	Extensions int    // how often the term was extended
}

// Current is the step the case is at, or nil when it has passed them all.
func Current(p *catalog.Passport, s State) *catalog.Step {
	if s.Step < 0 || s.Step >= len(p.Steps) {
		return nil
	}
	return &p.Steps[s.Step]
}

// Holds reports whether who may act at the case's current step at all: they hold the step's role and,
// on an officer's step of an assigned case, are the assignee.
func Holds(p *catalog.Passport, s State, who Actor) bool {
	step := Current(p, s)
	if step == nil || s.Closed || !who.Has(step.Performer()) {
		return false
	}
	return !assigned(step, s) || s.Assignee == who.IIN
}

// OtherBodyOnly reports whether roles are all of other bodies ("district_akimat:head"): staff who see only
// the cases at their body's steps, not the provider's inbox.
func OtherBodyOnly(roles []string) bool {
	if len(roles) == 0 {
		return false
	}
	for _, r := range roles {
		if !strings.Contains(r, ":") {
			return false
		}
	}
	return true
}

// assigned reports whether the step is the provider's officer's and the head assigned the case to one:
// then only that officer acts.
func assigned(step *catalog.Step, s State) bool {
	return s.Assignee != "" && step.Body == "" && step.Role == "officer"
}

// Check tells whether who may take the action kind on the case; seenStep is the step id the employee
// saw ("" skips the check). The error is a *Refusal.
func Check(p *catalog.Passport, s State, who Actor, kind, seenStep string) error {
	if s.Closed {
		return refuse("closed", "the case is closed: a second decision is not possible", "заявка закрыта: второе решение невозможно", "өтінім жабық: екінші шешім мүмкін емес")
	}
	step := Current(p, s)
	if step == nil {
		return refuse("closed", "the case has passed every step", "заявка прошла все шаги", "өтінім барлық қадамнан өтті")
	}
	if seenStep != "" && seenStep != step.ID {
		return refuse("wrong_step", "the case has moved on to step %q; reload it", "заявка уже перешла к следующему шагу; обновите страницу", "өтінім келесі қадамға өтті; бетті жаңартыңыз", step.ID)
	}
	if kind == Extend {
		x := p.Extension
		if !who.Has(x.By) {
			return refuse("wrong_role", "the term is extended by the role %q", "срок продлевает другая роль", "мерзімді басқа рөл ұзартады", x.By)
		}
		if s.Extensions >= x.Times {
			return refuse("invalid", "the term was already extended %d time(s), the most the passport allows", "срок уже продлевался столько раз, сколько позволяет паспорт услуги", "мерзім қызмет паспорты рұқсат ететін рет ұзартылды", s.Extensions)
		}
		return nil
	}
	if !slices.Contains(Kinds, kind) {
		return refuse("invalid", "unknown action %q", "неизвестное действие", "белгісіз әрекет", kind)
	}
	if !who.Has(step.Performer()) {
		return refuse("wrong_role", "step %q is done by the role %q; you have %s", "этот шаг выполняет другая роль, а не ваша", "бұл қадамды сіздің емес, басқа рөл орындайды", step.ID, step.Performer(), strings.Join(who.Roles, ", "))
	}
	if assigned(step, s) && who.IIN != s.Assignee {
		return refuse("wrong_role", "the case is assigned to another officer", "заявка назначена другому исполнителю", "өтінім басқа орындаушыға тағайындалған")
	}
	switch kind {
	case Decide:
		if !step.Decides {
			return refuse("wrong_step", "step %q does not decide", "на этом шаге решение не принимается", "бұл қадамда шешім қабылданбайды", step.ID)
		}
		if s.Outcome != "" && s.Signed {
			return refuse("closed", "the case is decided and signed: a second decision is not possible", "решение принято и подписано: второе решение невозможно", "шешім қабылданып, қол қойылды: екінші шешім мүмкін емес")
		}
		if s.Outcome != "" && !step.Signs && !step.SignsRefusal {
			return refuse("closed", "the case is decided: a second decision is not possible", "решение уже принято: второе решение невозможно", "шешім қабылданған: екінші шешім мүмкін емес")
		}
	case Sign:
		if !step.Signs && !step.SignsRefusal {
			return refuse("wrong_step", "step %q does not sign", "на этом шаге результат не подписывается", "бұл қадамда нәтижеге қол қойылмайды", step.ID)
		}
		if s.Outcome == "" {
			return refuse("wrong_step", "nothing to sign: the case has no decision yet", "подписывать нечего: решения по заявке ещё нет", "қол қоятын ештеңе жоқ: өтінім бойынша шешім әлі жоқ")
		}
		if !p.SignsAt(step, s.Outcome == Refuse) {
			return refuse("wrong_step", "step %q does not sign this outcome: the result of %q is signed at step %q",
				"на этом шаге такое решение не подписывается: его подписывают на другом шаге",
				"бұл қадамда мұндай шешімге қол қойылмайды: оған басқа қадамда қол қойылады",
				step.ID, s.Outcome, p.SigningStepOf(s.Outcome == Refuse).ID)
		}
		if s.Signed {
			return refuse("wrong_step", "the result is already signed", "результат уже подписан", "нәтижеге қол қойылған")
		}
		if signer := Signer(p, s.Outcome); signer != "" && signer != "system" && signer != step.Body && !who.Has(signer) {
			return refuse("wrong_role", "the result is signed by the role %q (results[].signer)", "результат подписывает другая роль", "нәтижеге басқа рөл қол қояды", signer)
		}
	case Complete, Assign:
		if step.Decides && s.Outcome == "" {
			return refuse("wrong_step", "step %q decides: approve or refuse", "на этом шаге нужно решение: одобрить или отказать", "бұл қадамда шешім керек: мақұлдау немесе бас тарту", step.ID)
		}
		if p.SignsAt(step, s.Outcome == Refuse) && !s.Signed {
			return refuse("wrong_step", "step %q signs the result", "на этом шаге нужно подписать результат", "бұл қадамда нәтижеге қол қою керек", step.ID)
		}
		if kind == Assign {
			if step.Role != "head" || step.Body != "" {
				return refuse("wrong_step", "a case is assigned to an officer at the head's step, not at %q", "исполнителя назначает руководитель на своём шаге", "орындаушыны басшы өз қадамында тағайындайды", step.ID)
			}
			if s.Assignee != "" {
				return refuse("invalid", "the case is already assigned", "исполнитель уже назначен", "орындаушы тағайындалған")
			}
		}
	}
	return nil
}

// Permitted is every action who may take on the case now: what the АРМ offers.
func Permitted(p *catalog.Passport, s State, who Actor) map[string]bool {
	out := make(map[string]bool, len(Kinds))
	for _, k := range Kinds {
		out[k] = Check(p, s, who, k, "") == nil
	}
	return out
}

// Decision is what an employee (or the engine) decides.
type Decision struct {
	Outcome     string
	RefusalCode string
	Comment     string
}

// CheckDecision tells whether a decision is complete: a known outcome, and for a refusal a ground of the
// passport and its motivation (мотивированный отказ). It returns the decision normalised.
func CheckDecision(p *catalog.Passport, d Decision) (Decision, error) {
	d.Comment = strings.TrimSpace(d.Comment)
	switch d.Outcome {
	case Approve:
		d.RefusalCode = ""
	case Refuse:
		if !slices.ContainsFunc(p.Refusals, func(r catalog.Refusal) bool { return r.Code == d.RefusalCode }) {
			return d, refuse("invalid", "%q is not a refusal ground of the passport", "выберите основание отказа из перечня паспорта услуги", "қызмет паспортының тізбесінен бас тарту негізін таңдаңыз", d.RefusalCode)
		}
		if d.Comment == "" {
			return d, refuse("invalid", "a refusal must be motivated: write the reasons (мотивированный отказ)", "отказ должен быть мотивирован: напишите причины в комментарии", "бас тарту дәлелді болуы керек: себептерін түсініктемеге жазыңыз")
		}
	default:
		return d, refuse("invalid", "the outcome is approved or refused, not %q", "выберите решение: одобрить или отказать", "шешімді таңдаңыз: мақұлдау немесе бас тарту", d.Outcome)
	}
	return d, nil
}

// Results are the passport's result documents an outcome issues: every positive result on approval, the
// refusal on refusal.
func Results(p *catalog.Passport, outcome string) []catalog.Result {
	var out []catalog.Result
	for _, r := range p.Results {
		if (outcome == Refuse) == (r.Kind == "refusal") {
			out = append(out, r)
		}
	}
	return out
}

// Signer is the role that signs the result of an outcome (results[].signer of its first document), or
// "" when the passport declares none.
func Signer(p *catalog.Passport, outcome string) string {
	if rs := Results(p, outcome); len(rs) > 0 {
		return rs[0].Signer
	}
	return ""
}

// SignerBIN is the BIN the signatures at step must carry, and whose it is: the other body's when the
// step is another body's, else the provider's; "" when the passport gives none.
func SignerBIN(p *catalog.Passport, step *catalog.Step) (bin, whose string) {
	if step != nil && step.Body != "" {
		if b, ok := p.BodyOf(step.Body); ok {
			return b.BIN, "the " + b.ID
		}
	}
	return p.Provider.BIN, "the provider"
}

// Add returns the end of a term of d from t on the working-day calendar.
func Add(cal *calendar.Calendar, t time.Time, d catalog.Duration) time.Time {
	return d.From(cal, t)
}

// ServiceDue is the whole term of a case registered at t: the passport's term where the regulation gives
// one, else every step's term, one after the other.
func ServiceDue(cal *calendar.Calendar, p *catalog.Passport, t time.Time) time.Time {
	if p.Term != nil {
		return Add(cal, t, *p.Term)
	}
	for _, s := range p.Steps {
		t = Add(cal, t, s.Duration)
	}
	return t
}

// StepDue is the deadline of step s started at t in a case due at caseDue: the step's own term, but not
// past the case's deadline while that is still ahead (a regulation's total term binds every step in it;
// a step begun after the case is already late keeps its own term).
func StepDue(cal *calendar.Calendar, s catalog.Step, t time.Time, caseDue *time.Time) time.Time {
	due := Add(cal, t, s.Duration)
	if caseDue != nil && caseDue.After(t) && due.After(*caseDue) {
		return *caseDue
	}
	return due
}

// WarnAt is when the warning of a step's term (from start to due) fires: at deadlines.warn_at_percent of
// it, 75 % by default.
func WarnAt(p *catalog.Passport, start, due time.Time) time.Time {
	pct := p.Deadlines.WarnAtPercent
	if pct == 0 {
		pct = 75
	}
	return start.Add(due.Sub(start) * time.Duration(pct) / 100)
}

// Extended is the new service and step deadlines after an extension by the passport's extension.max.
func Extended(cal *calendar.Calendar, p *catalog.Passport, due, stepDue time.Time) (time.Time, time.Time) {
	return Add(cal, due, p.Extension.Max), Add(cal, stepDue, p.Extension.Max)
}
