-- A timer or an outbox row whose work keeps failing no longer blocks the rows due after it: each failure
-- counts an attempt and sets when the next one may be made (back-off), and after the last attempt the
-- row is parked (parked_at), out of the claim, for an operator to see (last_error) and release.
ALTER TABLE timers
    -- The region of the case: a replica claims only the timers of the regions it serves.
    ADD COLUMN scope           text NOT NULL DEFAULT '',
    ADD COLUMN attempts        integer NOT NULL DEFAULT 0,
    ADD COLUMN next_attempt_at timestamptz,
    ADD COLUMN parked_at       timestamptz,
    ADD COLUMN last_error      text NOT NULL DEFAULT '';
UPDATE timers t SET scope = c.region FROM cases c WHERE t.case_id = c.id::text;
DROP INDEX timers_due;
CREATE INDEX timers_due ON timers (scope, due_at) WHERE fired_at IS NULL AND NOT cancelled AND parked_at IS NULL;

ALTER TABLE outbox
    ADD COLUMN attempts        integer NOT NULL DEFAULT 0,
    ADD COLUMN next_attempt_at timestamptz,
    ADD COLUMN parked_at       timestamptz,
    ADD COLUMN last_error      text NOT NULL DEFAULT '';
DROP INDEX outbox_pending;
CREATE INDEX outbox_pending ON outbox (region, id) WHERE sent_at IS NULL AND parked_at IS NULL;
