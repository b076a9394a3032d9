"""Broadcasts over Telegram: the real PTB Application against the fake Bot API server, on the sample street with
people seeded straight into the database. The outbox paces sends by the injected clock; a TickingClock (one second
further at every reading) lets it run at full speed without anyone sleeping."""

from __future__ import annotations

import io
import re
import time
from collections import Counter
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import telegram
from PIL import Image

from bot.clock import ManualClock
from bot.config import Settings
from bot.conversations.tokens import Token
from bot.delivery.outbox import OutboxWorker, Sent
from bot.domain.messages import Reply
from bot.domain.people import Account, Duty, Role
from bot.features.broadcasts import service
from bot.features.broadcasts import store as broadcasts
from bot.features.broadcasts.feature import FEATURE
from bot.features.broadcasts.service import Audience, BroadcastError
from bot.features.broadcasts.tokens import AUDIENCE, AudiencePick
from bot.handlers.console import ConsoleSender
from bot.handlers.telegram_send import TelegramSender
from bot.i18n import SUPPORTED, translate
from bot.services.grid_import import import_grid
from bot.services.people import grant_street_admin
from bot.storage import grid, outbox, people
from bot.storage.db import Database
from tests import harness
from tests.cli_harness import console_demo
from tests.fake_telegram import FakeTelegramServer, SentMessage
from tests.harness import SAMPLE, TOKEN, Chat, Member, TickingClock, running, seed_people, seed_street

ROOT = Path(__file__).resolve().parents[3]
SECRETARY, LEADER, ADMIN = 3301, 3401, 3900
HAPPY = (3101, 3102)  # residents of 幸福社区 (C01), in two of its complexes
HARMONY = 3201  # a resident of 和谐社区 (C02)
NOTICE = "📢 通知 · 幸福社区\n\n周六上午九点在社区广场大扫除，请大家参加。"
C01_BUILDINGS = ("C01-A-B1", "C01-A-B2", "C01-A-B3", "C01-B-B1", "C01-B-B2")
ALL_BUILDINGS = (*C01_BUILDINGS, "C02-A-B1", "C02-A-B2", "C02-B-B1", "C02-B-B2", "C02-B-B3")




@pytest.fixture
def clock() -> TickingClock:
    return TickingClock()


def fast(settings: Settings) -> Settings:
    """For big broadcasts, whose tests step the clock 50 ms per reading rather than a second (so that the author's
    status line, due every 2 s of the clock, is edited every dozen messages or so, not after nearly every one): the
    paid-broadcast rate of 1000 a second, whose 1 ms gap between sends is shorter than that step, so the outbox
    never waits for real."""
    return replace(settings, telegram_max_messages_per_second=1000.0)


class Street(harness.Street[int]):
    """The seeded database, reached through a second connection while Jinlin runs; Telegram user ids as keys."""

    admins = frozenset({("telegram", str(ADMIN))})

    async def residents(self, first_user: int, count: int, buildings: tuple[str, ...], now: datetime) -> list[int]:
        """`count` residents on Telegram accounts first_user, first_user + 1 …, spread over `buildings`."""
        users = list(range(first_user, first_user + count))
        async with self.db() as db, db.write() as tx:
            cast = [Member(user, f"居民{n}", home=buildings[n % len(buildings)], room=f"{n % 30 + 1}-101")
                    for n, user in enumerate(users)]
            await seed_people(tx, cast, now)
        return users

    async def outbox_counts(self, broadcast_id: int) -> dict[str, int]:
        rows = await self.query("SELECT status, COUNT(*) FROM outbox WHERE broadcast_id = ? GROUP BY status",
                                (broadcast_id,))
        return {row[0]: row[1] for row in rows}


@pytest.fixture
async def street(tmp_path: Path, clock: ManualClock) -> Street:
    cast = [Member(SECRETARY, "张书记", roles=((Role.COMMUNITY_SECRETARY, "C01"),), duties=((Duty.PUBLICITY, "C01"),)),
            Member(LEADER, "李师傅", roles=((Role.BUILDING_LEADER, "C01-A-B1"),)),
            Member(ADMIN, "街道", street_admin=True),
            Member(HAPPY[0], "王阿姨", home="C01-A-B1"), Member(HAPPY[1], "陈大爷", home="C01-B-B2"),
            Member(HARMONY, "刘姐", home="C02-A-B1")]
    path = tmp_path / "jinlin.db"
    return Street(path, *await seed_street(path, cast, clock.now()))


def status_messages(server: FakeTelegramServer, chat_id: int) -> list[SentMessage]:
    """The broadcast status lines (progress, then the report) shown in a chat."""
    return [m for m in server.messages_to(chat_id) if m.text and m.text.startswith("📢 群发")]


async def report(server: FakeTelegramServer, chat_id: int, timeout: float = 10.0) -> SentMessage:  # noqa: ASYNC109
    """Wait until the chat's status line has become the delivery report; that message."""

    def finished() -> SentMessage | None:
        return next((m for m in status_messages(server, chat_id) if "群发完成" in (m.text or "")), None)

    def describe() -> str:
        return f"no report in chat {chat_id}: {[m.text for m in status_messages(server, chat_id)]}"

    await server.wait_until(lambda: finished() is not None, timeout, describe)
    message = finished()
    assert message is not None
    return message


def numbers(text: str) -> dict[str, int]:
    """The figures of a delivery report."""
    found = {label: re.search(rf"{label}\D*([\d,]+)", text) for label in ("共", "已送达", "无法送达", "发送失败")}
    return {label: int(match.group(1).replace(",", "")) for label, match in found.items() if match}


async def to_the_text_prompt(chat: Chat, audience: str = "居民") -> None:
    """The wizard from the menu to where the text is asked for, as the community secretary goes through it."""
    chat.send("/start")
    await chat.expect("请选择")
    await chat.tap("📢 群发通知")
    scope = await chat.expect("📢 群发范围：幸福社区")
    assert [label for label, _ in chat.server.buttons(scope)] == ["✅ 发给幸福社区", "阳光花园", "翠竹苑", "✖ 取消"]
    await chat.tap("✅ 发给幸福社区")
    await chat.expect("发给幸福社区的哪些人？")
    await chat.tap(audience)
    await chat.expect("请输入通知内容（不超过 1000 字）")


async def test_a_secretary_broadcasts_to_their_communitys_residents(server: FakeTelegramServer, street: Street,
                                                                    clock: ManualClock) -> None:
    server.block(HAPPY[1])  # 陈大爷 blocked the bot long ago; Jinlin does not know yet
    async with running(street.settings(server), clock):
        secretary = Chat(server, SECRETARY)
        await to_the_text_prompt(secretary)
        secretary.send("x" * 1001)  # one character too many: asked again, kindly
        await secretary.expect("这段内容有 1001 字，超过了 1000 字")
        secretary.send("周六上午九点在社区广场大扫除，请大家参加。")
        await secretary.expect("要附一张照片吗？")
        await secretary.tap("不附照片")
        preview = await secretary.expect("预览：下面就是居民将收到的消息，共 2 人。")
        assert preview.text == f"预览：下面就是居民将收到的消息，共 2 人。\n\n{NOTICE}"
        assert server.buttons(preview)[0] == ("✅ 确认发送（2 人）", "bc:send")
        await secretary.tap("✅ 确认发送（2 人）")
        await secretary.expect("好的，正在发送给 2 人")

        done = await report(server, SECRETARY)
        assert [m.text for m in server.messages_to(HAPPY[0])] == [NOTICE]
        assert server.messages_to(HARMONY) == [] and server.messages_to(LEADER) == []  # other community; members
        assert numbers(done.text or "") == {"共": 2, "已送达": 1, "无法送达": 1, "发送失败": 0}
        assert done.text == ("📢 群发完成 · 幸福社区 · 居民\n共 2 人\n✅ 已送达 1\n"
                             "🚫 无法送达（已屏蔽机器人或账号已停用）1\n⚠️ 发送失败 0")

        # One status message, edited in place from "已发送 0 / 2" to the report.
        assert len(status_messages(server, SECRETARY)) == 1
        edits = [e for e in server.edits if e.chat_id == SECRETARY and e.message_id == done.message_id]
        assert edits and edits[-1].text == done.text
        first = next(c for c in server.calls_of("sendMessage")
                     if c.params.get("chat_id") == SECRETARY and str(c.params.get("text")).startswith("📢 群发"))
        assert first.params["text"] == "📢 群发中 · 幸福社区 · 居民\n已发送 0 / 2，失败 0"

    async with street.db() as db, db.read() as tx:  # the blocked account is known now: left out next time
        assert await service.count(tx, street.units["C01"], Audience.RESIDENTS) == 1


async def test_scope_tokens_beyond_ones_community_are_refused(server: FakeTelegramServer, street: Street,
                                                              clock: ManualClock) -> None:
    async with running(street.settings(server), clock):
        secretary = Chat(server, SECRETARY)
        secretary.send("/start")
        await secretary.expect("请选择")
        await secretary.tap("📢 群发通知")
        await secretary.expect("📢 群发范围：幸福社区")
        secretary.press(f"u:{street.units['C02']}")  # another community: refused, asked again
        await secretary.expect("抱歉，您没有这个权限。\n\n📢 群发范围：幸福社区\n")
        await secretary.tap("阳光花园")  # drilling down inside their community is fine
        await secretary.expect("📢 群发范围：幸福社区 · 阳光花园")
        secretary.press(f"u:{street.units['S01']}")  # the whole street, above them
        await secretary.expect("抱歉，您没有这个权限。\n\n📢 群发范围：幸福社区 · 阳光花园")
        await secretary.tap("⬆️ 上一级")
        await secretary.expect("📢 群发范围：幸福社区\n")
        secretary.press(f"u:{street.units['C02-A-B1']}")  # a building of the other community
        await secretary.expect("抱歉，您没有这个权限。\n\n📢 群发范围：幸福社区\n")
        await secretary.tap("✅ 发给幸福社区")
        await secretary.expect("发给幸福社区的哪些人？")

        resident = Chat(server, HAPPY[0])  # no role: the menu has no broadcast, and pressing it anyway is refused
        resident.send("/start")
        menu = await resident.expect("请选择")
        assert "📢 群发通知" not in [label for label, _ in server.buttons(menu)]
        resident.press("m:broadcast")
        await resident.expect("抱歉，您没有这个权限。")

    async with street.db() as db, db.write() as tx:  # the service checks the scope again on its own
        secretary_person = await people.by_id(tx, street.ids[SECRETARY])
        assert secretary_person is not None
        with pytest.raises(BroadcastError) as refused:
            await service.create(tx, secretary_person, False, channel="telegram", chat_id=str(SECRETARY),
                                 unit_id=street.units["C02"], audience=Audience.RESIDENTS, text="越权", photo="",
                                 now=clock.now())
        assert refused.value.key == "auth.denied"
        assert [unit.code for unit in await service.scopes_for(tx, secretary_person, False)] == ["C01"]
        assert [unit.code for unit in await service.scopes_for(tx, secretary_person, True)] == ["S01"]
        assert await tx.scalar("SELECT COUNT(*) FROM broadcasts") == 0


async def test_audiences_and_a_photo(server: FakeTelegramServer, street: Street, clock: ManualClock) -> None:
    async with running(street.settings(server), clock):
        secretary = Chat(server, SECRETARY)
        secretary.send("/start")
        await secretary.expect("请选择")
        await secretary.tap("📢 群发通知")
        await secretary.tap("阳光花园")
        await secretary.tap("✅ 发给阳光花园")
        await secretary.tap("居民和网格成员")
        await secretary.expect("请输入通知内容")
        server.push_photo(SECRETARY, caption="楼道堆物请在周五前清理。", data=_jpeg())
        preview = await secretary.expect("楼道堆物请在周五前清理。")
        assert preview.method == "sendPhoto"  # exactly what they will get: the photo, captioned
        assert preview.text == "📢 通知 · 幸福社区 · 阳光花园\n\n楼道堆物请在周五前清理。"
        await secretary.tap("✅ 确认发送（2 人）")  # 王阿姨 lives there, 李师傅 leads a building there
        await secretary.expect("正在发送给 2 人")
        done = await report(server, SECRETARY)
        assert numbers(done.text or "")["已送达"] == 2
        for user in (HAPPY[0], LEADER):
            (got,) = server.messages_to(user)
            assert got.method == "sendPhoto" and got.text == preview.text
        assert server.messages_to(HAPPY[1]) == [] and server.messages_to(HARMONY) == []

    async with street.db() as db, db.read() as tx:
        c01 = street.units["C01"]
        assert await service.count(tx, c01, Audience.MEMBERS) == 2  # secretary and leader, once each
        assert await service.count(tx, c01, Audience.ALL) == 4  # two residents and the two members
        assert await service.count(tx, street.units["C02"], Audience.ALL) == 1


async def test_two_thousand_residents_get_it_exactly_once(server: FakeTelegramServer, street: Street,
                                                          clock: TickingClock) -> None:
    users = await street.residents(100_000, 2000, ALL_BUILDINGS, clock.now())
    clock.step = 0.05
    async with running(fast(street.settings(server)), clock):
        admin = Chat(server, ADMIN)
        admin.send("/start")
        await admin.expect("请选择")
        await admin.tap("📢 群发通知")
        await admin.expect("📢 群发范围：近邻街道")
        await admin.tap("✅ 发给近邻街道")
        await admin.tap("居民")
        await admin.expect("请输入通知内容")
        admin.send("燃气安全检查本周进行，请留意入户时间。")
        await admin.tap("不附照片")
        await admin.expect("共 2,003 人")  # and the three seeded residents
        await admin.tap("✅ 确认发送（2,003 人）")
        await admin.expect("正在发送给 2,003 人")
        done = await report(server, ADMIN, timeout=60)

    text = "📢 通知 · 近邻街道\n\n燃气安全检查本周进行，请留意入户时间。"
    received = Counter(m.chat_id for m in server.sent if m.text == text)
    assert set(received) == {*users, *HAPPY, HARMONY}
    assert set(received.values()) == {1}
    assert numbers(done.text or "") == {"共": 2003, "已送达": 2003, "无法送达": 0, "发送失败": 0}
    (status,) = status_messages(server, ADMIN)
    progress = [e.text for e in server.edits if e.chat_id == ADMIN and e.message_id == status.message_id]
    assert len(progress) >= 3 and progress[-1] == done.text  # edited in place as it went
    assert any(re.fullmatch(r"📢 群发中 · 近邻街道 · 居民\n已发送 [\d,]+ / 2,003，失败 0", p or "") for p in progress)


async def test_a_restart_in_the_middle_loses_nothing(server: FakeTelegramServer, street: Street,
                                                     clock: TickingClock) -> None:
    clock.step = 0.05
    users = await street.residents(200_000, 300, C01_BUILDINGS, clock.now())
    expected = {*users, *HAPPY}
    async with street.db() as db, db.write() as tx:
        secretary = await people.by_id(tx, street.ids[SECRETARY])
        assert secretary is not None
        made = await service.create(tx, secretary, False, channel="telegram", chat_id=str(SECRETARY),
                                    unit_id=street.units["C01"], audience=Audience.RESIDENTS, text="停水通知",
                                    photo="", now=clock.now())
    assert made.total == len(expected)

    def delivered() -> Counter[int]:
        return Counter(m.chat_id for m in server.sent if m.text == "📢 通知 · 幸福社区\n\n停水通知")

    async with running(fast(street.settings(server)), clock):
        await server.wait_until(lambda: sum(delivered().values()) >= 100, 10, lambda: f"only {delivered().total()}")
    first_run = delivered()
    counts = await street.outbox_counts(made.id)
    assert counts.get("pending", 0) > 0 and "in_flight" not in counts  # a clean stop settles what it sent
    assert counts["sent"] == first_run.total()

    # A crash, not a clean stop, leaves rows in flight: say the last three sends had reached Telegram but were not
    # recorded. They are the only messages that may go out twice.
    async with street.db() as db, db.write() as tx:
        crashed = await tx.execute(
            "UPDATE outbox SET status = 'in_flight', sent_at = NULL WHERE id IN (SELECT id FROM outbox "
            "WHERE broadcast_id = ? AND status = 'sent' ORDER BY id DESC LIMIT 3)", (made.id,))
    assert crashed == 3

    async with running(fast(street.settings(server)), clock):
        done = await report(server, SECRETARY)
    received = delivered()
    assert set(received) == expected  # nothing lost
    assert sum(received.values()) - len(expected) == 3  # and only those three twice
    assert await street.outbox_counts(made.id) == {"sent": len(expected)}
    assert numbers(done.text or "") == {"共": 302, "已送达": 302, "无法送达": 0, "发送失败": 0}
    assert len(status_messages(server, SECRETARY)) == 1  # the same status message went on after the restart


async def test_ten_thousand_messages_are_written_in_one_quick_transaction(db: Database, clock: ManualClock) -> None:
    await import_grid(db, SAMPLE)
    async with db.write() as tx:
        units = {unit.code: unit.id for unit, _ in await grid.all_units(tx)}
        admin = await people.create(tx, Account("telegram", "1", "1"), display_name="街道", locale="zh_CN",
                                    now=clock.now())
        await grant_street_admin(tx, admin)
        await tx.executemany(
            "INSERT INTO people (id, display_name, locale, building_id, consent_at, created_at) "
            "VALUES (?, '', ?, ?, '', '')",
            [(10 + n, "en" if n % 10 == 0 else "zh_CN", units[ALL_BUILDINGS[n % 10]]) for n in range(10_000)])
        await tx.executemany("INSERT INTO channel_accounts (channel, user_id, chat_id, person_id) VALUES (?, ?, ?, ?)",
                             [("telegram", str(10 + n), str(10 + n), 10 + n) for n in range(10_000)])
    async with db.write() as tx:
        person = await people.by_id(tx, admin)
        assert person is not None
        started = time.perf_counter()
        made = await service.create(tx, person, False, channel="telegram", chat_id="1", unit_id=units["S01"],
                                    audience=Audience.RESIDENTS, text="全街道通知", photo="", now=clock.now())
        elapsed = time.perf_counter() - started
    assert made.total == 10_000
    assert elapsed < 2.0, f"writing 10,000 messages took {elapsed:.2f} s"
    async with db.read() as tx:
        progress = await service.progress(tx, made.id)
        english = await tx.scalar("SELECT COUNT(*) FROM outbox WHERE broadcast_id = ? AND payload LIKE ?",
                                  (made.id, "%Notice%"))
        keys = await tx.scalar("SELECT COUNT(*) FROM outbox WHERE idempotency_key LIKE ?",
                               (f"broadcast:{made.id}:telegram:%",))
    assert progress == broadcasts.Progress(10_000, 0, 0, 0, 10_000)
    assert english == 1000  # each recipient in their own language
    assert keys == 10_000


async def test_slot_replies_replace_the_message_their_slot_left(db: Database, clock: ManualClock) -> None:
    """The worker hands a sender the reference the previous row of the same slot in the same chat left."""

    class Recorder:
        channel = "telegram"
        limits = ConsoleSender.limits

        def __init__(self) -> None:
            self.calls: list[tuple[str, str, str]] = []

        async def send(self, chat_id: str, reply: Reply, replace: str = "") -> Sent:
            self.calls.append((chat_id, reply.text, replace))
            return Sent(f"m{len(self.calls)}")

    sender = Recorder()
    worker = OutboxWorker(db, clock, {"telegram": sender})

    async def enqueue(*rows: tuple[str, str, Reply]) -> None:
        async with db.write() as tx:
            for key, chat, reply in rows:
                await outbox.enqueue(tx, key=key, channel="telegram", chat_id=chat, reply=reply, now=clock.now())

    await enqueue(("0", "1", Reply("a", slot="s")))
    await worker.run_once()
    # "c" is still waiting when "e" of the same slot comes: "e" takes its place, and "c" is never sent
    await enqueue(("1", "1", Reply("plain")), ("2", "2", Reply("b", slot="s")), ("3", "1", Reply("c", slot="s")),
                  ("4", "1", Reply("d", slot="t")), ("5", "1", Reply("e", slot="s")))
    await enqueue(("5", "1", Reply("e again, same key", slot="s")))  # nothing: the key is known
    for _ in range(5):
        clock.advance(5)
        await worker.run_once()
    refs = {text: f"m{n}" for n, (_, text, _) in enumerate(sender.calls, start=1)}
    assert [(text, replace) for chat, text, replace in sender.calls if chat == "1"] == [
        ("a", ""), ("plain", ""), ("e", refs["a"]), ("d", "")]
    assert [(text, replace) for chat, text, replace in sender.calls if chat == "2"] == [("b", "")]


async def test_telegram_sender_edits_in_place_and_uploads_a_photo_once(server: FakeTelegramServer,
                                                                       tmp_path: Path) -> None:
    photo = tmp_path / "notice.jpg"
    photo.write_bytes(_jpeg())
    bot = telegram.Bot(TOKEN, base_url=server.base_url, base_file_url=server.base_file_url)
    async with bot:
        sender = TelegramSender(bot, 30)
        first = await sender.send("501", Reply("已发送 0 / 2"))
        assert isinstance(first, Sent) and first.ref
        assert await sender.send("501", Reply("已发送 1 / 2"), replace=first.ref) == first
        assert await sender.send("501", Reply("已发送 1 / 2"), replace=first.ref) == first  # unchanged: fine
        assert [m.text for m in server.messages_to(501)] == ["已发送 1 / 2"]
        gone = await sender.send("501", Reply("群发完成"), replace="99999")  # cannot be edited: a new message
        assert isinstance(gone, Sent) and gone.ref not in ("", first.ref, "99999")
        assert [m.text for m in server.messages_to(501)] == ["已发送 1 / 2", "群发完成"]

        for chat in ("601", "602", "603"):
            assert isinstance(await sender.send(chat, Reply("通知", photo=str(photo))), Sent)
        assert len(server.uploads) == 1  # the first upload's file id served the others
        assert all(server.messages_to(chat)[0].method == "sendPhoto" for chat in (601, 602, 603))


async def test_the_console_admin_broadcasts_and_sees_progress(tmp_path: Path) -> None:
    async with console_demo(tmp_path) as terminal:
        await terminal.expect("同意吗？")
        for line, answer in (("/as admin", "请选择"), ("📢 群发通知", "📢 群发范围：近邻街道"),
                             ("幸福社区", "📢 群发范围：幸福社区"), ("✅ 发给幸福社区", "发给幸福社区的哪些人？"),
                             ("网格成员", "请输入通知内容"), ("今晚七点网格员例会", "要附一张照片吗？"),
                             ("不附照片", "预览：下面就是网格成员将收到的消息，共 6 人。")):
            await terminal.type(line)
            await terminal.expect(answer)
        await terminal.type("1")
        await terminal.expect("好的，正在发送给 6 人")
        await terminal.expect("📢 群发中 · 幸福社区 · 网格成员\n已发送 0 / 6，失败 0")
        shown = await terminal.expect("📢 群发完成 · 幸福社区 · 网格成员\n共 6 人\n✅ 已送达 6")
        assert shown.count("📢 通知 · 幸福社区\n\n今晚七点网格员例会") == 6
        await terminal.type("/quit")
        assert await terminal.process.wait() == 0


@pytest.mark.parametrize("locale", SUPPORTED)
def test_refusals_are_in_the_catalogs(locale: str) -> None:
    """tests/core/test_i18n.py does not look inside BroadcastError(...): the keys its refusals name exist too."""
    source = (ROOT / "bot" / "features" / "broadcasts" / "service.py").read_text(encoding="utf-8")
    keys = set(re.findall(r'BroadcastError\("([a-z_.]+)"', source))
    assert keys == {"auth.denied", "broadcast.need_text", "broadcast.too_long", "broadcast.nobody_sent"}
    assert all(translate(locale, key) != key for key in keys)


@pytest.mark.parametrize("codec", FEATURE.tokens, ids=lambda codec: codec.prefix)
def test_token_codecs_round_trip_and_refuse_garbage(codec: Token[Any]) -> None:
    for value in codec.samples():
        assert codec.parse(codec.make(value)) == value
    for garbage in ("", codec.prefix, f"{codec.prefix}:", f"{codec.prefix}:all:x", f"{codec.prefix}:01",
                    f"{codec.prefix}:-1", "u:12", "audx:all"):
        assert codec.parse(garbage) is None


def test_audience_buttons_keep_their_tokens() -> None:
    assert AUDIENCE.make(AudiencePick(Audience.RESIDENTS)) == "aud:residents"
    assert AUDIENCE.parse("aud:all") == AudiencePick(Audience.ALL)
    assert AUDIENCE.parse("aud:everyone") is None


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), "orange").save(buffer, "JPEG")
    return buffer.getvalue()
