-- АРМ РШЭП: the provider's staff and their sessions.
CREATE TABLE employees (
    region text NOT NULL,
    iin    text NOT NULL,
    name   text NOT NULL,
    -- Roles of the passports' steps: clerk, head, officer, commission.
    roles  text[] NOT NULL,
    active boolean NOT NULL DEFAULT true,
    PRIMARY KEY (region, iin)
);

CREATE TABLE sessions (
    token_sha256 bytea PRIMARY KEY,
    region       text NOT NULL,
    iin          text NOT NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL
);

-- Sign-in challenges: a random text the employee signs with the authentication key; used once.
CREATE TABLE challenges (
    nonce      text PRIMARY KEY,
    expires_at timestamptz NOT NULL
);
