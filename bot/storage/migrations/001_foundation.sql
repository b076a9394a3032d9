-- The grid, people and their roles, invites, conversation state, inbound de-duplication and the outbox.

CREATE TABLE grid_units (
    id                INTEGER PRIMARY KEY,
    code              TEXT NOT NULL UNIQUE,
    level             TEXT NOT NULL CHECK (level IN ('street', 'community', 'complex', 'building', 'party_household')),
    name              TEXT NOT NULL,
    parent_id         INTEGER REFERENCES grid_units (id),
    linked_households TEXT NOT NULL DEFAULT '',   -- party households: ';'-separated rooms of their building
    position          INTEGER NOT NULL DEFAULT 0  -- order of appearance in the imported file
);
CREATE INDEX grid_units_parent ON grid_units (parent_id, position);

CREATE TABLE people (
    id          INTEGER PRIMARY KEY,
    display_name TEXT NOT NULL DEFAULT '',
    locale      TEXT NOT NULL,
    building_id INTEGER REFERENCES grid_units (id),
    room        TEXT NOT NULL DEFAULT '',
    consent_at  TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE channel_accounts (
    channel        TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    chat_id        TEXT NOT NULL,
    person_id      INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    unreachable_at TEXT,
    PRIMARY KEY (channel, user_id)
);
CREATE INDEX channel_accounts_person ON channel_accounts (person_id);

CREATE TABLE roles (
    person_id INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    role      TEXT NOT NULL CHECK (role IN ('building_leader', 'complex_secretary', 'community_secretary', 'street_admin')),
    unit_id   INTEGER NOT NULL REFERENCES grid_units (id),
    PRIMARY KEY (person_id, role, unit_id)
);

CREATE TABLE duties (
    person_id INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    duty      TEXT NOT NULL CHECK (duty IN ('safety', 'sanitation', 'mediation', 'publicity', 'legal_advisor')),
    unit_id   INTEGER NOT NULL REFERENCES grid_units (id),
    PRIMARY KEY (person_id, duty, unit_id)
);

CREATE TABLE invites (
    code       TEXT PRIMARY KEY,
    role       TEXT NOT NULL,
    unit_id    INTEGER NOT NULL REFERENCES grid_units (id),
    duties     TEXT NOT NULL DEFAULT '',          -- ','-separated duty names
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT,
    used_by    INTEGER REFERENCES people (id) ON DELETE SET NULL
);

CREATE TABLE conversations (
    channel    TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    flow       TEXT NOT NULL,
    state      TEXT NOT NULL,
    data       TEXT NOT NULL DEFAULT '{}',
    updated_at TEXT NOT NULL,
    PRIMARY KEY (channel, user_id)
);

CREATE TABLE inbound_seen (
    event_id TEXT PRIMARY KEY,
    seen_at  TEXT NOT NULL
);

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    channel         TEXT NOT NULL,
    chat_id         TEXT NOT NULL,
    payload         TEXT NOT NULL,               -- JSON of a neutral Reply
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'in_flight', 'sent', 'failed', 'unreachable')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    not_before      TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    sent_at         TEXT,
    last_error      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX outbox_due ON outbox (status, not_before);
