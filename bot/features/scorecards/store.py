"""Scorecards repository: the period's counts per place, read from issues and their audit trail; exclusions;
frozen snapshots. The definitions the SQL implements are written down in bot.features.scorecards.service."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from bot.clock import iso, parse_iso
from bot.features.reports.model import OPEN
from bot.features.scorecards.model import Counts
from bot.storage.db import Row, Tx

# The period's scored reports: filed in [start, end), not withdrawn or marked duplicate, not excluded. PLACES
# narrows them to the places in :units (a JSON list of unit ids).
_PERIOD = """
    SELECT i.id, i.unit_id, i.status, i.rating, i.created_at, i.reporter_id, i.category, i.owner_unit_id
    FROM issues i
    WHERE i.created_at >= :start AND i.created_at < :end AND i.status NOT IN ('withdrawn', 'duplicate')
      AND NOT EXISTS (SELECT 1 FROM score_exclusions x WHERE x.issue_id = i.id)"""
_PLACES = " AND i.unit_id IN (SELECT value FROM json_each(:units))"
# Per report, from its audit trail: the first acceptance (or resolution, which may come without one), the first
# resolution, reopenings, "fixed" answers (a rating closes it with the resident as actor; "stayed fixed" 14 days on)
# and the first routing decision, whose owner level's time limit is the report's deadline.
_FACTS = """
    SELECT p.*,
        MIN(CASE WHEN e.kind = 'transition' AND e.to_status IN ('accepted', 'resolved') THEN e.at END)
            AS accepted_at,
        MIN(CASE WHEN e.kind = 'transition' AND e.to_status = 'resolved' THEN e.at END) AS resolved_at,
        TOTAL(e.kind = 'transition' AND e.to_status = 'reopened') AS reopens,
        TOTAL((e.kind = 'transition' AND e.to_status = 'closed' AND e.actor_id IS NOT NULL)
              OR e.kind = 'stayed_fixed') AS fixed_answers,
        MIN(CASE WHEN e.kind = 'route' THEN e.id END) AS first_route
    FROM period p JOIN issue_events e ON e.issue_id = p.id
    GROUP BY p.id"""
_TIMED = """
    SELECT f.*, julianday(r.at) + (CASE
            WHEN instr(r.detail, ' (building);') THEN c.limit_building_h
            WHEN instr(r.detail, ' (complex);') THEN c.limit_complex_h
            WHEN instr(r.detail, ' (community);') THEN c.limit_community_h
            ELSE c.limit_street_h END) / 24.0 AS deadline,
        f.status IN ('resolved', 'closed') AS done
    FROM facts f JOIN issue_events r ON r.id = f.first_route JOIN categories c ON c.code = f.category"""
_COUNTS = """
    SELECT t.unit_id,
        COUNT(*) AS filed,
        TOTAL(t.deadline <= :now) AS due,
        TOTAL(t.deadline <= :now AND julianday(t.accepted_at) <= t.deadline) AS accepted_in_time,
        TOTAL(t.deadline <= :now AND julianday(t.resolved_at) <= t.deadline) AS resolved_in_time,
        TOTAL(t.done) AS done,
        TOTAL(t.done AND t.rating IS NOT NULL) AS rated,
        TOTAL(t.done AND t.rating >= 4) AS satisfied,
        TOTAL(t.resolved_at IS NOT NULL) AS resolved_ever,
        TOTAL(t.reopens > 0) AS reopened,
        TOTAL(t.fixed_answers) AS answered_fixed,
        TOTAL(t.reopens) AS answered_not_fixed,
        TOTAL(t.reporter_id IS NOT NULL AND EXISTS (
            SELECT 1 FROM issues j WHERE j.reporter_id = t.reporter_id AND j.category = t.category
              AND j.unit_id = t.unit_id AND j.created_at < t.created_at
              AND j.created_at >= strftime('%Y-%m-%dT%H:%M:%f', t.created_at, '-60 days'))) AS repeats,
        TOTAL(t.accepted_at IS NOT NULL) AS accepted,
        TOTAL((julianday(t.accepted_at) - julianday(t.created_at)) * 24) AS hours_to_accept,
        TOTAL((julianday(t.resolved_at) - julianday(t.created_at)) * 24) AS hours_to_resolve,
        TOTAL(t.done AND o.level <> 'street') AS done_locally
    FROM timed t JOIN grid_units o ON o.id = t.owner_unit_id
    GROUP BY t.unit_id"""
_OPEN = tuple(status.value for status in OPEN)
_OPEN_MARKS = ", ".join("?" for _ in _OPEN)
_INTEGERS = tuple(f.name for f in fields(Counts) if f.type == "int")


def _query(units: Sequence[int] | None) -> str:
    period = _PERIOD + ("" if units is None else _PLACES)
    return f"WITH period AS ({period}), facts AS ({_FACTS}), timed AS ({_TIMED}) {_COUNTS}"


async def period_counts(tx: Tx, start: datetime, end: datetime, now: datetime,
                        units: Sequence[int] | None = None) -> dict[int, Counts]:
    """The counts of the reports filed in [start, end), by the unit they are located at (every place, or those
    in `units`), as of `now`; overdue_now is left 0 (see overdue_counts)."""
    params = {"start": iso(start), "end": iso(end), "now": _julian(now), "units": json.dumps(list(units or ()))}
    rows = await tx.all(_query(units), params)
    return {row["unit_id"]: _counts(row) for row in rows}


async def overdue_counts(tx: Tx, now: datetime, units: Sequence[int] | None = None) -> dict[int, int]:
    """Open reports past their current deadline at `now`, filed at any time, by the unit they are located at."""
    places = "" if units is None else " AND i.unit_id IN (SELECT value FROM json_each(?))"
    params: list[Any] = [*_OPEN, iso(now)] + ([] if units is None else [json.dumps(list(units))])
    rows = await tx.all(
        f"SELECT i.unit_id, COUNT(*) FROM issues i WHERE i.status IN ({_OPEN_MARKS}) AND i.due_at < ? "  # noqa: S608
        f"AND NOT EXISTS (SELECT 1 FROM score_exclusions x WHERE x.issue_id = i.id){places} GROUP BY i.unit_id",
        params)
    return {row[0]: row[1] for row in rows}


def _julian(moment: datetime) -> float:
    """`moment` as SQLite's julianday() gives it."""
    return moment.timestamp() / 86400.0 + 2440587.5


def _counts(row: Row) -> Counts:
    """A row of _COUNTS (SQLite's TOTAL() is a float) as Counts."""
    values: list[Any] = [int(row[f.name]) if f.name in _INTEGERS else float(row[f.name]) for f in fields(Counts)
                         if f.name != "overdue_now"]
    return Counts(*values)


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
