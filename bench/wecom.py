"""WeCom (企业微信) channel: callback latency at 50 concurrent senders, and a broadcast to 10,000 members.

Jinlin is started with bot.app.start_service, as `run_bot.py serve` starts it, on the sample street in a temporary
database, with only its WeCom channel, pointed at the fake WeCom server (tests/fake_wecom.py) and on the SystemClock.
"WeCom" — the fake server API and the callback deliveries — runs in a process of its own (WeCom is remote: its work
must not slow the bot's event loop). Both processes time with time.monotonic / perf_counter; every figure below is
timed within one process.

1. Callback latency. `--senders` residents (registered on WeCom, at their menu) each deliver `--rounds` text
   messages one after another, all senders at once: each message is encrypted and signed exactly as WeCom does
   (wechatpy's cipher, a fresh nonce, the current timestamp) and POSTed to the callback path over 127.0.0.1.
   Timed per message: POST → the 200 answer (WeCom wants it within 5 s; Jinlin answers before handling), and POST →
   the reply (the menu asked again) arriving at the fake's message/send. One untimed message per sender first (first
   contact, token fetch). The rounds stay under WeCom's 30 messages a minute to one member, which the fake enforces
   by dropping (any drop is reported). Baseline, measured the same way in the same run: a bare wechatpy echo app on
   aiohttp (WeChatCrypto.decrypt_message, answer 200, then WeChatClient.message.send_text in a thread): the cost of
   the transport and crypto alone.
2. Broadcast. `--members` residents of 和谐社区 on WeCom accounts (all within the application's range); the street's
   administrator starts a notice to them through bot.features.broadcasts.service.create (the service the broadcast flow
   uses) on the running service's database, and the outbox is woken. Timed from just before that transaction until
   the last notice message/send call and until the administrator's delivery report ("群发完成") reaches the fake.
   Counted: message/send calls carrying the notice (target ≤ 10: 1,000 members a call) and their sizes; throughput
   in members per second. The outbox's WeCom rate is the sender's default (20 calls/s).

    .venv/bin/python bench/wecom.py [--senders 50] [--rounds 20] [--members 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import math
import multiprocessing
import secrets
import statistics
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import requests
from aiohttp import ClientSession, ClientTimeout, web
from wechatpy.enterprise import WeChatClient, parse_message
from wechatpy.enterprise.crypto import WeChatCrypto

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.app import start_service
from bot.clock import SystemClock
from bot.config import Settings
from bot.domain.people import Account
from bot.features.broadcasts import service as broadcasts
from bot.features.broadcasts.service import Audience
from bot.services.grid_import import import_grid
from bot.services.people import grant_street_admin
from bot.storage import grid, people
from bot.storage.db import Database
from tests.fake_wecom import FakeWeComServer
from tests.wecom_client import encrypt_callback, text_xml
from tests.wecom_harness import AES_KEY, AGENT_ID, CALLBACK_TOKEN, CORP_ID, PATH, SECRET

ROOT = Path(__file__).resolve().parent.parent
ADMIN = "jiedao"
NOTICE = "燃气安全检查本周进行，请留意入户时间。"
MAX_ROUNDS = 28  # + the untimed first message: under WeCom's 30 a minute to one member


# -- the WeCom side (its own process) ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LatencyTally:
    answered_ms: list[float]  # POST → 200
    replied_ms: list[float]  # POST → the reply at message/send
    refused: int  # answers other than 200
    dropped: int  # messages over WeCom's per-member limits


@dataclass(frozen=True, slots=True)
class BroadcastTally:
    call_sizes: list[int]  # touser count of each message/send carrying the notice
    first_call: float  # monotonic seconds
    last_call: float
    report: float  # the administrator's "群发完成" arrived
    delivered: int  # members who got the notice
    duplicates: int  # members who got it more than once
    sends: int  # every message/send call of the run


def wecom_side(conn: Connection) -> None:
    """The fake WeCom server and the callback deliveries, driven by commands from the bot's process."""
    asyncio.run(_wecom_side(conn))


async def _wecom_side(conn: Connection) -> None:
    ids = itertools.count(1)
    async with FakeWeComServer(corp_id=CORP_ID, secret=SECRET, agent_id=AGENT_ID) as fake, \
            ClientSession(timeout=ClientTimeout(total=60)) as http:
        conn.send(fake.base_url)
        while True:
            command = await asyncio.to_thread(conn.recv)
            if command[0] == "latency":
                _, url, users, rounds = command
                conn.send(await _latency(fake, http, ids, url, users, rounds))
            elif command[0] == "broadcast":
                _, admin, notice, members = command
                waiting = asyncio.create_task(_broadcast(fake, admin, notice, members))
                await asyncio.sleep(0)
                conn.send("ready")
                conn.send(await waiting)
            else:
                return


async def _latency(fake: FakeWeComServer, http: ClientSession, ids: itertools.count[int], url: str,
                   users: list[str], rounds: int) -> LatencyTally:
    answered: list[float] = []
    replied: list[float] = []
    refused = 0
    dropped = len(fake.dropped)

    async def message(user: str, n: int) -> tuple[float, float] | None:
        """Deliver one text from `user`; (ms to the 200, ms to the reply), None if refused."""
        now = int(time.time())
        inner = text_xml(user, "你好", corp_id=CORP_ID, create_time=now, msg_id=next(ids), agent_id=AGENT_ID)
        query, body = encrypt_callback(CALLBACK_TOKEN, AES_KEY, CORP_ID, inner, now, secrets.token_hex(8))
        before = len(fake.messages_to(user))
        started = time.perf_counter()
        async with http.post(url, params=query, data=body, headers={"Content-Type": "text/xml"}) as response:
            await response.read()
            status, answer_at = response.status, time.perf_counter()
        if status != 200:
            return None
        await fake.wait_until(lambda: len(fake.messages_to(user)) > before, 30,
                              lambda: f"{user} got no reply to message {n}")
        return (answer_at - started) * 1000, (time.perf_counter() - started) * 1000

    async def sender(user: str) -> None:
        nonlocal refused
        for n in range(rounds + 1):
            timed = await message(user, n)
            if timed is None:
                refused += 1
            elif n:  # the first is untimed
                answered.append(timed[0])
                replied.append(timed[1])

    await asyncio.gather(*(sender(user) for user in users))
    return LatencyTally(answered, replied, refused, len(fake.dropped) - dropped)


async def _broadcast(fake: FakeWeComServer, admin: str, notice: str, members: list[str]) -> BroadcastTally:
    def reported() -> bool:
        return any("群发完成" in m.text for m in fake.messages_to(admin))

    await fake.wait_until(reported, 600, lambda: "no delivery report reached the administrator")
    report = time.monotonic()
    calls = [call for call in fake.sends if notice in str((call.body or {}).get("text", {}).get("content", ""))]
    # Call.at comes from the fake's clock (UTC datetime); as monotonic seconds relative to the report:
    now = fake.clock.now()
    at = [report - (now - call.at).total_seconds() for call in calls]
    received = fake.received()
    counts = [sum(1 for m in received.get(member.lower(), ()) if notice in m.text) for member in members]
    return BroadcastTally([len(call.users) for call in calls], min(at), max(at), report,
                          sum(1 for c in counts if c), sum(1 for c in counts if c > 1), len(fake.sends))


# -- the baseline: wechatpy alone ----------------------------------------------------------------------------------


class Echo:
    """A bare wechatpy echo app: decrypt the callback, answer 200, then send "echo" back in a worker thread."""

    def __init__(self, base_url: str) -> None:
        token = requests.get(f"{base_url}gettoken", params={"corpid": CORP_ID, "corpsecret": SECRET},
                             timeout=10).json()["access_token"]
        self._client = WeChatClient(CORP_ID, SECRET, access_token=token, timeout=10)
        self._client.API_BASE_URL = base_url
        self._crypto = WeChatCrypto(CALLBACK_TOKEN, AES_KEY, CORP_ID)
        self._tasks: set[asyncio.Task[Any]] = set()
        self.port = 0

    async def start(self, stack: AsyncExitStack) -> None:
        app = web.Application()
        app.router.add_post("/echo", self._on_post)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        self.port = runner.addresses[0][1]

    async def _on_post(self, request: web.Request) -> web.Response:
        q = request.query
        xml = self._crypto.decrypt_message(await request.read(), q["msg_signature"], q["timestamp"], q["nonce"])
        message = parse_message(xml)
        task = asyncio.create_task(asyncio.to_thread(self._client.message.send_text, AGENT_ID, message.source, "echo"))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return web.Response(text="")


# -- the bot's side --------------------------------------------------------------------------------------------------


async def seed(db_path: Path, senders: int, members: int) -> tuple[list[str], list[str]]:
    """The sample street, the administrator, the senders (幸福社区) and the broadcast's members (和谐社区)."""
    db = Database(str(db_path))
    await db.open()
    await import_grid(db, (ROOT / "sample" / "grid.csv").read_bytes())
    now = SystemClock().now()
    sender_ids = [f"s{n:03d}" for n in range(senders)]
    member_ids = [f"m{n:05d}" for n in range(members)]
    async with db.write() as tx:
        units = {unit.code: unit.id for unit, _ in await grid.all_units(tx)}
        admin = await people.create(tx, Account("wecom", ADMIN, ADMIN), display_name="街道", locale="zh_CN", now=now)
        await grant_street_admin(tx, admin)
        for ids, buildings in ((sender_ids, ("C01-A-B1", "C01-A-B2", "C01-B-B1")),
                               (member_ids, ("C02-A-B1", "C02-A-B2", "C02-B-B1", "C02-B-B2", "C02-B-B3"))):
            for n, userid in enumerate(ids):
                person = await people.create(tx, Account("wecom", userid, userid), display_name=f"居民{n}",
                                             locale="zh_CN", now=now)
                await people.set_home(tx, person, units[buildings[n % len(buildings)]], f"{n % 30 + 1}-101")
    await db.close()
    return sender_ids, member_ids


def quantiles(values: list[float]) -> list[float]:
    return statistics.quantiles(values, n=100, method="inclusive") if len(values) > 1 else [math.nan] * 99


def line(name: str, values: list[float]) -> str:
    q = quantiles(values)
    return f"{name:<44} p50 {q[49]:7.1f} ms   p99 {q[98]:7.1f} ms   max {max(values, default=math.nan):7.1f} ms"


async def ask(conn: Connection, command: tuple[Any, ...]) -> Any:
    conn.send(command)
    return await asyncio.to_thread(conn.recv)


async def run(senders: int, rounds: int, members: int) -> None:
    context = multiprocessing.get_context("spawn")
    conn, child_conn = context.Pipe()
    side = context.Process(target=wecom_side, args=(child_conn,))
    side.start()
    try:
        base_url: str = await asyncio.to_thread(conn.recv)
        with tempfile.TemporaryDirectory() as tmp:
            db_path = Path(tmp) / "bench.db"
            sender_ids, member_ids = await seed(db_path, senders, members)
            settings = Settings(db_path=str(db_path), http_port=0, media_dir=str(Path(tmp) / "media"),
                                admins=frozenset({("wecom", ADMIN)}), wecom_corp_id=CORP_ID, wecom_agent_id=AGENT_ID,
                                wecom_secret=SECRET, wecom_token=CALLBACK_TOKEN, wecom_aes_key=AES_KEY,
                                wecom_api_base_url=base_url)
            async with AsyncExitStack() as stack:
                echo = Echo(base_url)
                await echo.start(stack)
                baseline: LatencyTally = await ask(conn, ("latency", f"http://127.0.0.1:{echo.port}/echo",
                                                          [f"e{n:03d}" for n in range(senders)], rounds))
                service = await start_service(settings, SystemClock(), stack)
                url = f"http://127.0.0.1:{service.http.port}{PATH}"
                jinlin: LatencyTally = await ask(conn, ("latency", url, sender_ids, rounds))

                assert service.core.outbox is not None
                conn.send(("broadcast", ADMIN, NOTICE, member_ids))
                await asyncio.to_thread(conn.recv)  # the WeCom side is watching
                started = time.monotonic()
                async with service.core.db.write() as tx:
                    admin = await people.person_for(tx, "wecom", ADMIN)
                    c02 = await grid.by_code(tx, "C02")
                    assert admin is not None and c02 is not None
                    made = await broadcasts.create(tx, admin, True, channel="wecom", chat_id=ADMIN, unit_id=c02.id,
                                                   audience=Audience.RESIDENTS, text=NOTICE, photo="",
                                                   now=SystemClock().now())
                created = time.monotonic() - started
                service.core.outbox.wake()
                tally: BroadcastTally = await asyncio.to_thread(conn.recv)
        conn.send(("stop",))
    finally:
        side.join(timeout=10)
        if side.is_alive():
            side.kill()

    print(f"settings: WeCom channel only, fake WeCom API and callback deliveries in their own process on 127.0.0.1, "
          f"SystemClock, JINLIN_LOCALE={settings.locale}, SQLite WAL synchronous=FULL, WeCom outbox rate 20 calls/s "
          f"(sender default), member interval 3.6 s, Python {sys.version.split()[0]}")
    print(f"callbacks: {senders} concurrent senders × {rounds} timed text messages each (after 1 untimed), "
          f"closed loop (a sender's next message once its reply arrived)")
    print(line("baseline wechatpy echo: POST → 200", baseline.answered_ms))
    print(line("baseline wechatpy echo: POST → reply", baseline.replied_ms))
    print(line("jinlin: POST → 200", jinlin.answered_ms))
    print(line("jinlin: POST → reply (menu)", jinlin.replied_ms))
    for name, latency in (("baseline", baseline), ("jinlin", jinlin)):
        if latency.refused or latency.dropped:
            print(f"!! {name}: {latency.refused} callbacks refused, {latency.dropped} messages dropped by WeCom's "
                  f"limits")
    j, b = quantiles(jinlin.replied_ms), quantiles(baseline.replied_ms)
    ja = quantiles(jinlin.answered_ms)
    print(f"jinlin POST → 200 p99 = {ja[98]:.1f} ms   (WeCom retries after 5000 ms: {ja[98] / 5000:.4f} of it)")
    print(f"jinlin ÷ baseline, POST → reply: p50 {j[49] / b[49]:.2f}×   p99 {j[98] / b[98]:.2f}×")

    calls = len(tally.call_sizes)
    target = math.ceil(members / 1000)  # 1,000 members a call: 10 for 10,000
    to_last = tally.last_call - started
    to_report = tally.report - started
    print(f"broadcast: {members:,} members of 和谐社区 on WeCom; {made.total:,} messages written in one transaction "
          f"in {created * 1000:.0f} ms")
    print(f"message/send calls with the notice: {calls} (sizes {tally.call_sizes}); all message/send calls in the "
          f"run: {tally.sends}")
    print(f"delivered: {tally.delivered:,} members   lost: {members - tally.delivered}   "
          f"duplicates: {tally.duplicates}")
    print(f"time: {to_last:.2f} s to the last notice call ({tally.delivered / to_last:,.0f} members/s), "
          f"{to_report:.2f} s to the administrator's delivery report ({tally.delivered / to_report:,.0f} members/s)")
    verdict = "ok" if calls <= target else "ABOVE TARGET"
    print(f"notice calls ÷ target = {calls} ÷ {target} = {calls / target:.2f}   (target ≤ 1.00, i.e. ≤ {target} "
          f"calls for {members:,} members: {verdict})")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--senders", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=20, help=f"timed messages per sender (at most {MAX_ROUNDS})")
    parser.add_argument("--members", type=int, default=10_000)
    args = parser.parse_args()
    if not 1 <= args.rounds <= MAX_ROUNDS:
        parser.error(f"--rounds must be 1..{MAX_ROUNDS}: WeCom drops more than 30 messages a minute to a member")
    logging.basicConfig(level=logging.WARNING)
    await run(args.senders, args.rounds, args.members)


if __name__ == "__main__":
    asyncio.run(main())
