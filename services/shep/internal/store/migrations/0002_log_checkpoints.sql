-- Checkpoints of the message log's head: each names the last record it covers and that record's hash,
-- links to the previous checkpoint, and is signed by ШЭП and time-stamped by НУЦ's TSA (RFC 3161). A
-- copy of each goes to the SHEP_LOG_CHECKPOINTS stream, outside this database.
CREATE TABLE log_checkpoints (
    number          bigint PRIMARY KEY CHECK (number > 0),
    seq             bigint NOT NULL CHECK (seq > 0),
    head            bytea NOT NULL,
    prev_digest     bytea NOT NULL,
    at              timestamptz NOT NULL,
    signature       bytea NOT NULL,
    timestamp_token bytea NOT NULL
);

CREATE FUNCTION append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END $$;
CREATE TRIGGER log_checkpoints_no_update BEFORE UPDATE OR DELETE ON log_checkpoints
    FOR EACH ROW EXECUTE FUNCTION append_only();
