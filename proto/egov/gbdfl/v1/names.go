package gbdflv1

// The parts of ГБД ФЛ's contract that are names rather than messages: the ids under which ШЭП offers the
// register's sync services, and the participant that provides them. Written by hand beside the generated
// code; `make generate` leaves it alone.

const (
	// ParticipantID is the ШЭП participant of the register (its system certificate's CN).
	ParticipantID = "gbdfl"
	// ServicePerson answers GetPersonRequest with GetPersonResponse.
	ServicePerson = "GBDFL_PERSON"
	// ServiceChildren answers ListChildrenRequest with ListChildrenResponse.
	ServiceChildren = "GBDFL_CHILDREN"
)
