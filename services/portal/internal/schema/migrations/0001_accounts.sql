-- ПЭП: citizens' accounts and sign-in throttling.
CREATE TABLE accounts (
    iin             text PRIMARY KEY,
    -- password_hash is an argon2id PHC string; '' for an account that signs in by certificate only.
    password_hash   text NOT NULL DEFAULT '',
    name            text NOT NULL,
    created_at      timestamptz NOT NULL,
    last_sign_in_at timestamptz
);

-- throttle counts failed sign-ins per key ("iin:<iin>", "ip:<address>") in a window; past the limit the
-- key is locked until locked_until.
CREATE TABLE throttle (
    key          text PRIMARY KEY,
    failures     integer NOT NULL,
    window_start timestamptz NOT NULL,
    locked_until timestamptz
);
