"""两联 visits: how a member got in touch, one visit, a household's visiting rhythm, overdue households, coverage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.features.contacts.model import Household


class Mode(StrEnum):
    DOOR = "door"  # 上门
    PHONE = "phone"  # 电话
    WECHAT = "wechat"  # 微信


class Send(StrEnum):
    """The kinds of a branch's rows in `scheduled_jobs`."""

    OVERDUE = "overdue"  # the weekly list of overdue households, to the branch secretary


@dataclass(frozen=True, slots=True)
class Visit:
    id: int
    household_id: int  # visit_households.id
    household: Household
    member_id: int | None
    unit_id: int
    mode: Mode
    note: str
    voice_ref: str
    photo_ref: str
    issue_id: int | None
    visited_at: datetime


@dataclass(frozen=True, slots=True)
class Rhythm:
    """A linked household as its member plans visits: when last visited and when the next visit is due."""

    household_id: int
    household: Household
    unit_id: int  # the party household looking after it
    monthly: bool
    last_visit: datetime | None
    next_due: datetime


@dataclass(frozen=True, slots=True)
class Overdue:
    rhythm: Rhythm
    member_id: int | None
    days: int  # whole days past next_due


class Span(Protocol):
    """A stretch of time, `start` inclusive, `end` exclusive (a scorecard's Period is one)."""

    @property
    def start(self) -> datetime: ...

    @property
    def end(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class Quarter:
    """A calendar quarter in the street's time zone."""

    start: datetime
    end: datetime

    @classmethod
    def containing(cls, moment: datetime, timezone: str) -> Quarter:
        zone = ZoneInfo(timezone)
        day = moment.astimezone(zone).date()
        first = 3 * ((day.month - 1) // 3) + 1
        after = date(day.year + 1, 1, 1) if first == 10 else date(day.year, first + 3, 1)
        return cls(datetime.combine(date(day.year, first, 1), time(), zone).astimezone(UTC),
                   datetime.combine(after, time(), zone).astimezone(UTC))


@dataclass(frozen=True, slots=True)
class Coverage:
    """Linked households visited in a period, of all linked households (at or below a unit)."""

    visited: int
    linked: int

    @property
    def rate(self) -> float | None:
        return self.visited / self.linked if self.linked else None
