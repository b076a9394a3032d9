"""Fixtures shared by the test modules: a database, a manual clock, the fake Bot API server, a count of the
scheduler's passes. Loading the Telegram adapter opts PTB into timedelta durations (PTB_TIMEDELTA), for the
tests that drive PTB directly too."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

import bot.handlers.telegram_send  # noqa: F401  (see above)
from bot.clock import ManualClock
from bot.features.base import DueWork
from bot.features.catalog import discover
from bot.storage.db import Database
from tests.fake_telegram import FakeTelegramServer

FireDue = Callable[[Any, Database, datetime, str], Awaitable[int]]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(str(tmp_path / "jinlin.db"))
    await database.open()
    yield database
    await database.close()


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer() as fake:
        yield fake


@pytest.fixture
def passes(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """How often each real source of due work was asked to fire what is due."""
    counted: Counter[str] = Counter()

    def counting(original: FireDue) -> FireDue:
        async def fire_due(self: DueWork, db: Database, now: datetime, timezone: str) -> int:
            counted[type(self).__name__] += 1
            return await original(self, db, now, timezone)

        return fire_due

    for source in discover().job_sources(None):
        monkeypatch.setattr(type(source), "fire_due", counting(type(source).fire_due))
    yield counted
