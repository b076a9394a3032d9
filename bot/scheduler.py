"""APScheduler wiring. Jobs only wake workers; what is due lives in the database (scheduled_jobs, outbox rows), so
the schedule is rebuilt from it at start and nothing is lost on restart.

Due work is fired when the scheduler wakes: at start, at the earliest pending job's time (one date job) and at every
sweep. A commit only checks whether it scheduled something earlier than that wake-up (one indexed query): work due
already is fired at once, work due sooner moves the wake-up."""

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
from bot.storage import inbox, outbox, scheduled_jobs
from bot.storage.db import Database

log = logging.getLogger(__name__)

SWEEP_SECONDS = 30
SEEN_EVENTS_KEPT = timedelta(days=7)  # handled events kept to recognise redeliveries
TIMERS_JOB = "timers"
PRUNE_BATCH = 500  # sent outbox rows deleted per transaction, so that other writers wait only briefly


class Scheduler:
    """Wakes the outbox worker, fires due jobs at their time, and keeps housekeeping going."""

    def __init__(self, db: Database, clock: Clock, worker: OutboxWorker, timezone: str, media: MediaStore,
                 quiet: QuietHours | None, *, outbox_retention: timedelta) -> None:
        self._db = db
        self._sources = discover().job_sources(quiet, str(media.directory))
        self._media = media
        self._clock = clock
        self._outbox = worker
        self._timezone = timezone
        self._outbox_retention = outbox_retention
        self._jobs = AsyncIOScheduler(timezone=timezone)
        self._jobs.add_job(self._sweep, "interval", seconds=SWEEP_SECONDS, id="sweep")
        self._jobs.add_job(self._forget_old_events, "cron", hour=4, id="forget-old-events")
        self._jobs.add_job(self.prune_outbox, "cron", hour=4, minute=30, id="prune-outbox")
        self._check: asyncio.Task[None] | None = None
        self._dirty = False
        self._pass_wanted = False  # a wake-up or sweep asked for a pass
        self._passing = asyncio.Lock()
        self._wake_at: datetime | None = None

    async def start(self) -> None:
        self._jobs.start()
        await self.run_timers()  # anything that fell due while the bot was down, then the next wake-up

    async def stop(self) -> None:
        self._jobs.shutdown(wait=False)
        await self.caught_up()

    @property
    def wake_at(self) -> datetime | None:
        """When the scheduler wakes next to fire due jobs (None: nothing is pending; sweeps go on)."""
        return self._wake_at

    def changed(self) -> None:
        """A transaction committed: new pushes may wait in the outbox, files may wait to be deleted, and a job may
        have been scheduled earlier than the next wake-up.

        Checking is coalesced: commits during a check only make it go round once more.
        """
        self._outbox.wake()
        self._dirty = True
        self._ensure_check()

    def _ensure_check(self) -> None:
        if self._check is None or self._check.done():
            self._check = asyncio.get_running_loop().create_task(self._check_while_dirty(), name="jobs-check")

    async def caught_up(self) -> None:
        """Wait until the commits so far have been checked."""
        if self._check is not None:
            await self._check

    async def _check_while_dirty(self) -> None:
        while self._dirty or self._pass_wanted:
            if self._pass_wanted:
                self._pass_wanted = False
                await self.run_timers()
                continue
            self._dirty = False
            await self._media.empty_trash(self._db)  # files let go of by what just committed
            async with self._db.read() as tx:
                earliest = await scheduled_jobs.next_due_at(tx)
            if earliest is not None and earliest <= self._clock.now():
                await self.run_timers()  # due already: scheduled for now, or its wake-up did not come
            elif earliest is not None and (self._wake_at is None or earliest < self._wake_at):
                self._wake(earliest)

    def _wake(self, at: datetime | None) -> None:
        self._wake_at = at
        if at is not None:
            # APScheduler keeps wall-clock time; the wait is the injected clock's, so a clock that is not the
            # system's (the demo's /later, tests) never sees a wake-up fire early or out of turn.
            wait = max(timedelta(0), at - self._clock.now())
            self._jobs.add_job(self._due, "date", run_date=datetime.now(UTC) + wait, id=TIMERS_JOB,
                               replace_existing=True)

    async def run_timers(self) -> int:
        """Fire what is due, then set the single wake-up to the next due time found in the database (passes never
        overlap: one waits for another)."""
        async with self._passing:
            fired = 0
            for source in self._sources:
                fired += await source.fire_due(self._db, self._clock.now(), self._timezone)
            async with self._db.read() as tx:
                self._wake(await scheduled_jobs.next_due_at(tx))
            if fired:
                self._outbox.wake()
            await self._media.empty_trash(self._db)  # files let go of by what the jobs committed
            return fired

    async def _sweep(self) -> None:
        self._outbox.wake()
        await self._due()

    async def _due(self) -> None:
        """A wake-up or a sweep came: the pass runs in the checking task and this job returns at once, so that a
        wake-up set during a pass (due already) is never skipped by APScheduler as still running."""
        self._pass_wanted = True
        self._ensure_check()

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
