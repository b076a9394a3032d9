"""APScheduler wiring. Jobs only wake workers; what is due lives in the database, so nothing is lost on restart."""

from __future__ import annotations

from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.clock import Clock
from bot.delivery.outbox import OutboxWorker
from bot.storage import conversations
from bot.storage.db import Database

OUTBOX_SWEEP_SECONDS = 30
SEEN_EVENTS_KEPT = timedelta(days=7)


def build(db: Database, clock: Clock, outbox: OutboxWorker, timezone: str) -> AsyncIOScheduler:
    """The process's scheduler: a safety-net outbox wake-up and housekeeping of the de-duplication record."""
    scheduler = AsyncIOScheduler(timezone=timezone)
    scheduler.add_job(outbox.wake, "interval", seconds=OUTBOX_SWEEP_SECONDS, id="outbox-sweep")

    async def forget_old_events() -> None:
        async with db.write() as tx:
            await conversations.forget_events_before(tx, clock.now() - SEEN_EVENTS_KEPT)

    scheduler.add_job(forget_old_events, "cron", hour=4, id="forget-old-events")
    return scheduler
