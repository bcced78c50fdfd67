// Package lifecycle is an application's life on a channel (ПЭП, a ЦОН desk, the provider's office), as
// pure domain with no I/O: its statuses, their order in the citizen's list, what may happen next, and
// how ШЭП's receipts and РШЭП's notifications read. The store keeps what it decides; the channels' web
// parts ask it what to offer.
package lifecycle

import (
	"strconv"
	"strings"

	"github.com/egov-suite/egov/internal/calendar"
	applicationv1 "github.com/egov-suite/egov/proto/egov/application/v1"
	shepv1 "github.com/egov-suite/egov/proto/egov/shep/v1"
)

// Statuses kept beside РШЭП's (CaseStatus without its prefix).
const (
	StatusDraft     = "DRAFT"
	StatusSubmitted = "SUBMITTED"
	StatusDelivered = "DELIVERED"
	// StatusNotDelivered is ШЭП's answer that the message could not be delivered.
	StatusNotDelivered = "NOT_DELIVERED"
	StatusRefused      = "REFUSED"
	StatusResultIssued = "RESULT_ISSUED"
	StatusHandedOver   = "HANDED_OVER"
	StatusUnclaimed    = "UNCLAIMED"
	// StatusUnknown is a status of РШЭП's this channel has no name for (a newer contract).
	StatusUnknown = "UNKNOWN"
)

// The statuses of a waiting list (очередь: ИС Е-Астана's kindergarten queue), whose result is not
// decided once: the child waits with a queue number, may be offered a referral, and leaves the list.
const (
	StatusQueued           = "QUEUED"
	StatusQueueMoved       = "QUEUE_MOVED"
	StatusReferralOffered  = "REFERRAL_OFFERED"
	StatusReferralExpired  = "REFERRAL_EXPIRED"
	StatusReferralDeclined = "REFERRAL_DECLINED"
	StatusEnrolled         = "ENROLLED"
	StatusRemoved          = "REMOVED"
)

// Final reports whether a provider's notification (numbered seq, signed when it carries a signed result
// document) ends the application for the channel. RESULT_ISSUED does; a refusal does when it is the
// provider's first notification (refused at intake) or carries the signed motivated refusal itself (ИС
// Е-Астана's, after REGISTERED) — РШЭП's REFUSED is followed by its RESULT_ISSUED with the letter, and
// the application is not complete before it. A waiting list ends when the child leaves it: enrolled,
// removed, or its referral expired or declined (the parent may register again, as a new application);
// while the child waits (QUEUED, QUEUE_MOVED) or holds a referral (REFERRAL_OFFERED) it stays open.
func Final(status string, seq int, signed bool) bool {
	switch status {
	case StatusResultIssued, StatusEnrolled, StatusRemoved, StatusReferralExpired, StatusReferralDeclined:
		return true
	case StatusRefused:
		return seq == 1 || signed
	}
	return false
}

// The order of the statuses a channel adds around РШЭП's (whose sequence counts from 1): the draft,
// the signature (or its refusal), ШЭП's delivery receipt, and last the ЦОН's hand-over. The receipt may
// be stamped a moment after РШЭП registered the application; it is still shown before.
const (
	SeqDraft     = -3
	SeqSubmitted = -2
	SeqDelivered = -1
	SeqHandOver  = 1 << 20
)

// CanSubmit reports whether an application in status may be signed and sent: only a draft, once.
func CanSubmit(status string) bool { return status == StatusDraft }

// Issued is what the hand-over needs to know of an application.
type Issued struct {
	// Closed is the final notification in with none missing; HasResult a result document with it.
	Closed, HasResult bool
	// Waiting is an open application of a waiting list whose child has a place: its document (the
	// registration ticket, the intermediate result) is the ЦОН's to hand over while the child waits.
	Waiting bool
	// HandedOver or Unclaimed: the hand-over happened already, one way or the other.
	HandedOver, Unclaimed bool
}

// CanHandOver reports whether the result may be handed over now: issued, final (or a waiting list's
// ticket), and not handed over or left unclaimed yet.
func CanHandOver(a Issued) bool {
	return (a.Closed || a.Waiting) && a.HasResult && !a.HandedOver && !a.Unclaimed
}

// CanUnclaim reports whether the result may be marked unclaimed now: only a final one (a waiting
// child's ticket is not left unclaimed while the child waits).
func CanUnclaim(a Issued) bool { return CanHandOver(a) && a.Closed }

// Delivery is the channel's status of one of ШЭП's receipts, and whether it is one the channel records.
func Delivery(s shepv1.MessageState) (string, bool) {
	switch s {
	case shepv1.MessageState_MESSAGE_STATE_DELIVERED:
		return StatusDelivered, true
	case shepv1.MessageState_MESSAGE_STATE_NOT_DELIVERED, shepv1.MessageState_MESSAGE_STATE_DELIVERY_STOPPED:
		return StatusNotDelivered, true
	}
	return "", false
}

// CaseStatus is the name of a notification's status without its prefix, and whether this channel knows
// it: a newer РШЭП may send a status this build has no name for (its String is then a number).
func CaseStatus(s applicationv1.CaseStatus) (string, bool) {
	name, ok := strings.CutPrefix(s.String(), "CASE_STATUS_")
	if !ok || s == applicationv1.CaseStatus_CASE_STATUS_UNSPECIFIED {
		return StatusUnknown, false
	}
	return name, true
}

// Fill puts the registration number, the deadline and a waiting list's place into a notification's
// text, where the passport's text has {number}, {deadline}, {queue_number} and {queue_ahead} (the
// children of the same kind before the child). A value the notification does not carry reads "—".
func Fill(text string, n *applicationv1.StatusNotification) string {
	deadline, number, ahead := "—", "—", "—"
	if n.GetDeadline() != nil {
		deadline = n.GetDeadline().AsTime().In(calendar.Zone).Format("02.01.2006 15:04")
	}
	if q := n.GetQueue(); q != nil {
		number, ahead = strconv.FormatInt(q.GetNumber(), 10), strconv.FormatInt(q.GetAhead(), 10)
	}
	return strings.NewReplacer("{number}", n.GetRegistrationNumber(), "{deadline}", deadline,
		"{queue_number}", number, "{queue_ahead}", ahead).Replace(text)
}
