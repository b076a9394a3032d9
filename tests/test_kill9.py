"""kill -9: `run_bot.py serve` as a real process on the fake Bot API, killed mid-burst and started again. Every
update it acknowledged (webhook 200, or an offset confirmed) is answered exactly once; only replies in flight at the
kill may arrive twice."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from tests.fake_telegram import Call, FakeTelegramServer
from tests.harness import TOKEN, Chat, Member, query, seed_street

ROOT = Path(__file__).resolve().parent.parent
HOOK = "/telegram/hook"
SECRET = "kill-9_secret"
BURST = 111
WAIT = 60.0  # seconds: generous, for a loaded machine


class Bot:
    """`run_bot.py serve` on `server` over the database at `db`, started and SIGKILLed at will."""

    def __init__(self, server: FakeTelegramServer, db: Path, *, webhook: bool) -> None:
        self.server = server
        self.db = db
        self.port = _free_port()
        self.log = db.parent / "bot.log"
        self.env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "JINLIN_DB": str(db),
                    "TELEGRAM_API_BASE_URL": server.base_url.removesuffix("/bot"),
                    "JINLIN_MEDIA_DIR": str(db.parent / "media"), "JINLIN_HTTP_PORT": str(self.port)}
        if webhook:
            self.env |= {"TELEGRAM_WEBHOOK_URL": f"https://bot.example{HOOK}", "TELEGRAM_WEBHOOK_SECRET": SECRET}
        self.process: asyncio.subprocess.Process | None = None

    async def start(self, ready_method: str) -> None:
        """Start the process and wait until it calls `ready_method` (setWebhook, getUpdates) once more."""
        calls = len(self.server.calls_of(ready_method))
        with self.log.open("a") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, str(ROOT / "run_bot.py"), "serve", env=self.env, cwd=self.db.parent,
                stdout=log, stderr=log)
        await self.server.wait_until(lambda: len(self.server.calls_of(ready_method)) > calls, WAIT,
                                     lambda: f"the bot never called {ready_method}:\n{self.log.read_text()}")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)

    async def reap(self) -> None:
        assert self.process is not None
        await asyncio.wait_for(self.process.wait(), WAIT)

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            await self.reap()

    async def in_flight(self) -> int:
        """Replies the database shows as being sent: those may have gone out before the kill."""
        rows = await query(self.db, "SELECT COUNT(*) FROM outbox WHERE status = 'in_flight'")
        return int(rows[0][0])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def bot(server: FakeTelegramServer, db: Path, *, webhook: bool) -> AsyncIterator[Bot]:
    process = Bot(server, db, webhook=webhook)
    try:
        yield process
    finally:
        await process.stop()


def answered(server: FakeTelegramServer, users: list[int]) -> Counter[int]:
    return Counter({user: len(server.messages_to(user)) for user in users})


async def all_answered(server: FakeTelegramServer, users: list[int], log: Path) -> Counter[int]:
    def unanswered() -> list[int]:
        return [user for user in users if not server.messages_to(user)]

    await server.wait_until(lambda: not unanswered(), WAIT,
                            lambda: f"{len(unanswered())} of {len(users)} never answered:\n{log.read_text()}")
    return answered(server, users)


def twice(counts: Counter[int]) -> int:
    """Messages beyond the first per chat."""
    return sum(count - 1 for count in counts.values() if count > 1)


async def test_kill9_during_a_webhook_burst_loses_no_acknowledged_update(server: FakeTelegramServer,
                                                                         tmp_path: Path) -> None:
    users = list(range(5001, 5001 + BURST))
    server.delay("sendMessage", 0.3)  # replies lag behind, so acknowledged updates wait unhandled at the kill
    async with bot(server, tmp_path / "jinlin.db", webhook=True) as process:
        await process.start("setWebhook")
        url = f"http://127.0.0.1:{process.port}{HOOK}"
        acknowledged: list[int] = []
        limit = asyncio.Semaphore(16)

        async def post(session: aiohttp.ClientSession, update_id: int, user: int) -> None:
            update = {"update_id": update_id, **server.text_update(user, "/start")}
            async with limit:
                try:
                    async with session.post(url, json=update,
                                            headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}) as response:
                        if response.status == 200:
                            acknowledged.append(user)
                except aiohttp.ClientError:
                    return  # the process is gone: not acknowledged
            if len(acknowledged) == 40:
                process.kill()

        async with aiohttp.ClientSession() as session:
            await asyncio.gather(*(post(session, n, user) for n, user in enumerate(users, start=1)))
        await process.reap()
        assert 40 <= len(acknowledged) < BURST
        unanswered_at_kill = [user for user in acknowledged if not server.messages_to(user)]
        assert unanswered_at_kill  # the kill came while acknowledged updates waited
        in_flight = await process.in_flight()

        server.delay("sendMessage", 0)
        await process.start("setWebhook")
        counts = await all_answered(server, acknowledged, process.log)
    assert twice(counts) <= in_flight
    assert "Traceback" not in process.log.read_text()


async def test_kill9_while_polling_handles_every_update_once(server: FakeTelegramServer, tmp_path: Path) -> None:
    users = list(range(6001, 6001 + BURST))
    for user in users:
        server.push_text(user, "/start")
    server.delay("sendMessage", 0.3)
    async with bot(server, tmp_path / "jinlin.db", webhook=False) as process:
        await process.start("getUpdates")
        await server.wait_until(lambda: len(server.sent) >= 10, WAIT, lambda: process.log.read_text())
        process.kill()
        await process.reap()
        assert len(answered(server, users) - Counter(users)) == 0
        assert sum(answered(server, users).values()) < BURST  # the kill came while updates waited
        in_flight = await process.in_flight()

        server.delay("sendMessage", 0)
        await process.start("getUpdates")
        counts = await all_answered(server, users, process.log)
    assert twice(counts) <= in_flight
    assert server.pending_updates == []


async def test_kill9_between_commit_and_send_still_delivers_the_reference_once(server: FakeTelegramServer,
                                                                               tmp_path: Path) -> None:
    wang = 7001
    db = tmp_path / "jinlin.db"
    await seed_street(db, [Member(wang, "王阿姨", home="C01-A-B1")], now=datetime.now(UTC))
    async with bot(server, db, webhook=False) as process:
        await process.start("getUpdates")
        chat = Chat(server, wang)
        chat.send("/start")
        await chat.expect("请选择要办的事", WAIT)
        await chat.tap("📣 我要反映", WAIT)
        await chat.tap("🏠 屋顶漏水", WAIT)
        await chat.expect("请说说是什么情况", WAIT)
        chat.send("屋顶漏水")
        await chat.tap("跳过", WAIT)
        await chat.expect("提交", WAIT)
        for method in ("sendMessage", "editMessageText"):
            server.delay(method, 3600)  # the reply hangs after its step committed
        await chat.tap("✅ 提交", WAIT)

        def tries(status: int | None = None) -> list[Call]:
            """Calls that would show the reference (answered with `status`, if given)."""
            return [call for method in ("sendMessage", "editMessageText") for call in server.calls_of(method)
                    if "编号：JL-" in str(call.params.get("text")) and (status is None or call.status == status)]

        await server.wait_until(lambda: bool(tries()), WAIT, lambda: process.log.read_text())
        process.kill()
        await process.reap()
        assert not any("编号：JL-" in (message.text or "") for message in chat.screen())
        assert await query(db, "SELECT COUNT(*) FROM issues") == [(1,)]

        for method in ("sendMessage", "editMessageText"):
            server.delay(method, 0)
        await process.start("getUpdates")
        await chat.expect("编号：JL-", WAIT)
        assert len(tries(200)) == 1
    assert await query(db, "SELECT COUNT(*) FROM issues") == [(1,)]
