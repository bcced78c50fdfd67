package applicationv1

import "strings"

// The parts of the application contract that are names rather than messages: a channel (ПЭП, a ЦОН)
// sends an Application, signed by a person, to the region's РШЭП node through ШЭП's async channel.
// Written by hand beside the generated code; `make generate` leaves it alone.

// MediaTypeApplication is the media type of a signed application: the binary Application message.
const MediaTypeApplication = "application/vnd.egov.application+protobuf"

// ServiceID is the ШЭП async service that takes a region's applications.
func ServiceID(region string) string { return "APPLICATION_" + region }

// ServiceFor is the ШЭП async service that takes the applications of a passport of region whose provider
// is the participant: the region's РШЭП node takes them on ServiceID(region); a provider's own system
// that is a ШЭП participant (ИС Е-Астана, "eastana") on APPLICATION_<region>_<PARTICIPANT>, so that one
// region's applications reach two systems and ШЭП, not the node, routes them.
func ServiceFor(region, participant string) string {
	if participant == "" || participant == ParticipantID(region) {
		return ServiceID(region)
	}
	return ServiceID(region) + "_" + strings.ToUpper(strings.ReplaceAll(participant, "-", "_"))
}

// ParticipantID is the ШЭП participant of a region's РШЭП node.
func ParticipantID(region string) string { return "rshep-" + region }
