-- РШЭП: cases (заявки) and their registration numbers, unique per provider and year.
CREATE TABLE registration_counters (
    provider text NOT NULL,
    year     integer NOT NULL,
    last     bigint NOT NULL,
    PRIMARY KEY (provider, year)
);

CREATE TABLE cases (
    id                  bigserial PRIMARY KEY,
    -- The application's envelope, as ШЭП delivered it: redelivery finds the same row.
    sender              text NOT NULL,
    message_id          text NOT NULL,
    provider            text NOT NULL,
    service_code        text NOT NULL,
    region              text NOT NULL,
    registration_number text NOT NULL,
    registered_at       timestamptz NOT NULL,
    UNIQUE (sender, message_id),
    UNIQUE (provider, registration_number)
);
