-- QUEUE_MOVED: a waiting child's place moves with every referral given before it and every child before it
-- who leaves the list, which is no event of its own. The worker "queue moved" (intake.MovedOnce) compares
-- each waiting child's count of children ahead with the count its case was last told, and puts a
-- QUEUE_MOVED in the case's notifications (the outbox of migration 0004) when the rule says so (the step,
-- the quiet interval).
-- The count the case was last told: NULL until the first round after its decision, which reads it from
-- the decision's notification (its queue.ahead).
ALTER TABLE applications ADD COLUMN told_ahead bigint;
-- When the last QUEUE_MOVED was made (NULL: none yet; the quiet interval then counts from the decision).
ALTER TABLE applications ADD COLUMN moved_at timestamptz;
