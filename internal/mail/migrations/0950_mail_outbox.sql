-- The messages owed by e-mail (Outbox): one row per message, written by the service in the transaction
-- that issues what it carries (a result document), sent once by the service's mail worker. The address
-- (recipient) and the composed message are kept only until the message is delivered; the mask stays for
-- an operator. A service whose schema holds this table unions Migrations() into its own.
CREATE TABLE mail_outbox (
	id               bigserial PRIMARY KEY,
	key              text NOT NULL UNIQUE,
	recipient        text,
	recipient_masked text NOT NULL,
	message          bytea,
	message_id       text NOT NULL,
	created_at       timestamptz NOT NULL,
	attempts         integer NOT NULL DEFAULT 0,
	next_attempt_at  timestamptz,
	last_error       text NOT NULL DEFAULT '',
	sent_at          timestamptz,
	parked_at        timestamptz
);
CREATE INDEX mail_outbox_due ON mail_outbox (id) WHERE sent_at IS NULL AND parked_at IS NULL;
