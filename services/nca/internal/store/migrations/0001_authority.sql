-- НУЦ: the authority's own keys, every certificate it issued, and its CRLs.

CREATE TABLE ca (
    role       text PRIMARY KEY CHECK (role IN ('root', 'intermediate', 'tsa')),
    cert       bytea NOT NULL,
    sealed_key bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE certificates (
    serial            text PRIMARY KEY,           -- lower-case hex
    issuer            text NOT NULL REFERENCES ca (role),
    profile           text NOT NULL CHECK (profile IN ('individual', 'employee', 'system')),
    purpose           text NOT NULL CHECK (purpose IN ('auth', 'sign', 'system')),
    subject_dn        text NOT NULL,
    iin               text,
    bin               text,
    system_id         text,
    not_before        timestamptz NOT NULL,
    not_after         timestamptz NOT NULL,
    der               bytea NOT NULL,
    issued_at         timestamptz NOT NULL,
    revoked_at        timestamptz,
    revocation_reason integer CHECK (revocation_reason BETWEEN 0 AND 10)
);
CREATE INDEX certificates_iin ON certificates (iin) WHERE iin IS NOT NULL;
CREATE INDEX certificates_revoked ON certificates (issuer, revoked_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX certificates_issued ON certificates (issued_at DESC, serial DESC);

CREATE TABLE crls (
    issuer      text NOT NULL REFERENCES ca (role),
    number      bigint NOT NULL,
    der         bytea NOT NULL,
    this_update timestamptz NOT NULL,
    next_update timestamptz NOT NULL,
    PRIMARY KEY (issuer, number)
);
