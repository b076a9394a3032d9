"""What a capability declares in its `feature.py` (`FEATURE = Feature(...)`), for the core to derive from: the
engine's flows, the main menu, the scheduler's work, what "delete my information" clears, the refusals it says,
its button tokens."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from bot.conversations.flow import Flow
from bot.conversations.menu import MenuEntry
from bot.conversations.tokens import Token
from bot.domain.quiet import QuietHours
from bot.domain.refusal import Refusal
from bot.storage.db import Database
from bot.storage.media import MediaColumn


class DueWork(Protocol):
    """Scheduled work kept as `scheduled_jobs` rows: fire what is due by a moment (when the next job falls due is
    one query over every feature's, `scheduled_jobs.next_due_at`)."""

    async def fire_due(self, db: Database, now: datetime, timezone: str) -> int: ...


@dataclass(frozen=True, slots=True)
class JobSettings:
    """What scheduled work is built with: the street's configured quiet hours, and the media directory (for work
    that writes the street's own files there, such as the weekly report's chart)."""

    quiet: QuietHours | None
    media: Path


@dataclass(frozen=True, slots=True)
class Feature:
    """One capability. `jobs` builds its scheduled work from the `JobSettings`; `media` are the columns holding
    files people send; `refusals` the `Refusal` types its services raise (their keys are
    checked against the catalogs); `tokens` the codecs of the button tokens it makes and reads (each prefix is
    one codec's, street-wide)."""

    name: str
    flows: tuple[Flow[Any], ...] = ()
    menu: tuple[MenuEntry, ...] = ()
    jobs: Callable[[JobSettings], DueWork] | None = None
    media: tuple[MediaColumn, ...] = ()
    refusals: tuple[type[Refusal], ...] = ()
    tokens: tuple[Token[Any], ...] = ()
