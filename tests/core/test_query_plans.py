"""The queries that grow with the street find their rows through an index: EXPLAIN QUERY PLAN of the
repositories' own SQL, captured as they run, never says SCAN for the table they read."""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.domain.people import Duty, Role
from bot.features.reports import store as issues
from bot.services.grid_import import import_grid
from bot.storage import grid, inbox, people, scheduled_jobs
from bot.storage.db import Database, Params, Row, Tx
from bot.storage.scheduled_jobs import Subject

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
SAMPLE = Path(__file__).resolve().parents[2] / "sample" / "grid.csv"
NOT_TABLES = ("SCAN json_each", "SCAN CONSTANT ROW")  # a parameter's list, an INSERT … SELECT's one row


class Planned(Tx):
    """A Tx that asks SQLite how it would run each statement (EXPLAIN QUERY PLAN) before running it."""

    def __init__(self, inner: Tx) -> None:  # the inner Tx keeps the connection
        self.inner = inner
        self.plans: list[tuple[str, list[str]]] = []

    async def _plan(self, sql: str, params: Params) -> None:
        rows = await self.inner.all(f"EXPLAIN QUERY PLAN {sql}", params)
        self.plans.append((" ".join(sql.split()), [row["detail"] for row in rows]))

    async def execute(self, sql: str, params: Params = ()) -> int:
        await self._plan(sql, params)
        return await self.inner.execute(sql, params)

    async def one(self, sql: str, params: Params = ()) -> Row | None:
        await self._plan(sql, params)
        return await self.inner.one(sql, params)

    async def all(self, sql: str, params: Params = ()) -> list[Row]:
        await self._plan(sql, params)
        return await self.inner.all(sql, params)


Query = Callable[[Tx], Awaitable[Any]]
QUERIES: dict[str, tuple[Query, str]] = {
    "reference numbers of a day": (lambda tx: issues.count_refs_with_prefix(tx, "JL-20261127-"),
                                   "sqlite_autoindex_issues_1"),
    "a report by reference number": (lambda tx: issues.by_ref(tx, "JL-20261127-0042"), "sqlite_autoindex_issues_1"),
    "open reports in a leader's units": (lambda tx: issues.open_in_units(tx, [4, 5, 6], NOW), "issues_unit_status"),
    "forgetting old inbound events": (lambda tx: inbox.forget_done_before(tx, NOW - timedelta(days=2)), "inbox_done"),
    "an account by chat id": (lambda tx: people.mark_unreachable(tx, "telegram", "4242", NOW),
                              "channel_accounts_chat"),
    "a person by account": (lambda tx: people.person_for(tx, "telegram", "4242"),
                            "sqlite_autoindex_channel_accounts_1"),
    "a unit's role holders": (lambda tx: people.role_holders(tx, Role.BUILDING_LEADER, 4), "roles_unit"),
    "a unit's duty holders": (lambda tx: people.duty_holders(tx, Duty.SAFETY, 4), "duties_unit"),
    "reports filed since a day": (lambda tx: tx.all("SELECT COUNT(*) FROM issues WHERE created_at >= ?",
                                                    ("2026-11-27",)), "issues_created"),
    "a subject's due jobs": (lambda tx: scheduled_jobs.due(tx, Subject.ISSUE, NOW, 50), "scheduled_jobs_due"),
    "the next wake-up": (scheduled_jobs.next_due_at, "scheduled_jobs_next"),
    "a report's jobs cancelled": (lambda tx: scheduled_jobs.cancel(tx, Subject.ISSUE, 42, ("remind", "escalate"), NOW),
                                  "scheduled_jobs_subject"),
    "a meeting's job moved or added": (lambda tx: scheduled_jobs.schedule_once(tx, Subject.MEETING, 7, "agenda", NOW),
                                       "scheduled_jobs_subject"),
    "a meeting's jobs taken off": (lambda tx: scheduled_jobs.unschedule(tx, Subject.MEETING, 7, ("agenda", "poll")),
                                   "scheduled_jobs_subject"),
    "a meeting's late jobs": (lambda tx: scheduled_jobs.due_of(tx, Subject.MEETING, 7, NOW), "scheduled_jobs_due"),
    "has a job gone out": (lambda tx: scheduled_jobs.done(tx, Subject.MEETING, 7, "announce"),
                           "scheduled_jobs_subject"),
    "a talk's jobs": (lambda tx: scheduled_jobs.of(tx, Subject.LECTURE, 3), "scheduled_jobs_subject"),
}


@pytest.mark.parametrize("name", QUERIES)
async def test_query_uses_its_index(db: Database, name: str) -> None:
    query, index = QUERIES[name]

    async with db.write() as tx:
        planned = Planned(tx)
        await query(planned)

    details = [detail for _, steps in planned.plans for detail in steps]
    assert details, "the query ran no SQL"
    assert any(f"INDEX {index} " in f"{detail} " for detail in details), planned.plans
    assert not [detail for detail in details if detail.startswith("SCAN ") and not detail.startswith(NOT_TABLES)], \
        planned.plans


async def test_closing_leaves_planner_statistics_for_the_tables_used(tmp_path: Path) -> None:
    path = tmp_path / "stats.db"
    database = Database(str(path))
    await database.open()
    await import_grid(database, SAMPLE.read_bytes())
    async with database.read() as tx:
        await grid.by_code(tx, "C01")

    await database.close()

    with sqlite3.connect(path) as raw:
        analyzed = {row[0] for row in raw.execute("SELECT tbl FROM sqlite_stat1")}
    assert "grid_units" in analyzed
