-- 两联 visits: a party member visits (or phones, or messages) the households they look after; a need raised in a
-- visit becomes a report on the household's behalf. Each household is visited quarterly, monthly once flagged;
-- the branch secretary hears of overdue households weekly (scheduled_jobs rows, subject 'branch_visits', owned
-- by the complex). Visit notes are read only by the member and their branch secretary.

CREATE TABLE visit_households (
    id          INTEGER PRIMARY KEY,                           -- what a household's button carries
    building_id INTEGER NOT NULL REFERENCES grid_units (id),
    room        TEXT NOT NULL,
    since       TEXT NOT NULL,                                 -- first seen linked: due one interval later
    monthly     INTEGER NOT NULL DEFAULT 0,                    -- flagged: visited monthly, not quarterly
    UNIQUE (building_id, room)
);

CREATE TABLE visits (
    id          INTEGER PRIMARY KEY,
    household   INTEGER NOT NULL REFERENCES visit_households (id),
    member_id   INTEGER REFERENCES people (id) ON DELETE SET NULL,
    unit_id     INTEGER NOT NULL REFERENCES grid_units (id),   -- the party household the member visited for
    mode        TEXT NOT NULL CHECK (mode IN ('door', 'phone', 'wechat')),
    note        TEXT NOT NULL DEFAULT '',
    voice_ref   TEXT NOT NULL DEFAULT '',                      -- the note as a voice note
    photo_ref   TEXT NOT NULL DEFAULT '',
    issue_id    INTEGER REFERENCES issues (id) ON DELETE SET NULL,  -- the need it raised, filed as a report
    visited_at  TEXT NOT NULL
);
CREATE INDEX visits_household ON visits (household, visited_at);
CREATE INDEX visits_member ON visits (member_id, id);

CREATE TRIGGER scheduled_jobs_branch_visits_deleted AFTER DELETE ON grid_units BEGIN
    DELETE FROM scheduled_jobs WHERE subject = 'branch_visits' AND subject_id = OLD.id;
END;
