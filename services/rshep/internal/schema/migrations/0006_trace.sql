-- The trace of the application a case came from: every notification the case owes continues it.
ALTER TABLE cases ADD COLUMN trace_context text NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN trace_context text NOT NULL DEFAULT '';
