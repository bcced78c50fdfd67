-- ИС Е-Астана: the kindergarten waiting list. Every change to a list takes its row's lock first
-- (lists FOR UPDATE), so registrations, releases, allocations and expiries of one list run one at a time
-- and each sees the last one's result; lists are independent. The unique indexes are the backstop of the
-- rules the store keeps: one number per list, one child once, one live referral per place and per child.
CREATE TABLE lists (
    id                    text PRIMARY KEY,
    next_number           bigint NOT NULL DEFAULT 1,
    -- general children served since the last child with the primary right (the one-to-N alternation)
    general_since_primary integer NOT NULL DEFAULT 0
);

-- ДДО, a kindergarten, in one list (its city's, or its district's)
CREATE TABLE kindergartens (
    id      text PRIMARY KEY,
    list_id text NOT NULL REFERENCES lists,
    name_ru text NOT NULL,
    name_kk text NOT NULL
);

-- an age group of a kindergarten: children aged [age_from, age_to) full years
CREATE TABLE groups (
    id              bigserial PRIMARY KEY,
    kindergarten_id text NOT NULL REFERENCES kindergartens,
    age_from        integer NOT NULL CHECK (age_from >= 0),
    age_to          integer NOT NULL CHECK (age_to > age_from),
    capacity        integer NOT NULL CHECK (capacity > 0)
);

-- a place of a group: occupied, free (released by staff, no child fits yet) or offered (a live referral)
CREATE TABLE seats (
    id       bigserial PRIMARY KEY,
    group_id bigint NOT NULL REFERENCES groups,
    list_id  text NOT NULL REFERENCES lists,
    state    text NOT NULL CHECK (state IN ('occupied', 'free', 'offered')),
    freed_at timestamptz
);
CREATE INDEX seats_group ON seats (group_id, state);
CREATE INDEX seats_free ON seats (list_id, freed_at, id) WHERE state = 'free';

-- a child in a list; number is its queue number, by time of registration
CREATE TABLE entries (
    id            bigserial PRIMARY KEY,
    list_id       text NOT NULL REFERENCES lists,
    number        bigint NOT NULL,
    child_iin     text NOT NULL,
    birth_date    date NOT NULL,
    applicant_iin text NOT NULL,
    category      text NOT NULL DEFAULT '',
    kind          text NOT NULL CHECK (kind IN ('extraordinary', 'primary', 'general')),
    channel       text NOT NULL,
    registered_at timestamptz NOT NULL,
    state         text NOT NULL CHECK (state IN ('waiting', 'offered', 'enrolled', 'declined', 'expired', 'removed')),
    closed_at     timestamptz,
    UNIQUE (list_id, number)
);
CREATE UNIQUE INDEX entries_one_child ON entries (child_iin) WHERE state IN ('waiting', 'offered');
CREATE INDEX entries_waiting ON entries (list_id, kind, number) INCLUDE (birth_date, id) WHERE state = 'waiting';

-- a referral (направление в ДДО): a place offered to a child, valid until expires_at
CREATE TABLE offers (
    id         bigserial PRIMARY KEY,
    seat_id    bigint NOT NULL REFERENCES seats,
    entry_id   bigint NOT NULL REFERENCES entries,
    offered_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    state      text NOT NULL CHECK (state IN ('offered', 'enrolled', 'declined', 'expired')),
    closed_at  timestamptz,
    offered_by text NOT NULL
);
CREATE UNIQUE INDEX offers_live_seat ON offers (seat_id) WHERE state = 'offered';
CREATE UNIQUE INDEX offers_one_entry ON offers (entry_id) WHERE state IN ('offered', 'enrolled');
CREATE INDEX offers_due ON offers (expires_at) WHERE state = 'offered';

-- what happened to a child in the list, in order: the source of its status notifications
CREATE TABLE events (
    id       bigserial PRIMARY KEY,
    entry_id bigint NOT NULL REFERENCES entries,
    at       timestamptz NOT NULL,
    kind     text NOT NULL CHECK (kind IN ('registered', 'offered', 'declined', 'expired', 'enrolled', 'removed')),
    offer_id bigint REFERENCES offers
);
CREATE INDEX events_entry ON events (entry_id, id);

-- how many children of a kind wait in each block of 1,000 queue numbers of a list, kept in the
-- transaction that moves a child in or out of waiting: a child's position is the sum over the blocks
-- before its own plus a count within its block, instead of a count over the whole list
CREATE TABLE waiting_blocks (
    list_id text NOT NULL REFERENCES lists,
    kind    text NOT NULL,
    block   bigint NOT NULL,
    waiting integer NOT NULL CHECK (waiting >= 0),
    PRIMARY KEY (list_id, kind, block)
);
