package engine

import "github.com/egov-suite/egov/services/rshep/internal/store"

// The case and its parts are the store's; the engine's names stay for the АРМ and the tests.
type (
	Case        = store.Case
	Document    = store.Document
	ResultDoc   = store.ResultDoc
	CheckResult = store.CheckResult
	Event       = store.Event
	Rejection   = store.Rejection
)

// Outcomes of a decision.
const (
	Approve = store.Approve
	Refuse  = store.Refuse
)

// Actions recorded in the history.
const (
	ActRegistered = store.ActRegistered
	ActChecked    = store.ActChecked
	ActCompleted  = store.ActCompleted
	ActAssigned   = store.ActAssigned
	ActDecided    = store.ActDecided
	ActSigned     = store.ActSigned
	ActExtended   = store.ActExtended
	ActWarned     = store.ActWarned
	ActOverdue    = store.ActOverdue
	ActEscalated  = store.ActEscalated
	ActIssued     = store.ActIssued
	ActNotified   = store.ActNotified
)

// ErrNotFound is a case that does not exist (in the region).
var ErrNotFound = store.ErrNotFound
