-- The in-person intake at МИО (the office channel): the scan of the paper application (приложение 9) the
-- employee attaches, kept here (ИС Е-Астана's NATS user has no object store), and the application as the
-- employee signed it with their ЭЦП. A scan is kept when the form is drafted and bound to its application
-- when the signed application is received; one left unbound (a draft never signed) is removed a day later.
CREATE TABLE office_scans (
    id             uuid PRIMARY KEY,
    application_id text,
    name           text NOT NULL,
    media_type     text NOT NULL,
    size           bigint NOT NULL,
    sha256         bytea NOT NULL,
    content        bytea NOT NULL,
    taken_by       text NOT NULL,
    taken_at       timestamptz NOT NULL
);
CREATE INDEX office_scans_application ON office_scans (application_id) WHERE application_id IS NOT NULL;
CREATE INDEX office_scans_unbound ON office_scans (taken_at) WHERE application_id IS NULL;

CREATE TABLE office_applications (
    application_id text PRIMARY KEY,
    content        bytea NOT NULL,
    signature      bytea NOT NULL,
    signed_by      text NOT NULL,
    signed_at      timestamptz NOT NULL
);
