"""Scheduled work kept as rows in the database: what the scheduler fires when it falls due.

`DueWork` is what every kind of scheduled work provides (reports' timers here; meetings, lectures and notices add
their own in `SOURCES`): fire what is due by a moment, and tell when the next thing falls due."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from bot.domain.issues import Issue, Status
from bot.services import issues as service
from bot.services import jobs
from bot.services.lectures import LectureJobs
from bot.services.meetings import MeetingJobs
from bot.storage import issues
from bot.storage.db import Database, Tx


class DueWork(Protocol):
    async def fire_due(self, db: Database, now: datetime, timezone: str) -> int: ...

    async def next_due(self, db: Database) -> datetime | None: ...


class IssueTimers:
    """Reports' timers: reminders and escalation of unsolved work, follow-up of resolved work."""

    async def fire_due(self, db: Database, now: datetime, timezone: str) -> int:
        return await fire_due(db, now, timezone)

    async def next_due(self, db: Database) -> datetime | None:
        async with db.read() as tx:
            return await issues.next_timer_at(tx)


SOURCES: tuple[DueWork, ...] = (IssueTimers(), LectureJobs(), MeetingJobs())


async def fire_due(db: Database, now: datetime, timezone: str) -> int:
    """Fire every timer due by `now`, each in its own transaction; returns how many fired."""

    async def fire(tx: Tx, timer: tuple[int, str, int]) -> bool:
        timer_id, kind, issue_id = timer
        if not await issues.finish_timer(tx, timer_id, now):
            return False
        issue = await issues.get(tx, issue_id)
        if issue is not None:
            await _fire(tx, kind, issue, now, timezone)
        return True

    return await jobs.fire_each(db, lambda tx, limit: issues.due_timers(tx, now, limit), fire,
                                lambda timer: f"timer {timer[0]} ({timer[1]})")


async def _fire(tx: Tx, kind: str, issue: Issue, now: datetime, timezone: str) -> None:
    if kind == "remind" and issue.is_open:
        await service.remind_owners(tx, issue, now, timezone)
    elif kind == "escalate" and issue.is_open:
        try:
            await service.escalate(tx, issue.id, None, "", now, timezone)
        except service.IssueError as error:
            if error.key != "task.at_top":
                raise
            await service.overdue_nudge(tx, issue, now)  # the street owns it: nowhere higher to go
    elif kind == "followup_remind" and issue.status is Status.RESOLVED:
        await service.followup_reminder(tx, issue, now)
    elif kind == "followup_close" and issue.status is Status.RESOLVED:
        await service.close_unrated(tx, issue, now)
    elif kind == "recheck" and issue.status is Status.CLOSED:
        await service.recheck(tx, issue, now)
