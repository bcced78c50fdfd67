-- final marks a provider's notification that ends the application for the channel (lifecycle.Final): the
-- application closes once a final one is in and none before it is missing. Decided in Go when recorded
-- (a refusal is final at intake or with its signed letter, a waiting list's end statuses are), so the
-- rule lives in one place; the rows recorded before it get the rule they were recorded under.
ALTER TABLE statuses ADD COLUMN final boolean NOT NULL DEFAULT false;
UPDATE statuses SET final = true WHERE key LIKE 'rshep:%' AND (status = 'RESULT_ISSUED' OR (status = 'REFUSED' AND seq = 1));

-- A waiting list's place (egov.application.v1.QueuePlace) as each notification gave it, for the child's
-- movement in the list; NULL numbers where a status carries no place.
ALTER TABLE statuses
    ADD COLUMN queue_list   text NOT NULL DEFAULT '',
    ADD COLUMN queue_number bigint,
    ADD COLUMN queue_ahead  bigint,
    ADD COLUMN queue_kind   text NOT NULL DEFAULT '';

-- The application's newest place: that of the notification with the highest sequence that carried one
-- (queue_seq), whatever order the notifications arrive in.
ALTER TABLE applications
    ADD COLUMN queue_list   text NOT NULL DEFAULT '',
    ADD COLUMN queue_number bigint,
    ADD COLUMN queue_ahead  bigint,
    ADD COLUMN queue_kind   text NOT NULL DEFAULT '',
    ADD COLUMN queue_seq    integer NOT NULL DEFAULT 0;
CREATE INDEX applications_queue ON applications (owner, created_at DESC) WHERE queue_number IS NOT NULL;
