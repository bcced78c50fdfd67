-- surveys: приложение 5 «качество» и «доступность», once per application.
CREATE TABLE surveys (
    application_id uuid PRIMARY KEY REFERENCES applications (id),
    quality        text NOT NULL,
    accessibility  text NOT NULL,
    at             timestamptz NOT NULL
);
