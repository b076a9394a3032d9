"""Throughput: 5,000 resident updates through Jinlin and through a bare python-telegram-bot echo bot.

Both run as real PTB Applications (same builder settings) long-polling the same fake Bot API server on 127.0.0.1
in the same process and run. 500 registered residents each send 10 updates — menu presses and typed text,
alternating — after one untimed warm-up message each. The two bots take turns for `--rounds` rounds, each on a
fresh server; the median rates and Jinlin ÷ echo are printed (target ≥ 0.7).

    .venv/bin/python bench/updates.py [--residents 500] [--per-resident 10] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.app import start_service
from bot.clock import SystemClock
from bot.domain.grid import Level
from bot.domain.people import Account
from bot.services.grid_import import import_grid
from bot.storage import grid, people
from bot.storage.db import Database
from tests.fake_telegram import FakeTelegramServer
from tests.harness import TOKEN, settings_for

ROOT = Path(__file__).resolve().parent.parent
FIRST_USER = 10_000_000
PRESSES = ("m:me", "m:help")


async def echo_bot(server: FakeTelegramServer, stack: AsyncExitStack) -> None:
    """The baseline: answers a text with the same text, a button press by editing the message."""

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.callback_query is not None:
            await update.callback_query.answer()
            message = update.callback_query.message
            if message is not None and update.callback_query.data:
                await context.bot.edit_message_text(f"echo {update.callback_query.data} {update.update_id}",
                                                    chat_id=message.chat.id, message_id=message.message_id)
        elif update.message is not None and update.message.text:
            await update.message.reply_text(update.message.text)

    app: Application[Any, Any, Any, Any, Any, Any] = (
        ApplicationBuilder().token(TOKEN).base_url(server.base_url).base_file_url(server.base_file_url)
        .concurrent_updates(256).connection_pool_size(64).build())
    app.add_handler(TypeHandler(Update, echo))
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=10)

    async def stop() -> None:
        assert app.updater is not None
        await app.updater.stop()
        await app.stop()
        await app.shutdown()

    stack.push_async_callback(stop)


async def jinlin_bot(server: FakeTelegramServer, stack: AsyncExitStack, db_path: Path, residents: int) -> None:
    """Jinlin with the sample street and `residents` registered residents."""
    db = Database(str(db_path))
    await db.open()
    await import_grid(db, (ROOT / "sample" / "grid.csv").read_bytes())
    now = SystemClock().now()
    async with db.write() as tx:
        buildings = await grid.children(tx, None, Level.BUILDING)
        for n in range(residents):
            user = str(FIRST_USER + n)
            person_id = await people.create(tx, Account("telegram", user, user), display_name=f"居民{n}",
                                            locale="zh_CN", now=now)
            await people.set_home(tx, person_id, buildings[n % len(buildings)].id, f"{n % 30}-{n % 7}01")
    await db.close()
    logging.getLogger("bot").setLevel(logging.WARNING)
    await start_service(settings_for(server, db_path), SystemClock(), stack)


async def measure(server: FakeTelegramServer, residents: int, per_resident: int) -> float:
    """Warm up (one text per resident, untimed), then time `residents × per_resident` updates; updates/s."""
    users = [FIRST_USER + n for n in range(residents)]
    answers = lambda: len(server.sent) + len(server.edits)  # noqa: E731
    for user in users:
        server.push_text(user, "你好")
    await server.wait_until(lambda: answers() >= residents, 60, lambda: "warm-up timed out")
    before = answers()
    total = residents * per_resident
    started = time.perf_counter()
    for step in range(per_resident):
        for user in users:
            if step % 2:
                server.push_text(user, f"第{step}条消息")
            else:
                server.push_callback(user, PRESSES[(step // 2) % 2])
    await server.wait_until(lambda: answers() - before >= total, 300,
                            lambda: f"only {answers() - before} of {total} answers")
    return total / (time.perf_counter() - started)


async def run(name: str, residents: int, per_resident: int,
              start: Callable[[FakeTelegramServer, AsyncExitStack], Awaitable[None]]) -> float:
    async with FakeTelegramServer() as server, AsyncExitStack() as stack:
        await start(server, stack)
        rate = await measure(server, residents, per_resident)
        failed = [call for call in server.calls if call.status not in (200, None)]
        print(f"{name:<8} {rate:8.0f} updates/s   ({residents * per_resident} updates, {len(failed)} failed calls)")
        return rate


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--residents", type=int, default=500)
    parser.add_argument("--per-resident", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    echo: list[float] = []
    jinlin: list[float] = []
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory() as tmp:
            echo.append(await run("echo", args.residents, args.per_resident, echo_bot))
            jinlin.append(await run("jinlin", args.residents, args.per_resident, functools.partial(
                jinlin_bot, db_path=Path(tmp) / "bench.db", residents=args.residents)))
    print(f"median: echo {statistics.median(echo):.0f}/s, jinlin {statistics.median(jinlin):.0f}/s")
    print(f"jinlin ÷ echo = {statistics.median(jinlin) / statistics.median(echo):.2f}   (target ≥ 0.70)")


if __name__ == "__main__":
    asyncio.run(main())
