// Package lifecycle is an application's life on a channel (ПЭП, a ЦОН desk, the provider's office), as
// pure domain with no I/O: its statuses, their order in the citizen's list, what may happen next, and
// how ШЭП's receipts and РШЭП's notifications read. The store keeps what it decides; the channels' web
// parts ask it what to offer.
package lifecycle

import (
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
	// HandedOver or Unclaimed: the hand-over happened already, one way or the other.
	HandedOver, Unclaimed bool
}

// CanHandOver reports whether the result may be handed over (or left unclaimed) now: issued, final,
// and not yet either.
func CanHandOver(a Issued) bool { return a.Closed && a.HasResult && !a.HandedOver && !a.Unclaimed }

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

// Fill puts the registration number and the deadline into a notification's text, where the passport's
// text has {number} and {deadline}.
func Fill(text string, n *applicationv1.StatusNotification) string {
	deadline := "—"
	if n.GetDeadline() != nil {
		deadline = n.GetDeadline().AsTime().In(calendar.Zone).Format("02.01.2006 15:04")
	}
	return strings.NewReplacer("{number}", n.GetRegistrationNumber(), "{deadline}", deadline).Replace(text)
}
