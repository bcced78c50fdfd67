package shepv1

// The parts of ШЭП's contract that are names rather than messages: the status codes of an answer or a
// delivery notification, the gRPC metadata ШЭП adds when it forwards a request, and the NATS subjects,
// stream, consumer and headers of the async channel that a participant sees. Written by hand beside
// the generated code; `make generate` leaves it alone. Every other place in the suite (ШЭП itself, the
// participant SDK, the tests) uses these names, so a participant outside the repository reads the same
// contract ШЭП is built on.

// Status codes of an answer (envelope.Status.code) or a delivery notification, in the style of ШЭП's
// contract: SCSS001 is success, every refusal has its own code.
const (
	// CodeSuccess is ШЭП's status code of success.
	CodeSuccess = "SCSS001"
	// CodeMalformed: the bytes are not a ШЭП envelope.
	CodeMalformed = "E_MALFORMED"
	// CodeUnsigned: the envelope carries no signature of an information system.
	CodeUnsigned = "E_UNSIGNED"
	// CodeOversize: the envelope is larger than envelope.MaxSize.
	CodeOversize = "E_OVERSIZE"
	// CodeBadSignature: the signature does not verify (ШЭП's refusal, or a provider's of a request).
	CodeBadSignature = "E_SIGNATURE_INVALID"
	// CodeCertRevoked: the sender's certificate is revoked.
	CodeCertRevoked = "E_CERT_REVOKED"
	// CodeCertExpired: the sender's certificate has expired.
	CodeCertExpired = "E_CERT_EXPIRED"
	// CodeCertNotYetValid: the sender's certificate is not valid yet.
	CodeCertNotYetValid = "E_CERT_NOT_YET_VALID"
	// CodeCertUnknownIssuer: the sender's certificate was not issued by НУЦ.
	CodeCertUnknownIssuer = "E_CERT_UNKNOWN_ISSUER"
	// CodeCertUsage: the sender's key is not a system key for signing envelopes.
	CodeCertUsage = "E_CERT_USAGE"
	// CodeCertStatus: the status of the sender's certificate could not be had (transient).
	CodeCertStatus = "E_CERT_STATUS_UNAVAILABLE"
	// CodeSenderMismatch: the envelope's sender is not the holder of the signing certificate.
	CodeSenderMismatch = "E_SENDER_MISMATCH"
	// CodeUnknownSender: the sender is not a registered participant.
	CodeUnknownSender = "E_UNKNOWN_SENDER"
	// CodeBadHeader: a header field of the envelope is missing or wrong.
	CodeBadHeader = "E_BAD_HEADER"
	// CodeUnknownService: the service is not registered.
	CodeUnknownService = "E_UNKNOWN_SERVICE"
	// CodeWrongChannel: the service is not offered on this channel (sync or async).
	CodeWrongChannel = "E_WRONG_CHANNEL"
	// CodeACLDenied: the sender holds no grant for the service.
	CodeACLDenied = "E_ACL_DENIED"
	// CodeUnknownRecipient: the recipient is not a registered participant.
	CodeUnknownRecipient = "E_UNKNOWN_RECIPIENT"
	// CodeDuplicate is the refusal of a message whose id its sender used before: ШЭП keeps the first
	// message under that id, so the refusal is of the later copy, not of the message.
	CodeDuplicate = "E_DUPLICATE"
	// CodeProviderUnavailable: the provider's system could not be reached.
	CodeProviderUnavailable = "E_PROVIDER_UNAVAILABLE"
	// CodeProviderTimeout: the provider did not answer in time.
	CodeProviderTimeout = "E_PROVIDER_TIMEOUT"
	// CodeBadResponse: the provider's answer failed ШЭП's checks (signature, binding to the request).
	CodeBadResponse = "E_BAD_RESPONSE"
	// CodeDeadLetter: an async message was not delivered after its last attempt.
	CodeDeadLetter = "E_MAX_DELIVERIES"
	// CodeInternal: ШЭП failed.
	CodeInternal = "E_INTERNAL"

	// CodeNotFound is a provider's business answer that it holds no such record (a registry's "нет
	// данных"), as opposed to a failure to answer.
	CodeNotFound = "E_NOT_FOUND"
	// CodeProvider is a provider's answer that its handler failed.
	CodeProvider = "E_PROVIDER"
)

// gRPC metadata keys ШЭП sets when it forwards a sync request to the provider.
const (
	// MetadataSession carries the session id ШЭП assigned to the exchange.
	MetadataSession = "egov-shep-session-id"
	// MetadataSender names the participant that sent the request.
	MetadataSender = "egov-shep-sender"
)

// ServerName is the name in ШЭП's TLS certificate that a participant verifies when it dials the sync
// channel (its system certificate's CN).
const ServerName = "shep"

// NATS names of the async channel a participant sees.
const (
	// SubjectInPrefix: a participant publishes to shep.in.<participant>.
	SubjectInPrefix = "shep.in."
	// SubjectOutPrefix: ШЭП routes to shep.out.<recipient>.<service>.
	SubjectOutPrefix = "shep.out."
	// StreamOut is the stream of what ШЭП routed, which recipients pull from.
	StreamOut = "SHEP_OUT"
	// DeliveryService is the service token of delivery notifications ШЭП sends to a message's sender:
	// shep.out.<sender>.shep-delivery.
	DeliveryService = "shep-delivery"
	// HeaderKind marks a delivery receipt published by a recipient (KindDelivery); absent on envelopes.
	HeaderKind = "Egov-Kind"
	// KindDelivery is the HeaderKind of a delivery receipt.
	KindDelivery = "delivery"
	// HeaderSender names the participant that sent a routed envelope.
	HeaderSender = "Egov-Sender"
	// HeaderSession carries the session id ШЭП assigned.
	HeaderSession = "Egov-Session-Id"
	// HeaderDeliveries says how often a dead letter was delivered before ШЭП gave up.
	HeaderDeliveries = "Egov-Deliveries"
)

// InSubject is where participant publishes to ШЭП.
func InSubject(participant string) string { return SubjectInPrefix + participant }

// OutSubject is where ШЭП delivers service messages to recipient.
func OutSubject(recipient, service string) string {
	return SubjectOutPrefix + recipient + "." + service
}

// OutFilter matches everything delivered to recipient.
func OutFilter(recipient string) string { return SubjectOutPrefix + recipient + ".>" }

// ConsumerName is the durable consumer on StreamOut through which recipient takes its deliveries;
// ШЭП makes it when it registers the participant.
func ConsumerName(recipient string) string { return "recipient-" + recipient }

// InboxPrefix is where the NATS replies of participant's user come back: a participant's user may
// subscribe only to its own inbox.
func InboxPrefix(participant string) string { return "_INBOX_" + participant }
