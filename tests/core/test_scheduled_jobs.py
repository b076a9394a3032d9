"""Scheduled work in one table: migration 012 moves the three old tables' rows, 015 opens it to new owners,
owners' deletions take their jobs, a meeting has one job of a kind, and the scheduler fires due work when it
wakes, not at every commit."""

from __future__ import annotations

import sqlite3
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import ManualClock, iso, parse_iso
from bot.delivery.outbox import OutboxWorker
from bot.features.catalog import discover
from bot.features.meetings import store as meeting_store
from bot.scheduler import Scheduler
from bot.services.grid_import import import_grid
from bot.services.media import MediaStore
from bot.storage import grid, scheduled_jobs, street_settings
from bot.storage.db import Database, _migrations, _statements
from bot.storage.scheduled_jobs import Subject
from tests.harness import SAMPLE

TZ = "Asia/Shanghai"
DUE = "2026-11-28T01:00:00.000000Z"
DONE = "2026-11-28T01:00:05.000000Z"
TIMERS = [(1, "remind", 10, DUE, None), (2, "escalate", 10, DUE, DONE), (3, "recheck", 11, DUE, None)]
MEETING_JOBS = [(1, "announce", 5, DUE, DONE, "sent"), (2, "agenda", 5, DUE, None, ""),
                (7, "poll", 6, DUE, DONE, "late")]
LECTURE_JOBS = [(1, 3, "notice", DUE, DONE, "sent"), (2, 3, "remind", DUE, None, ""),
                (4, 3, "poll", DUE, DONE, "cancelled")]


def at_version_011(path: Path) -> None:
    """A database as migrations 001–011 left it, with rows in timers, meeting_jobs and lecture_jobs."""
    with sqlite3.connect(path) as raw:  # foreign keys off: the jobs' owners need not exist here
        for version, _, sql in _migrations():
            if version <= 11:
                for statement in _statements(sql):
                    raw.execute(statement)
        raw.execute("PRAGMA user_version = 11")
        raw.executemany("INSERT INTO timers (id, kind, issue_id, due_at, done_at) VALUES (?, ?, ?, ?, ?)", TIMERS)
        raw.executemany("INSERT INTO meeting_jobs (id, kind, meeting_id, due_at, done_at, result) "
                        "VALUES (?, ?, ?, ?, ?, ?)", MEETING_JOBS)
        raw.executemany("INSERT INTO lecture_jobs (id, lecture_id, kind, due_at, done_at, outcome) "
                        "VALUES (?, ?, ?, ?, ?, ?)", LECTURE_JOBS)


async def test_migration_moves_every_job_of_the_three_tables(tmp_path: Path, clock: ManualClock) -> None:
    path = tmp_path / "old.db"
    at_version_011(path)

    db = Database(str(path))
    await db.open()
    try:
        assert await db.schema_version() >= 12
        async with db.read() as tx:
            moved = [tuple(row) for row in await tx.all(
                "SELECT id, subject, subject_id, kind, due_at, done_at, outcome FROM scheduled_jobs")]
            left = await tx.all("SELECT name FROM sqlite_master WHERE name IN ('timers', 'meeting_jobs', "
                                "'lecture_jobs')")
        async with db.write() as tx:  # a moved meeting job keeps its place: moved while pending, kept once done
            await scheduled_jobs.schedule_once(tx, Subject.MEETING, 5, "announce", clock.now())
            await scheduled_jobs.schedule_once(tx, Subject.MEETING, 5, "agenda", clock.now())
            meeting_jobs = {job.kind: job.due_at for job in await scheduled_jobs.of(tx, Subject.MEETING, 5)}
    finally:
        await db.close()

    assert sorted(row[1:] for row in moved) == sorted(
        [("issue", issue, kind, due, done, "") for _, kind, issue, due, done in TIMERS]
        + [("meeting", meeting, kind, due, done, result) for _, kind, meeting, due, done, result in MEETING_JOBS]
        + [("lecture", lecture, kind, due, done, outcome) for _, lecture, kind, due, done, outcome in LECTURE_JOBS])
    ids = [row[0] for row in moved]
    assert len(set(ids)) == len(ids) and min(ids) > 7  # fresh ids above every old one (they are in outbox keys)
    assert left == []
    assert meeting_jobs == {"announce": parse_iso(DUE), "agenda": clock.now()}


async def test_migration_015_keeps_every_job_and_opens_subjects_to_new_owners(tmp_path: Path) -> None:
    path = tmp_path / "v14.db"
    with sqlite3.connect(path) as raw:
        for version, _, sql in _migrations():
            if version <= 14:
                for statement in _statements(sql):
                    raw.execute(statement)
        raw.execute("PRAGMA user_version = 14")
        raw.executemany("INSERT INTO scheduled_jobs (id, subject, subject_id, kind, due_at, done_at, outcome) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [(40, "issue", 10, "remind", DUE, None, ""), (41, "meeting", 5, "poll", DUE, DONE, "late")])
        try:
            raw.execute("INSERT INTO scheduled_jobs (subject, subject_id, kind, due_at) VALUES ('unit', 1, 'x', ?)",
                        (DUE,))
        except sqlite3.IntegrityError:
            refused_before = True
        else:
            refused_before = False

    db = Database(str(path))
    await db.open()
    try:
        async with db.write() as tx:
            await tx.execute("INSERT INTO scheduled_jobs (subject, subject_id, kind, due_at) "
                             "VALUES ('unit', 1, 'x', ?)", (DUE,))
            rows = [tuple(row) for row in await tx.all("SELECT id, subject, subject_id, kind, due_at, done_at, "
                                                       "outcome FROM scheduled_jobs ORDER BY id")]
            triggers = {row[0] for row in await tx.all("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                                                        "AND tbl_name IN ('issues', 'meetings', 'lectures')")}
            indexes = {row[0] for row in await tx.all("SELECT name FROM sqlite_master WHERE type = 'index' "
                                                       "AND tbl_name = 'scheduled_jobs'")}
    finally:
        await db.close()

    assert refused_before
    assert rows == [(40, "issue", 10, "remind", DUE, None, ""), (41, "meeting", 5, "poll", DUE, DONE, "late"),
                    (42, "unit", 1, "x", DUE, None, "")]
    assert {"scheduled_jobs_issue_deleted", "scheduled_jobs_meeting_deleted",
            "scheduled_jobs_lecture_deleted"} <= triggers
    assert indexes == {"scheduled_jobs_due", "scheduled_jobs_next", "scheduled_jobs_subject",
                       "scheduled_jobs_meeting_kind"}


async def test_a_meeting_has_one_job_of_a_kind_and_deleting_it_takes_its_jobs(db: Database,
                                                                            clock: ManualClock) -> None:
    await import_grid(db, SAMPLE)
    now = clock.now()
    async with db.write() as tx:
        community = await grid.by_code(tx, "C01")
        assert community is not None
        meeting = await meeting_store.create_meeting(tx, community_id=community.id, starts_at=now + timedelta(days=2),
                                                     ends_at=now + timedelta(days=2, hours=2),
                                                     topics_until=now + timedelta(days=1), place="", capacity=None,
                                                     now=now)
        assert meeting is not None
        await scheduled_jobs.schedule_once(tx, Subject.MEETING, meeting, "agenda", now + timedelta(hours=5))
        await scheduled_jobs.schedule_once(tx, Subject.MEETING, meeting, "agenda", now + timedelta(hours=6))
        await scheduled_jobs.schedule(tx, Subject.ISSUE, meeting, "remind", now)  # another owner, the same id
        await scheduled_jobs.schedule(tx, Subject.ISSUE, meeting, "remind", now)  # a report's jobs may repeat
    async with db.read() as tx:
        assert [(job.kind, job.due_at) for job in await scheduled_jobs.of(tx, Subject.MEETING, meeting)] == [
            ("agenda", now + timedelta(hours=6))]
    with pytest.raises(sqlite3.IntegrityError):  # the schema holds it, not only the repository
        async with db.write() as tx:
            await scheduled_jobs.schedule(tx, Subject.MEETING, meeting, "agenda", now)

    async with db.write() as tx:
        await meeting_store.update_meeting(tx, meeting, status="cancelled")
        await meeting_store.forget_cancelled(tx, community.id, now + timedelta(days=2))
    async with db.read() as tx:
        assert await scheduled_jobs.of(tx, Subject.MEETING, meeting) == []
        assert len(await scheduled_jobs.of(tx, Subject.ISSUE, meeting)) == 2
        triggers = {row[0] for row in await tx.all("SELECT tbl_name FROM sqlite_master WHERE type = 'trigger' "
                                                   "AND sql LIKE '%scheduled_jobs%'")}
    owners = {Subject.ISSUE: "issues", Subject.MEETING: "meetings", Subject.LECTURE: "lectures",
              Subject.EVALUATION: "evaluation_rounds", Subject.MORAL_CAMPAIGN: "moral_campaigns",
              Subject.WEEKLY_REPORT: "weekly_reports", Subject.WEEKLY_ROLLUP: "weekly_rollups",
              Subject.BRANCH_VISITS: "grid_units"}  # a branch's visit rounds are owned by its complex unit
    assert triggers == set(owners.values()) and set(owners) == set(Subject)


async def test_commits_check_the_next_wake_up_and_fire_only_what_is_due(db: Database, clock: ManualClock,
                                                                       tmp_path: Path,
                                                                       passes: Counter[str]) -> None:
    jobs = Scheduler(db, clock, OutboxWorker(db, clock, {}), TZ, MediaStore(tmp_path / "media"), None,
                     outbox_retention=timedelta(days=30))
    later = clock.now() + timedelta(hours=2)
    async with db.write() as tx:
        await scheduled_jobs.schedule(tx, Subject.LECTURE, 1, "remind", later)
    assert await jobs.run_timers() == 0  # as at start: nothing due, the wake-up set
    sources = len(discover().job_sources(None))  # each pass asks every feature's source once
    assert passes == {"CampaignJobs": 1, "EvaluationJobs": 1, "IssueTimers": 1, "LectureJobs": 1,
                      "MeetingJobs": 1, "VisitJobs": 1, "WeeklyJobs": 1}
    assert jobs.wake_at == later

    async def commit(due: datetime | None = None) -> None:
        async with db.write() as tx:
            await street_settings.put(tx, "probe", iso(clock.now()))
            if due is not None:
                await scheduled_jobs.schedule(tx, Subject.LECTURE, 2, "poll", due)
        jobs.changed()
        await jobs.caught_up()

    for _ in range(50):
        await commit()
    await commit(later + timedelta(hours=1))  # after the wake-up: it stays
    assert sum(passes.values()) == sources and jobs.wake_at == later

    await commit(later - timedelta(hours=1))  # sooner: the wake-up moves, nothing fires yet
    assert sum(passes.values()) == sources and jobs.wake_at == later - timedelta(hours=1)

    await commit(clock.now())  # due now: fired at once, by this commit's check
    assert sum(passes.values()) == 2 * sources
    async with db.read() as tx:
        assert [(job.kind, job.outcome) for job in await scheduled_jobs.of(tx, Subject.LECTURE, 2)
                if job.done_at is not None] == [("poll", "skipped")]  # (no such talk)

    clock.advance(3 * 3600)  # the wake-ups did not come (a stalled loop): the next commit finds the work due
    await commit()
    assert sum(passes.values()) == 3 * sources
    async with db.read() as tx:
        assert await scheduled_jobs.next_due_at(tx) is None
    await commit()
    assert sum(passes.values()) == 3 * sources
