"""The scorecards' queries read score_facts through its indexes: EXPLAIN QUERY PLAN of the SQL the whole street's
scorecard, one community's figures, the reports behind a figure and 超期 run (captured as they run, on a small
street with statistics) never scans issues, issue_events or score_facts, and names the index meant for it; with
that index dropped the same check fails."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.people import Role
from bot.features.reports import service as reports
from bot.features.scorecards import service
from bot.features.scorecards.model import Kind, Period, Weights
from bot.features.scorecards.service import Figure
from bot.services.grid_import import import_grid
from bot.storage import grid, people
from bot.storage.db import Database, Params, Row, Tx
from tests.harness import SAMPLE, Member, seed_people

TZ = "Asia/Shanghai"
T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=30)
WEEK = Period.containing(T0 + timedelta(days=14), Kind.WEEK, TZ)
NOT_TABLES = ("SCAN json_each", "SCAN CONSTANT ROW")


class Captured(Tx):
    """A Tx that keeps the SQL its reads ran."""

    def __init__(self, inner: Tx) -> None:  # the inner Tx keeps the connection
        self.inner = inner
        self.reads: list[tuple[str, Params]] = []

    async def all(self, sql: str, params: Params = ()) -> list[Row]:
        self.reads.append((sql, params))
        return await self.inner.all(sql, params)

    async def one(self, sql: str, params: Params = ()) -> Row | None:
        return await self.inner.one(sql, params)


@pytest.fixture
async def street(db: Database) -> Database:
    """The sample street's buildings with 160 reports over 17 days, all but one in eight accepted, resolved and
    rated, and the planner's statistics (ANALYZE, as PRAGMA optimize keeps them)."""
    await import_grid(db, SAMPLE)
    async with db.write() as tx:
        buildings = [unit.id for unit, _ in await grid.all_units(tx) if unit.level.value == "building"]
        ids = await seed_people(tx, [Member("r", "r", home="C01-A-B1"),
                                     Member("admin", "admin", roles=((Role.STREET_ADMIN, "S01"),))], T0)
        resident, admin = await people.by_id(tx, ids["r"]), await people.by_id(tx, ids["admin"])
        assert resident is not None and admin is not None
        for n in range(160):
            now = T0 + timedelta(hours=2.5 * n)
            draft = reports.Draft(("parking", "noise", "roof_leak")[n % 3], "坏了", buildings[n % len(buildings)])
            issue = await reports.submit(tx, resident, draft, now, TZ)
            if n % 8:
                await reports.accept(tx, issue.id, admin, now + timedelta(hours=1))
                await reports.resolve(tx, issue.id, admin, "好了", "", now + timedelta(hours=2))
                await reports.rate(tx, issue.id, resident, 5, "", now + timedelta(hours=3))
        await tx.execute("ANALYZE")
    return db


async def _plans(tx: Tx, read: str) -> list[list[str]]:
    """The plans of the SQL that `read` (one of the scorecards' reads) runs on score_facts."""
    captured = Captured(tx)
    if read == "street":
        await service.scorecard(captured, WEEK, NOW, Weights())
    elif read == "community":
        await service.unit_metrics(captured, WEEK, NOW, "C01")
    elif read == "behind":
        await service.reports_behind(captured, WEEK, NOW, "C01", Figure.RESPONSE)
    else:
        await service.reports_behind(captured, WEEK, NOW, "C01", Figure.OVERDUE_NOW)
    return [[row["detail"] for row in await tx.all(f"EXPLAIN QUERY PLAN {sql}", params)]
            for sql, params in captured.reads if "score_facts" in sql]


# Each read's queries of score_facts, and how each must read it: the street either covering index by filing time
# (or by place, skipping through them) and all of the open reports' partial index; one community's places only.
EXPECTED = {
    "street": ("SEARCH f USING COVERING INDEX score_facts_p", "SCAN f USING INDEX score_facts_overdue"),
    "community": ("SEARCH f USING COVERING INDEX score_facts_places", "SEARCH f USING INDEX score_facts_overdue"),
    "behind": ("SEARCH f USING INDEX score_facts_places",),
    "overdue": ("SEARCH f USING INDEX score_facts_overdue",),
}


def _check(plans: list[list[str]], expected: tuple[str, ...]) -> None:
    assert len(plans) == len(expected)
    for plan, step in zip(plans, expected, strict=True):
        assert any(line.startswith(step) for line in plan), plan
        scans = [line for line in plan if line.startswith("SCAN") and not line.startswith((*NOT_TABLES, step))]
        assert not scans, plan


async def test_the_scorecards_read_their_indexes(street: Database) -> None:
    async with street.read() as tx:
        for read, expected in EXPECTED.items():
            _check(await _plans(tx, read), expected)


class Undo(Exception):
    """Rolls back the dropped index."""


@pytest.mark.parametrize(("read", "indexes"), [("community", ("score_facts_places",)),
                                               ("behind", ("score_facts_places",)),
                                               ("overdue", ("score_facts_overdue",)),
                                               ("street", ("score_facts_period", "score_facts_places"))])
async def test_the_check_fails_without_the_index(street: Database, read: str, indexes: tuple[str, ...]) -> None:
    with pytest.raises(Undo):
        async with street.write() as tx:
            for index in indexes:
                await tx.execute(f"DROP INDEX {index}")
            with pytest.raises(AssertionError):
                _check(await _plans(tx, read), EXPECTED[read])
            raise Undo
    async with street.read() as tx:
        _check(await _plans(tx, read), EXPECTED[read])
