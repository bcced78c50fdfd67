-- note_kk is a history note in Kazakh where the engine wrote it (no registry checks for a channel, a term
-- warned of or missed, an escalation), so АРМ's Kazakh page reads it in Kazakh. A note a person typed,
-- or a number, leaves it empty; АРМ falls back to note.
ALTER TABLE case_events ADD COLUMN note_kk text NOT NULL DEFAULT '';
