-- ШЭП: the registry of participants and services, the ACL, the delivery states and the message log.

CREATE TABLE participants (
    id                 text PRIMARY KEY CHECK (id ~ '^[a-z0-9-]{1,64}$'),
    title              text NOT NULL DEFAULT '',
    certificate_sha256 bytea,
    created_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE services (
    id         text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{1,64}$'),
    provider   text NOT NULL REFERENCES participants (id),
    channel    text NOT NULL CHECK (channel IN ('sync', 'async')),
    version    text NOT NULL DEFAULT '1',
    region     text NOT NULL DEFAULT '',
    endpoint   text NOT NULL DEFAULT '',
    timeout_ms integer NOT NULL DEFAULT 10000 CHECK (timeout_ms > 0),
    CHECK (channel = 'async' OR endpoint <> '')
);

CREATE TABLE grants (
    sender     text NOT NULL REFERENCES participants (id),
    service_id text NOT NULL REFERENCES services (id),
    PRIMARY KEY (sender, service_id)
);

-- One row per message a participant sent; the key makes a replayed message id visible.
CREATE TABLE messages (
    sender         text NOT NULL,
    message_id     text NOT NULL,
    correlation_id text NOT NULL DEFAULT '',
    session_id     text NOT NULL,
    service_id     text NOT NULL DEFAULT '',
    recipient      text NOT NULL DEFAULT '',
    state          text NOT NULL CHECK (state IN ('ON_DELIVERY', 'DELIVERED', 'NOT_DELIVERED', 'DELIVERY_STOPPED')),
    code           text NOT NULL DEFAULT '',
    reason         text NOT NULL DEFAULT '',
    updated_at     timestamptz NOT NULL,
    -- Async: the SHEP_IN stream sequence it arrived with, to tell ШЭП's own redelivery from a replay.
    in_seq         bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (sender, message_id)
);

-- The message log: append-only, hash-chained. Each record's hash covers its fields and the previous
-- record's hash; personal data stays behind payload_sha256.
CREATE TABLE message_log (
    seq            bigint PRIMARY KEY,
    at             timestamptz NOT NULL,
    channel        text NOT NULL,
    event          text NOT NULL,
    sender         text NOT NULL,
    recipient      text NOT NULL,
    service_id     text NOT NULL,
    message_id     text NOT NULL,
    session_id     text NOT NULL,
    message_type   text NOT NULL,
    code           text NOT NULL,
    reason         text NOT NULL,
    envelope_sha256 bytea NOT NULL,
    payload_sha256 bytea NOT NULL,
    prev_hash      bytea NOT NULL,
    hash           bytea NOT NULL
);

-- Append-only: the application role may insert, never update or delete.
CREATE FUNCTION message_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'message_log is append-only';
END $$;
CREATE TRIGGER message_log_no_update BEFORE UPDATE OR DELETE ON message_log
    FOR EACH ROW EXECUTE FUNCTION message_log_append_only();
