"""The transactional inbox in one process: what a channel acknowledges is stored first, malformed webhook bodies
are refused with 400, and replies refused with 429 wait retry_after and are delivered."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.clock import ManualClock
from bot.conversations.engine import Engine
from bot.delivery.inbox import FLOOD_BURST, FLOOD_RATE
from bot.domain.messages import Reply, Sender, text_inbound
from bot.features.catalog import all_flows
from bot.scheduler import SEEN_EVENTS_KEPT
from bot.storage import inbox
from bot.storage.db import Database
from bot.storage.inbox import Arrival
from tests.fake_telegram import FakeTelegramServer
from tests.fake_wecom import FakeWeComServer
from tests.harness import Chat, TickingClock, query, running, settings_for
from tests.wecom_harness import AGENT_ID, CORP_ID, SECRET, WeComLink, WeComPerson, wecom_settings

HOOK = "https://bot.example/telegram/hook"
WEBHOOK_SECRET = "s3cret-_"


@pytest.fixture
def ticking() -> TickingClock:
    return TickingClock()


@pytest.fixture
async def wecom(ticking: TickingClock) -> AsyncIterator[FakeWeComServer]:
    async with FakeWeComServer(corp_id=CORP_ID, secret=SECRET, agent_id=AGENT_ID, clock=ticking) as server:
        yield server


async def test_malformed_webhook_bodies_get_400_and_the_next_update_works(server: FakeTelegramServer, tmp_path: Path,
                                                                          clock: ManualClock) -> None:
    settings = settings_for(server, tmp_path / "jinlin.db", telegram_webhook_url=HOOK,
                            telegram_webhook_secret=WEBHOOK_SECRET)
    bodies = {"a list": b"[1,2,3]", "a string": b'"x"', "null": b"null", "a number": b"42",
              "deep nesting": b"[" * 10_000 + b"]" * 10_000, "deep object": b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
              "not UTF-8": b'{"update_id": 1, "\xff\xfe": 1}', "not JSON": b"{update_id: 1", "empty": b"",
              "no update_id": b'{"message": {"text": "hi"}}', "a message that is no object": b'{"update_id": 5, '
              b'"message": 7}'}
    async with running(settings, clock) as service, aiohttp.ClientSession() as http:
        url = f"http://127.0.0.1:{service.http.port}/telegram/hook"
        headers = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET, "Content-Type": "application/json"}
        answers = {}
        for name, body in bodies.items():
            async with http.post(url, data=body, headers=headers) as response:
                answers[name] = response.status
        assert answers == dict.fromkeys(bodies, 400)
        update = {"update_id": 90, **server.text_update(3101, "/start")}
        async with http.post(url, json=update, headers=headers) as response:
            assert response.status == 200
        await Chat(server, 3101).expect("同意吗？")
    assert await query(tmp_path / "jinlin.db", "SELECT event_id, status FROM inbox") == [("telegram:90", "done")]


async def test_a_hundred_replies_under_a_429_flood_are_all_delivered(server: FakeTelegramServer, tmp_path: Path,
                                                                     ticking: TickingClock,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    users = list(range(4001, 4101))
    server.enforce_limits(per_second=20, per_chat_interval=0, retry_after=1)  # far fewer than a hundred at once
    for user in users:
        server.push_text(user, "/start")
    with caplog.at_level(logging.INFO):
        async with running(settings_for(server, tmp_path / "jinlin.db"), ticking):
            await server.wait_until(lambda: all(server.messages_to(user) for user in users), 60,
                                    lambda: f"{sum(not server.messages_to(u) for u in users)} replies missing")
            await asyncio.sleep(0)
    assert server.too_many > 0  # the flood was refused at first …
    assert {user: len(server.messages_to(user)) for user in users} == dict.fromkeys(users, 1)  # … then all went, once
    troubles = [record.getMessage() for record in caplog.records if record.exc_info or record.levelno >= logging.ERROR]
    assert troubles == []


async def test_one_person_flooding_is_told_once_paced_and_fully_answered(server: FakeTelegramServer, tmp_path: Path,
                                                                         clock: ManualClock) -> None:
    flooder, neighbour = 4201, 4202
    for _ in range(40):
        server.push_text(flooder, "/start")
    server.push_text(neighbour, "/start")
    began = clock.now()
    async with running(settings_for(server, tmp_path / "jinlin.db"), clock):
        await server.wait_until(lambda: len(server.messages_to(flooder)) == 41 and server.messages_to(neighbour), 60,
                                lambda: f"{len(server.messages_to(flooder))} messages to the flooder")
    told = [m for m in server.messages_to(flooder) if "按顺序" in (m.text or "")]
    assert len(told) == 1  # told once …
    assert len(server.messages_to(flooder)) - len(told) == 40  # … and every message answered
    assert len(server.messages_to(neighbour)) == 1
    assert server.messages_to(neighbour)[0].at < server.messages_to(flooder)[-1].at  # not held up behind the flood
    assert (clock.now() - began).total_seconds() >= (40 - FLOOD_BURST) / FLOOD_RATE  # paced beyond the burst
    assert await query(tmp_path / "jinlin.db", "SELECT DISTINCT status FROM inbox") == [("done",)]


async def test_a_wecom_callback_is_stored_before_its_200_and_a_redelivery_is_acted_on_once(
        wecom: FakeWeComServer, tmp_path: Path, ticking: TickingClock) -> None:
    db = tmp_path / "jinlin.db"
    async with running(wecom_settings(wecom, db), ticking) as service, WeComLink(wecom, service, ticking) as link:
        person = WeComPerson(link, "qianlaoshi")
        message = person.text_xml("你好")
        for _ in range(3):  # WeCom delivers again (a new nonce, the same MsgId) when the answer is late
            assert await link.post_raw(*link.request(message)) == (200, "")
            stored = await query(db, "SELECT channel, user_id FROM inbox")
            assert stored == [("wecom", "qianlaoshi")]  # already there when the 200 came
        await person.expect("同意吗？")
    assert len(person.screen()) == 1
    assert await query(db, "SELECT status FROM inbox") == [("done",)]


async def test_an_event_handled_before_writes_and_sends_nothing(db: Database, clock: ManualClock) -> None:
    engine = Engine(db, clock, all_flows())
    sender = Sender("telegram", "3201", "3201", "钱老师", "zh-hans")
    async with db.write() as tx:
        await inbox.add_all(tx, [Arrival(text_inbound(sender, "/start", "telegram:1"))] * 2, clock.now())
        entry = await inbox.next_for(tx, "telegram", "3201")
    assert entry is not None
    first = await engine.handle_stored(entry, entry.inbound)
    assert [item.chat_id for item in first] == ["3201"]  # the welcome, claimed for an immediate send
    assert await engine.handle_stored(entry, entry.inbound) == []  # e.g. the worker ran it again after a crash
    assert await engine.answer_stored(entry, [Reply("again")]) == []
    async with db.read() as tx:
        replies = [tuple(row) for row in await tx.all("SELECT idempotency_key, status FROM outbox")]
        events = [tuple(row) for row in await tx.all("SELECT event_id, status FROM inbox")]
    assert replies == [("reply:telegram:1:0", "in_flight")]
    assert events == [("telegram:1", "done")]


async def test_handled_events_are_forgotten_after_the_dedupe_window(db: Database, clock: ManualClock) -> None:
    sender = Sender("wecom", "qian", "qian")
    async with db.write() as tx:
        await inbox.add_all(tx, [Arrival(text_inbound(sender, "你好", f"wecom:{n}")) for n in (1, 2)], clock.now())
        first = await inbox.next_for(tx, "wecom", "qian")
        assert first is not None and await inbox.mark_done(tx, first.id)
    clock.advance(8 * 24 * 3600)
    async with db.write() as tx:
        assert await inbox.forget_done_before(tx, clock.now() - SEEN_EVENTS_KEPT) == 1
        left = await inbox.next_for(tx, "wecom", "qian")
    assert left is not None and left.inbound.event_id == "wecom:2"  # a pending event is never forgotten
