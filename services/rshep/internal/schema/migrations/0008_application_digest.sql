-- Registration is idempotent on the signed application itself, not only on its envelope: the same
-- application re-sent in a new envelope (a re-send after a restart) finds its case. Cases registered
-- before this migration have no digest and are found by their envelope, as before.
ALTER TABLE cases ADD COLUMN application_sha256 bytea;
CREATE UNIQUE INDEX cases_application_sha256 ON cases (application_sha256) WHERE application_sha256 IS NOT NULL;
