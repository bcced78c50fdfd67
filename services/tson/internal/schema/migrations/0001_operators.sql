-- ЦОН desk: the operators, and what the operator learnt at the counter for each application.
CREATE TABLE operators (
    iin    text PRIMARY KEY,
    name   text NOT NULL,
    active boolean NOT NULL DEFAULT true
);
