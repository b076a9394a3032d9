-- Reports (issues): categories, the issues themselves, photos, audit trail, who was asked, followers, timers.

CREATE TABLE categories (
    code                TEXT PRIMARY KEY,
    position            INTEGER NOT NULL DEFAULT 0,
    duty                TEXT CHECK (duty IN ('safety', 'sanitation', 'mediation', 'publicity', 'legal_advisor')),
    limit_building_h    REAL NOT NULL,   -- hours the building level has before the report climbs
    limit_complex_h     REAL NOT NULL,
    limit_community_h   REAL NOT NULL,
    limit_street_h      REAL NOT NULL,   -- the street is the last owner: past this it is only flagged overdue
    infrastructure      INTEGER NOT NULL DEFAULT 0,  -- ask again after 14 days whether it stayed fixed
    name_zh             TEXT NOT NULL DEFAULT '',    -- names of custom categories (defaults use the catalogs)
    name_en             TEXT NOT NULL DEFAULT '',
    active              INTEGER NOT NULL DEFAULT 1
);

INSERT INTO categories (code, position, duty, limit_building_h, limit_complex_h, limit_community_h, limit_street_h,
                        infrastructure) VALUES
    ('roof_leak',         1,  NULL,            24,  24,  24,  24,  1),
    ('parking',           2,  NULL,            72,  48,  48,  168, 0),
    ('sanitation',        3,  'sanitation',    72,  48,  48,  168, 0),
    ('lighting',          4,  'safety',        24,  24,  24,  24,  1),
    ('water_pressure',    5,  NULL,            24,  24,  24,  24,  1),
    ('noise',             6,  'mediation',     72,  48,  48,  168, 0),
    ('pets',              7,  'sanitation',    72,  48,  48,  168, 0),
    ('property',          8,  NULL,            72,  48,  48,  168, 0),
    ('neighbour_dispute', 9,  'mediation',     120, 72,  72,  96,  0),
    ('safety_hazard',     10, 'safety',        2,   2,   2,   2,   0),
    ('legal',             11, 'legal_advisor', 120, 72,  72,  96,  0),
    ('other',             12, NULL,            72,  48,  48,  168, 0);

CREATE TABLE issues (
    id            INTEGER PRIMARY KEY,
    ref           TEXT NOT NULL UNIQUE,           -- JL-20261127-0042
    reporter_id   INTEGER REFERENCES people (id) ON DELETE SET NULL,
    category      TEXT NOT NULL REFERENCES categories (code),
    description   TEXT NOT NULL,
    voice_ref     TEXT NOT NULL DEFAULT '',
    unit_id       INTEGER NOT NULL REFERENCES grid_units (id),  -- where it is
    location      TEXT NOT NULL DEFAULT '',       -- "lat,lon" when the resident shared one
    status        TEXT NOT NULL CHECK (status IN ('submitted', 'assigned', 'accepted', 'resolved', 'closed',
                                                  'reopened', 'escalated', 'rejected', 'duplicate', 'withdrawn')),
    owner_unit_id INTEGER NOT NULL REFERENCES grid_units (id),  -- the level that owns it now
    assignee_id   INTEGER REFERENCES people (id) ON DELETE SET NULL,  -- who accepted it
    due_at        TEXT NOT NULL,                  -- when the owning level's time runs out
    flagged       INTEGER NOT NULL DEFAULT 0,     -- reopened by the resident: not fixed
    rating        INTEGER CHECK (rating BETWEEN 1 AND 5),
    comment       TEXT NOT NULL DEFAULT '',
    duplicate_of  INTEGER REFERENCES issues (id),
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    resolved_at   TEXT,
    closed_at     TEXT
);
CREATE INDEX issues_reporter ON issues (reporter_id, id);
CREATE INDEX issues_owner ON issues (owner_unit_id, status);
CREATE INDEX issues_open_here ON issues (unit_id, category, status);

CREATE TABLE issue_photos (
    id         INTEGER PRIMARY KEY,
    issue_id   INTEGER NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    stage      TEXT NOT NULL CHECK (stage IN ('report', 'info', 'resolution')),
    path       TEXT NOT NULL,                     -- local file, EXIF stripped
    added_by   INTEGER REFERENCES people (id) ON DELETE SET NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE issue_events (                       -- the audit trail: every transition, note and routing decision
    id          INTEGER PRIMARY KEY,
    issue_id    INTEGER NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    at          TEXT NOT NULL,
    actor_id    INTEGER REFERENCES people (id) ON DELETE SET NULL,
    kind        TEXT NOT NULL,                    -- transition, note, route, reminder, info, answer
    from_status TEXT NOT NULL DEFAULT '',
    to_status   TEXT NOT NULL DEFAULT '',
    detail      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX issue_events_issue ON issue_events (issue_id, id);

CREATE TABLE issue_recipients (                   -- grid members the current owner level pushed the task to
    issue_id  INTEGER NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    person_id INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    reason    TEXT NOT NULL,                      -- building_leader, duty:<duty>, owner
    unit_id   INTEGER NOT NULL REFERENCES grid_units (id),
    PRIMARY KEY (issue_id, person_id)
);

CREATE TABLE issue_followers (                    -- residents who chose to follow instead of filing a duplicate
    issue_id  INTEGER NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    person_id INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    PRIMARY KEY (issue_id, person_id)
);

CREATE TABLE timers (                             -- scheduled work as data; the scheduler only wakes the worker
    id       INTEGER PRIMARY KEY,
    kind     TEXT NOT NULL,                       -- remind, escalate, followup_remind, followup_close, recheck
    issue_id INTEGER NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    due_at   TEXT NOT NULL,
    done_at  TEXT
);
CREATE INDEX timers_due ON timers (done_at, due_at);
CREATE INDEX timers_issue ON timers (issue_id, kind);
