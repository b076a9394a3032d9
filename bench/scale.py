"""Street scale: the everyday operations on a street of 50,000 residents and 1,000,000 reports.

Untimed setup: a fresh database on a temporary file, migrated by bot.storage.db.Database, then seeded with plain
SQL in one transaction (sqlite3, synchronous=OFF): a street of 10 communities × 10 complexes × 10 buildings, a
leader for every building, a secretary for every complex and community (the community secretaries also hold the
safety, sanitation, mediation and publicity duties), a street administrator, the residents spread evenly over the
buildings, each with a Telegram account, and the reports: one every ~30 s over the past year, numbered per day as
the bot numbers them, the newest 5 % still open (with their building leader as recipient and a reminder and an
escalation timer each), the rest closed (their two timers done). The triggers of migration 017 keep each report's
scorecard facts (score_facts) as the rows go in, as they do for the bot.

Timed, on that database opened as the bot opens it (WAL, synchronous=FULL, PRAGMA optimize), each through the
services the flows call: filing a report (bot.features.reports.service.submit, in its own write transaction: number,
route, audit, push), "my tasks" of a building leader and of the street administrator (issues.tasks_for), one timer
pass over every source of scheduled work with 200 reminders due and with nothing due (then the next wake-up), the
check a commit makes (the earliest pending job), a notice to every resident (bot.features.broadcasts.service.create:
one outbox row each, one transaction), last week's scorecard of the whole street and one community's weekly figures
(bot.features.scorecards.service, over each report's seeded audit trail: filed, routed, accepted — every 7th late —
resolved and closed by the resident), and closing the store. Start-up is timed in a child process:
bot.app.start_service with no channel configured (store, HTTP server, outbox, scheduler) on the seeded file; its
resident set size then (VmRSS of /proc/self/status) and at most (getrusage) are printed beside those of a bare
Python interpreter, and again once that bot has computed last week's scorecard of the whole street and one
community's weekly figures. Last, the issue's targets beside what was measured: the whole street's scorecard under
200 ms, one community's weekly figures under 100 ms (medians of 5), the bot's RSS under 200 MB.

    .venv/bin/python bench/scale.py [--residents 50000] [--issues 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.app import start_service
from bot.clock import SystemClock, iso
from bot.config import Settings
from bot.domain.people import Person
from bot.features.broadcasts import service as broadcasts
from bot.features.broadcasts.model import Audience
from bot.features.catalog import discover
from bot.features.reports import service as issue_service
from bot.features.scorecards import service as scorecards
from bot.features.scorecards.model import Kind, Period, Weights
from bot.features.weekly import service as weekly
from bot.storage import people, scheduled_jobs
from bot.storage.db import Database

ROOT = Path(__file__).resolve().parent.parent
TIMEZONE = "Asia/Shanghai"
SIDE = 10  # communities in the street, complexes in a community, buildings in a complex
OPEN_SHARE = 0.05
OPEN_STATUSES = ("assigned", "accepted")
DUE_REMINDERS = 200  # reminders due at the timed timer pass
FIRST_USER = 30_000_000  # Telegram user (and chat) id of person 1
CATEGORIES = ("roof_leak", "parking", "sanitation", "lighting", "water_pressure", "noise", "pets", "property",
              "neighbour_dispute", "other")
Item = TypeVar("Item")
NOTICE = "【社区通知】本周六上午 9:00 各楼栋楼道大扫除，请提前清理楼道杂物。谢谢配合！"


@dataclass(frozen=True, slots=True)
class Street:
    buildings: list[int]  # unit ids
    street_id: int
    leaders: list[int]  # person ids, one per building
    admin: int
    residents: int
    issues: int


def user_of(person_id: int) -> str:
    return str(FIRST_USER + person_id)


def seed(path: Path, residents: int, issue_count: int, now: datetime) -> Street:
    """The street, its people and its reports, in one transaction of plain SQL on the migrated file."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-262144")  # 256 MiB
    conn.execute("BEGIN")
    units, buildings, secretaries = _units()
    conn.executemany("INSERT INTO grid_units (id, code, level, name, parent_id, position) VALUES (?, ?, ?, ?, ?, ?)",
                     units)
    stamp = iso(now - timedelta(days=400))
    leaders = list(range(residents + 1, residents + len(buildings) + 1))
    admin = residents + len(buildings) + len(secretaries) + 1
    homes = [(n, f"居民{n}", buildings[n % len(buildings)], f"{n % 30 + 1}-{n % 6 + 1}01") for n in
             range(1, residents + 1)]
    conn.executemany("INSERT INTO people (id, display_name, locale, building_id, room, consent_at, created_at) "
                     "VALUES (?, ?, 'zh_CN', ?, ?, ?, ?)", ((*home, stamp, stamp) for home in homes))
    members = [(person, "building_leader", unit) for person, unit in zip(leaders, buildings, strict=True)]
    members += [(leaders[-1] + 1 + k, role, unit) for k, (role, unit) in enumerate(secretaries)]
    members.append((admin, "street_admin", 1))
    conn.executemany("INSERT INTO people (id, display_name, locale, consent_at, created_at) "
                     "VALUES (?, ?, 'zh_CN', ?, ?)", ((person, f"网格员{person}", stamp, stamp)
                                                      for person, _, _ in members))
    conn.executemany("INSERT INTO roles (person_id, role, unit_id) VALUES (?, ?, ?)", members)
    conn.executemany("INSERT INTO duties (person_id, duty, unit_id) VALUES (?, ?, ?)",
                     ((person, duty, unit) for person, role, unit in members if role == "community_secretary"
                      for duty in ("safety", "sanitation", "mediation", "publicity")))
    conn.executemany("INSERT INTO channel_accounts (channel, user_id, chat_id, person_id) VALUES ('telegram', ?, ?, ?)",
                     ((user_of(person), user_of(person), person) for person in range(1, admin + 1)))
    leader_of = dict(zip(buildings, leaders, strict=True))
    _seed_issues(conn, residents, issue_count, buildings, leader_of, now)
    conn.execute("COMMIT")
    conn.close()
    return Street(buildings, 1, leaders, admin, residents, issue_count)


def _units() -> tuple[list[tuple[Any, ...]], list[int], list[tuple[str, int]]]:
    """Grid rows (id, code, level, name, parent, position), the building ids and the secretaries' (role, unit)."""
    units: list[tuple[Any, ...]] = [(1, "S01", "street", "近邻街道", None, 0)]
    buildings: list[int] = []
    secretaries: list[tuple[str, int]] = []
    for c in range(SIDE):
        community = len(units) + 1
        units.append((community, f"C{c + 1:02d}", "community", f"第{c + 1}社区", 1, c))
        secretaries.append(("community_secretary", community))
        for x in range(SIDE):
            complex_ = len(units) + 1
            units.append((complex_, f"C{c + 1:02d}-{chr(65 + x)}", "complex", f"{chr(65 + x)}小区", community, x))
            secretaries.append(("complex_secretary", complex_))
            for b in range(SIDE):
                building = len(units) + 1
                units.append((building, f"C{c + 1:02d}-{chr(65 + x)}-B{b + 1:02d}", "building", f"{b + 1}号楼",
                              complex_, b))
                buildings.append(building)
    return units, buildings, secretaries


def _seed_issues(conn: sqlite3.Connection, residents: int, count: int, buildings: list[int],
                 leader_of: dict[int, int], now: datetime) -> None:
    """`count` reports over the past year, the newest OPEN_SHARE open with a recipient and two timers each (the
closed ones' done)."""
    zone, year = ZoneInfo(TIMEZONE), timedelta(days=365)
    first_open = count - int(count * OPEN_SHARE)
    per_day = Counter[str]()

    def rows() -> Iterator[tuple[Any, ...]]:
        for n in range(1, count + 1):
            created = now - year + year * n / (count + 1)
            day = f"{created.astimezone(zone):%Y%m%d}"
            per_day[day] += 1
            reporter, unit, is_open = n % residents + 1, buildings[n % len(buildings)], n > first_open
            status = OPEN_STATUSES[n % len(OPEN_STATUSES)] if is_open else "closed"
            at, due = iso(created), iso(created + timedelta(hours=72))
            yield (n, f"JL-{day}-{per_day[day]:04d}", reporter, CATEGORIES[n % len(CATEGORIES)],
                   f"第{n}号反映：楼道的灯坏了", unit, status, unit, due, (n % 5 + 1) if not is_open else None,
                   at, at, None if is_open else at, None if is_open else at)

    conn.executemany(
        "INSERT INTO issues (id, ref, reporter_id, category, description, unit_id, status, owner_unit_id, due_at, "
        "rating, created_at, updated_at, resolved_at, closed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows())
    conn.executemany("INSERT INTO issue_events (issue_id, at, actor_id, kind, from_status, to_status, detail) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?)", _events(count, first_open, residents, buildings, leader_of, now))
    open_ids = range(first_open + 1, count + 1)
    conn.executemany("INSERT INTO issue_recipients (issue_id, person_id, reason, unit_id) "
                     "VALUES (?, ?, 'building_leader', ?)",
                     ((n, leader_of[buildings[n % len(buildings)]], buildings[n % len(buildings)]) for n in open_ids))
    later = now + timedelta(days=2)
    conn.executemany("INSERT INTO scheduled_jobs (subject, subject_id, kind, due_at, done_at, outcome) "
                     "VALUES ('issue', ?, ?, ?, ?, 'cancelled')",
                     ((n, kind, iso(created), iso(created)) for n in range(1, first_open + 1)
                      for created in (now - year + year * n / (count + 1),) for kind in ("remind", "escalate")))
    conn.executemany("INSERT INTO scheduled_jobs (subject, subject_id, kind, due_at) VALUES ('issue', ?, ?, ?)",
                     ((n, kind, iso(later + timedelta(minutes=n % 10_000))) for n in open_ids
                      for kind in ("remind", "escalate")))
    conn.execute("UPDATE scheduled_jobs SET due_at = ? WHERE id IN (SELECT id FROM scheduled_jobs "
                 "WHERE done_at IS NULL AND kind = 'remind' ORDER BY id LIMIT ?)",
                 (iso(now + timedelta(days=1) - timedelta(minutes=1)), DUE_REMINDERS))


def _events(count: int, first_open: int, residents: int, buildings: list[int], leader_of: dict[int, int],
            now: datetime) -> Iterator[tuple[Any, ...]]:
    """Each report's audit trail: filed and routed to its building; accepted (every 7th late, after the 72 h);
    the closed ones resolved and closed, with the resident as actor when rated (a "fixed" answer)."""
    year = timedelta(days=365)
    for n in range(1, count + 1):
        created = now - year + year * n / (count + 1)
        reporter, leader = n % residents + 1, leader_of[buildings[n % len(buildings)]]
        yield (n, iso(created), reporter, "transition", "", "submitted", "")
        yield (n, iso(created), None, "route", "", "", f"owner B (building); to {leader}:building_leader")
        is_open = n > first_open
        if is_open and n % 2 == 0:
            continue  # 'assigned': not accepted yet
        accepted = created + timedelta(hours=80 if n % 7 == 0 else 2)
        yield (n, iso(accepted), leader, "transition", "assigned", "accepted", "")
        if not is_open:
            yield (n, iso(accepted + timedelta(hours=20)), leader, "transition", "accepted", "resolved", "")
            yield (n, iso(accepted + timedelta(hours=30)), reporter, "transition", "resolved", "closed", "")


async def each(action: Callable[[Item], Awaitable[object]], items: Sequence[Item]) -> list[float]:
    """`action` on every item, one after another; milliseconds each."""
    spent = []
    for item in items:
        started = time.perf_counter()
        await action(item)
        spent.append((time.perf_counter() - started) * 1000)
    return spent


async def timed(action: Callable[[], Awaitable[object]], times: int = 1) -> list[float]:
    """`action` run `times` times one after another; milliseconds each."""
    return await each(lambda _: action(), range(times))


async def measure(path: Path, street: Street, now: datetime) -> list[tuple[str, list[float], str]]:
    """The timed operations on the seeded file: (what, milliseconds, note)."""
    db = Database(str(path))
    opened = await timed(db.open)
    async with db.read() as tx:
        leaders = [await _person(tx, person) for person in street.leaders[:20]]
        admin = await _person(tx, street.admin)
        reporters = [await _person(tx, n) for n in range(1, 21)]
    results: list[tuple[str, list[float], str]] = [("open the store (migrated, PRAGMA optimize)", opened, "")]

    async def file_report(reporter: Person) -> None:
        assert reporter.building_id is not None
        draft = issue_service.Draft(category="parking", description="楼下车位被长期占用", unit_id=reporter.building_id)
        async with db.write() as tx:
            await issue_service.submit(tx, reporter, draft, now, TIMEZONE)

    results.append(("file a report (issues.submit, committed)", await each(file_report, reporters), ""))
    tasks: list[int] = []

    async def my_tasks(member: Person) -> None:
        async with db.read() as tx:
            tasks.append(len(await issue_service.tasks_for(tx, member, now)))

    for name, members in (("my tasks: a building leader", leaders), ("my tasks: the street administrator",
                                                                     [admin] * 5)):
        results.append((name, await each(my_tasks, members), f"{tasks[-1]} listed"))
    pass_at = now + timedelta(days=1)
    fired: list[int] = []

    async def timer_pass() -> None:
        fired.append(sum([await source.fire_due(db, pass_at, TIMEZONE) for source in discover().job_sources(None)]))
        await next_wake()

    async def next_wake() -> None:
        async with db.read() as tx:
            await scheduled_jobs.next_due_at(tx)

    results.append((f"timer pass: {DUE_REMINDERS} reminders due", await timed(timer_pass), f"{fired[-1]} fired"))
    results.append(("timer pass: nothing due", await timed(timer_pass, 5), f"{fired[-1]} fired"))
    results.append(("a commit's check: the next due time", await timed(next_wake, 20), ""))
    queued: list[int] = []

    async def notice() -> None:
        async with db.write() as tx:
            sent = await broadcasts.create(tx, admin, True, channel="telegram", chat_id=user_of(street.admin),
                                           unit_id=street.street_id, audience=Audience.RESIDENTS, text=NOTICE,
                                           photo="", now=now)
            queued.append(sent.total)

    results.append(("notice to every resident (broadcasts.create)", await timed(notice), f"{queued[-1]:,} rows"))
    week = Period.containing(now - timedelta(days=7), Kind.WEEK, TIMEZONE)
    rows: list[int] = []
    units: list[int] = []

    async def street_card() -> None:
        async with db.read() as tx:
            card = await scorecards.scorecard(tx, week, now, Weights())
            rows.append(card.rows[0].metrics.counts.filed)
            units.append(len(card.rows))

    async def community_week() -> None:
        async with db.read() as tx:
            rows.append((await scorecards.unit_metrics(tx, week, now, "C01")).counts.filed)

    async def weekly_draft() -> None:
        async with db.read() as tx:
            rows.append((await weekly.draft(tx, "C01", week, now)).cases.new)

    results.append((f"scorecard: the whole street, {week.label}", await timed(street_card, 5),
                    f"{rows[-1]:,} reports, {units[-1]} units"))
    results.append((f"weekly figures: one community, {week.label}", await timed(community_week, 5),
                    f"{rows[-1]:,} reports; RSS {_status_kib('VmRSS') / 1024:.0f} MiB"))
    results.append((f"weekly report draft: one community, {week.label}", await timed(weekly_draft, 5),
                    f"{rows[-1]:,} new reports (weekly.draft: figures, top 3, clusters, meetings, talks)"))
    results.append(("close the store (PRAGMA optimize)", await timed(db.close), ""))
    return results


async def _person(tx: Any, person_id: int) -> Person:
    found = await people.person_for(tx, "telegram", user_of(person_id))
    assert found is not None
    return found


def startup(path: Path) -> dict[str, float]:
    """Start-up of the bot on `path` in a child process: seconds to ready, RSS then and at most (KiB)."""
    started = time.perf_counter()
    child = subprocess.run([sys.executable, __file__, "--probe", str(path)], capture_output=True, text=True,
                           check=True, timeout=300)
    figures: dict[str, float] = json.loads(child.stdout.strip().splitlines()[-1])
    return figures | {"wall": time.perf_counter() - started}


async def probe(path: Path) -> None:
    """The child: start the bot (no channels) on `path`, print how long it took and the memory it holds."""
    started = time.perf_counter()
    settings = Settings(db_path=str(path), http_port=0, media_dir=str(path.parent / "media"), timezone=TIMEZONE)
    async with AsyncExitStack() as stack:
        service = await start_service(settings, SystemClock(), stack)
        ready = time.perf_counter() - started
        figures = {"ready": ready, "rss": _status_kib("VmRSS"), "peak": _status_kib("VmHWM"),
                   "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}
        now = SystemClock().now()
        week = Period.containing(now - timedelta(days=7), Kind.WEEK, TIMEZONE)
        for _ in range(5):
            async with service.core.db.read() as tx:
                await scorecards.scorecard(tx, week, now, Weights())
                await scorecards.unit_metrics(tx, week, now, "C01")
        print(json.dumps(figures | {"scored_rss": _status_kib("VmRSS"), "scored_peak": _status_kib("VmHWM")}))


def bare_python() -> dict[str, float]:
    """The resident set size of a bare interpreter (KiB), for scale."""
    code = ("import json; status = dict(l.split(':', 1) for l in open('/proc/self/status')); "
            "print(json.dumps({k: int(status[v].split()[0]) for k, v in (('rss', 'VmRSS'), ('peak', 'VmHWM'))}))")
    return dict(json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                          check=True).stdout))


def _status_kib(field: str) -> int:
    """A memory figure of this process from /proc/self/status (VmRSS: now, VmHWM: at most), in KiB."""
    with open("/proc/self/status", encoding="ascii") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(f"{field}:"))


def table(results: list[tuple[str, list[float], str]]) -> str:
    lines = [f"{'operation':<48} {'n':>3} {'median ms':>10} {'max ms':>9}  note"]
    for name, spent, note in results:
        lines.append(f"{name:<48} {len(spent):>3} {statistics.median(spent):>10.1f} {max(spent):>9.1f}  {note}")
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--residents", type=int, default=50_000)
    parser.add_argument("--issues", type=int, default=1_000_000)
    parser.add_argument("--probe", type=Path, help=argparse.SUPPRESS)  # the start-up child
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.probe:
        await probe(args.probe)
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "street.db"
        db = Database(str(path))
        await db.open()
        await db.close()
        now = SystemClock().now()
        started = time.perf_counter()
        street = await asyncio.to_thread(seed, path, args.residents, args.issues, now)
        seeded = time.perf_counter() - started
        size = path.stat().st_size / 2**20
        boot = startup(path)
        results = await measure(path, street, now)
    bare = bare_python()
    print(f"{street.residents:,} residents in {len(street.buildings):,} buildings, {street.issues:,} reports "
          f"({OPEN_SHARE:.0%} open) seeded in {seeded:.1f} s; database {size:,.0f} MiB; SQLite "
          f"{sqlite3.sqlite_version}, WAL synchronous=FULL, Python {sys.version.split()[0]}")
    print(table(results))
    print(f"start-up (start_service, no channels): ready in {boot['ready']:.2f} s ({boot['wall']:.2f} s with the "
          f"interpreter and imports); RSS {boot['rss'] / 1024:.1f} MiB, peak {boot['peak'] / 1024:.1f} MiB "
          f"(VmRSS, VmHWM; getrusage ru_maxrss {boot['maxrss'] / 1024:.1f} MiB, which counts the parent's before "
          f"exec) — bare Python: RSS {bare['rss'] / 1024:.1f} MiB, peak {bare['peak'] / 1024:.1f} MiB")
    print(targets(results, boot))


def targets(results: list[tuple[str, list[float], str]], boot: dict[str, float]) -> str:
    """The issue's targets beside the figures measured (medians; the bot's RSS after scoring, in MB)."""
    spent = {name.split(",")[0]: statistics.median(ms) for name, ms, _ in results}
    rows = [("scorecard: the whole street", spent["scorecard: the whole street"], 200, "ms"),
            ("weekly figures: one community", spent["weekly figures: one community"], 100, "ms"),
            ("weekly report draft: one community", spent["weekly report draft: one community"], 100, "ms"),
            (f"bot RSS after both (VmRSS; peak {boot['scored_peak'] * 1024 / 1e6:.0f} MB)",
             boot["scored_rss"] * 1024 / 1e6, 200, "MB")]
    lines = [f"{'targets (issue 11)':<48} {'measured':>11}   target"]
    lines += [f"  {name:<46} {value:>8.1f} {unit}   < {limit} {unit}  {_met(value < limit)}"
              for name, value, limit, unit in rows]
    return "\n".join(lines)


def _met(ok: bool) -> str:
    return "met" if ok else "MISSED"


if __name__ == "__main__":
    asyncio.run(main())
