-- comment_kk is the decision's comment in Kazakh where the engine wrote it (an automatic refusal on a
-- failed registry check): the applicant reads it in their language. An employee's motivation is typed in
-- one language and leaves it empty; a reader falls back to comment.
ALTER TABLE cases ADD COLUMN comment_kk text NOT NULL DEFAULT '';
