-- Scheduled work of every kind in one table (reports' timers, meetings' and talks' sends were three): a row names
-- its owner (subject, subject_id), what to do (kind) and when; done_at and outcome record what became of it.
-- The scheduler only wakes the worker that fires due rows (bot/storage/scheduled_jobs.py is the repository).

CREATE TABLE scheduled_jobs (
    id         INTEGER PRIMARY KEY,
    subject    TEXT NOT NULL CHECK (subject IN ('issue', 'meeting', 'lecture')),  -- each has its trigger below
    subject_id INTEGER NOT NULL,                  -- issues.id, meetings.id or lectures.id
    kind       TEXT NOT NULL,                     -- issue: remind, escalate, followup_remind, followup_close,
                                                  -- recheck; meeting: announce, agenda, remind_eve, remind_hour,
                                                  -- poll; lecture: notice, remind, poll
    due_at     TEXT NOT NULL,
    done_at    TEXT,                              -- NULL while pending
    outcome    TEXT NOT NULL DEFAULT ''           -- sent, late, skipped, held (quiet hours), cancelled; '' unknown
);
-- pending rows only: a subject's due rows in firing order, and the earliest of all (the next wake-up).
CREATE INDEX scheduled_jobs_due ON scheduled_jobs (subject, due_at, id) WHERE done_at IS NULL;
CREATE INDEX scheduled_jobs_next ON scheduled_jobs (due_at) WHERE done_at IS NULL;
-- a subject's jobs (cancelling, "has it gone out", listing).
CREATE INDEX scheduled_jobs_subject ON scheduled_jobs (subject, subject_id, kind);
-- a meeting has one send of each kind, moved while pending, never repeated once done.
CREATE UNIQUE INDEX scheduled_jobs_meeting_kind ON scheduled_jobs (subject_id, kind) WHERE subject = 'meeting';

-- Deleting an owner deletes its jobs, as ON DELETE CASCADE did for the old tables.
CREATE TRIGGER scheduled_jobs_issue_deleted AFTER DELETE ON issues BEGIN
    DELETE FROM scheduled_jobs WHERE subject = 'issue' AND subject_id = OLD.id;
END;
CREATE TRIGGER scheduled_jobs_meeting_deleted AFTER DELETE ON meetings BEGIN
    DELETE FROM scheduled_jobs WHERE subject = 'meeting' AND subject_id = OLD.id;
END;
CREATE TRIGGER scheduled_jobs_lecture_deleted AFTER DELETE ON lectures BEGIN
    DELETE FROM scheduled_jobs WHERE subject = 'lecture' AND subject_id = OLD.id;
END;

-- Every row moves, pending and done. Ids are fresh and above every old one of the three tables: a job's id is part
-- of idempotency keys in the outbox (a meeting's late report, a talk's reminder), so no moved or later job may
-- take an id an earlier one used. The old tables' ids overlap, hence one offset per table.
CREATE TEMP TABLE old_job_ids AS
    SELECT COALESCE(MAX(top), 0) AS top FROM (SELECT MAX(id) AS top FROM timers
                                              UNION ALL SELECT MAX(id) FROM meeting_jobs
                                              UNION ALL SELECT MAX(id) FROM lecture_jobs);
INSERT INTO scheduled_jobs (id, subject, subject_id, kind, due_at, done_at, outcome)
    SELECT id + (SELECT top FROM old_job_ids), 'issue', issue_id, kind, due_at, done_at, '' FROM timers;
INSERT INTO scheduled_jobs (id, subject, subject_id, kind, due_at, done_at, outcome)
    SELECT id + 2 * (SELECT top FROM old_job_ids), 'meeting', meeting_id, kind, due_at, done_at, result
    FROM meeting_jobs;
INSERT INTO scheduled_jobs (id, subject, subject_id, kind, due_at, done_at, outcome)
    SELECT id + 3 * (SELECT top FROM old_job_ids), 'lecture', lecture_id, kind, due_at, done_at, outcome
    FROM lecture_jobs;
DROP TABLE old_job_ids;

DROP TABLE timers;
DROP TABLE meeting_jobs;
DROP TABLE lecture_jobs;
