-- ЕНИС stub: notarised powers of attorney.
CREATE TABLE powers_of_attorney (
    number             text PRIMARY KEY,
    issued_on          date NOT NULL,
    valid_until        date NOT NULL,
    notary_name        text NOT NULL,
    notary_licence     text NOT NULL,
    principal_iin      text NOT NULL CHECK (principal_iin ~ '^[0-9]{12}$'),
    representative_iin text NOT NULL CHECK (representative_iin ~ '^[0-9]{12}$'),
    service_codes      text[] NOT NULL DEFAULT '{}',
    general_scope      boolean NOT NULL DEFAULT false,
    revoked            boolean NOT NULL DEFAULT false,
    CHECK (valid_until >= issued_on)
);
CREATE INDEX powers_of_attorney_principal ON powers_of_attorney (principal_iin);
