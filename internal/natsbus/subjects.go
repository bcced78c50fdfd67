// Package natsbus connects a process to NATS JetStream: the connection, the streams and consumers the
// suite declares as code, trace context carried in message headers, and an embedded server for the dev
// mode and tests.
package natsbus

import (
	"fmt"
	"strings"
)

// Subjects of ШЭП's async channel. They are built here and nowhere else.
const (
	// SubjectInPrefix: a participant publishes to shep.in.<participant>.
	SubjectInPrefix = "shep.in."
	// SubjectOutPrefix: ШЭП routes to shep.out.<recipient>.<service>.
	SubjectOutPrefix = "shep.out."
	// SubjectDLQPrefix: given-up messages land on shep.dlq.<recipient>.<service>.
	SubjectDLQPrefix = "shep.dlq."
)

// Stream names.
const (
	StreamIn  = "SHEP_IN"
	StreamOut = "SHEP_OUT"
	StreamDLQ = "SHEP_DLQ"
	// BucketAttachments is the object store bucket for scans and result documents.
	BucketAttachments = "attachments"
)

// InSubject is where participant publishes to ШЭП.
func InSubject(participant string) string { return SubjectInPrefix + participant }

// OutSubject is where ШЭП delivers service messages to recipient.
func OutSubject(recipient, service string) string {
	return SubjectOutPrefix + recipient + "." + service
}

// OutFilter matches everything delivered to recipient.
func OutFilter(recipient string) string { return SubjectOutPrefix + recipient + ".>" }

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
