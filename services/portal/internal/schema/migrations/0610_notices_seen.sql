-- notices_seen is the newest status row (statuses.recorded) the citizen has seen in «Уведомления»;
-- the rows after it are the unread count the portal's menu shows.
ALTER TABLE accounts ADD COLUMN notices_seen bigint NOT NULL DEFAULT 0;
