package engine

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/egov-suite/egov/envelope"
	"github.com/egov-suite/egov/internal/catalog"
	"github.com/egov-suite/egov/internal/pgdb"
	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
	envelopev1 "github.com/egov-suite/egov/proto/egov/envelope/v1"
	"github.com/egov-suite/egov/services/rshep/internal/rules"
	"github.com/egov-suite/egov/services/rshep/internal/store"
)

// Employee is a member of a provider's staff acting in the АРМ.
type Employee struct {
	IIN   string
	Name  string
	Roles []string
}

// Has reports whether the employee holds role.
func (e Employee) Has(role string) bool { return slices.Contains(e.Roles, role) }

// system is the engine acting on its own (automatic steps, timers).
var system = Employee{IIN: "system", Name: "система", Roles: []string{"system"}}

// ActionError is an action the engine refuses; Code tells the АРМ which. The rules package decides it.
type ActionError = rules.Refusal

func refuseAction(code, en, ru, kk string, args ...any) error {
	return rules.NewRefusal(code, en, ru, kk, args...)
}

// actor is an employee as the rules see them.
func (e Employee) actor() rules.Actor { return rules.Actor{IIN: e.IIN, Roles: e.Roles} }

// Action is what an employee does to a case.
type Action struct {
	// Kind is complete (pass the step on), decide, sign or extend.
	Kind string
	// Step is the step id the employee saw; an action on a step the case has left is refused.
	Step string
	// Decide: Outcome is approved or refused; RefusalCode a ground of the passport; Comment the motivation.
	Outcome     string
	RefusalCode string
	Comment     string
	// Complete: Assignee is the officer (IIN) the head assigns the case to.
	Assignee string
	// Sign: the detached CMS signature over the result's content; Signatures, one per result document
	// in the case's order, when the decision issues several (Signature alone signs a single one).
	Signature  []byte
	Signatures [][]byte
	// Extend: Comment is the reason.

	// commentKK is Comment in Kazakh, for the engine's own decisions (an automatic refusal); an
	// employee's motivation has none.
	commentKK string
}

// Act applies an employee's action to a case of region, in one transaction.
func (e *Engine) Act(ctx context.Context, region string, id int64, who Employee, a Action) error {
	now := e.o.Now()
	var sigs []*envelope.Result
	var signedDocs []ResultDoc
	if a.Kind == rules.Sign {
		c, err := e.Get(ctx, region, id)
		if err != nil {
			return err
		}
		signedDocs = c.Docs()
		if len(signedDocs) == 0 {
			return refuseAction("wrong_step", "nothing to sign: the case has no decision yet", "подписывать нечего: решения по заявке ещё нет", "қол қоятын ештеңе жоқ: өтінім бойынша шешім әлі жоқ")
		}
		if len(a.Signatures) == 0 && len(a.Signature) > 0 {
			a.Signatures = [][]byte{a.Signature}
		}
		if len(a.Signatures) != len(signedDocs) {
			return refuseAction("signature", "the decision issues %d document(s); sign each of them (%d signature(s) came)", "решение выпускает %d документ(а); подпишите каждый (подписей пришло: %d)", "шешім %d құжат шығарады; әрқайсысына қол қойыңыз (келген қолтаңбалар: %d)", len(signedDocs), len(a.Signatures))
		}
		// Verified outside the transaction: the certificate status may take an OCSP round trip. The
		// transaction then checks the drafts are still the ones signed.
		for i, d := range signedDocs {
			sig, err := e.Verifier(region).Verify(ctx, d.Content, a.Signatures[i], envelope.Expect{Purpose: envelope.PurposeDocument, IIN: who.IIN})
			if err != nil {
				ru, kk, _ := envelope.Refusal(err)
				return refuseAction("signature", "the signature is not accepted: %s", "подпись не принята: %s", "қолтаңба қабылданбады: %s", ru, kk)
			}
			sigs = append(sigs, sig)
		}
	}
	err := pgdb.InTxPipelined(ctx, e.o.DB, func(tx pgx.Tx) error {
		c, err := store.Lock(ctx, tx, id)
		if err != nil {
			return err
		}
		if c.Region != region {
			return ErrNotFound
		}
		p, err := e.Passport(ctx, c)
		if err != nil {
			return err
		}
		kind := a.Kind
		switch {
		case kind == rules.Complete && a.Assignee != "":
			kind = rules.Assign
		case kind == rules.Assign && a.Assignee == "":
			return refuseAction("invalid", "name the officer (ответственный исполнитель) to assign the case to", "выберите ответственного исполнителя", "жауапты орындаушыны таңдаңыз")
		case kind == rules.Assign:
			a.Kind = rules.Complete
		}
		if err := rules.Check(p, c.State(), who.actor(), kind, a.Step); err != nil {
			return err
		}
		step := c.CurrentStep(p)
		if a.Kind == rules.Extend {
			return e.extend(ctx, tx, c, p, who, a.Comment, now)
		}
		switch a.Kind {
		case rules.Decide:
			if err := e.decide(ctx, tx, c, p, who, a, now); err != nil {
				return err
			}
			if p.SignsAt(step, c.Outcome == Refuse) {
				return store.Save(ctx, tx, c) // the same employee signs next
			}
		case rules.Sign:
			docs := c.Docs()
			if len(docs) != len(signedDocs) {
				return refuseAction("wrong_step", "the decision changed while it was being signed; sign the new draft", "решение изменилось, пока его подписывали; подпишите новый проект", "қол қойылып жатқанда шешім өзгерді; жаңа жобаға қол қойыңыз")
			}
			for i := range docs {
				if !bytes.Equal(signedDocs[i].Content, docs[i].Content) {
					return refuseAction("wrong_step", "the decision changed while it was being signed; sign the new draft", "решение изменилось, пока его подписывали; подпишите новый проект", "қол қойылып жатқанда шешім өзгерді; жаңа жобаға қол қойыңыз")
				}
			}
			bin, whose := rules.SignerBIN(p, step)
			for _, sig := range sigs {
				if bin != "" && sig.Holder.BIN != bin {
					return refuseAction("signature", "the result is signed with the certificate of %q, not of %s", "результат подписан сертификатом организации «%s», а не %s", "нәтижеге «%s» ұйымының сертификатымен қол қойылған, %s емес", sig.Holder.Organization, whose)
				}
			}
			if err := e.signed(ctx, tx, c, p, who, a.Signatures, now); err != nil {
				return err
			}
		case rules.Complete:
			if a.Assignee != "" {
				if err := e.assign(ctx, tx, c, p, who, a.Assignee, now); err != nil {
					return err
				}
			}
		}
		if err := e.completeStep(ctx, tx, c, p, who, now); err != nil {
			return err
		}
		if err := e.armTimers(ctx, tx, c, p); err != nil {
			return err
		}
		return store.Save(ctx, tx, c)
	})
	if err != nil {
		return err
	}
	e.poke()
	return e.Advance(ctx, id)
}

// armTimers schedules the warning and the deadline of the step the case entered in this transaction
// and now rests in (none once it is closed).
func (e *Engine) armTimers(ctx context.Context, tx pgx.Tx, c *Case, p *catalog.Passport) error {
	if !c.Arm || c.Closed() {
		return nil
	}
	c.Arm = false
	return e.scheduleStep(ctx, tx, c, p)
}

func (e *Engine) assign(ctx context.Context, tx pgx.Tx, c *Case, p *catalog.Passport, who Employee, assignee string, now time.Time) error {
	roles, err := store.EmployeeRoles(ctx, tx, c.Region, assignee)
	if err != nil {
		return err
	}
	if !slices.Contains(roles, "officer") {
		return refuseAction("invalid", "the assignee is not an officer (ответственный исполнитель) of the provider", "выбранный сотрудник не ответственный исполнитель услугодателя", "таңдалған қызметкер қызмет берушінің жауапты орындаушысы емес")
	}
	c.Assignee = assignee
	return store.AddEvent(ctx, tx, c.ID, Event{At: now, Actor: who.IIN, ActorName: who.Name, Role: c.CurrentStep(p).Role,
		Action: ActAssigned, Step: c.CurrentStep(p).ID, Note: assignee})
}

// decide records the decision and drafts the result document.
func (e *Engine) decide(ctx context.Context, tx pgx.Tx, c *Case, p *catalog.Passport, who Employee, a Action, now time.Time) error {
	if c.Outcome != "" && len(c.ResultSignature) > 0 {
		return refuseAction("closed", "the case is decided and signed: a second decision is not possible", "решение принято и подписано: второе решение невозможно", "шешім қабылданып, қол қойылды: екінші шешім мүмкін емес")
	}
	d, err := rules.CheckDecision(p, rules.Decision{Outcome: a.Outcome, RefusalCode: a.RefusalCode, Comment: a.Comment})
	if err != nil {
		return err
	}
	// An employee's motivation is in the language they typed it in; only the engine's own has a Kazakh text.
	c.Outcome, c.RefusalCode, c.Comment, c.CommentKK, c.DecidedBy = d.Outcome, d.RefusalCode, d.Comment, a.commentKK, who.IIN
	docs, err := e.renderResults(c, p, who)
	if err != nil {
		return err
	}
	c.Results = docs
	c.ResultMediaType, c.ResultContent, c.ResultSignature, c.ResultSignedBy = docs[0].MediaType, docs[0].Content, nil, ""
	e.add(ctx, e.count.decisions, c.Region, c.ServiceCode)
	step := c.CurrentStep(p)
	return store.AddEvent(ctx, tx, c.ID, Event{At: now, Actor: who.IIN, ActorName: who.Name, Role: step.Role, Action: ActDecided,
		Step: step.ID, Note: strings.TrimSpace(c.Outcome + " " + c.RefusalCode + " " + c.Comment)})
}

// signed stores the result's signature and tells the channel the outcome.
func (e *Engine) signed(ctx context.Context, tx pgx.Tx, c *Case, p *catalog.Passport, who Employee, sigs [][]byte, now time.Time) error {
	by := who.IIN + " " + who.Name
	c.Results = c.Docs()
	for i := range c.Results {
		c.Results[i].Signature, c.Results[i].SignedBy = sigs[i], by
	}
	c.ResultSignature, c.ResultSignedBy = sigs[0], by
	if err := e.print(c, p, who, now); err != nil {
		return err
	}
	step := c.CurrentStep(p)
	if err := store.AddEvent(ctx, tx, c.ID, Event{At: now, Actor: who.IIN, ActorName: who.Name, Role: step.Role, Action: ActSigned, Step: step.ID}); err != nil {
		return err
	}
	if c.Outcome == Approve {
		return e.setStatus(ctx, tx, c, p, "APPROVED", now, nil)
	}
	return e.setStatus(ctx, tx, c, p, "REFUSED", now, func(n *applicationv1.StatusNotification) { e.refusalOf(c, p, n) })
}

func (e *Engine) refusalOf(c *Case, p *catalog.Passport, n *applicationv1.StatusNotification) {
	n.RefusalCode, n.Comment = c.RefusalCode, c.Comment
	if c.Comment != "" {
		kk := c.CommentKK
		if kk == "" {
			kk = c.Comment // the employee's own words, as typed
		}
		n.CommentText = &applicationv1.LocalizedText{Ru: c.Comment, Kk: kk}
	}
	for _, r := range p.Refusals {
		if r.Code == c.RefusalCode {
			n.Reason = &applicationv1.LocalizedText{Ru: r.Text.RU, Kk: r.Text.KK}
		}
	}
}

// completeStep records the step done and enters the next one, or closes the case after the last.
func (e *Engine) completeStep(ctx context.Context, tx pgx.Tx, c *Case, p *catalog.Passport, who Employee, now time.Time) error {
	step := c.CurrentStep(p)
	if err := store.AddEvent(ctx, tx, c.ID, Event{At: now, Actor: who.IIN, ActorName: who.Name, Role: step.Role, Action: ActCompleted, Step: step.ID}); err != nil {
		return err
	}
	next := c.Step + 1
	if step.SignsRefusal && c.Outcome == Refuse { // a refusal signed apart skips the steps of an approval's signature
		for i := range p.Steps {
			if p.Steps[i].Signs {
				next = i + 1
			}
		}
	}
	if next < len(p.Steps) {
		return e.enterStep(ctx, tx, c, p, next, now)
	}
	return e.close(ctx, tx, c, p, now)
}

// enterStep starts step idx: its term, and its warning and deadline owed (armTimers).
func (e *Engine) enterStep(ctx context.Context, tx pgx.Tx, c *Case, p *catalog.Passport, idx int, now time.Time) error {
	c.Step = idx
	s := p.Steps[idx]
	due := rules.StepDue(e.cal, s, now, c.DueAt)
	c.StepStartedAt, c.StepDueAt, c.Warned, c.Overdue, c.Arm = &now, &due, false, false, true
	if idx == examinationStart(p) { // the registration is behind: the examination has begun
		return e.setStatus(ctx, tx, c, p, "IN_PROGRESS", now, nil)
	}
	return nil
}

// examinationStart is the step whose start is «в работе» (IN_PROGRESS): the second, when the first is a
// registration (a clerk's or the system's); else the first, since an employee's processing starts on
// registration (South Kazakhstan's МИО) and «в работе» must not wait for it to end.
func examinationStart(p *catalog.Passport) int {
	if r := p.Steps[0].Role; r == "clerk" || r == "system" {
		return 1
	}
	return 0
}

// close issues the signed result to the channel and ends the case.
func (e *Engine) close(ctx context.Context, tx pgx.Tx, c *Case, p *catalog.Passport, now time.Time) error {
	if len(c.ResultSignature) == 0 {
		return fmt.Errorf("case %s: the last step ended without a signed result", c.Number)
	}
	c.Step, c.ClosedAt, c.StepDueAt = len(p.Steps), &now, nil
	if err := e.cancelTimers(ctx, tx, c); err != nil {
		return err
	}
	if err := store.AddEvent(ctx, tx, c.ID, Event{At: now, Actor: "system", ActorName: ParticipantID(c.Region), Role: "system",
		Action: ActIssued, Status: "RESULT_ISSUED"}); err != nil {
		return err
	}
	if err := e.mailResult(ctx, tx, c, p); err != nil { // «или посредством отправки на электронную почту»
		return err
	}
	return e.setStatus(ctx, tx, c, p, "RESULT_ISSUED", now, func(n *applicationv1.StatusNotification) {
		n.Result = &envelopev1.SignedDocument{MediaType: c.ResultMediaType, Content: c.ResultContent, Signature: c.ResultSignature}
		for _, d := range c.Docs() {
			n.Results = append(n.Results, &applicationv1.ResultDocument{Id: d.ID, Kind: d.Kind,
				Name:      &applicationv1.LocalizedText{Ru: d.Name.RU, Kk: d.Name.KK},
				Document:  &envelopev1.SignedDocument{MediaType: d.MediaType, Content: d.Content, Signature: d.Signature},
				Printable: printable(d), VerifyUrl: d.VerifyURL})
		}
		if c.Outcome == Refuse {
			e.refusalOf(c, p, n)
		}
	})
}

// extend extends the term of the case once more, as the passport allows.
func (e *Engine) extend(ctx context.Context, tx pgx.Tx, c *Case, p *catalog.Passport, who Employee, reason string, now time.Time) error {
	x := p.Extension
	if strings.TrimSpace(reason) == "" {
		return refuseAction("invalid", "an extension needs its reason", "укажите причину продления срока", "мерзімді ұзарту себебін көрсетіңіз")
	}
	due, stepDue := rules.Extended(e.cal, p, *c.DueAt, *c.StepDueAt)
	c.DueAt, c.StepDueAt, c.Extensions, c.Overdue, c.Warned = &due, &stepDue, c.Extensions+1, false, false
	if err := e.scheduleService(ctx, tx, c); err != nil {
		return err
	}
	if err := e.scheduleStep(ctx, tx, c, p); err != nil {
		return err
	}
	if err := store.AddEvent(ctx, tx, c.ID, Event{At: now, Actor: who.IIN, ActorName: who.Name, Role: x.By, Action: ActExtended,
		Status: "EXTENDED", Step: c.CurrentStep(p).ID, Note: strings.TrimSpace(reason) + "; срок: " + due.Format(time.RFC3339),
		NoteKK: strings.TrimSpace(reason) + "; мерзімі: " + due.Format(time.RFC3339)}); err != nil {
		return err
	}
	if err := e.setStatus(ctx, tx, c, p, "EXTENDED", now, func(n *applicationv1.StatusNotification) { n.Comment = strings.TrimSpace(reason) }); err != nil {
		return err
	}
	return store.Save(ctx, tx, c)
}

// Advance does a case's automatic work: the registry checks (asked before the transaction: they cross
// ШЭП), then, in one transaction, their answers and every automatic step after them, until the case
// waits for a person or is closed. A failure rolls the whole back; the delivery or the action that
// called Advance is retried.
func (e *Engine) Advance(ctx context.Context, id int64) error {
	c, err := store.ByID(ctx, e.o.DB, id)
	if err != nil {
		return err
	}
	if c.Closed() {
		return nil
	}
	p, err := e.Passport(ctx, c)
	if err != nil {
		return err
	}
	var results []CheckResult
	var failed *failedCheck
	checked := false
	if !c.ChecksDone {
		if results, failed, err = e.runChecks(ctx, c, p); err != nil {
			return fmt.Errorf("engine: case %s: registry checks: %w", c.Number, err)
		}
		checked = true
	} else if step := c.CurrentStep(p); step == nil || step.Role != "system" {
		return nil // waits for a person: nothing to lock
	}
	return e.inCase(ctx, c, func(tx pgx.Tx, c *Case, now time.Time) error {
		if !c.ChecksDone {
			if !checked {
				return nil // cannot be: the checks were done when the case was read
			}
			c.Checks, c.ChecksDone = results, true
			note := make([]string, 0, len(results))
			for _, r := range results {
				note = append(note, r.ID+": "+r.Summary)
			}
			if err := store.AddEvent(ctx, tx, c.ID, Event{At: now, Actor: "system", ActorName: ParticipantID(c.Region), Role: "system",
				Action: ActChecked, Note: strings.Join(note, "; ")}); err != nil {
				return err
			}
			if failed != nil {
				return e.refuseAutomatically(ctx, tx, c, p, failed.check.Refusal, failed.why, now)
			}
		}
		for range len(p.Steps) + 1 {
			if step := c.CurrentStep(p); c.Closed() || step == nil || step.Role != "system" {
				return e.armTimers(ctx, tx, c, p)
			}
			if err := e.systemStep(ctx, tx, c, p, now); err != nil {
				return err
			}
		}
		return fmt.Errorf("engine: case %s does not settle", c.Number)
	})
}

// inCase runs fn on the locked case if it is still where the caller saw it (same step, open).
func (e *Engine) inCase(ctx context.Context, seen *Case, fn func(tx pgx.Tx, c *Case, now time.Time) error) error {
	err := pgdb.InTxPipelined(ctx, e.o.DB, func(tx pgx.Tx) error {
		c, err := store.Lock(ctx, tx, seen.ID)
		if err != nil {
			return err
		}
		if c.Closed() || c.Step != seen.Step {
			return nil // another replica moved it on
		}
		if err := fn(tx, c, e.o.Now()); err != nil {
			return err
		}
		return store.Save(ctx, tx, c)
	})
	if err == nil {
		e.poke()
	}
	return err
}

// systemStep does an automatic step: the decision (every check passed: approve), the signature with the
// node's system key, and the hand-on.
func (e *Engine) systemStep(ctx context.Context, tx pgx.Tx, c *Case, p *catalog.Passport, now time.Time) error {
	step := c.CurrentStep(p)
	if step.Decides {
		if err := e.decide(ctx, tx, c, p, system, Action{Outcome: Approve}, now); err != nil {
			return err
		}
	}
	if step.Signs {
		if err := e.signAsSystem(ctx, tx, c, p, now); err != nil {
			return err
		}
	}
	return e.completeStep(ctx, tx, c, p, system, now)
}

func (e *Engine) signAsSystem(ctx context.Context, tx pgx.Tx, c *Case, p *catalog.Passport, now time.Time) error {
	signer, err := e.systemSigner(c.Region)
	if err != nil {
		return err
	}
	var sigs [][]byte
	for _, d := range c.Docs() {
		sig, err := signer.Sign(d.Content)
		if err != nil {
			return err
		}
		sigs = append(sigs, sig)
	}
	return e.signed(ctx, tx, c, p, Employee{IIN: "system", Name: ParticipantID(c.Region), Roles: []string{"system"}}, sigs, now)
}

// refuseAutomatically refuses a case on a failed registry check: the refusal is signed by the node's
// system key and issued at once.
func (e *Engine) refuseAutomatically(ctx context.Context, tx pgx.Tx, c *Case, p *catalog.Passport, code string, why catalog.Text, now time.Time) error {
	if err := e.decide(ctx, tx, c, p, system, Action{Outcome: Refuse, RefusalCode: code, Comment: why.RU, commentKK: why.KK}, now); err != nil {
		return err
	}
	if err := e.signAsSystem(ctx, tx, c, p, now); err != nil {
		return err
	}
	return e.close(ctx, tx, c, p, now)
}
