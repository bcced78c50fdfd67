-- The applications that reached ИС Е-Астана through ШЭП, each once: a redelivered application gets the
-- notification it got the first time (a registration must not be refused as "already listed" by its own
-- repeat), and the notification commits with the registration it reports.
CREATE TABLE applications (
    sender         text NOT NULL,
    application_id text NOT NULL,
    correlation_id text NOT NULL,
    applicant_iin  text NOT NULL,
    entry_id       bigint REFERENCES entries (id),
    -- The StatusNotification owed to the sender (binary egov.application.v1.StatusNotification).
    notification   bytea NOT NULL,
    received_at    timestamptz NOT NULL,
    PRIMARY KEY (sender, application_id)
);
CREATE INDEX applications_entry ON applications (entry_id) WHERE entry_id IS NOT NULL;
