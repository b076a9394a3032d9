"""Per-report facts (score_facts, migration 017): varied report histories made through the real reports service
give the same counts as the audit trail read directly (the CTE the scorecards used before, kept here as the
oracle); the migration's backfill writes what the triggers wrote; the reports behind a figure add up to it; a
deadline is the one fixed at routing."""

from __future__ import annotations

import json
import random
from collections.abc import Awaitable, Callable
from dataclasses import asdict, fields, replace
from datetime import UTC, datetime, timedelta
from importlib.resources import files

import pytest

from bot.clock import ManualClock, iso
from bot.domain.people import Person, Role
from bot.domain.refusal import Refusal
from bot.features.reports import service as reports
from bot.features.reports import store as issues
from bot.features.reports.model import OPEN, Status
from bot.features.scorecards import service, store
from bot.features.scorecards.model import NOT_FROM_REPORTS, Counts, Kind, Period
from bot.features.scorecards.service import Figure
from bot.services.grid_import import import_grid
from bot.storage import grid, people
from bot.storage.db import Database, Tx, _statements
from tests.harness import SAMPLE, Member, seed_people

TZ = "Asia/Shanghai"
T0 = datetime(2026, 10, 31, 1, 0, tzinfo=UTC)  # Saturday 09:00 in Shanghai
HOUR = 3600.0

# The oracle: every count read from issues and issue_events as the scorecards read them before migration 017.
_ORACLE = """
WITH period AS (
    SELECT i.id, i.unit_id, i.status, i.rating, i.created_at, i.reporter_id, i.category, i.owner_unit_id
    FROM issues i
    WHERE i.created_at >= :start AND i.created_at < :end AND i.status NOT IN ('withdrawn', 'duplicate')
      AND NOT EXISTS (SELECT 1 FROM score_exclusions x WHERE x.issue_id = i.id)),
facts AS (
    SELECT p.*,
        MIN(CASE WHEN e.kind = 'transition' AND e.to_status IN ('accepted', 'resolved') THEN e.at END) AS accepted_at,
        MIN(CASE WHEN e.kind = 'transition' AND e.to_status = 'resolved' THEN e.at END) AS resolved_at,
        TOTAL(e.kind = 'transition' AND e.to_status = 'reopened') AS reopens,
        TOTAL((e.kind = 'transition' AND e.to_status = 'closed' AND e.actor_id IS NOT NULL)
              OR e.kind = 'stayed_fixed') AS fixed_answers,
        MIN(CASE WHEN e.kind = 'route' THEN e.id END) AS first_route
    FROM period p JOIN issue_events e ON e.issue_id = p.id GROUP BY p.id),
timed AS (
    SELECT f.*, julianday(r.at) + (CASE
            WHEN instr(r.detail, ' (building);') THEN c.limit_building_h
            WHEN instr(r.detail, ' (complex);') THEN c.limit_complex_h
            WHEN instr(r.detail, ' (community);') THEN c.limit_community_h
            ELSE c.limit_street_h END) / 24.0 AS deadline,
        f.status IN ('resolved', 'closed') AS done
    FROM facts f JOIN issue_events r ON r.id = f.first_route JOIN categories c ON c.code = f.category)
SELECT t.unit_id, COUNT(*) AS filed,
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
WHERE :units IS NULL OR t.unit_id IN (SELECT value FROM json_each(:units))
GROUP BY t.unit_id"""
_ORACLE_OVERDUE = """
SELECT i.unit_id, COUNT(*) FROM issues i
WHERE i.status IN (SELECT value FROM json_each(:open)) AND i.due_at < :now
  AND NOT EXISTS (SELECT 1 FROM score_exclusions x WHERE x.issue_id = i.id)
  AND (:units IS NULL OR i.unit_id IN (SELECT value FROM json_each(:units)))
GROUP BY i.unit_id"""
_FLOATS = ("hours_to_accept", "hours_to_resolve")


def _julian(moment: datetime) -> float:
    return moment.timestamp() / 86400.0 + 2440587.5


async def _oracle(tx: Tx, start: datetime, end: datetime, now: datetime, units: list[int] | None
                  ) -> dict[int, Counts]:
    rows = await tx.all(_ORACLE, {"start": iso(start), "end": iso(end), "now": _julian(now),
                                  "units": None if units is None else json.dumps(units)})
    return {row["unit_id"]: Counts(*(row[f.name] if f.name in _FLOATS else int(row[f.name])
                                     for f in fields(Counts) if f.name not in NOT_FROM_REPORTS)) for row in rows}


async def _oracle_overdue(tx: Tx, now: datetime, units: list[int] | None) -> dict[int, int]:
    rows = await tx.all(_ORACLE_OVERDUE, {"open": json.dumps(sorted(OPEN)), "now": iso(now),
                                          "units": None if units is None else json.dumps(units)})
    return {row[0]: row[1] for row in rows}


def _same(found: dict[int, Counts], expected: dict[int, Counts]) -> None:
    """Equal counts, the summed hours to within rounding (SQLite may add them in another order)."""
    assert found.keys() == expected.keys()
    for unit_id, counts in expected.items():
        assert replace(found[unit_id], hours_to_accept=0.0, hours_to_resolve=0.0) == replace(
            counts, hours_to_accept=0.0, hours_to_resolve=0.0), unit_id
        for name in _FLOATS:
            assert getattr(found[unit_id], name) == pytest.approx(getattr(counts, name), abs=1e-9)


Step = Callable[[Tx], Awaitable[object]]
_WORKING = ("accept",) * 4 + ("resolve",) * 2 + ("escalate", "hand_up", "reject", "withdraw", "duplicate")
# What may happen next to a report in each state, the likelier repeated (exclusion and inclusion at any time).
_NEXT = {Status.ASSIGNED: _WORKING, Status.ESCALATED: _WORKING, Status.REOPENED: _WORKING,
         Status.ACCEPTED: ("resolve",) * 6 + ("escalate", "reject", "withdraw", "duplicate"),
         Status.RESOLVED: ("rate",) * 4 + ("not_fixed",) * 2 + ("close_unrated",) * 2,
         Status.CLOSED: ("stayed_fixed", "not_fixed") * 2, Status.REJECTED: ("review",) * 3}


class Street:
    """The sample street with owners at different levels: a building leader at C01-A-B1, a complex secretary at
    C01-B, a community secretary at C02, the street administrator (who acts on every report); C01-A-B2's reports
    go to the street, nobody being below it."""

    PLACES = ("C01-A-B1", "C01-A-B2", "C01-B-B1", "C02-A-B1", "C02-B-B2")
    CATEGORIES = ("roof_leak", "parking", "lighting", "noise", "safety_hazard", "neighbour_dispute")

    def __init__(self, db: Database, clock: ManualClock, residents: list[Person], admin: Person,
                 units: dict[str, int]) -> None:
        self.db, self.clock, self.residents, self.admin, self.units = db, clock, residents, admin, units
        self.filed: list[tuple[int, Person]] = []  # (issue id, reporter)

    @classmethod
    async def build(cls, db: Database, clock: ManualClock) -> Street:
        await import_grid(db, SAMPLE)
        cast = [Member(f"r{n}", f"r{n}", home=cls.PLACES[n % len(cls.PLACES)]) for n in range(4)]
        cast += [Member("lead", "lead", roles=((Role.BUILDING_LEADER, "C01-A-B1"),)),
                 Member("sec_b", "sec_b", roles=((Role.COMPLEX_SECRETARY, "C01-B"),)),
                 Member("sec_c2", "sec_c2", roles=((Role.COMMUNITY_SECRETARY, "C02"),)),
                 Member("admin", "admin", roles=((Role.STREET_ADMIN, "S01"),))]
        async with db.write() as tx:
            ids = await seed_people(tx, cast, clock.now())
            found = {user: await people.by_id(tx, person) for user, person in ids.items()}
            units = {unit.code: unit.id for unit, _ in await grid.all_units(tx)}
        residents = [found[f"r{n}"] for n in range(4)]
        admin = found["admin"]
        assert admin is not None and all(residents)
        return cls(db, clock, [r for r in residents if r is not None], admin, units)

    async def file(self, reporter: Person, category: str, place: str) -> int:
        async with self.db.write() as tx:
            issue = await reports.submit(tx, reporter, reports.Draft(category, "坏了", self.units[place]),
                                         self.clock.now(), TZ)
        self.filed.append((issue.id, reporter))
        return issue.id

    async def act(self, rng: random.Random) -> None:
        """One random step on a random report, likely one its state allows (refused steps change nothing)."""
        issue_id, reporter = rng.choice(self.filed)
        now, admin = self.clock.now(), self.admin
        steps: dict[str, Step] = {
            "accept": lambda tx: reports.accept(tx, issue_id, admin, now),
            "resolve": lambda tx: reports.resolve(tx, issue_id, admin, "好了", "", now),
            "escalate": lambda tx: reports.escalate(tx, issue_id, None, "", now, TZ),
            "hand_up": lambda tx: reports.escalate(tx, issue_id, admin, "不归我们", now, TZ, hand_up=True),
            "reject": lambda tx: reports.reject(tx, issue_id, admin, "不属实", now),
            "review": lambda tx: reports.request_review(tx, issue_id, reporter, now, TZ),
            "withdraw": lambda tx: reports.withdraw(tx, issue_id, reporter, now),
            "rate": lambda tx: reports.rate(tx, issue_id, reporter, rng.randint(1, 5), "", now),
            "not_fixed": lambda tx: reports.answer_fixed(tx, issue_id, reporter, False, now, TZ, "还坏"),
            "stayed_fixed": lambda tx: reports.answer_fixed(tx, issue_id, reporter, True, now, TZ),
            "close_unrated": self._close_unrated(issue_id, now),
            "duplicate": self._duplicate(issue_id, rng, now),
            "exclude": self._exclude(issue_id, now),
            "include": self._include(issue_id, now),
        }
        async with self.db.read() as tx:
            issue = await issues.get(tx, issue_id)
        assert issue is not None
        name = rng.choice((*_NEXT.get(issue.status, ()), "exclude", "include"))
        try:
            async with self.db.write() as tx:
                await steps[name](tx)
        except Refusal:
            pass

    def _close_unrated(self, issue_id: int, now: datetime) -> Step:
        async def run(tx: Tx) -> None:
            issue = await issues.get(tx, issue_id)
            if issue is None or issue.status is not Status.RESOLVED:
                raise reports.IssueError("issue.error.state")
            await reports.close_unrated(tx, issue, now)
        return run

    def _duplicate(self, issue_id: int, rng: random.Random, now: datetime) -> Step:
        async def run(tx: Tx) -> None:
            original = await issues.get(tx, rng.choice(self.filed)[0])
            assert original is not None
            await reports.mark_duplicate(tx, issue_id, self.admin, original.ref, now)
        return run

    def _exclude(self, issue_id: int, now: datetime) -> Step:
        async def run(tx: Tx) -> None:
            issue = await issues.get(tx, issue_id)
            assert issue is not None
            await service.exclude(tx, issue.ref, "测试", None, True, now)
        return run

    def _include(self, issue_id: int, now: datetime) -> Step:
        async def run(tx: Tx) -> None:
            issue = await issues.get(tx, issue_id)
            assert issue is not None
            await service.include(tx, issue.ref, None, True, now)
        return run


async def _history(db: Database, seed: int, steps: int = 600) -> Street:
    """`steps` random moments over about eleven weeks: a new report (of one of four residents, at one of five
    places, in one of six categories: repeats happen) or a step on an earlier one."""
    clock = ManualClock(T0)
    street = await Street.build(db, clock)
    rng = random.Random(seed)
    for _ in range(steps):
        clock.advance(rng.uniform(0.1, 6.0) * HOUR)
        if not street.filed or rng.random() < 0.2:
            await street.file(rng.choice(street.residents), rng.choice(Street.CATEGORIES),
                              rng.choice(Street.PLACES))
        else:
            await street.act(rng)
    return street


def _periods(street: Street) -> list[Period]:
    first, last = T0, street.clock.now()
    weeks = [Period.containing(first + timedelta(days=7 * n), Kind.WEEK, TZ) for n in range((last - first).days // 7
                                                                                            + 1)]
    return [*weeks, Period.containing(first, Kind.MONTH, TZ), Period.containing(last, Kind.MONTH, TZ),
            Period.containing(first, Kind.HALF, TZ)]


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_facts_give_the_audit_trails_counts(db: Database, seed: int) -> None:
    street = await _history(db, seed)
    async with db.read() as tx:
        statuses = {row[0] for row in await tx.all("SELECT DISTINCT to_status FROM issue_events")}
        kinds = {row[0] for row in await tx.all("SELECT DISTINCT kind FROM issue_events")}
        levels = {row[0] for row in await tx.all("SELECT DISTINCT routed_level FROM score_facts")}
        excluded = int(await tx.scalar("SELECT COUNT(*) FROM score_exclusions"))
    assert statuses >= {"accepted", "resolved", "closed", "reopened", "escalated", "rejected", "withdrawn",
                        "duplicate"}
    assert kinds >= {"route", "transition", "escalate", "stayed_fixed", "score_excluded"}
    assert levels == {"building", "complex", "community", "street"} and excluded > 0
    c01 = [street.units[code] for code in ("C01-A-B1", "C01-A-B2", "C01-B-B1")]
    checked = 0
    for period in _periods(street):
        for now in (period.start + timedelta(days=2), street.clock.now(), street.clock.now() + timedelta(days=9)):
            for units in (None, c01):
                async with db.read() as tx:
                    expected = await _oracle(tx, period.start, period.end, now, units)
                    _same(await store.period_counts(tx, period.start, period.end, now, units), expected)
                    assert await store.overdue_counts(tx, now, units) == await _oracle_overdue(tx, now, units)
                checked += sum(counts.filed for counts in expected.values())
    assert checked > 500


async def test_the_backfill_writes_what_the_triggers_wrote(db: Database) -> None:
    await _history(db, 4, steps=300)
    migration = files("bot.storage").joinpath("migrations", "017_score_facts.sql").read_text(encoding="utf-8")
    backfill = [sql for sql in _statements(migration) if sql.startswith(("INSERT", "UPDATE"))]
    assert len(backfill) == 3
    async with db.write() as tx:
        kept = [tuple(row) for row in await tx.all("SELECT * FROM score_facts ORDER BY issue_id")]
        await tx.execute("DELETE FROM score_facts")
        for sql in backfill:
            await tx.execute(sql)
        assert [tuple(row) for row in await tx.all("SELECT * FROM score_facts ORDER BY issue_id")] == kept
    assert len(kept) > 40


async def test_the_reports_behind_a_figure_add_up_to_it(db: Database) -> None:
    street = await _history(db, 5)
    now = street.clock.now()
    period = Period.containing(T0 + timedelta(days=10), Kind.MONTH, TZ)
    async with db.read() as tx:
        card = {row.unit.code: row.metrics for row in (await service.scorecard(
            tx, period, now, service.load_weights())).rows}
        per_report = await store.report_facts(tx, period.start, period.end, now)
        for figure in Figure:
            for code in ("S01", "C01", "C01-A-B1"):
                behind = await service.reports_behind(tx, period, now, code, figure)
                figures = card[code]
                whole = len(behind)
                part = sum(item.counts for item in behind)
                if figure is Figure.OVERDUE_NOW:
                    assert whole == part == figures.overdue_now
                elif figure is Figure.FILED:
                    assert whole == part == figures.counts.filed
                elif figure is Figure.FIXED:
                    assert sum(item.report.answered_fixed for item in behind) == figures.fixed.part
                    assert sum(item.report.answered_fixed + item.report.answered_not_fixed
                               for item in behind) == figures.fixed.whole
                elif figure is Figure.HOURS_TO_ACCEPT:
                    assert figures.hours_to_accept == (pytest.approx(sum(
                        item.report.hours_to_accept or 0 for item in behind) / whole) if whole else None)
                elif figure is Figure.HOURS_TO_RESOLVE:
                    assert whole == figures.counts.resolved_ever
                else:
                    ratio = getattr(figures, figure.value)
                    assert (part, whole) == (ratio.part, ratio.whole), (figure, code)
    counted = {f.name: sum(getattr(r, f.name) or 0 for r in per_report) for f in fields(Counts)
               if f.name not in ("filed", *NOT_FROM_REPORTS, *_FLOATS)}
    assert counted == {name: value for name, value in asdict(card["S01"].counts).items() if name in counted}
    assert len(per_report) == card["S01"].counts.filed > 10
    assert {r.status for r in per_report} >= {Status.CLOSED, Status.ACCEPTED}


async def test_a_deadline_is_the_one_fixed_at_routing(db: Database) -> None:
    clock = ManualClock(T0)
    street = await Street.build(db, clock)
    issue_id = await street.file(street.residents[0], "roof_leak", "C01-A-B1")  # building: 24 h
    clock.advance(30 * HOUR)
    async with db.write() as tx:
        await reports.accept(tx, issue_id, street.admin, clock.now())
        roof = await issues.category(tx, "roof_leak")
        assert roof is not None
        await issues.upsert_category(tx, replace(roof, limits={level: 72.0 for level in roof.limits}), 1)
    period = Period.containing(T0, Kind.WEEK, TZ)
    async with db.read() as tx:
        [facts] = await store.report_facts(tx, period.start, period.end, clock.now())
        later = await _oracle(tx, period.start, period.end, clock.now(), None)
    assert facts.deadline == T0 + timedelta(hours=24) and (facts.due, facts.accepted_in_time) == (True, False)
    assert facts.accepted and facts.hours_to_accept == pytest.approx(30)
    assert later[street.units["C01-A-B1"]].due == 0  # today's limits, as the scorecards used to read them
