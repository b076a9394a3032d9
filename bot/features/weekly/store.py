"""Weekly reports repository: a row per community and week, a row per week for the street's roll-up (their 08:00 /
12:00 work is rows of `scheduled_jobs`, subjects 'weekly_report' and 'weekly_rollup'), and the draft's own readings
of reports, meetings and talks (read only; scorecards' figures come from its service)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from bot.clock import iso, parse_iso
from bot.features.reports.model import OPEN
from bot.features.weekly.model import Draft, Field, Report, Status
from bot.storage.db import Row, Tx

_REPORT = ("SELECT w.id, w.community_id, w.period, w.status, w.figures, w.key_work, w.needs, w.next_plan, "
           "w.drafted_at, w.submitted_at, w.submitted_by FROM weekly_reports w")
# The reports the draft counts, located in :units (a JSON list of unit ids), like scorecards' period reports: not
# withdrawn or marked duplicate, not excluded from scoring.
_COUNTED = ("i.unit_id IN (SELECT value FROM json_each(:units)) AND i.status NOT IN ('withdrawn', 'duplicate') "
            "AND NOT EXISTS (SELECT 1 FROM score_exclusions x WHERE x.issue_id = i.id)")
_OPEN = json.dumps(sorted(status.value for status in OPEN))


def _report(row: Row) -> Report:
    figures = row["figures"]
    return Report(row["id"], row["community_id"], row["period"], Status(row["status"]),
                  Draft.from_json(json.loads(figures)) if figures else None,
                  {name: row[name.value] for name in Field},
                  parse_iso(row["drafted_at"]) if row["drafted_at"] else None,
                  parse_iso(row["submitted_at"]) if row["submitted_at"] else None, row["submitted_by"])


# --------------------------------------------------------------------------------------------- planning


async def unplanned(tx: Tx, period: str) -> list[int]:
    """Communities without a report for `period`, in the grid's order."""
    rows = await tx.all("SELECT g.id FROM grid_units g WHERE g.level = 'community' AND NOT EXISTS ("
                        "SELECT 1 FROM weekly_reports w WHERE w.community_id = g.id AND w.period = ?) "
                        "ORDER BY g.position, g.id", (period,))
    return [row[0] for row in rows]


async def create(tx: Tx, community_id: int, period: str, now: datetime) -> int:
    return await tx.execute("INSERT INTO weekly_reports (community_id, period, created_at) VALUES (?, ?, ?)",
                            (community_id, period, iso(now)))


async def rollup_id(tx: Tx, period: str) -> int | None:
    value = await tx.scalar("SELECT id FROM weekly_rollups WHERE period = ?", (period,))
    return None if value is None else int(value)


async def create_rollup(tx: Tx, period: str, now: datetime) -> int:
    return await tx.execute("INSERT INTO weekly_rollups (period, created_at) VALUES (?, ?)", (period, iso(now)))


async def rollup_period(tx: Tx, rollup: int) -> str | None:
    value = await tx.scalar("SELECT period FROM weekly_rollups WHERE id = ?", (rollup,))
    return None if value is None else str(value)


async def mark_rollup_sent(tx: Tx, rollup: int, now: datetime) -> None:
    await tx.execute("UPDATE weekly_rollups SET sent_at = ? WHERE id = ?", (iso(now), rollup))


async def latest_rollup(tx: Tx) -> str | None:
    """The latest week whose roll-up went out."""
    value = await tx.scalar("SELECT MAX(period) FROM weekly_rollups WHERE sent_at IS NOT NULL")
    return None if value is None else str(value)


# ---------------------------------------------------------------------------------------------- reports


async def get(tx: Tx, report_id: int) -> Report | None:
    row = await tx.one(f"{_REPORT} WHERE w.id = ?", (report_id,))
    return _report(row) if row else None


async def of(tx: Tx, community_id: int, period: str) -> Report | None:
    row = await tx.one(f"{_REPORT} WHERE w.community_id = ? AND w.period = ?", (community_id, period))
    return _report(row) if row else None


async def latest_drafted(tx: Tx, community_id: int) -> Report | None:
    """The community's latest report that has been drafted."""
    row = await tx.one(f"{_REPORT} WHERE w.community_id = ? AND w.status <> 'planned' ORDER BY w.period DESC LIMIT 1",
                       (community_id,))
    return _report(row) if row else None


async def of_period(tx: Tx, period: str) -> list[Report]:
    """Every community's report of `period`, in the grid's order."""
    rows = await tx.all(f"{_REPORT} JOIN grid_units g ON g.id = w.community_id WHERE w.period = ? "
                        "ORDER BY g.position, g.id", (period,))
    return [_report(row) for row in rows]


async def drafted(tx: Tx, report_id: int, draft: Draft, now: datetime) -> None:
    await tx.execute("UPDATE weekly_reports SET status = ?, figures = ?, drafted_at = ? WHERE id = ?",
                     (Status.DRAFT, json.dumps(draft.to_json(), ensure_ascii=False), iso(now), report_id))


async def set_text(tx: Tx, report_id: int, field: Field, text: str) -> None:
    await tx.execute(f"UPDATE weekly_reports SET {field.value} = ? WHERE id = ?",  # noqa: S608  (a Field)
                     (text, report_id))


async def submitted(tx: Tx, report_id: int, status: Status, person_id: int, now: datetime) -> None:
    await tx.execute("UPDATE weekly_reports SET status = ?, submitted_at = ?, submitted_by = ? WHERE id = ?",
                     (status, iso(now), person_id, report_id))


async def mark_late(tx: Tx, report_id: int) -> bool:
    """A report not submitted becomes late; False when it had been submitted."""
    changed = await tx.execute("UPDATE weekly_reports SET status = ? WHERE id = ? AND status IN (?, ?)",
                               (Status.LATE, report_id, Status.PLANNED, Status.DRAFT))
    return changed == 1


# ------------------------------------------------------------------------------------ the draft's readings


async def resolved(tx: Tx, units: Sequence[int], start: datetime, end: datetime) -> int:
    """Reports located in `units` resolved (their latest resolution) in [start, end), resolved or closed now."""
    return int(await tx.scalar(
        # the index named: before ANALYZE has run (a fresh file) the planner would take the status index instead
        f"SELECT COUNT(*) FROM issues i INDEXED BY issues_unit_resolved WHERE {_COUNTED} "  # noqa: S608
        "AND i.resolved_at >= :start AND i.resolved_at < :end AND i.status IN ('resolved', 'closed')",
        {"units": json.dumps(list(units)), "start": iso(start), "end": iso(end)}))


async def backlog(tx: Tx, units: Sequence[int]) -> int:
    """Reports located in `units` open now."""
    return int(await tx.scalar(
        f"SELECT COUNT(*) FROM issues i WHERE {_COUNTED} AND i.status IN (SELECT value FROM json_each(:open))",  # noqa: S608
        {"units": json.dumps(list(units)), "open": _OPEN}))


async def categories(tx: Tx, units: Sequence[int], start: datetime, end: datetime) -> list[tuple[str, int]]:
    """(category code, reports filed in [start, end)) located in `units`, most first (then the categories' order)."""
    rows = await tx.all(
        f"SELECT i.category, COUNT(*) AS n FROM issues i JOIN categories c ON c.code = i.category "  # noqa: S608
        f"WHERE {_COUNTED} AND i.created_at >= :start AND i.created_at < :end "
        "GROUP BY i.category ORDER BY n DESC, MIN(c.position), i.category",
        {"units": json.dumps(list(units)), "start": iso(start), "end": iso(end)})
    return [(row[0], row[1]) for row in rows]


async def clusters(tx: Tx, units: Sequence[int], start: datetime, end: datetime, least: int
                   ) -> list[tuple[int, str, int]]:
    """(building id, category code, count) of at least `least` reports of one category at one building of
    `units` filed in [start, end), most first."""
    rows = await tx.all(
        f"SELECT i.unit_id, i.category, COUNT(*) AS n FROM issues i JOIN grid_units g ON g.id = i.unit_id "  # noqa: S608
        f"WHERE {_COUNTED} AND g.level = 'building' AND i.created_at >= :start AND i.created_at < :end "
        "GROUP BY i.unit_id, i.category HAVING COUNT(*) >= :least ORDER BY n DESC, g.position, i.category",
        {"units": json.dumps(list(units)), "start": iso(start), "end": iso(end), "least": least})
    return [(row[0], row[1], row[2]) for row in rows]


async def meetings_held(tx: Tx, community_id: int, start: datetime, end: datetime) -> list[int]:
    """The community's meetings held (outcomes entered) that started in [start, end), in time order."""
    rows = await tx.all("SELECT id FROM meetings WHERE community_id = ? AND status = 'held' AND starts_at >= ? "
                        "AND starts_at < ? ORDER BY starts_at", (community_id, iso(start), iso(end)))
    return [row[0] for row in rows]
