"""Scorecards' types: the period a figure covers, the counts and metrics of one grid unit, the weights, the
scorecard's rows."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.domain.grid import Level

MIN_RATINGS = 5  # fewer ratings than this: 满意率 is 样本不足 and the unit is left out of rankings
_PERIOD = re.compile(r"(?P<year>\d{4})-(?:W(?P<week>\d{2})|H(?P<half>[12])|(?P<month>\d{2}))")


class Kind(StrEnum):
    WEEK = "week"  # Saturday to Friday, named by the ISO week of its Friday: 2026-W48
    MONTH = "month"  # 2026-11
    HALF = "half"  # January–June or July–December: 2026-H2, the 考核 period


@dataclass(frozen=True, slots=True)
class Period:
    """A week, month or half-year in the street's time zone; `start` inclusive, `end` exclusive."""

    kind: Kind
    year: int
    number: int  # the ISO week of the week's Friday, the month, or the half (1, 2)
    timezone: str

    @classmethod
    def parse(cls, text: str, timezone: str) -> Period:
        """`2026-W48`, `2026-11` or `2026-H2` (ValueError for anything else)."""
        found = _PERIOD.fullmatch(text.strip().upper())
        if found is None:
            raise ValueError(text)
        year = int(found["year"])
        if found["week"]:
            period = cls(Kind.WEEK, year, int(found["week"]), timezone)
        elif found["half"]:
            period = cls(Kind.HALF, year, int(found["half"]), timezone)
        else:
            period = cls(Kind.MONTH, year, int(found["month"]), timezone)
        period.start  # noqa: B018  (checks the week or month exists)
        return period

    @classmethod
    def containing(cls, moment: datetime, kind: Kind, timezone: str) -> Period:
        """The period of `kind` that `moment` falls in."""
        day = moment.astimezone(ZoneInfo(timezone)).date()
        if kind is Kind.WEEK:
            friday = day + timedelta(days=(4 - day.weekday()) % 7)
            iso = friday.isocalendar()
            return cls(kind, iso.year, iso.week, timezone)
        if kind is Kind.MONTH:
            return cls(kind, day.year, day.month, timezone)
        return cls(kind, day.year, 1 if day.month <= 6 else 2, timezone)

    @property
    def label(self) -> str:
        if self.kind is Kind.WEEK:
            return f"{self.year}-W{self.number:02d}"
        if self.kind is Kind.MONTH:
            return f"{self.year}-{self.number:02d}"
        return f"{self.year}-H{self.number}"

    def _days(self) -> tuple[date, date]:
        if self.kind is Kind.WEEK:
            friday = date.fromisocalendar(self.year, self.number, 5)
            return friday - timedelta(days=6), friday + timedelta(days=1)
        first = self.number if self.kind is Kind.MONTH else 6 * self.number - 5
        last = first + (1 if self.kind is Kind.MONTH else 6)
        return date(self.year, first, 1), date(self.year + (last > 12), (last - 1) % 12 + 1, 1)

    @property
    def start(self) -> datetime:
        return datetime.combine(self._days()[0], time(), ZoneInfo(self.timezone))

    @property
    def end(self) -> datetime:
        return datetime.combine(self._days()[1], time(), ZoneInfo(self.timezone))

    def previous(self) -> Period:
        """The period of the same kind just before (last week, for the weekly report's Δ)."""
        return Period.containing(self.start - timedelta(days=1), self.kind, self.timezone)


@dataclass(frozen=True, slots=True)
class Counts:
    """What the figures are made of, for the reports located at one unit (or, rolled up, at or below it). Every
    field adds up over units, so a unit's counts are the sum of its places'."""

    filed: int = 0  # the period's reports (filed in it), not excluded, withdrawn or marked duplicate
    due: int = 0  # … whose first owner's time has run out by now
    accepted_in_time: int = 0  # … of those, accepted (or resolved) by then
    resolved_in_time: int = 0  # … of those, first resolved by then
    done: int = 0  # resolved or closed now
    rated: int = 0  # done, with a rating
    satisfied: int = 0  # rated 4 or 5 stars
    resolved_ever: int = 0  # resolved at least once
    reopened: int = 0  # reopened at least once ("not fixed")
    answered_fixed: int = 0  # "fixed" answers (a rating, or "stayed fixed" 14 days on)
    answered_not_fixed: int = 0  # "not fixed" answers (each reopening by the resident)
    repeats: int = 0  # an earlier report of the same reporter, category and place within 60 days
    accepted: int = 0  # accepted (or resolved) at all
    hours_to_accept: float = 0.0  # summed over `accepted`
    hours_to_resolve: float = 0.0  # summed over `resolved_ever` (to the first resolution)
    done_locally: int = 0  # done, owned by the community level or below when resolved
    overdue_now: int = 0  # open reports (filed at any time) past their current deadline now
    households: int = 0  # 两联: households linked to a party member (by their building), now
    visited: int = 0  # … of those, visited by their party member in the period

    def __add__(self, other: Counts) -> Counts:
        return Counts(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(Counts)))


@dataclass(frozen=True, slots=True)
class Ratio:
    """`part` of `whole`; no value when `whole` is 0 (nothing to measure)."""

    part: int
    whole: int

    @property
    def value(self) -> float | None:
        return self.part / self.whole if self.whole else None


@dataclass(frozen=True, slots=True)
class TooFew:
    """样本不足: fewer than MIN_RATINGS ratings, shown as such and never as a number."""

    part: int
    whole: int


@dataclass(frozen=True, slots=True)
class Metrics:
    """One unit's figures for a period (see bot.features.scorecards.service for each definition)."""

    counts: Counts
    response: Ratio  # 响应率
    on_time: Ratio  # 按时办结率
    completion: Ratio  # 办结率
    fixed: Ratio  # 解决率
    satisfaction: Ratio | TooFew  # 满意率, always shown with …
    follow_up: Ratio  # … 回访率
    redo: Ratio  # 重办率
    repeat: Ratio  # 重复率
    hours_to_accept: float | None
    hours_to_resolve: float | None
    local: Ratio  # 小事不出社区率
    overdue_now: int
    visit_coverage: Ratio  # 两联走访覆盖率: linked households visited in the period


RATES = ("response", "on_time", "completion", "fixed", "satisfaction", "follow_up", "redo", "repeat", "local",
         "visit_coverage")
NOT_FROM_REPORTS = ("overdue_now", "households", "visited")  # Counts the period's reports do not give


@dataclass(frozen=True, slots=True)
class Weights:
    """Points for each rate at 100 % (`points`: metric name → points), minus `per_overdue` for each report
    overdue now, at most `max_deduction`."""

    points: tuple[tuple[str, float], ...] = (("response", 30.0), ("fixed", 35.0), ("satisfaction", 35.0))
    per_overdue: float = 2.0
    max_deduction: float = 10.0


@dataclass(frozen=True, slots=True)
class Unit:
    """A grid unit as a scorecard names it (a frozen one keeps the code and name it had)."""

    code: str
    name: str
    level: Level


@dataclass(frozen=True, slots=True)
class Row:
    unit: Unit
    metrics: Metrics
    score: float | None  # None: not ranked (样本不足, or a weighted figure with nothing to measure)
    rank: int | None  # among the scorecard's units of the same level, 1 best


@dataclass(frozen=True, slots=True)
class Scorecard:
    period: Period
    rows: tuple[Row, ...]  # the grid's order: each unit, then the units below it
    weights: Weights
    frozen_at: datetime | None = None  # a kept 考核 snapshot

    def ranked(self, level: Level) -> list[Row]:
        """The ranked units of `level`, best first."""
        return sorted((row for row in self.rows if row.unit.level is level and row.rank is not None),
                      key=lambda row: row.rank or 0)

    def red(self, level: Level, size: int = 3) -> list[Row]:
        """红榜: the best `size` of `level`."""
        return self.ranked(level)[:size]

    def black(self, level: Level, size: int = 3) -> list[Row]:
        """黑榜: the worst `size` of `level`, worst first, never one already on the 红榜."""
        ranked = self.ranked(level)
        return ranked[max(size, len(ranked) - size):][::-1]
