"""Scheduled work repository: one row per job (a report's reminder, a meeting's announcement, a talk's notice …),
owned by a subject; the scheduler fires due rows and wakes at the earliest pending one."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.clock import iso, parse_iso
from bot.storage.db import Row, Tx


class Subject(StrEnum):
    """Who owns a job: the one list of owners (the table does not repeat it). A feature adding an owner adds its
    value here and, in its migration, the trigger deleting the owner's jobs with it (see 012, 015)."""

    ISSUE = "issue"
    MEETING = "meeting"
    LECTURE = "lecture"
    EVALUATION = "evaluation_round"  # 一评议 rounds (migration 022)
    MORAL_CAMPAIGN = "moral_campaign"  # 道德模范评选 (023)
    WEEKLY_REPORT = "weekly_report"  # a community's weekly report: its 08:00 draft and 12:00 deadline
    WEEKLY_ROLLUP = "weekly_rollup"  # the street's roll-up of a week
    BRANCH_VISITS = "branch_visits"  # a complex (小区党支部): the weekly list of households overdue for a visit


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    subject: Subject
    subject_id: int
    kind: str
    due_at: datetime
    done_at: datetime | None  # None while pending
    outcome: str  # sent, late, skipped, held, cancelled; '' while pending or not recorded


_JOB = "SELECT id, subject, subject_id, kind, due_at, done_at, outcome FROM scheduled_jobs"


def _job(row: Row) -> Job:
    return Job(row["id"], Subject(row["subject"]), row["subject_id"], row["kind"], parse_iso(row["due_at"]),
               parse_iso(row["done_at"]) if row["done_at"] else None, row["outcome"])


async def schedule(tx: Tx, subject: Subject, subject_id: int, kind: str, due_at: datetime) -> None:
    """A new job, whatever else the subject has of that kind."""
    await tx.execute("INSERT INTO scheduled_jobs (subject, subject_id, kind, due_at) VALUES (?, ?, ?, ?)",
                     (subject, subject_id, kind, iso(due_at)))


async def schedule_once(tx: Tx, subject: Subject, subject_id: int, kind: str, due_at: datetime) -> None:
    """The subject's one job of `kind`: created, or moved to `due_at` while pending; left alone once done."""
    moved = await tx.execute("UPDATE scheduled_jobs SET due_at = ? WHERE subject = ? AND subject_id = ? AND kind = ? "
                             "AND done_at IS NULL", (iso(due_at), subject, subject_id, kind))
    if not moved:
        await tx.execute("INSERT INTO scheduled_jobs (subject, subject_id, kind, due_at) SELECT ?, ?, ?, ? "
                         "WHERE NOT EXISTS (SELECT 1 FROM scheduled_jobs WHERE subject = ? AND subject_id = ? "
                         "AND kind = ?)", (subject, subject_id, kind, iso(due_at), subject, subject_id, kind))


async def cancel(tx: Tx, subject: Subject, subject_id: int, kinds: Sequence[str], now: datetime) -> None:
    """Settle the subject's pending jobs of `kinds` as cancelled (they stay on record)."""
    await tx.execute("UPDATE scheduled_jobs SET done_at = ?, outcome = 'cancelled' WHERE subject = ? "
                     "AND subject_id = ? AND kind IN (SELECT value FROM json_each(?)) AND done_at IS NULL",
                     (iso(now), subject, subject_id, json.dumps(list(kinds))))


async def unschedule(tx: Tx, subject: Subject, subject_id: int, kinds: Sequence[str]) -> None:
    """Take the subject's pending jobs of `kinds` off the schedule altogether (`schedule_once` may add them again)."""
    await tx.execute("DELETE FROM scheduled_jobs WHERE subject = ? AND subject_id = ? "
                     "AND kind IN (SELECT value FROM json_each(?)) AND done_at IS NULL",
                     (subject, subject_id, json.dumps(list(kinds))))


async def due(tx: Tx, subject: Subject, now: datetime, limit: int) -> list[Job]:
    """Up to `limit` pending jobs of `subject` due by `now`, oldest first (in order of scheduling at a tie)."""
    rows = await tx.all(f"{_JOB} WHERE done_at IS NULL AND subject = ? AND due_at <= ? ORDER BY due_at, id LIMIT ?",
                        (subject, iso(now), limit))
    return [_job(row) for row in rows]


async def due_of(tx: Tx, subject: Subject, subject_id: int, now: datetime) -> list[Job]:
    """One subject's pending jobs due by `now`, oldest first."""
    rows = await tx.all(f"{_JOB} WHERE subject = ? AND subject_id = ? AND done_at IS NULL AND due_at <= ? "
                        "ORDER BY due_at, id", (subject, subject_id, iso(now)))
    return [_job(row) for row in rows]


async def pending_subjects(tx: Tx, subject: Subject) -> set[int]:
    """The owners of `subject` that have a job pending."""
    rows = await tx.all("SELECT DISTINCT subject_id FROM scheduled_jobs WHERE subject = ? AND done_at IS NULL",
                        (subject,))
    return {row[0] for row in rows}


async def next_due_at(tx: Tx) -> datetime | None:
    """When the earliest pending job of any subject falls due (None: nothing is pending)."""
    value = await tx.scalar("SELECT MIN(due_at) FROM scheduled_jobs WHERE done_at IS NULL")
    return parse_iso(value) if value else None


async def finish(tx: Tx, job_id: int, now: datetime, outcome: str = "") -> bool:
    """Mark a pending job done; False if it was done already (another pass took it)."""
    changed = await tx.execute("UPDATE scheduled_jobs SET done_at = ?, outcome = ? WHERE id = ? AND done_at IS NULL",
                               (iso(now), outcome, job_id))
    return changed == 1


async def set_outcome(tx: Tx, job_id: int, outcome: str) -> None:
    await tx.execute("UPDATE scheduled_jobs SET outcome = ? WHERE id = ?", (outcome, job_id))


async def done(tx: Tx, subject: Subject, subject_id: int, kind: str) -> bool:
    """Whether the subject's job of `kind` has been done (gone out, or settled otherwise)."""
    return bool(await tx.scalar("SELECT EXISTS (SELECT 1 FROM scheduled_jobs WHERE subject = ? AND subject_id = ? "
                                "AND kind = ? AND done_at IS NOT NULL)", (subject, subject_id, kind)))


async def of(tx: Tx, subject: Subject, subject_id: int) -> list[Job]:
    """Every job of the subject, pending and done, in order of scheduling."""
    return [_job(row) for row in await tx.all(f"{_JOB} WHERE subject = ? AND subject_id = ? ORDER BY id",
                                              (subject, subject_id))]
