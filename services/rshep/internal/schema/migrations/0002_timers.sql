-- РШЭП: durable timers (step and service deadlines, warnings, escalations). A timer fires once: it is
-- claimed with FOR UPDATE SKIP LOCKED, so replicas never fire the same one, and marked fired in the
-- transaction that does its work.
CREATE TABLE timers (
    id         bigserial PRIMARY KEY,
    case_id    text NOT NULL,
    kind       text NOT NULL,
    due_at     timestamptz NOT NULL,
    payload    jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL,
    fired_at   timestamptz,
    fired_by   text,
    cancelled  boolean NOT NULL DEFAULT false,
    UNIQUE (case_id, kind)
);
CREATE INDEX timers_due ON timers (due_at) WHERE fired_at IS NULL AND NOT cancelled;
