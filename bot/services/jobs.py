"""Firing scheduled work kept as rows: each due row in a transaction of its own, a batch of rows at a time."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from bot.storage import scheduled_jobs
from bot.storage.db import Database, Tx
from bot.storage.scheduled_jobs import Job, Subject

log = logging.getLogger(__name__)
BATCH = 50


async def fire_each(db: Database, subject: Subject, now: datetime, fire: Callable[[Tx, Job], Awaitable[str]]) -> int:
    """Fire every job of `subject` due by `now`, each in its own transaction: the job is marked done, then `fire`
    does it and says what became of it (its outcome; '' records none). A job done already (another pass took it)
    is passed over; one that fails ends the round and is tried again at the next one. Returns how many fired."""
    fired = 0
    while True:
        async with db.read() as tx:
            jobs = await scheduled_jobs.due(tx, subject, now, BATCH)
        for job in jobs:
            try:
                async with db.write() as tx:
                    if not await scheduled_jobs.finish(tx, job.id, now):
                        continue
                    if outcome := await fire(tx, job):
                        await scheduled_jobs.set_outcome(tx, job.id, outcome)
                    fired += 1
            except Exception:
                log.exception("%s job %d (%s) failed; it will be retried", subject, job.id, job.kind)
                return fired
        if len(jobs) < BATCH:
            return fired
