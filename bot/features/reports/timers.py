"""Reports' scheduled work, kept as rows in the database: what the scheduler fires when it falls due (the
reports feature's `DueWork`, see `bot.features.base`).

Quiet hours (configured, or as an administrator set them with /quiet): a report's reminder, nudge or follow-up
that falls due in them is not sent but moved, as a new timer row, to the end of the quiet period (a follow-up's
closing waits with it). Escalation is never held: at its time the report climbs and the new owners get the task at
once (a hand-over, not a reminder). Urgent categories (every level's limit at most URGENT_HOURS, e.g. safety
hazards) are never held."""

from __future__ import annotations

from datetime import datetime

from bot.domain.quiet import QuietHours
from bot.features.reports import service
from bot.features.reports import store as issues
from bot.features.reports.model import Issue, Status, Timer
from bot.services import jobs
from bot.storage import scheduled_jobs, street_settings
from bot.storage.db import Database, Tx
from bot.storage.scheduled_jobs import Job, Subject

URGENT_HOURS = 2  # a category no level may take longer on is urgent: its pushes ignore quiet hours
QUIET_KEY = "quiet_hours"


class IssueTimers:
    """Reports' timers: reminders and escalation of unsolved work, follow-up of resolved work; what would push in
    `quiet` hours waits for their end."""

    def __init__(self, quiet: QuietHours | None) -> None:
        self._quiet = quiet

    async def fire_due(self, db: Database, now: datetime, timezone: str) -> int:
        return await fire_due(db, now, timezone, self._quiet)


async def fire_due(db: Database, now: datetime, timezone: str, quiet: QuietHours | None = None) -> int:
    """Fire every timer due by `now`, each in its own transaction (what would push in `quiet` hours is moved to
    their end); returns how many fired."""

    async def fire(tx: Tx, job: Job) -> str:
        issue = await issues.get(tx, job.subject_id)
        if issue is None:
            return "skipped"
        hours = await quiet_hours(tx, quiet)
        later = None if hours is None else hours.until(now, timezone)
        if later is not None and job.kind != Timer.ESCALATE and not await _urgent(tx, issue):
            # the same timer, after the quiet hours
            await scheduled_jobs.schedule(tx, Subject.ISSUE, issue.id, job.kind, later)
            return "held"
        return await _fire(tx, job.kind, issue, now, timezone, later)

    return await jobs.fire_each(db, Subject.ISSUE, now, fire)


async def quiet_hours(tx: Tx, default: QuietHours | None) -> QuietHours | None:
    """The street's quiet hours: as an administrator set them in the chat, else `default` (the configured)."""
    stored = await street_settings.get(tx, QUIET_KEY)
    return default if stored is None else QuietHours.parse(stored)


async def stored_quiet_hours(tx: Tx) -> str | None:
    """What an administrator set ("HH:MM-HH:MM" or "off"), or None while the configured default applies."""
    return await street_settings.get(tx, QUIET_KEY)


async def set_quiet_hours(tx: Tx, text: str) -> QuietHours | None:
    """Set the street's quiet hours from `HH:MM-HH:MM` or `off` (ValueError for anything else)."""
    quiet = QuietHours.parse(text)
    await street_settings.put(tx, QUIET_KEY, "off" if quiet is None else str(quiet))
    return quiet


async def _urgent(tx: Tx, issue: Issue) -> bool:
    category = await issues.category(tx, issue.category, active_only=False)
    return category is not None and max(category.limits.values()) <= URGENT_HOURS


async def _fire(tx: Tx, kind: str, issue: Issue, now: datetime, timezone: str, later: datetime | None) -> str:
    """`later`: the end of the quiet hours `now` falls in (the street's overdue nudge waits for it). Returns the
    timer's outcome: sent, held (the nudge waits) or skipped (the report has moved on)."""
    if kind == Timer.REMIND and issue.is_open:
        await service.remind_owners(tx, issue, now, timezone)
    elif kind == Timer.ESCALATE and issue.is_open:
        try:
            await service.escalate(tx, issue.id, None, "", now, timezone)
        except service.IssueError as error:
            if error.key != "task.at_top":
                raise
            if later is not None and not await _urgent(tx, issue):
                # only a nudge: it waits for the morning
                await scheduled_jobs.schedule(tx, Subject.ISSUE, issue.id, kind, later)
                return "held"
            await service.overdue_nudge(tx, issue, now)  # the street owns it: nowhere higher to go
    elif kind == Timer.FOLLOWUP_REMIND and issue.status is Status.RESOLVED:
        await service.followup_reminder(tx, issue, now)
    elif kind == Timer.FOLLOWUP_CLOSE and issue.status is Status.RESOLVED:
        await service.close_unrated(tx, issue, now)
    elif kind == Timer.RECHECK and issue.status is Status.CLOSED:
        await service.recheck(tx, issue, now)
    else:
        return "skipped"
    return "sent"
