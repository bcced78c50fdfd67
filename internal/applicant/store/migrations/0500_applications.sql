-- The applications a channel (ПЭП, a ЦОН) sends to РШЭП through ШЭП, and every status that comes back
-- (internal/applicant).
CREATE TABLE applications (
    id                 uuid PRIMARY KEY,
    -- owner is whose list the application is on: the citizen's account (ПЭП) or the operator (ЦОН).
    owner              text NOT NULL,
    channel            text NOT NULL,
    service_code       text NOT NULL,
    region             text NOT NULL,
    applicant_iin      text NOT NULL,
    representative_iin text NOT NULL DEFAULT '',
    language           text NOT NULL DEFAULT 'ru',
    -- content is the application document as signed (egov.application.v1.Application, binary).
    content            bytea NOT NULL,
    signature          bytea,
    signer             text NOT NULL DEFAULT '',
    -- envelope is the signed ШЭП envelope, kept to re-send the very same message after a failure.
    envelope           bytea,
    message_id         text UNIQUE,
    status             text NOT NULL,
    number             text NOT NULL DEFAULT '',
    deadline           timestamptz,
    created_at         timestamptz NOT NULL,
    submitted_at       timestamptz,
    sent_at            timestamptz,
    result_media_type  text NOT NULL DEFAULT '',
    result_content     bytea,
    result_signature   bytea,
    closed_at          timestamptz,
    -- ЦОН: the result handed over to the citizen, or left unclaimed.
    handed_over_at     timestamptz,
    handed_over_by     text NOT NULL DEFAULT '',
    unclaimed_at       timestamptz
);
CREATE INDEX applications_owner ON applications (owner, created_at DESC);
CREATE INDEX applications_unsent ON applications (submitted_at) WHERE envelope IS NOT NULL AND sent_at IS NULL;

-- statuses: what the citizen sees, in order; one row per status message (the key makes a repeat
-- delivery of a notification harmless).
CREATE TABLE statuses (
    application_id uuid NOT NULL REFERENCES applications (id),
    key            text NOT NULL,
    seq            integer NOT NULL,
    status         text NOT NULL,
    at             timestamptz NOT NULL,
    text_ru        text NOT NULL DEFAULT '',
    text_kk        text NOT NULL DEFAULT '',
    reason_ru      text NOT NULL DEFAULT '',
    reason_kk      text NOT NULL DEFAULT '',
    comment        text NOT NULL DEFAULT '',
    PRIMARY KEY (application_id, key)
);
CREATE INDEX statuses_at ON statuses (application_id, at, seq);
