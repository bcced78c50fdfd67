package applicationv1

// The parts of the application contract that are names rather than messages: a channel (ПЭП, a ЦОН)
// sends an Application, signed by a person, to the region's РШЭП node through ШЭП's async channel.
// Written by hand beside the generated code; `make generate` leaves it alone.

// MediaTypeApplication is the media type of a signed application: the binary Application message.
const MediaTypeApplication = "application/vnd.egov.application+protobuf"

// ServiceID is the ШЭП async service that takes a region's applications.
func ServiceID(region string) string { return "APPLICATION_" + region }

// ParticipantID is the ШЭП participant of a region's РШЭП node.
func ParticipantID(region string) string { return "rshep-" + region }
