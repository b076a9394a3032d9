"""The outbox worker driving the real PTB `telegram.Bot` against the fake Bot API server."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import telegram

from bot.clock import ManualClock
from bot.delivery.outbox import OutboxWorker
from bot.domain.messages import Button, Reply
from bot.domain.people import Account
from bot.features.broadcasts import store as broadcasts
from bot.features.broadcasts.service import Audience
from bot.handlers.telegram_send import TelegramSender, chat_interval, send_reply
from bot.handlers.wecom_api import WeComApi
from bot.handlers.wecom_send import WeComSender
from bot.services.grid_import import import_grid
from bot.storage import grid, outbox, people
from bot.storage.db import Database
from bot.storage.outbox import Outgoing
from tests.fake_telegram import FakeTelegramServer
from tests.fake_wecom import FakeWeComServer
from tests.harness import SAMPLE

PRIVATE = 1001
GROUP = -1001234567890


@pytest.fixture
async def bot(server: FakeTelegramServer) -> AsyncIterator[telegram.Bot]:
    tg_bot = telegram.Bot(token="123:ABC", base_url=server.base_url, base_file_url=server.base_file_url)
    await tg_bot.initialize()
    yield tg_bot
    await tg_bot.shutdown()


@pytest.fixture
def worker(db: Database, clock: ManualClock, bot: telegram.Bot) -> OutboxWorker:
    return OutboxWorker(db, clock, {"telegram": TelegramSender(bot, max_per_second=30)})


async def enqueue(db: Database, clock: ManualClock, chat_id: int, reply: Reply, key: str) -> None:
    async with db.write() as tx:
        await outbox.enqueue(tx, key=key, channel="telegram", chat_id=str(chat_id), reply=reply, now=clock.now())


async def statuses(db: Database) -> list[tuple[str, int]]:
    async with db.read() as tx:
        return [(r["status"], r["attempts"]) for r in await tx.all("SELECT status, attempts FROM outbox ORDER BY id")]


async def test_buttons_arrive_with_their_tokens_as_callback_data(
        db: Database, clock: ManualClock, server: FakeTelegramServer, worker: OutboxWorker) -> None:
    reply = Reply("Report received. Anything else?",
                  buttons=((Button("Yes", "more:1"), Button("No", "more:0")), (Button("Back", "menu"),)))
    await enqueue(db, clock, PRIVATE, reply, key="r1")

    assert await worker.run_once() == 1

    [message] = await server.wait_for_sent(1, chat_id=PRIVATE)
    assert (message.method, message.text) == ("sendMessage", "Report received. Anything else?")
    assert message.reply_markup == {"inline_keyboard": [
        [{"text": "Yes", "callback_data": "more:1"}, {"text": "No", "callback_data": "more:0"}],
        [{"text": "Back", "callback_data": "menu"}]]}
    [call] = server.calls_of("sendMessage")
    assert call.params["link_preview_options"] == {"is_disabled": True}
    assert "parse_mode" not in call.params
    assert await statuses(db) == [("sent", 1)]


async def test_photos_are_uploaded_from_a_path_or_reused_by_file_id(
        tmp_path: Path, server: FakeTelegramServer, bot: telegram.Bot) -> None:
    poster = tmp_path / "poster.jpg"
    poster.write_bytes(b"\xff\xd8\xff\xe0poster\xff\xd9")

    first = await send_reply(bot, PRIVATE, Reply("Notice <b>1</b>", photo=str(poster)))
    file_id = first.photo[-1].file_id
    await send_reply(bot, PRIVATE, Reply("", photo=file_id))

    uploaded, reused = server.sent
    assert (uploaded.method, uploaded.text, uploaded.parse_mode) == ("sendPhoto", "Notice <b>1</b>", None)
    assert uploaded.file is not None
    assert (uploaded.file.filename, uploaded.file.data) == ("poster.jpg", b"\xff\xd8\xff\xe0poster\xff\xd9")
    assert (reused.file, reused.file_id, reused.text) == (None, file_id, None)


async def test_a_429_pauses_sending_until_retry_after_has_passed(
        db: Database, clock: ManualClock, server: FakeTelegramServer, worker: OutboxWorker) -> None:
    server.fail_next("sendMessage", status=429, retry_after=3)
    await enqueue(db, clock, PRIVATE, Reply("hello"), key="r1")
    await enqueue(db, clock, PRIVATE + 1, Reply("hello too"), key="r2")

    assert await worker.run_once() == 0
    clock.advance(2.9)
    assert await worker.run_once() == 0
    assert len(server.calls_of("sendMessage")) == 1
    clock.advance(0.1)
    assert await worker.run_once() + await _after_slot(worker, clock) == 2

    # the chat that was not throttled has waited longer, so it goes first
    assert [(m.chat_id, m.text) for m in server.sent] == [(PRIVATE + 1, "hello too"), (PRIVATE, "hello")]
    assert [c.status for c in server.calls_of("sendMessage")] == [429, 200, 200]
    assert await statuses(db) == [("sent", 1), ("sent", 1)]


async def test_telegram_rows_that_cannot_go_yet_never_keep_a_wecom_batch_waiting(
        db: Database, clock: ManualClock, server: FakeTelegramServer, bot: telegram.Bot) -> None:
    """More Telegram pushes are due than a pass reads, and they come first in the queue; at 30 a second only one
    may go now. WeCom's broadcast batch, queued behind them, still goes out in the same pass, in one call."""
    await import_grid(db, SAMPLE)
    async with db.write() as tx:
        street = next(unit.id for unit, _ in await grid.all_units(tx) if unit.code == "S01")
        author = await people.create(tx, Account("wecom", "author", "author"), display_name="街道", locale="zh_CN",
                                     now=clock.now())
        await outbox.enqueue_all(tx, [Outgoing(f"t{n}", "telegram", str(5000 + n), Reply(f"push {n}"))
                                      for n in range(1300)], now=clock.now())
        members = [f"member{n}" for n in range(5)]
        notice = await broadcasts.insert(tx, created_by=author, channel="wecom", chat_id="author", unit_id=street,
                                         audience=Audience.ALL, text="停水通知", photo="", total=len(members),
                                         now=clock.now())
        await outbox.enqueue_all(tx, [Outgoing(f"b{m}", "wecom", m, Reply("停水通知")) for m in members],
                                 now=clock.now(), broadcast_id=notice)
    async with FakeWeComServer() as fake:
        api = WeComApi(fake.corp_id, fake.secret, 1000002, base_url=fake.base_url, timeout=5)
        try:
            worker = OutboxWorker(db, clock, {"telegram": TelegramSender(bot, max_per_second=30),
                                              "wecom": WeComSender(api, clock)})
            assert await worker.run_once() == 1 + len(members)
        finally:
            await api.close()
        assert [call.users for call in fake.sends] == [members]
    assert len(server.calls_of("sendMessage")) == 1


async def test_a_server_error_is_retried(db: Database, clock: ManualClock, server: FakeTelegramServer,
                                         worker: OutboxWorker) -> None:
    server.fail_next("sendMessage", status=500)
    await enqueue(db, clock, PRIVATE, Reply("hello"), key="r1")

    assert await worker.run_once() == 0
    assert await statuses(db) == [("pending", 1)]
    clock.advance(2)
    assert await worker.run_once() == 1

    assert [c.status for c in server.calls_of("sendMessage")] == [500, 200]
    assert [m.text for m in server.sent] == ["hello"]
    assert await statuses(db) == [("sent", 2)]


async def test_a_blocked_user_is_marked_unreachable_and_not_retried(
        db: Database, clock: ManualClock, server: FakeTelegramServer, worker: OutboxWorker) -> None:
    async with db.write() as tx:
        person_id = await people.create(tx, Account("telegram", str(PRIVATE), str(PRIVATE)), display_name="A",
                                        locale="zh_CN", now=clock.now())
    server.block(PRIVATE)
    await enqueue(db, clock, PRIVATE, Reply("one"), key="r1")
    await enqueue(db, clock, PRIVATE, Reply("two"), key="r2")

    assert await worker.run_once() == 2
    clock.advance(3600)
    assert await worker.run_once() == 0

    assert [c.status for c in server.calls_of("sendMessage")] == [403]
    assert await statuses(db) == [("unreachable", 1), ("unreachable", 0)]
    async with db.read() as tx:
        assert await people.accounts_of(tx, person_id) == []


@pytest.mark.parametrize(("description", "status"), [
    ("Bad Request: chat not found", "unreachable"),
    ("Bad Request: message is too long", "failed"),
])
async def test_bad_requests_are_not_retried(db: Database, clock: ManualClock, server: FakeTelegramServer,
                                            worker: OutboxWorker, description: str, status: str) -> None:
    server.fail_next("sendMessage", status=400, description=description)
    await enqueue(db, clock, PRIVATE, Reply("hello"), key="r1")

    assert await worker.run_once() == 1
    clock.advance(3600)
    assert await worker.run_once() == 0

    assert len(server.calls_of("sendMessage")) == 1
    assert await statuses(db) == [(status, 1)]


async def test_a_rejected_token_is_logged_and_retried(
        db: Database, clock: ManualClock, server: FakeTelegramServer, worker: OutboxWorker,
        caplog: pytest.LogCaptureFixture) -> None:
    server.fail_next("sendMessage", status=401)
    await enqueue(db, clock, PRIVATE, Reply("hello"), key="r1")

    with caplog.at_level(logging.ERROR, logger="bot.handlers.telegram_send"):
        assert await worker.run_once() == 0
    clock.advance(2)
    assert await worker.run_once() == 1

    assert [r.levelname for r in caplog.records if r.name == "bot.handlers.telegram_send"] == ["ERROR"]
    assert await statuses(db) == [("sent", 2)]


async def test_group_chats_get_a_message_every_three_seconds(
        db: Database, clock: ManualClock, server: FakeTelegramServer, worker: OutboxWorker) -> None:
    assert (chat_interval(str(PRIVATE)), chat_interval(str(GROUP))) == (1.0, 3.0)
    await enqueue(db, clock, GROUP, Reply("one"), key="r1")
    await enqueue(db, clock, GROUP, Reply("two"), key="r2")

    assert await worker.run_once() == 1
    clock.advance(2.9)
    assert await worker.run_once() == 0
    clock.advance(0.1)
    assert await worker.run_once() == 1

    assert [(m.chat_id, m.text) for m in server.sent] == [(GROUP, "one"), (GROUP, "two")]


async def _after_slot(worker: OutboxWorker, clock: ManualClock) -> int:
    """Move the clock to the next overall rate slot and run a pass."""
    at = worker.next_pass_at
    assert at is not None
    clock.advance((at - clock.now()).total_seconds())
    return await worker.run_once()


def test_loading_the_telegram_adapter_opts_ptb_into_timedelta_durations() -> None:
    """In a process whose environment lacks PTB_TIMEDELTA, with warnings as errors: once the adapter is loaded, PTB
    gives RetryAfter's wait as a timedelta, without the deprecation warning an int would raise."""
    script = ("import bot.handlers.telegram_send; from telegram.error import RetryAfter; "
              "print(repr(RetryAfter(3).retry_after))")
    environ = {name: value for name, value in os.environ.items() if name != "PTB_TIMEDELTA"}
    result = subprocess.run([sys.executable, "-W", "error", "-c", script], env=environ, capture_output=True,
                            text=True, timeout=60, check=False)
    assert (result.stdout.strip(), result.returncode) == ("datetime.timedelta(seconds=3)", 0), result.stderr
