-- Scorecards (智治): reports an administrator took out of scoring, the frozen half-yearly assessments, and the
-- indexes the period figures need (their plans were read by hand: bench/scale.py times them).

CREATE TABLE score_exclusions (                   -- a report left out of every figure, with who, when and why
    issue_id    INTEGER PRIMARY KEY REFERENCES issues (id) ON DELETE CASCADE,
    excluded_by INTEGER REFERENCES people (id) ON DELETE SET NULL,  -- NULL: the office tool (run_bot.py)
    reason      TEXT NOT NULL CHECK (reason <> ''),
    excluded_at TEXT NOT NULL
);

CREATE TABLE score_snapshots (                    -- a frozen assessment (考核): computed once, never recomputed
    id         INTEGER PRIMARY KEY,
    period     TEXT NOT NULL UNIQUE,              -- 2026-H2
    weights    TEXT NOT NULL,                     -- the weights it was scored with (JSON)
    frozen_by  INTEGER REFERENCES people (id) ON DELETE SET NULL,
    frozen_at  TEXT NOT NULL
);

CREATE TABLE score_snapshot_rows (                -- one unit's figures, score and rank as they were frozen
    snapshot_id INTEGER NOT NULL REFERENCES score_snapshots (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,                 -- the scorecard's row order
    unit_code   TEXT NOT NULL,                    -- codes and names as they were (units may be renamed later)
    unit_name   TEXT NOT NULL,
    level       TEXT NOT NULL,
    figures     TEXT NOT NULL,                    -- the unit's metrics (JSON)
    score       REAL,                             -- NULL: not ranked (样本不足 or no reports)
    rank        INTEGER,
    PRIMARY KEY (snapshot_id, position)
);

-- the period's reports of the whole street or of one unit's places: by filing time, then by place and time.
CREATE INDEX issues_unit_created ON issues (unit_id, created_at);
-- a report's facts from its audit trail (first acceptance, resolutions, reopenings, answers) read from the index.
CREATE INDEX issue_events_facts ON issue_events (issue_id, kind, to_status, at, actor_id);
-- an earlier report of the same reporter, category and place (重复率).
CREATE INDEX issues_repeat ON issues (reporter_id, category, unit_id, created_at);
-- open reports past their deadline now (超期).
CREATE INDEX issues_status_due ON issues (status, due_at, unit_id);
