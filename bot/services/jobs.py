"""Firing scheduled work kept as rows: each due row in a transaction of its own, a batch of rows at a time."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from bot.storage.db import Database, Tx

log = logging.getLogger(__name__)
BATCH = 50
Job = TypeVar("Job")


async def fire_each(db: Database, due: Callable[[Tx, int], Awaitable[Sequence[Job]]],
                    fire: Callable[[Tx, Job], Awaitable[bool]], name: Callable[[Job], str]) -> int:
    """Fire every row `due(tx, limit)` lists, each in its own transaction; `fire` says whether it fired (False:
    it was taken already). A row that fails ends the round and is tried again at the next one (the log names it
    by `name`). Returns how many fired."""
    fired = 0
    while True:
        async with db.read() as tx:
            jobs = await due(tx, BATCH)
        for job in jobs:
            try:
                async with db.write() as tx:
                    if await fire(tx, job):
                        fired += 1
            except Exception:
                log.exception("%s failed; it will be retried", name(job))
                return fired
        if len(jobs) < BATCH:
            return fired
