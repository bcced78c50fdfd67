package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/egov-suite/egov/internal/calendar"
	"github.com/egov-suite/egov/internal/catalog"
	"github.com/egov-suite/egov/services/rshep/internal/rules"
	"github.com/egov-suite/egov/services/rshep/internal/store"
	"github.com/egov-suite/egov/services/rshep/internal/timers"
)

// Timer kinds of a case.
const (
	timerWarn    = "warn"
	timerStep    = "step"
	timerService = "service"
)

type timerPayload struct {
	Step int `json:"step"`
}

func caseKey(id int64) string { return strconv.FormatInt(id, 10) }

// scheduleStep arms the warning and the deadline of the case's current step.
func (e *Engine) scheduleStep(ctx context.Context, tx pgx.Tx, c *Case, p *catalog.Passport) error {
	payload, err := json.Marshal(timerPayload{Step: c.Step})
	if err != nil {
		return err
	}
	now := e.o.Now()
	if err := timers.Schedule(ctx, tx, timers.Timer{CaseID: caseKey(c.ID), Kind: timerStep, Scope: c.Region, DueAt: *c.StepDueAt, Payload: payload}, now); err != nil {
		return err
	}
	return timers.Schedule(ctx, tx, timers.Timer{CaseID: caseKey(c.ID), Kind: timerWarn, Scope: c.Region, DueAt: rules.WarnAt(p, *c.StepStartedAt, *c.StepDueAt), Payload: payload}, now)
}

// scheduleService arms the whole service's deadline.
func (e *Engine) scheduleService(ctx context.Context, tx pgx.Tx, c *Case) error {
	return timers.Schedule(ctx, tx, timers.Timer{CaseID: caseKey(c.ID), Kind: timerService, Scope: c.Region, DueAt: *c.DueAt}, e.o.Now())
}

func (e *Engine) cancelTimers(ctx context.Context, tx pgx.Tx, c *Case) error {
	for _, k := range []string{timerWarn, timerStep, timerService} {
		if err := timers.Cancel(ctx, tx, caseKey(c.ID), k); err != nil {
			return err
		}
	}
	return nil
}

// Fire does a timer's work in the claiming transaction: the warning before a step's deadline, the
// escalation to the head when a step's or the service's deadline passes. A timer of a step the case has
// left does nothing.
func (e *Engine) Fire(ctx context.Context, tx pgx.Tx, t timers.Timer) error {
	id, err := strconv.ParseInt(t.CaseID, 10, 64)
	if err != nil {
		return fmt.Errorf("timer of case %q: %w", t.CaseID, err)
	}
	c, err := store.Lock(ctx, tx, id)
	if err != nil {
		return err
	}
	if c.Closed() {
		return nil
	}
	if _, ok := e.o.Nodes[c.Region]; !ok {
		return fmt.Errorf("case %s: region %s is not served by this replica", c.Number, c.Region)
	}
	p, err := e.Passport(ctx, c)
	if err != nil {
		return err
	}
	var pl timerPayload
	if len(t.Payload) > 0 {
		if err := json.Unmarshal(t.Payload, &pl); err != nil {
			return err
		}
	}
	step := c.CurrentStep(p)
	ev := Event{At: e.o.Now(), Actor: "system", ActorName: ParticipantID(c.Region), Role: "system", Step: step.ID}
	switch t.Kind {
	case timerWarn:
		if pl.Step != c.Step || c.Warned {
			return nil
		}
		c.Warned = true
		due := c.StepDueAt.In(calendar.Zone).Format("02.01.2006 15:04")
		ev.Action, ev.Note, ev.NoteKK = ActWarned, "срок шага истекает "+due, "қадамның мерзімі аяқталуда: "+due
		e.add(ctx, e.count.warnings, c.Region, c.ServiceCode)
	case timerStep:
		if pl.Step != c.Step {
			return nil
		}
		c.Overdue = true
		ev.Action, ev.Note = ActOverdue, fmt.Sprintf("срок шага «%s» (%d %s) истёк", step.Action.RU, step.Duration.Value, step.Duration.Unit)
		ev.NoteKK = fmt.Sprintf("«%s» қадамының мерзімі (%d %s) өтті", step.Action.KK, step.Duration.Value, step.Duration.Unit)
		e.add(ctx, e.count.breaches, c.Region, c.ServiceCode)
	case timerService:
		due := c.DueAt.In(calendar.Zone).Format("02.01.2006 15:04")
		ev.Action, ev.Note, ev.NoteKK = ActOverdue, "истёк срок оказания услуги "+due, "қызмет көрсету мерзімі өтті: "+due
		e.add(ctx, e.count.breaches, c.Region, c.ServiceCode)
	default:
		return fmt.Errorf("unknown timer kind %q", t.Kind)
	}
	if err := store.AddEvent(ctx, tx, c.ID, ev); err != nil {
		return err
	}
	if t.Kind != timerWarn && !c.Escalated {
		c.Escalated = true
		if err := store.AddEvent(ctx, tx, c.ID, Event{At: ev.At, Actor: "system", ActorName: ParticipantID(c.Region), Role: "system",
			Action: ActEscalated, Step: step.ID, Note: "передано на контроль руководителю услугодателя",
			NoteKK: "қызмет берушінің басшысының бақылауына берілді"}); err != nil {
			return err
		}
	}
	return store.Save(ctx, tx, c)
}

// RunTimers fires the due timers of the engine's regions every interval until ctx ends. A timer whose
// work fails is logged and counted, and retried after its back-off; one parked after the last attempt is
// logged as an error and counted apart, for an operator to see.
func (e *Engine) RunTimers(ctx context.Context, interval time.Duration) error {
	return timers.Run(ctx, e.o.DB, e.o.Now, interval, e.o.Worker, e.Fire, func(err error) {
		failures := timers.Failures(err)
		for _, f := range failures {
			e.timerFailed(ctx, f)
		}
		if len(failures) == 0 {
			e.o.Log.WarnContext(ctx, "timers", "error", err)
		}
	}, e.Regions()...)
}

// timerFailed logs and counts a failed timer.
func (e *Engine) timerFailed(ctx context.Context, f *timers.Failure) {
	attrs := []any{"timer", f.Timer.ID, "case", f.Timer.CaseID, "kind", f.Timer.Kind, "region", f.Timer.Scope, "attempts", f.Attempts, "error", f.Err}
	if f.Parked {
		e.add(ctx, e.count.timersParked, f.Timer.Scope, "")
		e.o.Log.ErrorContext(ctx, "timer parked after its last attempt; release it once the cause is fixed", attrs...)
		return
	}
	e.add(ctx, e.count.timerFailures, f.Timer.Scope, "")
	e.o.Log.WarnContext(ctx, "timer failed; will retry", append(attrs, "retry_in", timers.Backoff(f.Attempts))...)
}
