"""Fixtures shared by the test modules: a database, a manual clock, the fake Bot API server. Loading the Telegram
adapter opts PTB into timedelta durations (PTB_TIMEDELTA), for the tests that drive PTB directly too."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import bot.handlers.telegram_send  # noqa: F401  (see above)
from bot.clock import ManualClock
from bot.storage.db import Database
from tests.fake_telegram import FakeTelegramServer


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
