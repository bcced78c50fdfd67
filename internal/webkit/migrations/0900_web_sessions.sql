-- The shared web sessions and sign-in challenges (internal/webkit).
CREATE TABLE sessions (
    token_sha256 bytea PRIMARY KEY,
    subject      text NOT NULL,
    scope        text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL
);

CREATE TABLE challenges (
    nonce      text PRIMARY KEY,
    expires_at timestamptz NOT NULL
);
