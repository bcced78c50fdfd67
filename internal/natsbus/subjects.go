// Package natsbus connects a process to NATS JetStream: the connection, the streams and consumers the
// suite declares as code, trace context carried in message headers, and an embedded server for the dev
// mode and tests.
package natsbus

import (
	"fmt"
	"strings"

	shepv1 "github.com/egov-suite/egov/proto/egov/shep/v1"
)

// Subjects of ШЭП's async channel. Those a participant sees are ШЭП's contract (shepv1); the rest are
// ШЭП's own.
const (
	// SubjectInPrefix: a participant publishes to shep.in.<participant>.
	SubjectInPrefix = shepv1.SubjectInPrefix
	// SubjectOutPrefix: ШЭП routes to shep.out.<recipient>.<service>.
	SubjectOutPrefix = shepv1.SubjectOutPrefix
	// SubjectDLQPrefix: given-up messages land on shep.dlq.<recipient>.<service>.
	SubjectDLQPrefix = "shep.dlq."
	// SubjectLogCheckpoints: ШЭП publishes each signed, time-stamped checkpoint of its message log here.
	SubjectLogCheckpoints = "shep.log.checkpoints"
)

// Stream names.
const (
	StreamIn  = "SHEP_IN"
	StreamOut = shepv1.StreamOut
	StreamDLQ = "SHEP_DLQ"
	// StreamAdvisories keeps JetStream's max-deliveries advisories for SHEP_OUT, so ШЭП moves every
	// given-up message to the dead-letter stream even if it was down when the advisory was sent.
	StreamAdvisories = "SHEP_ADVISORIES"
	// StreamLogCheckpoints keeps a copy of every checkpoint of ШЭП's message log outside its database.
	StreamLogCheckpoints = "SHEP_LOG_CHECKPOINTS"
	// BucketAttachments is the object store bucket for scans and result documents.
	BucketAttachments = "attachments"
)

// DeliveryService is the service token of delivery notifications ШЭП sends to a message's sender:
// shep.out.<sender>.shep-delivery.
const DeliveryService = shepv1.DeliveryService

// Message headers of the async channel.
const (
	// HeaderKind marks a delivery receipt published by a recipient ("delivery"); absent on envelopes.
	HeaderKind = shepv1.HeaderKind
	// HeaderSender names the participant that sent a routed envelope.
	HeaderSender = shepv1.HeaderSender
	// HeaderSession carries the session id ШЭП assigned.
	HeaderSession = shepv1.HeaderSession
	// HeaderDeliveries says how often a dead letter was delivered before ШЭП gave up.
	HeaderDeliveries = shepv1.HeaderDeliveries
)

// KindDelivery is the HeaderKind of a delivery receipt.
const KindDelivery = shepv1.KindDelivery

// MaxDeliveriesAdvisories is the subject of JetStream's advisories for SHEP_OUT messages that reached
// their consumer's MaxDeliver.
const MaxDeliveriesAdvisories = "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES." + StreamOut + ".*"

// InSubject is where participant publishes to ШЭП.
func InSubject(participant string) string { return shepv1.InSubject(participant) }

// OutSubject is where ШЭП delivers service messages to recipient.
func OutSubject(recipient, service string) string { return shepv1.OutSubject(recipient, service) }

// OutFilter matches everything delivered to recipient.
func OutFilter(recipient string) string { return shepv1.OutFilter(recipient) }

// DLQSubject is where a message for recipient's service goes after its last delivery attempt.
func DLQSubject(recipient, service string) string {
	return SubjectDLQPrefix + recipient + "." + service
}

// ValidToken reports whether s can stand as one subject token: participant and service ids become
// tokens, so they may not hold separators, wildcards or white space.
func ValidToken(s string) error {
	if s == "" {
		return fmt.Errorf("natsbus: empty subject token")
	}
	if len(s) > 64 {
		return fmt.Errorf("natsbus: subject token %q longer than 64 bytes", s)
	}
	if strings.ContainsAny(s, ".*> \t\r\n") {
		return fmt.Errorf("natsbus: subject token %q holds '.', '*', '>' or white space", s)
	}
	return nil
}
