"""Scorecards: every formula on a hand-computed week, empty and tiny samples, exclusion, the frozen 考核, the
weights CSV and the exports."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import openpyxl
import pytest

from bot.clock import ManualClock
from bot.domain.grid import Level
from bot.domain.people import Person, Role
from bot.features.reports import service as reports
from bot.features.reports import store as issues
from bot.features.reports.model import EventKind
from bot.features.scorecards import export, service
from bot.features.scorecards.model import Kind, Period, Ratio, TooFew, Weights
from bot.services.grid_import import import_grid
from bot.storage import grid, people
from bot.storage.db import Database, Tx
from tests.harness import SAMPLE, Member, seed_people

TZ = "Asia/Shanghai"
T0 = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)  # Saturday 10:00 in Shanghai, the first day of 2026-W48
WEEK = Period.parse("2026-W48", TZ)
H = 3600
M = 60


async def _person(tx: Tx, member: Member[str]) -> Person:
    [person_id] = (await seed_people(tx, [member], T0)).values()
    found = await people.by_id(tx, person_id)
    assert found is not None
    return found


@pytest.fixture
async def week(db: Database) -> ManualClock:
    """B1: A (on time, 5★), B (late, 3★), C (never accepted: overdue), D (lighting: reopened, then 4★), E (withdrawn),
    F (5★, then excluded); B2: five reports on time, 5 5 4 2 1★ (roof_leak, lighting, water_pressure: 24 h; parking,
    noise: 72 h, not due yet). Now: two days after filing."""
    await import_grid(db, SAMPLE)
    clock = ManualClock(T0)
    async with db.write() as tx:
        b1 = await grid.by_code(tx, "C01-A-B1")
        b2 = await grid.by_code(tx, "C01-A-B2")
        assert b1 is not None and b2 is not None
        one = await _person(tx, Member("r1", "r1", home="C01-A-B1"))
        two = await _person(tx, Member("r2", "r2", home="C01-A-B2"))
        lead1 = await _person(tx, Member("l1", "l1", roles=((Role.BUILDING_LEADER, "C01-A-B1"),)))
        lead2 = await _person(tx, Member("l2", "l2", roles=((Role.BUILDING_LEADER, "C01-A-B2"),)))
    ids: dict[str, int] = {}

    async def file(name: str, who: Person, category: str, unit: int) -> None:
        async with db.write() as tx:
            ids[name] = (await reports.submit(tx, who, reports.Draft(category, name, unit), clock.now(), TZ)).id
        clock.advance(M)

    for name, category in (("A", "roof_leak"), ("B", "roof_leak"), ("C", "roof_leak"), ("D", "lighting"),
                           ("E", "roof_leak"), ("F", "roof_leak")):
        await file(name, one, category, b1.id)
    for n, category in enumerate(("roof_leak", "lighting", "water_pressure", "parking", "noise")):
        await file(f"P{n}", two, category, b2.id)
    p = [f"P{n}" for n in range(5)]

    async def at(hours: float, *steps: tuple[str, str, object]) -> None:
        clock.advance(T0.timestamp() + hours * H - clock.now().timestamp())
        async with db.write() as tx:
            for action, name, arg in steps:
                who, leader = (two, lead2) if name.startswith("P") else (one, lead1)
                if action == "acc":
                    await reports.accept(tx, ids[name], leader, clock.now())
                elif action == "res":
                    await reports.resolve(tx, ids[name], leader, "好了", "", clock.now())
                elif action == "rate":
                    await reports.rate(tx, ids[name], who, int(str(arg)), "", clock.now())
                elif action == "no":
                    await reports.answer_fixed(tx, ids[name], who, False, clock.now(), TZ, "还漏")
                else:
                    await reports.withdraw(tx, ids[name], who, clock.now())

    await at(1, *((("acc", n, None)) for n in ("A", "D", "F", *p)))
    await at(2, *((("res", n, None)) for n in ("A", "D", "F", *p)), ("wd", "E", None))
    await at(3, ("rate", "A", 5), ("no", "D", None), ("rate", "F", 5),
             *(("rate", n, stars) for n, stars in zip(p, (5, 5, 4, 2, 1), strict=True)))
    await at(5, ("res", "D", None))
    await at(6, ("rate", "D", 4))
    await at(30, ("acc", "B", None))
    await at(31, ("res", "B", None))
    await at(32, ("rate", "B", 3))
    async with db.write() as tx:
        f = await issues.get(tx, ids["F"])
        assert f is not None
        await service.exclude(tx, f.ref, "居民重复提交", None, True, clock.now())
    await at(48)
    return clock


async def _card(db: Database, clock: ManualClock, period: Period = WEEK) -> dict[str, service.Row]:
    async with db.read() as tx:
        card = await service.scorecard(tx, period, clock.now(), Weights())
    return {row.unit.code: row for row in card.rows}


async def test_every_formula_on_a_hand_computed_week(db: Database, week: ManualClock) -> None:
    rows = await _card(db, week)
    b1 = rows["C01-A-B1"].metrics
    assert (b1.counts.filed, b1.response, b1.on_time, b1.completion) == (4, Ratio(2, 4), Ratio(2, 4), Ratio(3, 4))
    assert (b1.fixed, b1.satisfaction, b1.follow_up, b1.redo) == (Ratio(3, 4), TooFew(2, 3), Ratio(3, 3), Ratio(1, 3))
    assert (b1.repeat, b1.local, b1.overdue_now) == (Ratio(2, 4), Ratio(3, 3), 1)  # B, C repeat A; D is lighting
    assert b1.hours_to_accept == pytest.approx((1 + (30 - 1 / 60) + (1 - 3 / 60)) / 3)
    assert b1.hours_to_resolve == pytest.approx((2 + (31 - 1 / 60) + (2 - 3 / 60)) / 3)
    assert (rows["C01-A-B1"].score, rows["C01-A-B1"].rank) == (None, None)  # 样本不足: out of the ranking
    b2 = rows["C01-A-B2"].metrics
    assert (b2.counts.filed, b2.response, b2.on_time, b2.satisfaction) == (5, Ratio(3, 3), Ratio(3, 3), Ratio(3, 5))
    assert (b2.fixed, b2.redo, b2.repeat, b2.overdue_now) == (Ratio(5, 5), Ratio(0, 5), Ratio(0, 5), 0)
    assert b2.hours_to_accept == pytest.approx((5 - 40 / 60) / 5)
    assert (rows["C01-A-B2"].score, rows["C01-A-B2"].rank) == (86.0, 1)  # 30 + 35 + 35 × 3/5
    complex_ = rows["C01-A"]
    assert complex_.metrics.satisfaction == Ratio(5, 8) and complex_.metrics.response == Ratio(5, 7)
    assert complex_.score == round(30 * 5 / 7 + 35 * 8 / 9 + 35 * 5 / 8 - 2, 1)
    reports_only = [replace(rows[code].metrics.counts, households=0, visited=0) for code in ("S01", "C01", "C01-A")]
    assert reports_only[0] == reports_only[1] == reports_only[2]
    # 两联: the sample grid links 3 rooms to each party household, two per community; nobody visited this week
    assert [rows[code].metrics.visit_coverage for code in ("S01", "C01", "C01-A", "C01-A-B1")] == [
        Ratio(0, 12), Ratio(0, 6), Ratio(0, 3), Ratio(0, 3)]


async def test_an_empty_unit_has_no_figures_and_no_rank(db: Database, week: ManualClock) -> None:
    empty = (await _card(db, week))["C02"]
    assert empty.metrics.counts.filed == 0 and empty.metrics.response.value is None
    assert isinstance(empty.metrics.satisfaction, TooFew) and (empty.score, empty.rank) == (None, None)
    async with db.read() as tx:
        card = await service.scorecard(tx, WEEK, week.now(), Weights())
    assert [row.unit.code for row in card.red(Level.BUILDING)] == ["C01-A-B2"] and card.black(Level.BUILDING) == []


async def test_exclusion_is_audited_and_refused_without_reason_or_right(db: Database, week: ManualClock) -> None:
    async with db.write() as tx:
        [(ref, issue_id)] = [tuple(r) for r in await tx.all("SELECT i.ref, i.id FROM issues i JOIN score_exclusions x "
                                                             "ON x.issue_id = i.id")]
        assert [e.detail for e in await issues.events(tx, issue_id) if e.kind is EventKind.SCORE_EXCLUDED] == [
            "居民重复提交"]
        with pytest.raises(service.ScoreError, match=r"score\.error\.excluded"):
            await service.exclude(tx, ref, "again", None, True, week.now())
        with pytest.raises(service.ScoreError, match=r"score\.error\.reason"):
            await service.exclude(tx, "JL-20261121-0001", " ", None, True, week.now())
        resident = Person(1, "r", "zh_CN", None, "")
        with pytest.raises(service.ScoreError, match=r"auth\.denied"):
            await service.exclude(tx, "JL-20261121-0001", "no", resident, False, week.now())
        await service.include(tx, ref, None, True, week.now())
    assert (await _card(db, week))["C01-A-B1"].metrics.counts.filed == 5


async def test_a_frozen_half_year_never_changes(db: Database, week: ManualClock) -> None:
    half = Period.parse("2026-H2", TZ)
    async with db.write() as tx:
        first = await service.freeze(tx, half, week.now(), Weights())
        await service.exclude(tx, "JL-20261121-0001", "test", None, True, week.now())
        again = await service.freeze(tx, half, week.now() + timedelta(days=1), Weights())
        with pytest.raises(service.ScoreError, match=r"score\.error\.freeze_half"):
            await service.freeze(tx, WEEK, week.now(), Weights())
    assert again == first and first.frozen_at == week.now()
    assert (await _card(db, week, half))["C01-A-B1"].metrics == {r.unit.code: r for r in first.rows}[
        "C01-A-B1"].metrics
    assert (await _card(db, week))["C01-A-B1"].metrics.counts.filed == 3  # the live week sees the exclusion


def test_periods_in_the_street_time_zone() -> None:
    assert (WEEK.start.isoformat(), WEEK.end.isoformat()) == ("2026-11-21T00:00:00+08:00", "2026-11-28T00:00:00+08:00")
    assert Period.containing(T0, Kind.WEEK, TZ) == WEEK and WEEK.previous().label == "2026-W47"
    assert Period.parse("2026-12", TZ).end.isoformat() == "2027-01-01T00:00:00+08:00"
    assert Period.parse("2026-h2", TZ).start.isoformat() == "2026-07-01T00:00:00+08:00"
    for bad in ("2026-W60", "2026-13", "2026-H3", "last week"):
        with pytest.raises(ValueError):
            Period.parse(bad, TZ)


def test_weights_csv() -> None:
    assert service.load_weights() == Weights()
    mine = service.parse_weights("\ufeff# 本街道\n项目,分值\n响应率,50\non_time,50\nper_overdue,1\n".encode())
    assert mine == Weights((("response", 50.0), ("on_time", 50.0)), 1.0, 10.0)
    for text, key in (("a,b\n", "header"), ("item,points\ncolour,3\n", "item"), ("item,points\nfixed,x\n", "number"),
                      ("item,points\nfixed,1\nfixed,2\n", "twice"), ("item,points\nper_overdue,1\n", "none")):
        with pytest.raises(service.WeightsError, match=rf"score\.weights\.error\.{key}"):
            service.parse_weights(text.encode())
    with pytest.raises(service.WeightsError, match="unreadable"):
        service.load_weights("/nonexistent/weights.csv")


async def test_csv_has_a_bom_and_xlsx_opens(db: Database, week: ManualClock) -> None:
    async with db.read() as tx:
        card = await service.scorecard(tx, WEEK, week.now(), Weights(), "C01-A")
    data = export.to_csv(card)
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0] == "考核计分 2026-W48（2026-11-21 至 2026-11-27）" and lines[1].startswith("编码,单位,层级,得分")
    assert "样本不足（3）" in lines[3] and lines[4].startswith("C01-A-B2,2号楼,楼栋,86.0,1,5,100.0%")
    sheet = openpyxl.load_workbook(io.BytesIO(export.to_xlsx(card))).worksheets[0]
    assert sheet.title == "2026-W48" and sheet["A4"].value == "C01-A-B1" and sheet["D5"].value == 86.0
