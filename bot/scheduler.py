"""APScheduler wiring. Jobs only wake workers; what is due lives in the database (timers, outbox rows), so the
schedule is rebuilt from it at start and nothing is lost on restart."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.clock import Clock
from bot.delivery.outbox import OutboxWorker
from bot.domain.quiet import QuietHours
from bot.features.catalog import discover
from bot.services.media import MediaStore
from bot.storage import inbox, outbox
from bot.storage.db import Database

log = logging.getLogger(__name__)

SWEEP_SECONDS = 30
SEEN_EVENTS_KEPT = timedelta(days=7)  # handled events kept to recognise redeliveries
TIMERS_JOB = "timers"
PRUNE_BATCH = 500  # sent outbox rows deleted per transaction, so that other writers wait only briefly


class Scheduler:
    """Wakes the outbox worker, fires due timers at their time, and keeps housekeeping going."""

    def __init__(self, db: Database, clock: Clock, worker: OutboxWorker, timezone: str, media: MediaStore,
                 quiet: QuietHours | None, *, outbox_retention: timedelta) -> None:
        self._db = db
        self._sources = discover().job_sources(quiet)
        self._media = media
        self._clock = clock
        self._outbox = worker
        self._timezone = timezone
        self._outbox_retention = outbox_retention
        self._jobs = AsyncIOScheduler(timezone=timezone)
        self._jobs.add_job(self._sweep, "interval", seconds=SWEEP_SECONDS, id="sweep")
        self._jobs.add_job(self._forget_old_events, "cron", hour=4, id="forget-old-events")
        self._jobs.add_job(self.prune_outbox, "cron", hour=4, minute=30, id="prune-outbox")
        self._replan: asyncio.Task[None] | None = None
        self._dirty = False

    async def start(self) -> None:
        self._jobs.start()
        await self.run_timers()  # anything that fell due while the bot was down, then the next wake-up

    async def stop(self) -> None:
        self._jobs.shutdown(wait=False)
        if self._replan is not None:
            await self._replan

    def changed(self) -> None:
        """A transaction committed: new pushes may wait in the outbox and timers may have moved.

        Re-planning is coalesced: commits during a run only make that run go round once more.
        """
        self._outbox.wake()
        self._dirty = True
        if self._replan is None or self._replan.done():
            self._replan = asyncio.get_running_loop().create_task(self._replan_while_dirty(), name="timers-replan")

    async def _replan_while_dirty(self) -> None:
        while self._dirty:
            self._dirty = False
            await self.run_timers()

    async def run_timers(self) -> int:
        """Fire what is due, then set the single timer job to the next due time found in the database."""
        fired = 0
        for source in self._sources:
            fired += await source.fire_due(self._db, self._clock.now(), self._timezone)
        upcoming = [at for source in self._sources if (at := await source.next_due(self._db)) is not None]
        next_at = min(upcoming, default=None)
        if next_at is not None:
            # APScheduler keeps wall-clock time; the wait is the injected clock's, so a clock that is not the
            # system's (the demo's /later, tests) never sees a wake-up fire early or out of turn.
            wait = max(timedelta(0), next_at - self._clock.now())
            self._jobs.add_job(self.run_timers, "date", run_date=datetime.now(UTC) + wait, id=TIMERS_JOB,
                               replace_existing=True)
        if fired:
            self._outbox.wake()
        await self._media.empty_trash(self._db)  # files let go of by what just committed
        return fired

    async def _sweep(self) -> None:
        self._outbox.wake()
        await self.run_timers()

    async def _forget_old_events(self) -> None:
        async with self._db.write() as tx:
            await inbox.forget_done_before(tx, self._clock.now() - SEEN_EVENTS_KEPT)

    async def prune_outbox(self, batch: int = PRUNE_BATCH) -> int:
        """Delete outbox rows sent longer ago than the retention, `batch` rows per transaction; how many."""
        cutoff = self._clock.now() - self._outbox_retention
        pruned = 0
        while True:
            async with self._db.write() as tx:
                deleted = await outbox.prune_sent(tx, cutoff, batch)
            pruned += deleted
            if deleted < batch:
                break
        if pruned:
            log.info("outbox: %d sent rows older than %d days pruned", pruned, self._outbox_retention.days)
        return pruned
