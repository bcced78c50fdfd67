-- The trace an application was submitted in: its publication to ШЭП continues it, so one application is
-- one trace from the portal (or the ЦОН desk) through ШЭП and РШЭП and back.
ALTER TABLE applications ADD COLUMN trace_context text NOT NULL DEFAULT '';
