-- counter: the look-ups made at the counter (ГБД ФЛ, ЕНИС through ШЭП) and who served the citizen; the
-- receipt (расписка) is printed from it.
CREATE TABLE counter (
    application_id      uuid PRIMARY KEY REFERENCES applications (id),
    citizen_name        text NOT NULL,
    representative_name text NOT NULL DEFAULT '',
    power_of_attorney   text NOT NULL DEFAULT '',
    operator_iin        text NOT NULL,
    operator_name       text NOT NULL,
    at                  timestamptz NOT NULL
);
