-- identity_proven: the account's IIN was proven by its holder's authentication certificate (at
-- registration or at a certificate sign-in). Accounts opened before registration asked for the
-- certificate were bound to an IIN by anyone who typed it; a password on such an account is not trusted
-- (ПЭП asks the owner to prove the IIN once, and a certificate sign-in voids the password someone else set).
ALTER TABLE accounts ADD COLUMN identity_proven boolean NOT NULL DEFAULT false;
-- An account without a password was opened by a certificate sign-in.
UPDATE accounts SET identity_proven = true WHERE password_hash = '';

-- throttle's keys are now "acct:<iin>|<address>" (one account from one address) and "ip:<address>";
-- the old per-IIN keys would lock an account from everywhere and are dropped.
DELETE FROM throttle WHERE key LIKE 'iin:%';

-- known_devices: browsers that signed in to an account by password (the SHA-256 of their cookie's
-- random value); such a browser is not held to its address's sign-in throttle for that account.
CREATE TABLE known_devices (
    token_sha256 bytea PRIMARY KEY,
    iin          text NOT NULL,
    expires_at   timestamptz NOT NULL
);
CREATE INDEX known_devices_expires_at ON known_devices (expires_at);
