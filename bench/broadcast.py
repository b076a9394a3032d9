"""Broadcast: 10,000 pushes through the outbox to a fake Bot API that enforces Telegram's limits.

10,000 recipients (Telegram chat ids 1..10,000, each a person with a channel account) get one message each: the
rows are enqueued in one transaction through bot.storage.outbox.enqueue_all into a real Database on a temporary
file. The real OutboxWorker then drains them with the real TelegramSender — a telegram.Bot pointed at a fake Bot API
on 127.0.0.1 with the connection pool Jinlin's Telegram channel uses — and the real SystemClock. The fake runs in a
process of its own (Telegram is remote: its work must not slow the bot's event loop, nor the bot's work its clock),
and sends its tally back when the run is over. It answers 429
"Too Many Requests: retry after 1" to any send beyond `--rate` messages in a sliding second, or to one chat within
1 s, and the worker is configured at that same rate (TELEGRAM_MAX_MESSAGES_PER_SECOND). The outbox's per-chat
gap plays no part: one message per chat.

Timed from the worker's start until every row is settled (awaited, not polled). Printed: achieved rate ÷ limit
(target ≥ 0.95), lost rows (never delivered), duplicates (chats that got more than one copy), the 429 answers, the
send round trips and the most sends in flight, the settings and the wall time.

    .venv/bin/python bench/broadcast.py [--recipients 10000] [--rate 300] [--concurrency N] [--latency S]
                                        [--outbox FILE]

`--outbox FILE` runs a private copy of bot/delivery/outbox.py instead (to try a change; the copy must import the
send results and ChannelLimits from bot.delivery.outbox, which TelegramSender returns and uses).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import logging
import math
import multiprocessing
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from types import ModuleType
from typing import Any

from telegram import Bot
from telegram.request import HTTPXRequest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.clock import SystemClock
from bot.delivery import outbox as outbox_module
from bot.delivery.outbox import ChannelSender, RetryAfter, SendResult, Transient
from bot.domain.messages import Reply
from bot.domain.people import Account
from bot.handlers.telegram_send import CHANNEL, TelegramSender
from bot.storage import outbox, people
from bot.storage.db import Database
from bot.storage.outbox import Outgoing
from tests.fake_telegram import FakeTelegramServer
from tests.harness import TOKEN

TEXT = "【社区通知】本周六上午 9:00 各楼栋楼道大扫除，请提前清理楼道杂物。谢谢配合！"
POOL = 64  # connections, as Jinlin's Telegram channel builds its bot (ApplicationBuilder.connection_pool_size)
TARGET = 0.95


@dataclass(slots=True)
class Watch:
    """Wraps the channel's sender: counts final outcomes (waking `done` at `expected`), times each round trip."""

    inner: ChannelSender
    expected: int
    done: asyncio.Event = field(default_factory=asyncio.Event)
    final: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    round_trips: list[float] = field(default_factory=list)

    @property
    def channel(self) -> str:
        return self.inner.channel

    @property
    def limits(self) -> outbox_module.ChannelLimits:
        return self.inner.limits

    async def send(self, chat_id: str, reply: Reply, replace: str = "") -> SendResult:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        started = time.perf_counter()
        try:
            result = await (self.inner.send(chat_id, reply, replace=replace) if replace
                            else self.inner.send(chat_id, reply))
        finally:
            self.round_trips.append(time.perf_counter() - started)
            self.in_flight -= 1
        if not isinstance(result, RetryAfter | Transient):
            self.final += 1
            if self.final >= self.expected:
                self.done.set()
        return result


async def seed(db: Database, recipients: int) -> float:
    """A person with a Telegram account per recipient, then the broadcast in one transaction; its seconds."""
    now = SystemClock().now()
    async with db.write() as tx:
        for chat in range(1, recipients + 1):
            await people.create(tx, Account(CHANNEL, str(chat), str(chat)), display_name=f"居民{chat}",
                                locale="zh_CN", now=now)
    started = time.perf_counter()
    async with db.write() as tx:
        messages = [Outgoing(f"bench-broadcast:{chat}", CHANNEL, str(chat), Reply(TEXT))
                    for chat in range(1, recipients + 1)]
        if await outbox.enqueue_all(tx, messages, now=now) != recipients:
            raise RuntimeError("not every row was queued")
    return time.perf_counter() - started


def worker_module(path: str | None) -> ModuleType:
    if path is None:
        return outbox_module
    spec = importlib.util.spec_from_file_location("bench_private_outbox", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True, slots=True)
class ServerTally:
    """What the fake Bot API saw, sent back from its process."""

    delivered: dict[int, int]
    duplicates: dict[int, int]
    sent_at: list[float]
    too_many: int


def serve_fake(conn: Connection, rate: float, latency: float) -> None:
    """The fake Bot API in a process of its own (Telegram is remote: its work must not slow the bot's event loop,
    nor the bot's work its clock). Sends its URLs, waits for any message, answers with its tally."""

    async def main() -> None:
        async with FakeTelegramServer() as server:
            server.enforce_limits(rate)
            if latency:
                server.delay("sendMessage", latency)
            conn.send((server.base_url, server.base_file_url))
            await asyncio.get_running_loop().run_in_executor(None, conn.recv)
            conn.send(ServerTally(dict(server.delivered), server.duplicates(), [m.at for m in server.sent],
                                  server.too_many))

    asyncio.run(main())


async def run(recipients: int, rate: float, concurrency: int | None, latency: float, module: ModuleType) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(str(Path(tmp) / "bench.db"))
        await db.open()
        enqueue_s = await seed(db, recipients)
        conn, child_conn = multiprocessing.get_context("spawn").Pipe()
        fake = multiprocessing.get_context("spawn").Process(target=serve_fake, args=(child_conn, rate, latency))
        fake.start()
        try:
            base_url, base_file_url = await asyncio.to_thread(conn.recv)
            bot = Bot(TOKEN, base_url=base_url, base_file_url=base_file_url,
                      request=HTTPXRequest(connection_pool_size=POOL))
            async with bot:
                watch = Watch(TelegramSender(bot, rate), recipients)
                options: dict[str, Any] = {} if concurrency is None else {"concurrency": concurrency}
                worker = module.OutboxWorker(db, SystemClock(), {CHANNEL: watch}, **options)
                started, cpu = time.perf_counter(), time.process_time()
                await worker.start()
                deadline = recipients / rate * 4 + 60
                try:
                    await asyncio.wait_for(watch.done.wait(), deadline)
                except TimeoutError:
                    print(f"!! not every row reached a final outcome within {deadline:.0f} s")
                await worker.stop()  # waits for the sends in flight to finish and settle
                wall, cpu = time.perf_counter() - started, time.process_time() - cpu
            conn.send("tally")
            server: ServerTally = await asyncio.to_thread(conn.recv)
        finally:
            fake.join(timeout=10)
            if fake.is_alive():
                fake.kill()
        async with db.read() as tx:
            statuses = await outbox.counts(tx)
        await db.close()
    lost = sum(1 for chat in range(1, recipients + 1) if server.delivered.get(chat, 0) == 0)
    delivered = recipients - lost  # chats that got their message (a duplicate does not count twice)
    duplicates = server.duplicates
    sends = sorted(server.sent_at)
    span_rate = (len(sends) - 1) / (sends[-1] - sends[0]) if len(sends) > 1 else 0.0
    achieved = delivered / wall
    trips = [math.nan] * 99
    if len(watch.round_trips) > 1:
        trips = statistics.quantiles([s * 1000 for s in watch.round_trips], n=100, method="inclusive")
    used_concurrency = concurrency if concurrency is not None else "default"
    print(f"settings: {recipients} recipients (telegram chats 1..{recipients}, one message each), limit {rate:g} "
          f"msg/s — fake Bot API 429s (retry_after 1) beyond {rate:g} sends in a sliding second or 2 to a chat "
          f"within 1 s; worker TELEGRAM_MAX_MESSAGES_PER_SECOND={rate:g}, concurrency={used_concurrency}, "
          f"outbox module {module.__file__}; bot connection pool {POOL}; fake server in its own process; "
          f"{f'answers delayed {latency * 1000:g} ms; ' if latency else ''}SystemClock; SQLite WAL synchronous=FULL; "
          f"Python {sys.version.split()[0]}")
    print(f"enqueue: {recipients} rows in one transaction in {enqueue_s:.2f} s")
    print(f"wall time: {wall:.2f} s from the worker's start until every row was settled "
          f"(ideal {recipients / rate:.2f} s); outbox statuses {dict(sorted(statuses.items()))}; bot process CPU "
          f"{cpu:.1f} s ({cpu / wall:.0%} of one core, SQLite threads included)")
    print(f"achieved: {achieved:.1f} msg/s delivered over the wall time; {span_rate:.1f} msg/s between the first "
          f"and last delivery at the server")
    print(f"sends: {len(watch.round_trips)} round trips, p50 {trips[49]:.1f} ms, p95 {trips[94]:.1f} ms, "
          f"p99 {trips[98]:.1f} ms; at most {watch.max_in_flight} in flight")
    print(f"429 answers: {server.too_many}   lost: {lost}   duplicates: {len(duplicates)}"
          f"{f' {dict(list(duplicates.items())[:5])}' if duplicates else ''}")
    verdict = "ok" if achieved / rate >= TARGET else "BELOW TARGET"
    print(f"achieved ÷ limit = {achieved / rate:.3f}   (target ≥ {TARGET:.2f}: {verdict})")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=300.0, help="msg/s the fake enforces and the worker uses")
    parser.add_argument("--concurrency", type=int, default=None, help="OutboxWorker concurrency (default: its own)")
    parser.add_argument("--latency", type=float, default=0.0,
                        help="seconds the fake holds each sendMessage answer (a remote Bot API's round trip)")
    parser.add_argument("--outbox", default=None, metavar="FILE", help="a private copy of bot/delivery/outbox.py")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    module = worker_module(args.outbox)
    for name in ("bot", module.__name__):  # one warning per 429 would drown the report; they are counted
        logging.getLogger(name).setLevel(logging.ERROR)
    await run(args.recipients, args.rate, args.concurrency, args.latency, module)


if __name__ == "__main__":
    asyncio.run(main())
