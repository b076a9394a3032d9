-- The weekly Saturday report (周报): one row per community and week, planned ahead, drafted Saturday 08:00 with its
-- figures, filled in by the community's secretary (three texts) and submitted by 12:00, else late (督查). One row
-- per week for the street's roll-up. Their 08:00 / 12:00 work is rows of scheduled_jobs (subjects weekly_report,
-- weekly_rollup), deleted with their owner.

CREATE TABLE weekly_reports (
    id           INTEGER PRIMARY KEY,
    community_id INTEGER NOT NULL REFERENCES grid_units (id) ON DELETE CASCADE,
    period       TEXT NOT NULL,                   -- 2026-W49: Saturday to Friday (scorecards' Period)
    status       TEXT NOT NULL DEFAULT 'planned' CHECK (status IN ('planned', 'draft', 'submitted', 'late')),
    figures      TEXT NOT NULL DEFAULT '',        -- the draft's figures (JSON), written at drafting
    key_work     TEXT NOT NULL DEFAULT '',        -- 重点工作
    needs        TEXT NOT NULL DEFAULT '',        -- 需街道协调
    next_plan    TEXT NOT NULL DEFAULT '',        -- 下周计划
    drafted_at   TEXT,
    submitted_at TEXT,                            -- set when submitted, on time or late (status stays 'late')
    submitted_by INTEGER REFERENCES people (id) ON DELETE SET NULL,
    created_at   TEXT NOT NULL,
    UNIQUE (community_id, period)
);
CREATE INDEX weekly_reports_period ON weekly_reports (period, status);

CREATE TABLE weekly_rollups (                     -- the street's roll-up of one week, sent after the deadline
    id         INTEGER PRIMARY KEY,
    period     TEXT NOT NULL UNIQUE,
    sent_at    TEXT,
    created_at TEXT NOT NULL
);

CREATE TRIGGER scheduled_jobs_weekly_report_deleted AFTER DELETE ON weekly_reports BEGIN
    DELETE FROM scheduled_jobs WHERE subject = 'weekly_report' AND subject_id = OLD.id;
END;
CREATE TRIGGER scheduled_jobs_weekly_rollup_deleted AFTER DELETE ON weekly_rollups BEGIN
    DELETE FROM scheduled_jobs WHERE subject = 'weekly_rollup' AND subject_id = OLD.id;
END;

-- reports resolved in a week, per place (the draft's 办结).
CREATE INDEX issues_unit_resolved ON issues (unit_id, resolved_at);
