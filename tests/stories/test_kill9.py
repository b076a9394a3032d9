"""kill -9: `run_bot.py serve` as a real process on the fake Bot API, killed mid-burst and started again. Every
update it acknowledged (webhook 200, or an offset confirmed) is answered exactly once; only replies in flight at the
kill may arrive twice."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import aiohttp

from tests.fake_telegram import Call, FakeTelegramServer
from tests.fake_wecom import FakeWeComServer
from tests.harness import TOKEN, Chat, Member, query, seed_street
from tests.wecom_client import encrypt_callback, text_xml
from tests.wecom_harness import AES_KEY, AGENT_ID, CALLBACK_TOKEN, CORP_ID
from tests.wecom_harness import PATH as WECOM_PATH
from tests.wecom_harness import SECRET as WECOM_SECRET

ROOT = Path(__file__).resolve().parents[2]
HOOK = "/telegram/hook"
SECRET = "kill-9_secret"
BURST = 111
WAIT = 60.0  # seconds: generous, for a loaded machine
User = TypeVar("User", int, str)  # a Telegram user id, a WeCom userid


class Bot:
    """`run_bot.py serve` with `env` over the database at `db`, started and SIGKILLed at will."""

    def __init__(self, db: Path, env: dict[str, str]) -> None:
        self.db = db
        self.port = _free_port()
        self.log = db.parent / "bot.log"
        self.env = {**os.environ, "JINLIN_DB": str(db), "JINLIN_MEDIA_DIR": str(db.parent / "media"),
                    "JINLIN_HTTP_PORT": str(self.port), **env}
        self.process: asyncio.subprocess.Process | None = None

    async def start(self, ready: Callable[[], Awaitable[None]]) -> None:
        """Start the process and wait until `ready()` returns."""
        with self.log.open("a") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, str(ROOT / "run_bot.py"), "serve", env=self.env, cwd=self.db.parent,
                stdout=log, stderr=log)
        await ready()

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


def telegram_env(server: FakeTelegramServer, *, webhook: bool) -> dict[str, str]:
    env = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": server.base_url.removesuffix("/bot")}
    if webhook:
        env |= {"TELEGRAM_WEBHOOK_URL": f"https://bot.example{HOOK}", "TELEGRAM_WEBHOOK_SECRET": SECRET}
    return env


def calls_again(server: FakeTelegramServer, method: str, log: Path) -> Callable[[], Awaitable[None]]:
    """Readiness: the bot calls `method` once more than it has so far."""
    calls = len(server.calls_of(method))
    return lambda: server.wait_until(lambda: len(server.calls_of(method)) > calls, WAIT,
                                     lambda: f"the bot never called {method}:\n{log.read_text()}")


@asynccontextmanager
async def bot(db: Path, env: dict[str, str]) -> AsyncIterator[Bot]:
    process = Bot(db, env)
    try:
        yield process
    finally:
        await process.stop()


async def burst_until_killed(process: Bot, users: Sequence[User],
                             deliver: Callable[[aiohttp.ClientSession, int, User], Awaitable[bool]]) -> list[User]:
    """`deliver` one message from each user, 16 at a time (the n-th numbered n from 1), kill -9 the bot once 40
    were acknowledged, and reap it; the users whose message was acknowledged."""
    acknowledged: list[User] = []
    limit = asyncio.Semaphore(16)

    async def one(session: aiohttp.ClientSession, n: int, user: User) -> None:
        async with limit:
            try:
                if await deliver(session, n, user):
                    acknowledged.append(user)
            except aiohttp.ClientError:
                return  # the process is gone: not acknowledged
        if len(acknowledged) == 40:
            process.kill()

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(one(session, n, user) for n, user in enumerate(users, start=1)))
    await process.reap()
    return acknowledged


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
    async with bot(tmp_path / "jinlin.db", telegram_env(server, webhook=True)) as process:
        await process.start(calls_again(server, "setWebhook", process.log))
        url = f"http://127.0.0.1:{process.port}{HOOK}"

        async def post(session: aiohttp.ClientSession, update_id: int, user: int) -> bool:
            update = {"update_id": update_id, **server.text_update(user, "/start")}
            async with session.post(url, json=update,
                                    headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}) as response:
                return response.status == 200

        acknowledged = await burst_until_killed(process, users, post)
        assert 40 <= len(acknowledged) < BURST
        unanswered_at_kill = [user for user in acknowledged if not server.messages_to(user)]
        assert unanswered_at_kill  # the kill came while acknowledged updates waited
        in_flight = await process.in_flight()

        server.delay("sendMessage", 0)
        await process.start(calls_again(server, "setWebhook", process.log))
        counts = await all_answered(server, acknowledged, process.log)
    assert twice(counts) <= in_flight
    assert "Traceback" not in process.log.read_text()


async def test_kill9_while_polling_handles_every_update_once(server: FakeTelegramServer, tmp_path: Path) -> None:
    users = list(range(6001, 6001 + BURST))
    for user in users:
        server.push_text(user, "/start")
    server.delay("sendMessage", 0.3)
    async with bot(tmp_path / "jinlin.db", telegram_env(server, webhook=False)) as process:
        await process.start(calls_again(server, "getUpdates", process.log))
        await server.wait_until(lambda: len(server.sent) >= 10, WAIT, lambda: process.log.read_text())
        process.kill()
        await process.reap()
        assert len(answered(server, users) - Counter(users)) == 0
        assert sum(answered(server, users).values()) < BURST  # the kill came while updates waited
        in_flight = await process.in_flight()

        server.delay("sendMessage", 0)
        await process.start(calls_again(server, "getUpdates", process.log))
        counts = await all_answered(server, users, process.log)
    assert twice(counts) <= in_flight
    assert server.pending_updates == []


async def test_kill9_between_commit_and_send_still_delivers_the_reference_once(server: FakeTelegramServer,
                                                                               tmp_path: Path) -> None:
    wang = 7001
    db = tmp_path / "jinlin.db"
    await seed_street(db, [Member(wang, "王阿姨", home="C01-A-B1")], now=datetime.now(UTC))
    async with bot(db, telegram_env(server, webhook=False)) as process:
        await process.start(calls_again(server, "getUpdates", process.log))
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
        await process.start(calls_again(server, "getUpdates", process.log))
        await chat.expect("编号：JL-", WAIT)
        assert len(tries(200)) == 1
    assert await query(db, "SELECT COUNT(*) FROM issues") == [(1,)]


def wecom_env(fake: FakeWeComServer) -> dict[str, str]:
    return {"WECOM_CORP_ID": CORP_ID, "WECOM_AGENT_ID": str(AGENT_ID), "WECOM_SECRET": WECOM_SECRET,
            "WECOM_TOKEN": CALLBACK_TOKEN, "WECOM_AES_KEY": AES_KEY, "WECOM_API_BASE_URL": fake.base_url}


def serving(process: Bot) -> Callable[[], Awaitable[None]]:
    """Readiness: the bot's HTTP server answers /healthz (it binds once the channels are connected)."""

    async def ready() -> None:
        async with asyncio.timeout(WAIT), aiohttp.ClientSession() as session:
            while True:
                try:
                    async with session.get(f"http://127.0.0.1:{process.port}/healthz") as health:
                        if health.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)  # the process is still starting

    return ready


async def test_kill9_during_a_wecom_burst_loses_no_acknowledged_callback(tmp_path: Path) -> None:
    users = [f"member{n:03}" for n in range(BURST)]
    async with FakeWeComServer(corp_id=CORP_ID, secret=WECOM_SECRET, agent_id=AGENT_ID) as fake, \
            bot(tmp_path / "jinlin.db", wecom_env(fake)) as process:
        fake.delay("message/send", 0.3)  # replies lag behind, so acknowledged callbacks wait unhandled at the kill
        await process.start(serving(process))
        url = f"http://127.0.0.1:{process.port}{WECOM_PATH}"
        requests: dict[str, tuple[dict[str, str], bytes]] = {}

        def callback(user: str, msg_id: int) -> tuple[dict[str, str], bytes]:
            xml = text_xml(user, "/start", create_time=int(time.time()), msg_id=msg_id)
            return encrypt_callback(CALLBACK_TOKEN, AES_KEY, CORP_ID, xml, int(time.time()), f"n{msg_id}")

        async def post(session: aiohttp.ClientSession, request: tuple[dict[str, str], bytes]) -> int:
            async with session.post(url, params=request[0], data=request[1],
                                    headers={"Content-Type": "text/xml"}) as response:
                return response.status

        async def deliver(session: aiohttp.ClientSession, msg_id: int, user: str) -> bool:
            request = callback(user, msg_id)
            requests[user] = request
            return await post(session, request) == 200

        acknowledged = await burst_until_killed(process, users, deliver)
        assert 40 <= len(acknowledged) < BURST
        assert [user for user in acknowledged if not fake.messages_to(user)]  # the kill came while callbacks waited
        in_flight = await process.in_flight()

        fake.delay("message/send", 0)
        await process.start(serving(process))

        def unanswered() -> list[str]:
            return [user for user in acknowledged if not fake.messages_to(user)]

        await fake.wait_until(lambda: not unanswered(), WAIT,
                              lambda: f"{len(unanswered())} never answered:\n{process.log.read_text()}")
        assert sum(len(fake.messages_to(user)) - 1 for user in acknowledged) <= in_flight

        # WeCom retrying a callback it had no answer to (same signature, timestamp, nonce, MsgId): 200, acted on once.
        first = next(iter(acknowledged))
        before = len(fake.messages_to(first))
        async with aiohttp.ClientSession() as session:
            assert await post(session, requests[first]) == 200
            assert await post(session, callback(first, 10_000)) == 200  # a new message: answered after the retry
        await fake.wait_until(lambda: len(fake.messages_to(first)) > before, WAIT, process.log.read_text)
        assert len(fake.messages_to(first)) == before + 1
    assert "Traceback" not in process.log.read_text()
