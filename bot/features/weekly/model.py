"""The weekly Saturday report's types: its status, the three texts a secretary adds, the draft's figures (kept as
JSON with the row), the thresholds below which a unit's rate is listed, and the street's roll-up."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, time
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from bot.features.scorecards.model import Period

DRAFT_AT = time(8, 0)  # Saturday, street time: the week's draft goes to the secretaries
DEADLINE_AT = time(12, 0)  # Saturday, street time: submitted after this, a report is late (督查)
CLUSTER_MIN = 3  # reports of one category at one building in the week: a cluster
TOP_CATEGORIES = 3
# A unit whose rate is below its threshold is listed in the draft (样本不足, or nothing to measure, is not below).
THRESHOLDS: tuple[tuple[str, float], ...] = (("response", 0.8), ("on_time", 0.8), ("satisfaction", 0.8))
MAX_TEXT = 1000  # characters of each text


def _saturday(period: Period, clock: time) -> datetime:
    """`clock` on the Saturday after the week `period`, street time, as UTC."""
    return datetime.combine(period.end.date(), clock, ZoneInfo(period.timezone)).astimezone(UTC)


def draft_at(period: Period) -> datetime:
    return _saturday(period, DRAFT_AT)


def deadline_at(period: Period) -> datetime:
    return _saturday(period, DEADLINE_AT)


class Status(StrEnum):
    """`weekly_reports.status`: planned ahead, drafted at 08:00, submitted by 12:00 — or late (督查), which it stays
    when submitted afterwards (`submitted_at` then says when)."""

    PLANNED = "planned"
    DRAFT = "draft"
    SUBMITTED = "submitted"
    LATE = "late"


class Field(StrEnum):
    """The texts the secretary adds, all three required to submit."""

    KEY_WORK = "key_work"  # 本周重点工作
    NEEDS = "needs"  # 需要街道协调解决的事
    NEXT_PLAN = "next_plan"  # 下周工作计划


class Job(StrEnum):
    """The kinds of the weekly rows in `scheduled_jobs`."""

    DRAFT = "draft"  # a community's report, Saturday 08:00
    DEADLINE = "deadline"  # a community's report, Saturday 12:00
    ROLLUP = "rollup"  # the street's roll-up, Saturday 12:00 after the deadlines


@dataclass(frozen=True, slots=True)
class Cases:
    """A week's cases at a community: filed in the week, resolved in the week, and — as of the draft — overdue
    and open (None: not known, for a past week that was never drafted)."""

    new: int
    resolved: int
    overdue: int | None
    backlog: int | None


CASES = ("new", "resolved", "overdue", "backlog")


@dataclass(frozen=True, slots=True)
class Below:
    """A unit's rate under its threshold."""

    code: str
    name: str
    metric: str  # a THRESHOLDS name
    value: float


@dataclass(frozen=True, slots=True)
class Cluster:
    """CLUSTER_MIN or more reports of one category at one building in the week."""

    code: str
    building: str
    category: str  # the category's code
    count: int


@dataclass(frozen=True, slots=True)
class MeetingLine:
    """A 周六说事 held in the week, with its outcomes."""

    starts_at: str  # ISO UTC
    outcome: str
    attendees: int


@dataclass(frozen=True, slots=True)
class LectureLine:
    """A talk held in the week at or below the community, and how its audience rated it."""

    title: str
    kind: str  # a lectures Kind value
    starts_at: str  # ISO UTC
    checked_in: int
    rated: int
    average: float | None


@dataclass(frozen=True, slots=True)
class Draft:
    """One community's figures for one week (`service.draft`), kept with its report when drafted."""

    community: str  # code
    name: str
    period: str  # 2026-W49
    cases: Cases
    last: Cases  # last week's: as drafted then, else computed now (overdue / backlog then unknown)
    rates: dict[str, float | None] = field(default_factory=dict)  # the community's THRESHOLDS rates; None: none
    top: tuple[tuple[str, int], ...] = ()  # (category code, reports filed), most first
    below: tuple[Below, ...] = ()
    repeats: int = 0  # reports with an earlier one of the same reporter, category and place within 60 days
    clusters: tuple[Cluster, ...] = ()
    meetings: tuple[MeetingLine, ...] = ()
    lectures: tuple[LectureLine, ...] = ()

    def delta(self, name: str) -> int | None:
        """This week's figure `name` (a CASES name) minus last week's; None when either is unknown."""
        now, before = getattr(self.cases, name), getattr(self.last, name)
        return None if now is None or before is None else now - before

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Draft:
        return cls(data["community"], data["name"], data["period"], Cases(**data["cases"]), Cases(**data["last"]),
                   dict(data["rates"]), tuple((name, count) for name, count in data["top"]),
                   tuple(Below(**item) for item in data["below"]), data["repeats"],
                   tuple(Cluster(**item) for item in data["clusters"]),
                   tuple(MeetingLine(**item) for item in data["meetings"]),
                   tuple(LectureLine(**item) for item in data["lectures"]))


@dataclass(frozen=True, slots=True)
class Report:
    """A `weekly_reports` row."""

    id: int
    community_id: int
    period: str
    status: Status
    draft: Draft | None  # None until drafted
    texts: dict[Field, str]
    drafted_at: datetime | None
    submitted_at: datetime | None
    submitted_by: int | None

    @property
    def submitted(self) -> bool:
        return self.submitted_at is not None


@dataclass(frozen=True, slots=True)
class Rollup:
    """The street's week: every community's report (in the grid's order) and those on the 督查 list."""

    period: str
    reports: tuple[Report, ...]

    @property
    def late(self) -> tuple[Report, ...]:
        """督查: not submitted by the deadline (submitted since, or not yet)."""
        return tuple(report for report in self.reports if report.status is Status.LATE)
