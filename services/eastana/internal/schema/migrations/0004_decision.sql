-- The МИО employee's decision (ИС Е-Астана is the provider's system in every channel): an application is
-- registered at once (its queue number by the time of receipt) and answered REGISTERED with its
-- application number; the result (the registration ticket, the referral, or the refusal) is a document the
-- employee signs with their ЭЦП, and only then does the decision's notification go out. An application is
-- a case of the working cabinet: its number, channel, child, state, the signed document and every
-- notification it was sent.
CREATE SEQUENCE application_numbers;

ALTER TABLE applications ADD COLUMN id bigserial;
ALTER TABLE applications ADD CONSTRAINT applications_id_key UNIQUE (id);
-- The application number (registration_number of the contract): ЕА-<year of receipt>-<6 digits>, the
-- digits from application_numbers (unique across the years; a rolled-back registration leaves a gap).
ALTER TABLE applications ADD COLUMN number text;
UPDATE applications SET number = 'ЕА-' || extract(year FROM received_at)::int || '-' || lpad(nextval('application_numbers')::text, 6, '0');
ALTER TABLE applications ALTER COLUMN number SET NOT NULL;
ALTER TABLE applications ADD CONSTRAINT applications_number_key UNIQUE (number);
ALTER TABLE applications ADD COLUMN channel text NOT NULL DEFAULT '';
ALTER TABLE applications ADD COLUMN child_iin text NOT NULL DEFAULT '';
-- The citizen's e-mail, kept only when the application gave it with email_consent = yes (never logged).
ALTER TABLE applications ADD COLUMN email text NOT NULL DEFAULT '';
-- awaiting: the employee has not signed yet; issued: the signed result went out; refused: refused
-- automatically (the applicant's ЭЦП not confirmed), no document. Applications kept before this
-- migration were answered at once: issued with an entry, refused without.
ALTER TABLE applications ADD COLUMN state text NOT NULL DEFAULT 'awaiting' CHECK (state IN ('awaiting', 'issued', 'refused'));
UPDATE applications SET state = CASE WHEN entry_id IS NULL THEN 'refused' ELSE 'issued' END;
-- The queue's refusal at receipt (its code and ru/kk text), or the employee's motivation (Refuse).
ALTER TABLE applications ADD COLUMN refusal_code text NOT NULL DEFAULT '';
ALTER TABLE applications ADD COLUMN refusal_ru text NOT NULL DEFAULT '';
ALTER TABLE applications ADD COLUMN refusal_kk text NOT NULL DEFAULT '';
ALTER TABLE applications ADD COLUMN motivation text NOT NULL DEFAULT '';
-- The kind of the signed document ('' until signed; before this migration none was).
ALTER TABLE applications ADD COLUMN decision text NOT NULL DEFAULT ''
    CHECK (decision IN ('', 'registration_ticket', 'referral', 'refusal'));
ALTER TABLE applications ADD COLUMN deadline timestamptz;
ALTER TABLE applications ADD COLUMN document bytea;
ALTER TABLE applications ADD COLUMN signature bytea;
ALTER TABLE applications ADD COLUMN signed_by text NOT NULL DEFAULT '';
ALTER TABLE applications ADD COLUMN signed_at timestamptz;
CREATE INDEX applications_state ON applications (state, received_at, id);
CREATE INDEX applications_applicant ON applications (applicant_iin, received_at, id);

-- Every notification of a case, in sequence order: the cabinets read them; the ones of an application that
-- came through ШЭП are also sent there (outbox), each once, by the forward worker after its commit.
CREATE TABLE notifications (
    application  bigint NOT NULL REFERENCES applications (id),
    sequence     bigint NOT NULL,
    -- binary egov.application.v1.StatusNotification
    notification bytea NOT NULL,
    created_at   timestamptz NOT NULL,
    outbox       boolean NOT NULL,
    sent_at      timestamptz,
    PRIMARY KEY (application, sequence)
);
CREATE INDEX notifications_unsent ON notifications (application, sequence) WHERE outbox AND sent_at IS NULL;
INSERT INTO notifications (application, sequence, notification, created_at, outbox, sent_at)
    SELECT id, 1, notification, received_at, false, received_at FROM applications;

-- The МИО staff who may sign in the working cabinet (ИС Е-Астана's own register of its employees).
CREATE TABLE employees (
    iin      text PRIMARY KEY,
    name     text NOT NULL,
    position text NOT NULL,
    active   boolean NOT NULL DEFAULT true
);
