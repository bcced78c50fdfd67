-- recorded numbers the status rows in the order this channel recorded them (whatever time their
-- producer stamped): a site counts the notices a person has not seen yet by it (ПЭП's unread count).
ALTER TABLE statuses ADD COLUMN recorded bigint GENERATED ALWAYS AS IDENTITY;
CREATE INDEX statuses_recorded ON statuses (recorded);
