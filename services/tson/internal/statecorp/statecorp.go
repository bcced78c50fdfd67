// Package statecorp is Госкорпорация's part of a regulation as the ЦОН desk enforces it, with no I/O:
// the worker's check of the document set (an incomplete set, or documents whose validity has run out,
// is refused at intake with a receipt and opens no case), and the timed steps around the provider's
// work — carrying the accepted documents to the provider, bringing the result back, keeping a result
// not collected until the storage period ends, then archiving it as unclaimed (невостребованный).
package statecorp

import (
	"time"

	"github.com/egov-suite/egov/internal/calendar"
	"github.com/egov-suite/egov/internal/catalog"
)

// Step is one of Госкорпорация's timed steps of an accepted application.
type Step string

// The steps, in the order they happen.
const (
	// ToProvider is carrying the accepted documents to the provider (armed at submission).
	ToProvider Step = "to_provider"
	// ResultBack is bringing the issued result from the provider (armed when the result is issued).
	ResultBack Step = "result_back"
	// Storage is keeping the arrived result for the applicant (armed when it arrives); when it runs out
	// the result is archived as unclaimed.
	Storage Step = "storage"
)

// Steps are the steps in order.
var Steps = []Step{ToProvider, ResultBack, Storage}

// Term is the step's term in the passport.
func Term(sc *catalog.StateCorp, s Step) catalog.Duration {
	switch s {
	case ToProvider:
		return sc.ToProvider
	case ResultBack:
		return sc.ResultBack
	default:
		return sc.Storage
	}
}

// Due is the end of a term d started at t, on the working-day calendar.
func Due(cal *calendar.Calendar, t time.Time, d catalog.Duration) time.Time {
	return d.From(cal, t)
}

// Presence is what the worker found of one document at the counter.
type Presence struct {
	// Paper is the original received; Scan a copy attached.
	Paper, Scan bool
	// Expired is the worker's mark that the document's validity has run out.
	Expired bool
}

// SetCheck is the worker's check of the document set against the passport (п. 2 of the 2019
// regulations: «неполный пакет документов … и (или) документы с истекшим сроком действия»).
type SetCheck struct {
	// Missing are the required documents neither received on paper nor scanned.
	Missing []catalog.Document
	// Expired are the documents marked expired.
	Expired []catalog.Document
}

// Complete reports whether the set may be accepted.
func (c SetCheck) Complete() bool { return len(c.Missing) == 0 && len(c.Expired) == 0 }

// CheckSet checks the documents of channel the worker found.
func CheckSet(p *catalog.Passport, channel string, got map[string]Presence) SetCheck {
	var c SetCheck
	for _, d := range p.DocumentsFor(channel) {
		x := got[d.ID]
		switch {
		case x.Expired:
			c.Expired = append(c.Expired, d)
		case d.Required && !x.Paper && !x.Scan:
			c.Missing = append(c.Missing, d)
		}
	}
	return c
}

// Timer is a step's deadline as the desk keeps it.
type Timer struct {
	Step   Step
	Due    time.Time
	DoneAt *time.Time
	DoneBy string
}

// Late reports whether the step was (or, not done, is at now) past its deadline.
func (t Timer) Late(now time.Time) bool {
	if t.DoneAt != nil {
		return t.DoneAt.After(t.Due)
	}
	return now.After(t.Due)
}

// Markable reports whether the worker may mark step done now, given the application's timers: the
// documents go once; the result comes back only after it was issued (its timer armed) and the
// documents went; the storage ends by a hand-over or by the archive, not by a mark.
func Markable(step Step, timers map[Step]Timer) bool {
	t, armed := timers[step]
	if !armed || t.DoneAt != nil {
		return false
	}
	switch step {
	case ToProvider:
		return true
	case ResultBack:
		prev, ok := timers[ToProvider]
		return ok && prev.DoneAt != nil
	default:
		return false
	}
}

// CanHandOver reports whether the result is at Госкорпорация for the applicant: it came back and its
// storage has not ended.
func CanHandOver(timers map[Step]Timer) bool {
	back, ok := timers[ResultBack]
	st, stored := timers[Storage]
	return ok && back.DoneAt != nil && stored && st.DoneAt == nil
}
