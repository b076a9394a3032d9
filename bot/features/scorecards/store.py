"""Scorecards repository: the period's counts per place and the reports they are made of, read from the per-report
facts (score_facts, kept by migration 017's triggers); exclusions; frozen snapshots. The definitions the SQL
implements are written down in bot.features.scorecards.service."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

from bot.clock import iso, parse_iso
from bot.features.reports.model import OPEN, Status
from bot.features.scorecards.model import NOT_FROM_REPORTS, Counts
from bot.storage.db import Row, Tx

# What each count adds up, per report of score_facts (migration 017 keeps one row per report, in the same
# transaction as every change to it): a count is the TOTAL of its expression over the period's scored reports.
_DONE = "f.status IN ('resolved', 'closed')"
_FLAGS = {
    "due": "f.deadline <= :now",
    "accepted_in_time": "f.deadline <= :now AND f.accepted_at <= f.deadline",
    "resolved_in_time": "f.deadline <= :now AND f.resolved_at <= f.deadline",
    "done": _DONE,
    "rated": f"{_DONE} AND f.rating IS NOT NULL",
    "satisfied": f"{_DONE} AND f.rating >= 4",
    "resolved_ever": "f.resolved_at IS NOT NULL",
    "reopened": "f.reopens > 0",
    "answered_fixed": "f.fixed_answers",
    "answered_not_fixed": "f.reopens",
    "repeats": "f.is_repeat",
    "accepted": "f.accepted_at IS NOT NULL",
    "hours_to_accept": "(f.accepted_at - f.created_day) * 24",
    "hours_to_resolve": "(f.resolved_at - f.created_day) * 24",
    "done_locally": f"{_DONE} AND NOT f.owner_street",
}
# The period's scored reports: filed in [start, end), routed, not withdrawn or marked duplicate, not excluded.
# Every column they read is in score_facts_period (the whole street, by filing time) and score_facts_places (the
# places in :units, a JSON list of unit ids).
_PERIOD = ("f.created_at >= :start AND f.created_at < :end AND f.excluded = 0 AND f.deadline IS NOT NULL "
           "AND f.status NOT IN ('withdrawn', 'duplicate')")
_PLACES = " AND f.unit_id IN (SELECT value FROM json_each(:units))"
# Open reports, not excluded, past their current deadline (the literal list matches score_facts_overdue's).
_OPEN_LIST = ", ".join(f"'{status.value}'" for status in sorted(OPEN))
_OVERDUE = f"f.excluded = 0 AND f.status IN ({_OPEN_LIST}) AND f.due_at < :now_iso"
_COUNTS = "SELECT f.unit_id, COUNT(*) AS filed, " + ", ".join(
    f"TOTAL({expression}) AS {name}" for name, expression in _FLAGS.items())
_REPORTS = ("SELECT f.issue_id, i.ref, f.unit_id, f.category, f.status, f.created_at, f.deadline, "  # noqa: S608
            + ", ".join(f"{expression} AS {name}" for name, expression in _FLAGS.items())
            + f", {_OVERDUE} AS overdue_now FROM score_facts f JOIN issues i ON i.id = f.issue_id")
_INTEGERS = tuple(f.name for f in fields(Counts) if f.type == "int")
_READ = tuple(f.name for f in fields(Counts) if f.name not in NOT_FROM_REPORTS)  # the columns of _COUNTS, in order


def _params(start: datetime | None, end: datetime | None, now: datetime, units: Sequence[int] | None
            ) -> dict[str, Any]:
    return {"start": None if start is None else iso(start), "end": None if end is None else iso(end),
            "now": _julian(now), "now_iso": iso(now), "units": json.dumps(list(units or ()))}


async def period_counts(tx: Tx, start: datetime, end: datetime, now: datetime,
                        units: Sequence[int] | None = None) -> dict[int, Counts]:
    """The counts of the reports filed in [start, end), by the unit they are located at (every place, or those
    in `units`), as of `now`; overdue_now is left 0 (see overdue_counts)."""
    where = _PERIOD + ("" if units is None else _PLACES)
    rows = await tx.all(f"{_COUNTS} FROM score_facts f WHERE {where} GROUP BY f.unit_id",
                        _params(start, end, now, units))
    return {row["unit_id"]: _counts(row) for row in rows}


async def overdue_counts(tx: Tx, now: datetime, units: Sequence[int] | None = None) -> dict[int, int]:
    """Open reports past their current deadline at `now`, filed at any time, by the unit they are located at."""
    where = _OVERDUE + ("" if units is None else _PLACES)
    rows = await tx.all(f"SELECT f.unit_id, COUNT(*) FROM score_facts f WHERE {where} GROUP BY f.unit_id",  # noqa: S608
                        _params(None, None, now, units))
    return {row[0]: row[1] for row in rows}


@dataclass(frozen=True, slots=True)
class ReportFacts:
    """One report and what it adds to each of its unit's counts (the fields of Counts, per report: a flag, the
    answers it had, its hours), as of the `now` it was read at."""

    issue_id: int
    ref: str
    unit_id: int  # where it is located
    category: str
    status: Status  # now
    created_at: datetime
    deadline: datetime | None  # its first routing decision's (None: never routed, so not scored)
    due: bool
    accepted_in_time: bool
    resolved_in_time: bool
    done: bool
    rated: bool
    satisfied: bool
    resolved_ever: bool
    reopened: bool
    answered_fixed: int
    answered_not_fixed: int
    repeats: bool
    accepted: bool
    hours_to_accept: float | None  # None: not accepted
    hours_to_resolve: float | None  # None: never resolved
    done_locally: bool
    overdue_now: bool  # open, past its current deadline


async def report_facts(tx: Tx, start: datetime, end: datetime, now: datetime,
                       units: Sequence[int] | None = None) -> list[ReportFacts]:
    """The scored reports filed in [start, end) located at `units` (every place when None), as of `now`, in
    filing order: what period_counts adds up."""
    where = _PERIOD + ("" if units is None else _PLACES)
    rows = await tx.all(f"{_REPORTS} WHERE {where}",
                        _params(start, end, now, units))
    return sorted((_report(row) for row in rows), key=_filing)


async def overdue_reports(tx: Tx, now: datetime, units: Sequence[int] | None = None) -> list[ReportFacts]:
    """The reports overdue_counts counts (open, not excluded, past their current deadline at `now`, filed at any
    time) located at `units` (every place when None), oldest first."""
    where = _OVERDUE + ("" if units is None else _PLACES)
    rows = await tx.all(f"{_REPORTS} WHERE {where}",
                        _params(None, None, now, units))
    return sorted((_report(row) for row in rows), key=_filing)


def _filing(report: ReportFacts) -> tuple[datetime, int]:
    """Filing order (sorted here: an ORDER BY would tempt the planner to read a whole index in that order)."""
    return report.created_at, report.issue_id


def _julian(moment: datetime) -> float:
    """`moment` as SQLite's julianday() gives it."""
    return moment.timestamp() / 86400.0 + 2440587.5


def _moment(julian: float) -> datetime:
    """A julianday() as a moment, to the millisecond (a julianday holds no finer)."""
    return datetime.fromtimestamp(round((julian - 2440587.5) * 86400.0, 3), UTC)


def _counts(row: Row) -> Counts:
    """A row of _COUNTS (SQLite's TOTAL() is a float) as Counts."""
    values: list[Any] = [int(row[name]) if name in _INTEGERS else float(row[name]) for name in _READ]
    return Counts(*values)


def _report(row: Row) -> ReportFacts:
    """A row of _REPORTS as ReportFacts."""
    deadline = row[6]
    values: list[Any] = [convert(value) for convert, value in zip(_CONVERT, row[7:], strict=True)]
    return ReportFacts(row[0], row[1], row[2], row[3], Status(row[4]), datetime.fromisoformat(row[5]),  # iso()'s
                       None if deadline is None else _moment(deadline), *values)


# How _report reads each column after the deadline: the flags (0, 1 or NULL), the answers, the hours (or NULL).
_CONVERT: tuple[Callable[[Any], Any], ...] = tuple(
    (lambda value: value) if f.name.startswith("hours") else (lambda value: int(value or 0)) if f.type == "int"
    else bool for f in fields(ReportFacts)[7:])


# ------------------------------------------------------------------------------------------- exclusions


@dataclass(frozen=True, slots=True)
class Exclusion:
    issue_id: int
    ref: str
    excluded_by: int | None  # None: the office tool
    reason: str
    excluded_at: datetime


async def exclusion(tx: Tx, issue_id: int) -> Exclusion | None:
    row = await tx.one("SELECT x.issue_id, i.ref, x.excluded_by, x.reason, x.excluded_at FROM score_exclusions x "
                       "JOIN issues i ON i.id = x.issue_id WHERE x.issue_id = ?", (issue_id,))
    return None if row is None else Exclusion(row[0], row[1], row[2], row[3], parse_iso(row[4]))


async def exclude(tx: Tx, issue_id: int, person_id: int | None, reason: str, now: datetime) -> None:
    await tx.execute("INSERT INTO score_exclusions (issue_id, excluded_by, reason, excluded_at) VALUES (?, ?, ?, ?)",
                     (issue_id, person_id, reason, iso(now)))


async def include(tx: Tx, issue_id: int) -> None:
    await tx.execute("DELETE FROM score_exclusions WHERE issue_id = ?", (issue_id,))


# -------------------------------------------------------------------------------------------- snapshots


@dataclass(frozen=True, slots=True)
class SnapshotRow:
    unit_code: str
    unit_name: str
    level: str
    figures: dict[str, Any]  # the unit's Counts, by field name
    score: float | None
    rank: int | None


async def snapshot(tx: Tx, period: str) -> tuple[datetime, dict[str, Any], list[SnapshotRow]] | None:
    """A frozen snapshot of `period`: when it was frozen, its weights, its rows in order."""
    head = await tx.one("SELECT id, weights, frozen_at FROM score_snapshots WHERE period = ?", (period,))
    if head is None:
        return None
    rows = await tx.all("SELECT unit_code, unit_name, level, figures, score, rank FROM score_snapshot_rows "
                        "WHERE snapshot_id = ? ORDER BY position", (head["id"],))
    return (parse_iso(head["frozen_at"]), json.loads(head["weights"]),
            [SnapshotRow(r[0], r[1], r[2], json.loads(r[3]), r[4], r[5]) for r in rows])


async def save_snapshot(tx: Tx, period: str, weights: dict[str, Any], rows: Sequence[SnapshotRow],
                        person_id: int | None, now: datetime) -> None:
    snapshot_id = await tx.execute("INSERT INTO score_snapshots (period, weights, frozen_by, frozen_at) "
                                   "VALUES (?, ?, ?, ?)", (period, json.dumps(weights), person_id, iso(now)))
    await tx.executemany(
        "INSERT INTO score_snapshot_rows (snapshot_id, position, unit_code, unit_name, level, figures, score, rank) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(snapshot_id, position, row.unit_code, row.unit_name, row.level, json.dumps(row.figures), row.score,
          row.rank) for position, row in enumerate(rows)])
