-- Law talks (法治宣讲) and moral lectures (道德大讲堂): the talks, who was told (with RSVP, check-in and rating),
-- and every scheduled send as a row (notice, reminder, satisfaction poll). Times are UTC.

CREATE TABLE lectures (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('law_talk', 'moral_lecture')),
    title       TEXT NOT NULL,
    speaker     TEXT NOT NULL,
    place       TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    unit_id     INTEGER NOT NULL REFERENCES grid_units (id),    -- the scope: residents whose building lies below it
    starts_at   TEXT NOT NULL,                                  -- UTC, so a new time zone setting shifts nothing
    rsvp        INTEGER NOT NULL DEFAULT 0,                     -- ask residents yes / no
    status      TEXT NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'cancelled')),
    creator_id  INTEGER REFERENCES people (id) ON DELETE SET NULL,  -- NULL when made with the command line
    created_by  TEXT NOT NULL,                                  -- 'person:<id>' or 'cli'
    version     INTEGER NOT NULL DEFAULT 1,                     -- one more on every change of time or place
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX lectures_starts ON lectures (status, starts_at);

CREATE TABLE lecture_audience (                   -- everyone the notice was sent to: changes and cancellation reach them
    lecture_id    INTEGER NOT NULL REFERENCES lectures (id) ON DELETE CASCADE,
    person_id     INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    told_at       TEXT NOT NULL,
    rsvp          TEXT CHECK (rsvp IN ('yes', 'no')),
    rsvp_at       TEXT,
    checked_in_at TEXT,
    polled_at     TEXT,                           -- the satisfaction poll was sent to them
    rating        INTEGER CHECK (rating BETWEEN 1 AND 5),
    comment       TEXT NOT NULL DEFAULT '',
    rated_at      TEXT,
    PRIMARY KEY (lecture_id, person_id)
);

CREATE TABLE lecture_jobs (                       -- scheduled sends as data; the scheduler only wakes the worker
    id         INTEGER PRIMARY KEY,
    lecture_id INTEGER NOT NULL REFERENCES lectures (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('notice', 'remind', 'poll')),
    due_at     TEXT NOT NULL,
    done_at    TEXT,
    outcome    TEXT NOT NULL DEFAULT ''           -- sent, late (not sent: the talk had begun), skipped, cancelled
);
CREATE INDEX lecture_jobs_due ON lecture_jobs (done_at, due_at);
CREATE INDEX lecture_jobs_lecture ON lecture_jobs (lecture_id, kind);
