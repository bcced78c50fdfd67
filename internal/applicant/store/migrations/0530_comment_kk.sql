-- comment_kk is a status's comment in Kazakh (a refusal's detail at intake, a failed registry check), so a
-- Kazakh page carries no Russian words; comment stays the Russian text. Rows recorded before it, and a
-- comment a person typed in one language, leave it empty and the page falls back to comment.
ALTER TABLE statuses ADD COLUMN comment_kk text NOT NULL DEFAULT '';
