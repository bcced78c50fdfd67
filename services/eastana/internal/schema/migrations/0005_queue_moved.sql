-- QUEUE_MOVED: a waiting child's place moves with every referral given before it and every child before it
-- who leaves the list, which is no event of its own. The worker "queue moved" (intake.MovedOnce) compares
-- each waiting child's count of children ahead with the count its case was last told, and makes a
-- QUEUE_MOVED when the rule says so (the step, the quiet interval). The notification is kept here before
-- it is sent: a send that fails is repeated with the same bytes (the same message to ШЭП), and the next
-- one is not made before it went out.
ALTER TABLE applications ADD COLUMN told_ahead bigint;        -- NULL: the decision's (its notification's queue.ahead)
ALTER TABLE applications ADD COLUMN moved_at timestamptz;     -- when the last QUEUE_MOVED was made
ALTER TABLE applications ADD COLUMN moved_pending bytea;      -- a QUEUE_MOVED made and not yet sent (egov.application.v1.StatusNotification)
CREATE INDEX applications_moved_pending ON applications (moved_at) WHERE moved_pending IS NOT NULL;
