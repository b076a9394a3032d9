-- Scheduled work's owners are no longer a fixed list: each feature that schedules rows for a new kind of owner
-- names it in bot/storage/scheduled_jobs.Subject (the code's one list) and, in its own migration, adds the trigger
-- that deletes an owner's jobs with it (as 012 did for issues, meetings and talks). The table is rebuilt without
-- the CHECK on subject; ids, rows, indexes and the three triggers stay as they were.

DROP TRIGGER scheduled_jobs_issue_deleted;
DROP TRIGGER scheduled_jobs_meeting_deleted;
DROP TRIGGER scheduled_jobs_lecture_deleted;

CREATE TABLE scheduled_jobs_new (
    id         INTEGER PRIMARY KEY,
    subject    TEXT NOT NULL CHECK (subject <> ''),  -- Subject in bot/storage/scheduled_jobs.py
    subject_id INTEGER NOT NULL,                  -- the owner's id in its table
    kind       TEXT NOT NULL,                     -- what to do; each feature's service lists its kinds
    due_at     TEXT NOT NULL,
    done_at    TEXT,                              -- NULL while pending
    outcome    TEXT NOT NULL DEFAULT ''           -- sent, late, skipped, held (quiet hours), cancelled; '' unknown
);
INSERT INTO scheduled_jobs_new (id, subject, subject_id, kind, due_at, done_at, outcome)
    SELECT id, subject, subject_id, kind, due_at, done_at, outcome FROM scheduled_jobs;
DROP TABLE scheduled_jobs;
ALTER TABLE scheduled_jobs_new RENAME TO scheduled_jobs;

CREATE INDEX scheduled_jobs_due ON scheduled_jobs (subject, due_at, id) WHERE done_at IS NULL;
CREATE INDEX scheduled_jobs_next ON scheduled_jobs (due_at) WHERE done_at IS NULL;
CREATE INDEX scheduled_jobs_subject ON scheduled_jobs (subject, subject_id, kind);
CREATE UNIQUE INDEX scheduled_jobs_meeting_kind ON scheduled_jobs (subject_id, kind) WHERE subject = 'meeting';

CREATE TRIGGER scheduled_jobs_issue_deleted AFTER DELETE ON issues BEGIN
    DELETE FROM scheduled_jobs WHERE subject = 'issue' AND subject_id = OLD.id;
END;
CREATE TRIGGER scheduled_jobs_meeting_deleted AFTER DELETE ON meetings BEGIN
    DELETE FROM scheduled_jobs WHERE subject = 'meeting' AND subject_id = OLD.id;
END;
CREATE TRIGGER scheduled_jobs_lecture_deleted AFTER DELETE ON lectures BEGIN
    DELETE FROM scheduled_jobs WHERE subject = 'lecture' AND subject_id = OLD.id;
END;
