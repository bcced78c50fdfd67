-- The queue's later events (a referral offered when a place is released, declined, expired, enrolled,
-- removed) become status notifications to the channel that sent the child's application. An event is
-- marked once it is notified (or found to have no channel to notify: the demo queue, an entry without an
-- application); the application counts its notifications, as the channels count a case's.
ALTER TABLE applications ADD COLUMN service_code text NOT NULL DEFAULT '';
ALTER TABLE applications ADD COLUMN region text NOT NULL DEFAULT '';
ALTER TABLE applications ADD COLUMN notify_seq bigint NOT NULL DEFAULT 1;
ALTER TABLE events ADD COLUMN notified boolean NOT NULL DEFAULT false;
CREATE INDEX events_unnotified ON events (id) WHERE NOT notified;
