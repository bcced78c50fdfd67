package enisv1

// The parts of ЕНИС's contract that are names rather than messages: the id under which ШЭП offers the
// register's sync service, and the participant that provides it. Written by hand beside the generated
// code; `make generate` leaves it alone.

const (
	// ParticipantID is the ШЭП participant of the register (its system certificate's CN).
	ParticipantID = "enis"
	// ServicePowerOfAttorney answers GetPowerOfAttorneyRequest with GetPowerOfAttorneyResponse.
	ServicePowerOfAttorney = "ENIS_POWER_OF_ATTORNEY"
)
