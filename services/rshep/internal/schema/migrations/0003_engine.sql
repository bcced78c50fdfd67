-- РШЭП's engine: a case's state, its history, the notifications it owes, and what it refused at intake.
ALTER TABLE cases
    ADD COLUMN application_id    text NOT NULL DEFAULT '',
    ADD COLUMN channel           text NOT NULL DEFAULT '',
    -- The participant the application came from: notifications go back to it.
    ADD COLUMN reply_to          text NOT NULL DEFAULT '',
    ADD COLUMN correlation_id    text NOT NULL DEFAULT '',
    ADD COLUMN applicant_iin     text NOT NULL DEFAULT '',
    ADD COLUMN language          text NOT NULL DEFAULT 'ru',
    ADD COLUMN passport_version  integer NOT NULL DEFAULT 1,
    ADD COLUMN status            text NOT NULL DEFAULT 'REGISTERED',
    -- Index of the current step in the passport; the number of steps once the case is closed.
    ADD COLUMN step              integer NOT NULL DEFAULT 0,
    ADD COLUMN step_started_at   timestamptz,
    ADD COLUMN step_due_at       timestamptz,
    -- The whole service's deadline.
    ADD COLUMN due_at            timestamptz,
    ADD COLUMN assignee          text NOT NULL DEFAULT '',
    ADD COLUMN extensions        integer NOT NULL DEFAULT 0,
    ADD COLUMN warned            boolean NOT NULL DEFAULT false,
    ADD COLUMN overdue           boolean NOT NULL DEFAULT false,
    ADD COLUMN escalated         boolean NOT NULL DEFAULT false,
    ADD COLUMN checks_done       boolean NOT NULL DEFAULT false,
    ADD COLUMN form              jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN documents         jsonb NOT NULL DEFAULT '[]',
    -- The registries' answers, as the case view shows them.
    ADD COLUMN checks            jsonb NOT NULL DEFAULT '[]',
    -- The signed application (egov.envelope.v1.SignedDocument), as evidence.
    ADD COLUMN application       bytea,
    ADD COLUMN outcome           text NOT NULL DEFAULT '',
    ADD COLUMN refusal_code      text NOT NULL DEFAULT '',
    ADD COLUMN comment           text NOT NULL DEFAULT '',
    ADD COLUMN decided_by        text NOT NULL DEFAULT '',
    ADD COLUMN result_media_type text NOT NULL DEFAULT '',
    ADD COLUMN result_content    bytea,
    ADD COLUMN result_signature  bytea,
    ADD COLUMN result_signed_by  text NOT NULL DEFAULT '',
    ADD COLUMN closed_at         timestamptz,
    ADD COLUMN notify_seq        bigint NOT NULL DEFAULT 0;

CREATE INDEX cases_open ON cases (region, step_due_at) WHERE closed_at IS NULL;

-- Every transition of a case, with its actor and time.
CREATE TABLE case_events (
    case_id    bigint NOT NULL REFERENCES cases (id),
    seq        integer NOT NULL,
    at         timestamptz NOT NULL,
    -- The employee's IIN, or "system".
    actor      text NOT NULL,
    actor_name text NOT NULL,
    role       text NOT NULL,
    action     text NOT NULL,
    status     text NOT NULL DEFAULT '',
    step       text NOT NULL DEFAULT '',
    note       text NOT NULL DEFAULT '',
    PRIMARY KEY (case_id, seq)
);

-- Envelopes owed to ШЭП (status notifications), written in the transaction that changed the case and
-- published by the forwarder; the message id makes a re-publication harmless.
CREATE TABLE outbox (
    id         bigserial PRIMARY KEY,
    message_id text NOT NULL UNIQUE,
    region     text NOT NULL,
    envelope   bytea NOT NULL,
    created_at timestamptz NOT NULL,
    sent_at    timestamptz
);
CREATE INDEX outbox_pending ON outbox (id) WHERE sent_at IS NULL;

-- Applications refused before registration (unknown service or region, a form or a document list that
-- fails the passport, a signature that does not verify): recorded once per envelope.
CREATE TABLE rejections (
    sender         text NOT NULL,
    message_id     text NOT NULL,
    at             timestamptz NOT NULL,
    region         text NOT NULL,
    service_code   text NOT NULL,
    application_id text NOT NULL,
    refusal_code   text NOT NULL,
    detail         text NOT NULL,
    PRIMARY KEY (sender, message_id)
);
