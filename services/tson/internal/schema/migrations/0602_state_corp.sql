-- Госкорпорация's part of the 2019 regulations (services/tson/internal/statecorp).
-- intake_refusals: the receipts of refusal to accept documents (расписка об отказе в приёме документов).
-- An incomplete set opens no case: there is no application row, only the receipt.
CREATE TABLE intake_refusals (
    id                  uuid PRIMARY KEY,
    number              bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    office              text NOT NULL,
    service_code        text NOT NULL,
    region              text NOT NULL,
    citizen_iin         text NOT NULL,
    citizen_name        text NOT NULL,
    representative_name text NOT NULL DEFAULT '',
    power_of_attorney   text NOT NULL DEFAULT '',
    -- missing and expired name the documents, in the language of the counter.
    missing             text[] NOT NULL DEFAULT '{}',
    expired             text[] NOT NULL DEFAULT '{}',
    operator_iin        text NOT NULL,
    operator_name       text NOT NULL,
    language            text NOT NULL DEFAULT 'ru',
    at                  timestamptz NOT NULL
);
CREATE INDEX intake_refusals_office ON intake_refusals (office, at DESC);

-- handover_steps: the timed steps of an accepted application, each with its own deadline on the working-day
-- calendar: the documents carried to the provider, the result brought back, the result kept for the
-- applicant (storage; archived as unclaimed when it runs out).
CREATE TABLE handover_steps (
    application_id uuid NOT NULL REFERENCES applications (id),
    step           text NOT NULL CHECK (step IN ('to_provider', 'result_back', 'storage')),
    due_at         timestamptz NOT NULL,
    done_at        timestamptz,
    done_by        text NOT NULL DEFAULT '',
    PRIMARY KEY (application_id, step)
);
CREATE INDEX handover_steps_open ON handover_steps (due_at) WHERE done_at IS NULL;
