"""Report latency: a resident's final "submit" press → the building leader's task push, beside a bare
python-telegram-bot echo bot's reply latency (a text pushed → its echo arrives), measured the same way in one run.

Target: Jinlin p95 < 50 ms on an idle machine.

Both bots are real PTB Applications long-polling a fresh fake Bot API server on 127.0.0.1 in this process; Jinlin
is started with bot.app.start_service, as `run_bot.py serve` starts it. Untimed setup: the sample street, a
building leader on Telegram for every building and `--residents` residents seeded through bot.storage.people with
homes spread over the buildings; each resident then walks the real report flow over the fake server up to its
confirm step (/menu → report → category → description → no photos). An open report of the same category at the
same place is offered to follow instead of being filed, so the residents of a building each take their own
category (imported beforehand through the categories CSV, as an administrator would).

Timed: from pushing a press (or a text) to the answer reaching the fake server. Pushes leave through the outbox,
which sends at most 1 message/s to one chat, and each building has one leader: so the presses run in one lane per
building, a lane's presses GAP seconds apart and the lanes evenly staggered — that measures latency, not a queue.
The overall outbox rate is set to 1000 messages/s (TELEGRAM_MAX_MESSAGES_PER_SECOND, the paid broadcast level).

    .venv/bin/python bench/report_latency.py [--residents 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import statistics
import string
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.updates import FIRST_USER, echo_bot
from bot.app import start_service
from bot.clock import SystemClock
from bot.config import Settings
from bot.domain.grid import Level
from bot.domain.people import Account, Role
from bot.features.reports.categories import COLUMNS, import_categories
from bot.services.grid_import import import_grid
from bot.storage import grid, people
from bot.storage.db import Database
from tests.fake_telegram import FakeTelegramServer
from tests.harness import settings_for

ROOT = Path(__file__).resolve().parent.parent
FIRST_LEADER = 20_000_000
GAP = 1.05  # seconds between two presses in one lane: just over the outbox's 1 message/s per chat
WALKERS = 100  # residents walking to their confirm step at a time (untimed)
MAX_PER_SECOND = 1000.0  # TELEGRAM_MAX_MESSAGES_PER_SECOND: the paid broadcast level


@dataclass(frozen=True, slots=True)
class Probe:
    """One timed action and the chat whose next message answers it."""

    act: Callable[[], object]
    chat: int


class Answers:
    """Messages sent to or edited in each chat so far (kept incrementally: the server's edit list only grows)."""

    def __init__(self, server: FakeTelegramServer) -> None:
        self._server = server
        self._edits = Counter[int]()
        self._counted = 0

    def __call__(self, chat: int) -> int:
        edits = self._server.edits
        self._edits.update(edit.chat_id for edit in edits[self._counted:])
        self._counted = len(edits)
        return len(self._server.messages_to(chat)) + self._edits[chat]


async def measure(server: FakeTelegramServer, lanes: list[list[Probe]]) -> list[float]:
    """Run the lanes side by side, each lane's probes one after another at least GAP apart; latencies in ms.

    The lanes start evenly staggered over one GAP, so the probes come at an even pace rather than in bursts.
    """

    async def latency(probe: Probe) -> float:
        before = len(server.messages_to(probe.chat))
        started = time.monotonic()
        probe.act()
        await server.wait_until(lambda: len(server.messages_to(probe.chat)) > before, 30,
                                lambda: f"chat {probe.chat} got no answer")
        return (server.messages_to(probe.chat)[before].at - started) * 1000

    async def lane(probes: list[Probe], offset: float) -> list[float]:
        await asyncio.sleep(offset)
        latencies = []
        for probe in probes:
            started = time.monotonic()
            latencies.append(await latency(probe))
            await asyncio.sleep(max(0.0, started + GAP - time.monotonic()))
        return latencies

    offsets = [GAP * n / len(lanes) for n in range(len(lanes))]
    return [ms for lane_ms in await asyncio.gather(*map(lane, lanes, offsets)) for ms in lane_ms]


async def seed(db_path: Path, residents: int) -> list[list[tuple[int, str]]]:
    """The sample street, a leader per building and the residents; per building, (resident, category) pairs."""
    db = Database(str(db_path))
    await db.open()
    await import_grid(db, (ROOT / "sample" / "grid.csv").read_bytes())
    now = SystemClock().now()
    async with db.write() as tx:
        buildings = await grid.children(tx, None, Level.BUILDING)
        for n, building in enumerate(buildings):
            user = str(FIRST_LEADER + n)
            leader = await people.create(tx, Account("telegram", user, user), display_name=f"楼长{n}",
                                         locale="zh_CN", now=now)
            await people.grant_role(tx, leader, Role.BUILDING_LEADER, building.id)
        for n in range(residents):
            user = str(FIRST_USER + n)
            person = await people.create(tx, Account("telegram", user, user), display_name=f"居民{n}",
                                         locale="zh_CN", now=now)
            await people.set_home(tx, person, buildings[n % len(buildings)].id, f"{n % 30}-{n % 7}01")
    rows = [f"{_code(k)},,72,48,48,168,0,测试类别{k},Bench category {k}"
            for k in range(math.ceil(residents / len(buildings)))]
    await import_categories(db, "\n".join([",".join(COLUMNS), *rows, ""]).encode())
    await db.close()
    return [[(FIRST_USER + n, _code(n // len(buildings))) for n in range(b, residents, len(buildings))]
            for b in range(len(buildings))]


def _code(k: int) -> str:
    """The k-th bench category's code (codes are letters and "_" only): bench_aa, bench_ab, …"""
    return f"bench_{string.ascii_lowercase[k // 26]}{string.ascii_lowercase[k % 26]}"


async def walk_to_confirm(server: FakeTelegramServer, lanes: list[list[tuple[int, str]]]) -> None:
    """Every resident, through the real flow, to the report's confirm step (untimed, WALKERS at a time)."""
    answers = Answers(server)
    gate = asyncio.Semaphore(WALKERS)

    async def step(user: int, act: Callable[[], object]) -> None:
        before = answers(user)
        act()
        await server.wait_until(lambda: answers(user) > before, 30, lambda: f"{user} got no answer")

    async def walk(user: int, category: str) -> None:
        steps: list[Callable[[], object]] = [
            lambda: server.push_text(user, "/menu"), lambda: server.push_callback(user, "m:report"),
            lambda: server.push_callback(user, f"c:{category}"), lambda: server.push_text(user, f"楼道灯坏了 #{user}"),
            lambda: server.push_callback(user, "p:done")]
        async with gate:
            for act in steps:
                await step(user, act)
        if "ok:submit" not in [token for _, token in server.buttons(server.last_to(user))]:
            raise RuntimeError(f"resident {user} did not reach the confirm step: {server.last_to(user).text!r}")

    await asyncio.gather(*(walk(user, category) for lane in lanes for user, category in lane))


async def jinlin(db_path: Path, lanes: list[list[tuple[int, str]]]) -> tuple[list[float], Settings]:
    async with FakeTelegramServer() as server, AsyncExitStack() as stack:
        settings = settings_for(server, db_path, media_dir=str(db_path.parent / "media"),
                                telegram_max_messages_per_second=MAX_PER_SECOND)
        await start_service(settings, SystemClock(), stack)
        await walk_to_confirm(server, lanes)
        probes = [[Probe(lambda user=user: server.push_callback(user, "ok:submit"), FIRST_LEADER + b)
                   for user, _ in lane] for b, lane in enumerate(lanes)]
        latencies = await measure(server, probes)
        _check_tasks(server, lanes)
        return latencies, settings


def _check_tasks(server: FakeTelegramServer, lanes: list[list[tuple[int, str]]]) -> None:
    """Each leader got exactly their building's tasks, in order, each a JL- reference with the resident's words."""
    for b, lane in enumerate(lanes):
        tasks = server.messages_to(FIRST_LEADER + b)
        texts = [message.text or "" for message in tasks]
        if len(tasks) != len(lane) or not all("JL-" in text and f"#{user}" in text
                                               for text, (user, _) in zip(texts, lane, strict=True)):
            raise RuntimeError(f"leader {FIRST_LEADER + b} got unexpected pushes: {texts[:3]}")


async def echo(lanes: list[list[tuple[int, str]]]) -> list[float]:
    async with FakeTelegramServer() as server, AsyncExitStack() as stack:
        await echo_bot(server, stack)
        users = [user for lane in lanes for user, _ in lane]
        await measure(server, [[Probe(lambda user=user: server.push_text(user, "你好"), user)] for user in users])
        probes = [[Probe(lambda user=user: server.push_text(user, f"楼道灯坏了 #{user}"), user) for user, _ in lane]
                  for lane in lanes]
        return await measure(server, probes)


def summary(name: str, latencies: list[float]) -> tuple[str, float]:
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    return (f"{name:<32} p50 {q[49]:6.1f} ms   p95 {q[94]:6.1f} ms   p99 {q[98]:6.1f} ms   (n={len(latencies)})",
            q[94])


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--residents", type=int, default=1000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        lanes = await seed(Path(tmp) / "bench.db", args.residents)
        echo_ms = await echo(lanes)
        jinlin_ms, settings = await jinlin(Path(tmp) / "bench.db", lanes)
    print(f"{args.residents} residents over {len(lanes)} buildings with a leader each; one lane per leader (the "
          f"outbox sends 1 message/s per chat), presses {GAP} s apart in a lane, lanes evenly staggered: "
          f"{len(lanes) / GAP:.1f} presses/s")
    print(f"settings: TELEGRAM_MAX_MESSAGES_PER_SECOND={settings.telegram_max_messages_per_second:g} (paid broadcast "
          f"level), JINLIN_LOCALE={settings.locale}, JINLIN_TIMEZONE={settings.timezone}, long polling, "
          f"SQLite WAL synchronous=FULL, fake Bot API on 127.0.0.1, Python {sys.version.split()[0]}")
    baseline, echo_p95 = summary("echo bot: text → echo", echo_ms)
    report, jinlin_p95 = summary("jinlin: submit → leader's task", jinlin_ms)
    print(f"{baseline}\n{report}")
    print(f"jinlin p95 − echo p95 = {jinlin_p95 - echo_p95:.1f} ms   (target: jinlin p95 < 50 ms on an idle machine)")


if __name__ == "__main__":
    asyncio.run(main())
