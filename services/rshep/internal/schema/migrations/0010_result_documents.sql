-- A case's result documents, each rendered from its passport template and signed on its own (a
-- contract and a decision on payment at once): id, kind, name, media type, content, the structured
-- data it was rendered from, signature and signer. result_content and result_signature keep the first
-- document, as before, for what reads them.
ALTER TABLE cases ADD COLUMN results jsonb NOT NULL DEFAULT '[]';

-- The templates of a passport version are part of it, as its file is.
ALTER TABLE passport_versions ADD COLUMN templates jsonb NOT NULL DEFAULT '{}';
