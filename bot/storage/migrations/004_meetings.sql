-- Saturday meetings (周六说事、居民议事): settings per community, the meetings, answers, topics, attendance,
-- satisfaction, who muted the announcements, and the scheduled sends as rows (the scheduler only wakes the worker).

CREATE TABLE meeting_settings (                   -- a community holds weekly meetings while it has an active row
    community_id        INTEGER PRIMARY KEY REFERENCES grid_units (id),
    weekday             INTEGER NOT NULL DEFAULT 5 CHECK (weekday BETWEEN 0 AND 6),  -- Monday 0 … Saturday 5, Sunday 6
    start_time          TEXT NOT NULL DEFAULT '09:00' CHECK (start_time GLOB '[0-2][0-9]:[0-5][0-9]'),  -- local
    duration_minutes    INTEGER NOT NULL DEFAULT 120 CHECK (duration_minutes BETWEEN 15 AND 720),
    place               TEXT NOT NULL DEFAULT '', -- set by the chair, e.g. a meeting room, empty: "at the community"
    capacity            INTEGER CHECK (capacity IS NULL OR capacity > 0),  -- NULL: no limit
    announce_days_ahead INTEGER NOT NULL DEFAULT 3 CHECK (announce_days_ahead BETWEEN 1 AND 6),
    topic_cutoff_hours  INTEGER NOT NULL DEFAULT 24 CHECK (topic_cutoff_hours BETWEEN 1 AND 144),
    active              INTEGER NOT NULL DEFAULT 1,
    updated_at          TEXT NOT NULL
);

CREATE TABLE meetings (
    id           INTEGER PRIMARY KEY,
    community_id INTEGER NOT NULL REFERENCES grid_units (id),
    starts_at    TEXT NOT NULL,                    -- UTC: a later change of the street's time zone does not move it
    ends_at      TEXT NOT NULL,
    topics_until TEXT NOT NULL,                    -- topics are taken until then (the cut-off before the start)
    place        TEXT NOT NULL DEFAULT '',         -- copied from the settings, updated while the meeting is ahead
    capacity     INTEGER CHECK (capacity IS NULL OR capacity > 0),
    status       TEXT NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'held', 'cancelled')),
    outcome      TEXT NOT NULL DEFAULT '',         -- what was decided, entered by the chair afterwards
    outcome_by   INTEGER REFERENCES people (id) ON DELETE SET NULL,
    outcome_at   TEXT,
    created_at   TEXT NOT NULL,
    UNIQUE (community_id, starts_at)
);
CREATE INDEX meetings_community ON meetings (community_id, starts_at);

CREATE TABLE meeting_rsvps (
    meeting_id INTEGER NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    person_id  INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    answer     TEXT NOT NULL CHECK (answer IN ('yes', 'no', 'maybe', 'waitlist')),
    queued_at  TEXT,                              -- when they joined the waitlist (its order)
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (meeting_id, person_id)
);
CREATE INDEX meeting_rsvps_answer ON meeting_rsvps (meeting_id, answer, queued_at);

CREATE TABLE meeting_topics (
    id           INTEGER PRIMARY KEY,
    meeting_id   INTEGER NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    submitter_id INTEGER REFERENCES people (id) ON DELETE SET NULL,
    text         TEXT NOT NULL DEFAULT '',
    voice_ref    TEXT NOT NULL DEFAULT '',
    photo_ref    TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'discussed', 'answered', 'reported')),
    issue_id     INTEGER REFERENCES issues (id) ON DELETE SET NULL,  -- when turned into a report
    outcome      TEXT NOT NULL DEFAULT '',        -- the chair's answer on this topic
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX meeting_topics_meeting ON meeting_topics (meeting_id, id);

CREATE TABLE meeting_attendance (
    meeting_id    INTEGER NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    person_id     INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    checked_in_at TEXT NOT NULL,
    marked_by     INTEGER REFERENCES people (id) ON DELETE SET NULL,  -- NULL: the resident checked in themself
    PRIMARY KEY (meeting_id, person_id)
);

CREATE TABLE meeting_polls (
    meeting_id INTEGER NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    person_id  INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    stars      INTEGER NOT NULL CHECK (stars BETWEEN 1 AND 5),
    comment    TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    PRIMARY KEY (meeting_id, person_id)
);

CREATE TABLE meeting_mutes (                      -- residents who asked not to get the announcements
    person_id    INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    community_id INTEGER NOT NULL REFERENCES grid_units (id),
    muted_at     TEXT NOT NULL,
    PRIMARY KEY (person_id, community_id)
);

CREATE TABLE meeting_jobs (                       -- scheduled sends: announce, remind_eve, remind_hour, agenda, poll
    id         INTEGER PRIMARY KEY,
    kind       TEXT NOT NULL,
    meeting_id INTEGER NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    due_at     TEXT NOT NULL,
    done_at    TEXT,
    result     TEXT NOT NULL DEFAULT '',          -- sent, late (reported to the chair instead), skipped
    UNIQUE (meeting_id, kind)
);
CREATE INDEX meeting_jobs_due ON meeting_jobs (done_at, due_at);
