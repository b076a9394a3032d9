-- 一评议: evaluation rounds of a branch (小区党支部, a complex unit), twice a year, open 7 days. Residents rate the
-- party member (党员中心户) they are linked to; members rate each other and their branch. Grades: excellent 优秀,
-- qualified 合格, basic 基本合格, unqualified 不合格, with an optional comment.
--
-- Anonymity. Who voted and what was voted are kept apart, and nothing joins them:
--   * evaluation_participation (round, target, voter) is the one-vote rule and nothing else: no grade, no time, no
--     id. It is WITHOUT ROWID, so it has no insertion-ordered rowid either: its rows sit in key order.
--   * evaluation_ballots (id, round, target, grade, comment) has no voter and no time (the round is the only
--     "when"). Its id is a random 62-bit number chosen by the service (not SQLite's next rowid), so neither the
--     ids nor the table's order tell the order ballots came in — which would otherwise pair them with the
--     participation rows of a voter known to have voted first.
--   Both rows are written in the vote's one transaction; they share no id. A person's deletion cascades to their
--   participation and leaves their ballots (anonymous already). What remains out of this schema's reach: someone
--   who reads the database between two votes sees one more of each (the services show totals only once a round
--   has closed, and then only from 5 ballots up); the chat layer's stored events are cleared of the grade and the
--   comment by the vote itself (see bot/storage/inbox.forget_handled).

CREATE TABLE evaluation_rounds (
    id         INTEGER PRIMARY KEY,
    branch_id  INTEGER NOT NULL REFERENCES grid_units (id),  -- a complex unit (小区党支部)
    year       INTEGER NOT NULL,
    half       INTEGER NOT NULL CHECK (half IN (1, 2)),      -- H1 / H2 of `year`, in the street's time
    opens_at   TEXT NOT NULL,
    closes_at  TEXT NOT NULL,
    status     TEXT NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'open', 'closed')),
    created_by TEXT NOT NULL,                                -- 'person:<id>' who opened it ('admin': a configured one)
    UNIQUE (branch_id, year, half)
);

-- What a round rates: each party member of the branch when it opened (person_id NULL once that person is deleted;
-- the rows and their ballots stay), and the branch itself (kind 'branch', one per round).
CREATE TABLE evaluation_targets (
    id            INTEGER PRIMARY KEY,
    round_id      INTEGER NOT NULL REFERENCES evaluation_rounds (id) ON DELETE CASCADE,
    kind          TEXT NOT NULL CHECK (kind IN ('member', 'branch')),
    person_id     INTEGER REFERENCES people (id) ON DELETE SET NULL,
    household_id  INTEGER REFERENCES grid_units (id),        -- the member's 党员中心户 unit
    name          TEXT NOT NULL DEFAULT '',                  -- the member's name as shown when it opened
    determination TEXT CHECK (determination IN ('excellent', 'qualified', 'basic', 'unqualified'))
);
CREATE INDEX evaluation_targets_round ON evaluation_targets (round_id, kind);
CREATE INDEX evaluation_targets_person ON evaluation_targets (person_id);
CREATE UNIQUE INDEX evaluation_targets_branch ON evaluation_targets (round_id) WHERE kind = 'branch';

CREATE TABLE evaluation_participation (
    round_id        INTEGER NOT NULL REFERENCES evaluation_rounds (id) ON DELETE CASCADE,
    target_id       INTEGER NOT NULL REFERENCES evaluation_targets (id) ON DELETE CASCADE,
    voter_person_id INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    PRIMARY KEY (round_id, target_id, voter_person_id)
) WITHOUT ROWID;
CREATE INDEX evaluation_participation_voter ON evaluation_participation (voter_person_id);

CREATE TABLE evaluation_ballots (
    id        INTEGER PRIMARY KEY,                            -- random, see above
    round_id  INTEGER NOT NULL REFERENCES evaluation_rounds (id) ON DELETE CASCADE,
    target_id INTEGER NOT NULL REFERENCES evaluation_targets (id) ON DELETE CASCADE,
    grade     TEXT NOT NULL CHECK (grade IN ('excellent', 'qualified', 'basic', 'unqualified')),
    comment   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX evaluation_ballots_target ON evaluation_ballots (target_id, grade);

-- A round's open, reminder and close are rows of scheduled_jobs (subject 'evaluation_round'), deleted with it.
CREATE TRIGGER scheduled_jobs_evaluation_deleted AFTER DELETE ON evaluation_rounds BEGIN
    DELETE FROM scheduled_jobs WHERE subject = 'evaluation_round' AND subject_id = OLD.id;
END;
