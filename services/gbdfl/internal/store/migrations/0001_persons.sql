-- ГБД ФЛ stub: persons and their family links.
CREATE TABLE persons (
    iin             text PRIMARY KEY CHECK (iin ~ '^[0-9]{12}$'),
    surname         text NOT NULL,
    name            text NOT NULL,
    patronymic      text NOT NULL DEFAULT '',
    birth_date      date NOT NULL,
    birth_place     text NOT NULL DEFAULT '',
    sex             smallint NOT NULL CHECK (sex IN (1, 2)),
    citizenship     text NOT NULL DEFAULT 'KZ',
    nationality     text NOT NULL DEFAULT '',
    region_code     text NOT NULL DEFAULT '',
    district_code   text NOT NULL DEFAULT '',
    address_line    text NOT NULL DEFAULT '',
    doc_kind        text NOT NULL DEFAULT '',
    doc_number      text NOT NULL DEFAULT '',
    doc_issued_on   date,
    doc_valid_until date,
    doc_issuer      text NOT NULL DEFAULT '',
    deceased        boolean NOT NULL DEFAULT false,
    death_date      date,
    legal_capacity  boolean NOT NULL
);

-- relation: 1 parent, 2 child, 3 spouse, 4 guardian, 5 ward (egov.gbdfl.v1.Relation): other is iin's <relation>.
CREATE TABLE family (
    iin       text NOT NULL REFERENCES persons (iin) DEFERRABLE INITIALLY DEFERRED,
    relation  smallint NOT NULL CHECK (relation BETWEEN 1 AND 5),
    other_iin text NOT NULL REFERENCES persons (iin) DEFERRABLE INITIALLY DEFERRED,
    PRIMARY KEY (iin, relation, other_iin)
);
