-- ПЭП: citizens' accounts, sign-in throttling, and attachments.
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

-- attachments uploaded for a draft: the blob is in the JetStream object store under object_key.
CREATE TABLE attachments (
    object_key  text NOT NULL,
    owner       text NOT NULL,
    name        text NOT NULL,
    media_type  text NOT NULL,
    size        bigint NOT NULL,
    sha256      bytea NOT NULL,
    uploaded_at timestamptz NOT NULL,
    PRIMARY KEY (owner, object_key)
);
