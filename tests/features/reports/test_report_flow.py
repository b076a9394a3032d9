"""Reporting and following up over Telegram: the real PTB Application against the fake Bot API server.

Residents use the chat; the grid member's side is driven through the services on a second database handle (their
chat flows are written elsewhere), and pushes arrive through the outbox.
"""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from PIL import Image

from bot.app import Service
from bot.clock import ManualClock
from bot.config import Settings
from bot.conversations.tokens import Ref
from bot.domain.people import Person, Role
from bot.features.reports import service as issues
from bot.features.reports import store as issue_store
from bot.features.reports.feature import FEATURE
from bot.features.reports.tokens import FIXED, STARS, STAYED, VIEW, Answer, Stars
from bot.storage import people
from bot.storage.db import Tx
from tests.fake_telegram import FakeTelegramServer, SentMessage
from tests.harness import Chat, Member, query, running, second_connection, seed_street, settings_for

LEADER = 2001  # building leader of 幸福社区 · 阳光花园 · 1号楼 (C01-A-B1)
WANG = 1001  # lives in C01-A-B1, room 301
ZHAO = 1002  # lives in C01-A-B1, room 502
NOHOME = 1003  # joined without a home
REF = re.compile(r"JL-\d{8}-\d{4}")


def test_every_token_codec_reads_back_what_it_makes_and_nothing_else() -> None:
    assert FEATURE.tokens
    for codec in FEATURE.tokens:
        for value in codec.samples():
            assert codec.parse(codec.make(value)) == value, value
        made = codec.make(next(iter(codec.samples())))
        fields = made.removeprefix(codec.prefix + ":").split(":")
        garbage = [":".join([codec.prefix, *fields[:-1]]), f"{made}:1", f"{codec.prefix}:01", f"{codec.prefix}:-1",
                   "x" + made, made.replace(codec.prefix, "zz", 1), "", codec.prefix]
        for forged in garbage:
            assert codec.parse(forged) is None, (codec.prefix, forged)
    assert VIEW.make(Ref(12)) == "r:view:12"
    assert FIXED.make(Answer(12, True)) == "r:fix:12:y" and STAYED.make(Answer(3, False)) == "r:re:3:n"
    assert STARS.make(Stars(5)) == "s:5" and STARS.parse("s:0") is None and STARS.parse("s:6") is None


@pytest.fixture
async def db_path(tmp_path: Path, clock: ManualClock) -> Path:
    path = tmp_path / "jinlin.db"
    cast = [Member(LEADER, "李师傅", roles=((Role.BUILDING_LEADER, "C01-A-B1"),)),
            Member(WANG, "王阿姨", home="C01-A-B1", room="301"), Member(ZHAO, "赵大爷", home="C01-A-B1", room="502"),
            Member(NOHOME, "孙姐")]
    await seed_street(path, cast, clock.now())
    return path


def settings(server: FakeTelegramServer, db_path: Path) -> Settings:
    return settings_for(server, db_path, media_dir=str(db_path.parent / "media"))


def jpeg(colour: str = "red") -> bytes:
    """A tiny real photo (the fake server's placeholder bytes are refused as "not an image")."""
    out = io.BytesIO()
    Image.new("RGB", (8, 6), colour).save(out, "JPEG")
    return out.getvalue()


@asynccontextmanager
async def member_side(service: Service, db_path: Path) -> AsyncIterator[tuple[Tx, Person]]:
    """The building leader acting through the services in one transaction; the outbox is woken afterwards."""
    async with second_connection(db_path) as db, db.write() as tx:
        leader = await people.person_for(tx, "telegram", str(LEADER))
        assert leader is not None
        yield tx, leader
    assert service.core.outbox is not None
    service.core.outbox.wake()


def later(service: Service, clock: ManualClock) -> None:
    """Let time pass, so that the outbox's rate limits (one message per instant, one a second per chat) allow
    the next push, and have the outbox look again."""
    clock.advance(2)
    assert service.core.outbox is not None
    service.core.outbox.wake()


def labels(server: FakeTelegramServer, message: SentMessage) -> list[str]:
    return [label for label, _ in server.buttons(message)]


async def test_a_reporter_who_is_forgotten_takes_their_photos_along(server: FakeTelegramServer, db_path: Path,
                                                                      clock: ManualClock) -> None:
    media = db_path.parent / "media"
    async with running(settings(server, db_path), clock):
        chat = await at_menu(server, WANG)
        await describe(chat, "楼道顶上渗水")
        await chat.expect("已收到 0 张")
        server.push_photo(WANG, data=jpeg("blue"))
        await chat.expect("已收到 1 张")
        await chat.tap("✅ 发完了")
        await chat.tap("✅ 提交")
        ref = ref_in(await chat.expect("编号：JL-"))
        await Chat(server, LEADER).expect(ref)  # the task went out with the photo
        assert len(list(media.iterdir())) == 1
        await chat.tap("🗑 删除我的信息")  # on the menu that follows the reference number
        await chat.expect("确定要删除您在近邻的信息吗？")
        await chat.tap("确定删除")
        await chat.expect("已删除您的信息")
        await server.wait_until(lambda: not list(media.iterdir()), 5, lambda: "the photo file is still there")
    assert await query(db_path, "SELECT ref, reporter_id, description FROM issues") == [(ref, None, "楼道顶上渗水")]
    assert await query(db_path, "SELECT COUNT(*) FROM issue_photos") == [(0,)]
    assert await query(db_path, "SELECT COUNT(*) FROM media_trash") == [(0,)]


async def at_menu(server: FakeTelegramServer, user: int) -> Chat:
    chat = Chat(server, user)
    chat.send("/start")
    await chat.expect("请选择要办的事")
    return chat


async def start_report(chat: Chat, category: str = "🏠 屋顶漏水") -> None:
    """From the main menu: start a report in `category`, up to the question what it is about."""
    await chat.tap("📣 我要反映")
    await chat.tap(category)
    await chat.expect("请说说是什么情况")


async def describe(chat: Chat, text: str, category: str = "🏠 屋顶漏水") -> None:
    """From the main menu: start a report in `category` and describe it (the photo step comes next)."""
    await start_report(chat, category)
    chat.send(text)


async def report(chat: Chat, text: str, category: str = "🏠 屋顶漏水") -> str:
    """File a report the shortest way from the main menu; returns its reference."""
    await describe(chat, text, category)
    await chat.tap("跳过")
    await chat.tap("✅ 提交")
    return ref_in(await chat.expect("编号：JL-"))


def ref_in(message: SentMessage) -> str:
    found = REF.search(message.text or "")
    assert found is not None, message.text
    return found.group()


async def test_a_new_resident_reports_a_leak_in_four_taps(server: FakeTelegramServer, db_path: Path,
                                                          clock: ManualClock) -> None:
    async with running(settings(server, db_path), clock):
        chat = Chat(server, 1010, first_name="钱奶奶")
        chat.send("/start C01-A-B1")
        await chat.tap("✅ 同意")
        await chat.tap("跳过")
        await chat.expect("请选择要办的事")
        taps = len(server.calls_of("answerCallbackQuery"))
        await chat.tap("📣 我要反映")
        kinds = await chat.expect("您要反映哪方面的事")
        assert labels(server, kinds)[:3] == ["🏠 屋顶漏水", "🚗 停车", "🧹 环境卫生"]
        assert labels(server, kinds)[-1] == "✖ 取消"
        await chat.tap("🏠 屋顶漏水")
        await chat.expect("请说说是什么情况")
        chat.send("顶楼漏水，天花板一直在滴水")
        await chat.tap("跳过")
        confirm = await chat.expect("请您核对一下")
        assert "内容：顶楼漏水，天花板一直在滴水\n地点：幸福社区 · 阳光花园 · 1号楼\n照片：0 张" in (confirm.text or "")
        assert labels(server, confirm) == ["✅ 提交", "📍 换个地点", "✏️ 改内容", "⬅ 返回", "✖ 取消"]
        await chat.tap("✅ 提交")
        done = await chat.expect("编号：JL-20261127-0001")
        assert "请选择要办的事" in (done.text or "")  # back at the main menu, in the same bubble
        assert len(server.calls_of("answerCallbackQuery")) - taps == 4

        task = await Chat(server, LEADER).expect("JL-20261127-0001")  # through the outbox
        assert "地点：幸福社区 · 阳光花园 · 1号楼" in (task.text or "")
        assert "顶楼漏水，天花板一直在滴水" in (task.text or "")
        assert ("✋ 受理", "t:acc:1") in server.buttons(task)
    assert await query(db_path, "SELECT i.status, g.code, i.description, i.voice_ref FROM issues i "
                                "JOIN grid_units g ON g.id = i.unit_id") == [
        ("assigned", "C01-A-B1", "顶楼漏水，天花板一直在滴水", "")]
    assert await query(db_path, "SELECT COUNT(*) FROM conversations WHERE flow = 'report'") == [(0,)]


async def test_photos_and_unexpected_input(server: FakeTelegramServer, db_path: Path, clock: ManualClock) -> None:
    async with running(settings(server, db_path), clock):
        chat = await at_menu(server, WANG)
        await start_report(chat)
        server.push_sticker(WANG)
        await chat.expect("这一步请打字或发语音")
        chat.send("很" * 1001)
        await chat.expect("写得有点长了")
        server.push_photo(WANG, data=jpeg())  # a photo where words are expected
        await chat.expect("这一步请打字或发语音")
        chat.send("楼道顶上渗水")
        await chat.expect("已收到 0 张")
        chat.send("还有照片")  # words where photos are expected
        await chat.expect("这一步请发照片")
        server.push_photo(WANG, data=jpeg("blue"))
        await chat.expect("已收到 1 张")
        await chat.expect("已收到 1 张")
        server.push_photo(WANG, data=jpeg("green"))
        await chat.expect("已收到 2 张")
        await chat.tap("✅ 发完了")
        confirm = await chat.expect("请您核对一下")
        assert "内容：楼道顶上渗水\n地点：幸福社区 · 阳光花园 · 1号楼 · 301\n照片：2 张" in (confirm.text or "")
        await chat.tap("✅ 提交")
        ref = ref_in(await chat.expect("编号：JL-"))

        task = await Chat(server, LEADER).expect(ref)
        assert task.method == "sendPhoto"
        assert "另有 1 张照片" in (task.text or "")
    assert await query(db_path, "SELECT stage, COUNT(*) FROM issue_photos GROUP BY stage") == [("report", 2)]
    assert await query(db_path, "SELECT description FROM issues") == [("楼道顶上渗水",)]


async def test_a_voice_note_and_other_places(server: FakeTelegramServer, db_path: Path, clock: ManualClock) -> None:
    async with running(settings(server, db_path), clock):
        chat = await at_menu(server, ZHAO)
        await start_report(chat, "🔊 噪音扰民")
        server.push_voice(ZHAO)
        await chat.tap("跳过")
        confirm = await chat.expect("请您核对一下")
        assert "内容：（语音留言）\n地点：幸福社区 · 阳光花园 · 1号楼 · 502\n" in (confirm.text or "")
        await chat.tap("📍 换个地点")
        where = await chat.expect("这件事发生在哪里")
        assert labels(server, where) == ["🏠 我住的楼", "🏘 社区里别的地方", "📍 发送位置", "⬅ 返回", "✖ 取消"]
        await chat.tap("🏘 社区里别的地方")
        complexes = await chat.expect("在哪个小区")
        assert labels(server, complexes) == ["阳光花园", "翠竹苑", "整个幸福社区（公共区域）", "⬅ 返回", "✖ 取消"]
        [(elsewhere,)] = await query(db_path, "SELECT id FROM grid_units WHERE code = 'C02-A'")
        chat.press(f"u:{elsewhere}")  # forged: a complex of 和谐社区
        await chat.expect("没看懂")
        await chat.tap("整个幸福社区（公共区域）")  # square-dance noise in a public place
        confirm = await chat.expect("请您核对一下")
        assert "地点：幸福社区\n" in (confirm.text or "")
        await chat.tap("✅ 提交")
        await chat.expect("编号：JL-")

        other = await at_menu(server, NOHOME)  # no home: the place is asked before confirming
        await describe(other, "广场上垃圾没人收", "🧹 环境卫生")
        await other.tap("跳过")
        where = await other.expect("这件事发生在哪里")
        assert labels(server, where) == ["🏘 社区里别的地方", "📍 发送位置", "⬅ 返回", "✖ 取消"]
        await other.tap("📍 发送位置")
        await other.expect("选“位置”")
        other.send("在广场")
        await other.expect("还没收到位置")
        server.push_location(NOHOME, 31.23, 121.47)
        await other.expect("收到位置了。\n\n在哪个社区？")
        await other.tap("和谐社区")
        confirm = await other.expect("请您核对一下")
        assert "地点：和谐社区 📍31.23,121.47\n" in (confirm.text or "")
        await other.tap("✅ 提交")
        await other.expect("编号：JL-")
    assert await query(db_path, "SELECT i.category, g.code, i.description, i.voice_ref != '', i.location "
                                "FROM issues i JOIN grid_units g ON g.id = i.unit_id ORDER BY i.id") == [
        ("noise", "C01", "", 1, ""), ("sanitation", "C02", "广场上垃圾没人收", 0, "31.23,121.47")]


async def test_duplicate_is_followed_instead(server: FakeTelegramServer, db_path: Path, clock: ManualClock) -> None:
    async with running(settings(server, db_path), clock) as service:
        ref = await report(await at_menu(server, WANG), "屋顶漏水")
        neighbour = await at_menu(server, ZHAO)
        await describe(neighbour, "我家也漏水")
        await neighbour.tap("跳过")
        await neighbour.tap("✅ 提交")
        offer = await neighbour.expect("这件事已经有邻居反映过了")
        assert f"{ref} 🏠 屋顶漏水（已派单）\n地点：幸福社区 · 阳光花园 · 1号楼\n" in (offer.text or "")
        await neighbour.tap("🔔 关注这件事（有进展通知我）")
        await neighbour.expect(f"您已关注 {ref}")

        await neighbour.tap("📋 我的反映")
        mine = await neighbour.expect("您反映和关注的事")
        assert (f"{ref} 🏠 屋顶漏水 · 已派单", "r:view:1") in server.buttons(mine)
        await neighbour.tap(f"{ref} 🏠 屋顶漏水 · 已派单")
        detail = await neighbour.expect("这是您关注的事")
        assert labels(server, detail) == ["📋 我的全部反映", "✖ 取消"]  # a follower can neither add nor withdraw

        later(service, clock)
        async with member_side(service, db_path) as (tx, leader):
            await issues.accept(tx, 1, leader, clock.now())
        accepted = f"{ref} 已由 幸福社区 · 阳光花园 · 1号楼 楼栋党小组长 受理"
        await Chat(server, WANG).expect(accepted)  # the reporter first …
        later(service, clock)
        await neighbour.expect(accepted)  # … and the follower too
    assert await query(db_path, "SELECT COUNT(*) FROM issues") == [(1,)]
    assert await query(db_path, "SELECT f.issue_id, a.user_id FROM issue_followers f JOIN channel_accounts a "
                                "USING (person_id)") == [(1, str(ZHAO))]


async def test_a_restart_mid_report_resumes(server: FakeTelegramServer, db_path: Path, clock: ManualClock) -> None:
    chat = Chat(server, WANG)
    async with running(settings(server, db_path), clock):
        chat.send("/start")
        await describe(chat, "楼下路灯不亮", "💡 路灯照明")
        await chat.expect("已收到 0 张")
    server.push_photo(WANG, data=jpeg())  # sent while the bot is down
    async with running(settings(server, db_path), clock):
        await chat.expect("已收到 1 张")
        await chat.tap("✅ 发完了")
        confirm = await chat.expect("请您核对一下")
        assert "类别：💡 路灯照明\n内容：楼下路灯不亮\n" in (confirm.text or "")
        assert "照片：1 张" in (confirm.text or "")
        await chat.tap("✅ 提交")
        await chat.expect("编号：JL-20261127-0001")
    assert await query(db_path, "SELECT category, description FROM issues") == [("lighting", "楼下路灯不亮")]


async def test_adding_information_and_withdrawing(server: FakeTelegramServer, db_path: Path,
                                                  clock: ManualClock) -> None:
    async with running(settings(server, db_path), clock):
        chat = await at_menu(server, WANG)
        ref = await report(chat, "屋顶漏水")
        leader = Chat(server, LEADER)
        await leader.expect(ref)
        clock.advance(5)  # the outbox keeps a second between two messages to one chat

        await chat.tap("📋 我的反映")
        await chat.tap(f"{ref} 🏠 屋顶漏水 · 已派单")
        detail = await chat.expect("状态：已派单")
        assert labels(server, detail) == ["➕ 补充情况", "↩️ 撤回", "📋 我的全部反映", "✖ 取消"]
        await chat.tap("➕ 补充情况")
        await chat.expect(f"想给 {ref} 补充什么")
        server.push_sticker(WANG)
        await chat.expect("请打字或发照片来补充")
        chat.send("水越来越多了")
        await chat.expect("已经转告网格员了")
        await leader.expect(f"{ref} 居民补充：水越来越多了")
        clock.advance(5)

        await chat.tap("📋 我的反映")
        await chat.tap(f"{ref} 🏠 屋顶漏水 · 已派单")
        await chat.tap("➕ 补充情况")
        await chat.expect(f"想给 {ref} 补充什么")
        server.push_photo(WANG, caption="墙角这里", data=jpeg())
        await chat.expect("已经转告网格员了")
        assert (await leader.expect(f"{ref} 居民补充：墙角这里")).method == "sendPhoto"
        clock.advance(5)

        await chat.tap("📋 我的反映")
        await chat.tap(f"{ref} 🏠 屋顶漏水 · 已派单")
        await chat.tap("↩️ 撤回")
        await chat.expect(f"确定要撤回 {ref} 吗")
        await chat.tap("确定撤回")
        await chat.expect(f"已撤回 {ref}")
        await leader.expect(f"{ref} 已被居民撤回")
        await chat.tap("📋 我的反映")
        await chat.tap(f"{ref} 🏠 屋顶漏水 · 已撤回")
        detail = await chat.expect("状态：已撤回")
        assert labels(server, detail) == ["📋 我的全部反映", "✖ 取消"]
    assert await query(db_path, "SELECT status FROM issues") == [("withdrawn",)]
    assert await query(db_path, "SELECT stage, COUNT(*) FROM issue_photos GROUP BY stage") == [("info", 1)]
    assert await query(db_path, "SELECT detail FROM issue_events WHERE kind = 'info' ORDER BY id") == [
        ("水越来越多了",), ("墙角这里",)]


async def reported_and_resolved(server: FakeTelegramServer, service: Service, db_path: Path,
                                clock: ManualClock) -> tuple[Chat, Chat, str]:
    """王阿姨 reports a leak, the leader gets it, and a minute later it is resolved; her chat, his, and the ref."""
    chat = await at_menu(server, WANG)
    ref = await report(chat, "屋顶漏水")
    leader = Chat(server, LEADER)
    await leader.expect(ref)
    clock.advance(60)
    async with member_side(service, db_path) as (tx, member):
        await issues.resolve(tx, 1, member, "修好了", "", clock.now())
    return chat, leader, ref


async def test_fixed_then_rated_and_it_stayed_fixed(server: FakeTelegramServer, db_path: Path,
                                                    clock: ManualClock) -> None:
    async with running(settings(server, db_path), clock) as service:
        chat, leader, ref = await reported_and_resolved(server, service, db_path, clock)
        asked = await chat.expect(f"您反映的 {ref} 已办结")
        assert server.buttons(asked) == [("✅ 解决了", "r:fix:1:y"), ("❌ 没解决", "r:fix:1:n")]
        await chat.tap("✅ 解决了")
        stars = await chat.expect("请给这次处理打个分")
        assert labels(server, stars)[:5] == ["⭐", "⭐⭐", "⭐⭐⭐", "⭐⭐⭐⭐", "⭐⭐⭐⭐⭐"]
        await chat.tap("⭐⭐⭐⭐")
        await chat.expect("还有什么想说的吗")
        later(service, clock)
        chat.send("谢谢李师傅，修得很快")
        await chat.expect(f"谢谢您的评价！{ref} 已经办结")
        await leader.expect(f"{ref} 居民评价：★★★★")

        later(service, clock)
        async with member_side(service, db_path) as (tx, _):
            closed = await issue_store.get(tx, 1)
            assert closed is not None
            await issues.recheck(tx, closed, clock.now())  # what the 14-day timer does
        again = await chat.expect(f"两周前 {ref} 已修好，现在还好吗")
        assert ("✅ 解决了", "r:re:1:y") in server.buttons(again)
        await chat.tap("✅ 解决了")
        await chat.expect("太好了，谢谢您告诉我们")
    assert await query(db_path, "SELECT status, rating, comment, flagged FROM issues") == [
        ("closed", 4, "谢谢李师傅，修得很快", 0)]
    assert await query(db_path, "SELECT COUNT(*) FROM issue_events WHERE kind = 'stayed_fixed'") == [(1,)]


async def test_not_fixed_reopens_and_flags(server: FakeTelegramServer, db_path: Path, clock: ManualClock) -> None:
    async with running(settings(server, db_path), clock) as service:
        chat, leader, ref = await reported_and_resolved(server, service, db_path, clock)
        await chat.expect(f"您反映的 {ref} 已办结")
        later(service, clock)
        await chat.tap("❌ 没解决")
        asked = await chat.expect(f"{ref} 还有哪里不好？")
        assert labels(server, asked) == ["跳过", "✖ 取消"]
        chat.send("天花板还在滴水")
        await chat.expect(f"我们不会放手。{ref} 已重新交给网格员处理")
        task = await leader.expect("上次处理后问题没有解决")
        assert ref in (task.text or "")
        assert "🔁 重新办理" in (task.text or "") and "居民说：天花板还在滴水" in (task.text or "")
        assert "上报" not in (task.text or "").split("\n", 1)[1]  # done again, not escalated
        later(service, clock)
        await chat.tap("📋 我的反映")
        assert labels(server, await chat.expect("您反映和关注的事"))[0] == f"{ref} 🏠 屋顶漏水 · 重新办理"
    assert await query(db_path, "SELECT status, flagged FROM issues") == [("reopened", 1)]
    assert await query(db_path, "SELECT detail FROM issue_events WHERE to_status = 'reopened'") == [
        ("天花板还在滴水",)]


async def test_forged_tokens_are_refused_and_change_nothing(server: FakeTelegramServer, db_path: Path,
                                                            clock: ManualClock) -> None:
    snapshot = ("SELECT (SELECT group_concat(status || flagged || coalesce(rating, '-')) FROM issues), "
                "(SELECT COUNT(*) FROM issue_events), (SELECT COUNT(*) FROM issue_followers), "
                "(SELECT COUNT(*) FROM outbox WHERE idempotency_key NOT LIKE 'reply:%')")  # pushes
    async with running(settings(server, db_path), clock):
        owner = await at_menu(server, WANG)
        ref = await report(owner, "屋顶漏水")
        other = await at_menu(server, ZHAO)
        before = await query(db_path, snapshot)

        async def press(chat: Chat, data: str, answer: str) -> None:
            assert answer in await chat.answer(data), data

        denied = "抱歉，您没有这个权限"
        for data in ("r:fix:1:y", "r:fix:1:n", "r:re:1:n", "r:view:1", "r:fix:1:maybe", "r:view:1:y", "r:view:-1",
                     "r:view:１", "r:view:", "r:", "r:rev:1", "r:rev:1:y"):
            await press(other, data, denied)
        await press(other, "r:view:999", "找不到这件事")
        await press(owner, "r:fix:1:y", "这件事现在是“已派单”，不能这样操作")  # not resolved yet
        await press(owner, "r:fix:1:n", "这件事现在是“已派单”，不能这样操作")  # refused before asking what is wrong
        await press(owner, "r:rev:1", "这件事现在是“已派单”，不能这样操作")  # only a rejected one goes for review
        await press(owner, "r:view:1", f"{ref} 🏠 屋顶漏水\n状态：已派单")  # the real owner still gets in
        assert await query(db_path, snapshot) == before


async def test_a_pushed_button_pauses_a_draft_which_resumes_afterwards(server: FakeTelegramServer, db_path: Path,
                                                                        clock: ManualClock) -> None:
    async with running(settings(server, db_path), clock) as service:
        wang = await at_menu(server, WANG)
        ref = await report(wang, "楼道灯坏了", "💡 路灯照明")
        await describe(wang, "车堵住了消防通道", "🚗 停车")  # a second report, interrupted half way
        await wang.expect("有照片的话")
        later(service, clock)
        async with member_side(service, db_path) as (tx, leader):
            issue_id = (await query(db_path, "SELECT id FROM issues WHERE ref = ?", (ref,)))[0][0]
            await issues.accept(tx, issue_id, leader, clock.now())
        await wang.expect(f"您反映的 {ref} 已由")
        await wang.tap("查看详情")  # the pushed button: the report's details, the draft paused
        await wang.expect("状态：处理中")
        await wang.tap("✖ 取消")
        resumed = await wang.expect("有照片的话")  # back to the photo step of the paused draft
        assert "跳过" in labels(server, resumed)
        await wang.tap("跳过")
        await wang.expect("内容：车堵住了消防通道")


async def test_menu_before_joining_and_text_that_shows_nothing(server: FakeTelegramServer, db_path: Path,
                                                               clock: ManualClock) -> None:
    async with running(settings(server, db_path), clock):
        stranger = Chat(server, 1099, first_name="\u200b钱\x07奶奶\u2060")
        stranger.send("/menu")  # not joined yet: the way to join, not silence
        joining = await stranger.expect("请先加入近邻")
        assert "同意吗？" in (joining.text or "")
        assert labels(server, joining)[:2] == ["✅ 同意", "不同意"]
        await stranger.tap("✅ 同意")
        await stranger.expect("请选择您所在的社区")

        chat = await at_menu(server, WANG)
        await start_report(chat)
        chat.send("\u200b\u2060\ufeff \u200d")  # zero-width space, word joiner, BOM, zero-width joiner
        await chat.expect("还没有内容哦")
        chat.send("\u200b楼道\x07漏水\r\n\t很严重\x1b")
        await chat.tap("跳过")
        await chat.tap("✅ 提交")
        await chat.expect("编号：JL-")
    assert await query(db_path, "SELECT description FROM issues") == [("楼道漏水\n\t很严重",)]
    assert await query(db_path, "SELECT display_name FROM people WHERE display_name LIKE '%奶奶%'") == [("钱奶奶",)]


async def test_deleting_ones_information_leaves_nothing_of_them_in_the_outbox(
        server: FakeTelegramServer, db_path: Path, clock: ManualClock) -> None:
    async with running(settings(server, db_path), clock) as service:
        chat = await at_menu(server, WANG)
        ref = await report(chat, "屋顶漏水")
        await Chat(server, LEADER).expect(f"{ref}")  # the task card, with her room
        later(service, clock)
        async with member_side(service, db_path) as (tx, leader):
            await issues.accept(tx, 1, leader, clock.now())
        await chat.expect(f"您反映的 {ref} 已由")
        chat.send("/menu")
        await chat.tap("🗑 删除我的信息")
        confirm = await chat.expect("确定要删除您在近邻的信息吗？")
        assert "我们发给您的消息记录" in (confirm.text or "")
        await chat.tap("确定删除")
        await chat.expect("已删除您的信息")
    rows = await query(db_path, "SELECT idempotency_key, chat_id, payload, message_ref FROM outbox")
    assert rows  # the rows stay (the outbox's counts), but none says where she was reached or what she was told
    assert not [row for row in rows if str(WANG) in " ".join(row) or "· 301" in row[2] or "屋顶漏水" in row[2]]


async def forget_me(chat: Chat) -> None:
    """From anywhere: delete what Jinlin keeps about the person in `chat`."""
    before = chat.outputs()
    chat.send("/menu")
    await chat.server.wait_until(lambda: chat.outputs() > before, 5, lambda: "no menu")
    await chat.tap("🗑 删除我的信息")
    await chat.tap("确定删除")
    await chat.expect("已删除您的信息")


LEADER_WHO = "幸福社区 · 阳光花园 · 1号楼 楼栋党小组长"


async def follow_the_same(server: FakeTelegramServer, user: int, ref: str) -> Chat:
    """From the main menu: `user` reports the same leak and follows `ref` instead."""
    chat = await at_menu(server, user)
    await describe(chat, "我家也漏水")
    await chat.tap("跳过")
    await chat.tap("✅ 提交")
    await chat.tap("🔔 关注这件事（有进展通知我）")
    await chat.expect(f"您已关注 {ref}")
    return chat


async def test_a_follower_hears_when_the_report_is_withdrawn(server: FakeTelegramServer, db_path: Path,
                                                             clock: ManualClock) -> None:
    async with running(settings(server, db_path), clock) as service:
        wang = await at_menu(server, WANG)
        ref = await report(wang, "屋顶漏水")
        zhao = await follow_the_same(server, ZHAO, ref)
        later(service, clock)
        await wang.tap("📋 我的反映")
        await wang.tap(f"{ref} 🏠 屋顶漏水 · 已派单")
        await wang.tap("↩️ 撤回")
        await wang.tap("确定撤回")
        await wang.expect(f"已撤回 {ref}")
        await Chat(server, LEADER).expect(f"{ref} 已被居民撤回")
        later(service, clock)
        await zhao.expect(f"您关注的 {ref} 已被反映人撤回")


async def test_a_follower_is_asked_and_rates_once_the_reporter_is_gone(server: FakeTelegramServer, db_path: Path,
                                                                       clock: ManualClock) -> None:
    async with running(settings(server, db_path), clock) as service:
        wang = await at_menu(server, WANG)
        ref = await report(wang, "屋顶漏水")
        zhao = await follow_the_same(server, ZHAO, ref)
        leader = Chat(server, LEADER)
        await leader.expect(ref)
        await forget_me(wang)

        later(service, clock)
        leader.press("t:res:1")
        await leader.tap("✅ 不写说明，直接办结")
        await leader.expect(f"{ref} 已办结，已请居民确认问题是否解决。")  # the follower was asked
        asked = await zhao.expect(f"{ref} 已办结（{LEADER_WHO}）。\n\n问题解决了吗？")  # no "—" for no note
        assert server.buttons(asked) == [("✅ 解决了", "r:fix:1:y"), ("❌ 没解决", "r:fix:1:n")]
        await zhao.tap("✅ 解决了")
        await zhao.tap("⭐⭐⭐⭐⭐")
        await zhao.expect("还有什么想说的吗")
        later(service, clock)
        zhao.send("修得很及时")
        await zhao.expect(f"谢谢您的评价！{ref} 已经办结")
        await leader.expect(f"{ref} 居民评价：★★★★★\n留言：修得很及时")  # the comment reaches the member
    assert await query(db_path, "SELECT reporter_id, status, rating, comment FROM issues") == [
        (None, "closed", 5, "修得很及时")]


async def test_nobody_is_said_to_be_asked_when_nobody_is_there(server: FakeTelegramServer, db_path: Path,
                                                              clock: ManualClock) -> None:
    async with running(settings(server, db_path), clock) as service:
        wang = await at_menu(server, WANG)
        ref = await report(wang, "屋顶漏水")
        leader = Chat(server, LEADER)
        await leader.expect(ref)
        await forget_me(wang)
        later(service, clock)
        leader.press("t:acc:1")
        taken = await leader.expect(f"您已受理 {ref}。")
        assert "居民已收到通知" not in (taken.text or "") and "没有通知任何人" in (taken.text or "")
        leader.press("t:res:1")
        await leader.tap("✅ 不写说明，直接办结")
        done = await leader.expect(f"{ref} 已办结。")
        assert "已请居民确认" not in (done.text or "")
        assert "没有人需要确认" in (done.text or "")


async def test_a_rejected_report_shows_why_and_goes_up_for_review_once(server: FakeTelegramServer, db_path: Path,
                                                                        clock: ManualClock) -> None:
    async with running(settings(server, db_path), clock) as service:
        chat = await at_menu(server, WANG)
        ref = await report(chat, "屋顶漏水")
        await Chat(server, LEADER).expect(ref)
        later(service, clock)
        async with member_side(service, db_path) as (tx, leader):
            await issues.reject(tx, 1, leader, "属于住户室内装修", clock.now())
        pushed = await chat.expect(f"您反映的 {ref} 不予受理，原因：属于住户室内装修")
        assert server.buttons(pushed) == [("查看详情", "r:view:1"), ("🙋 请上级复核", "r:rev:1")]
        await chat.tap("查看详情")
        detail = await chat.expect("状态：不予受理")
        assert "不予受理的原因：属于住户室内装修" in (detail.text or "")
        assert "提交时间：11月27日 17:" in (detail.text or "")  # the one date format
        assert labels(server, detail) == ["🙋 请上级复核", "📋 我的全部反映", "✖ 取消"]
        await chat.tap("🙋 请上级复核")
        await chat.expect(f"复核 {ref}，有结果会告诉您")
        assert "已经请上级复核过了" in await chat.answer("r:rev:1")  # once per report
        await chat.tap("📋 我的反映")
        await chat.tap(f"{ref} 🏠 屋顶漏水 · 已上报上级")
        detail = await chat.expect("状态：已上报上级")
        assert "🙋 请上级复核" not in labels(server, detail)
    assert await query(db_path, "SELECT status, closed_at FROM issues") == [("escalated", None)]
    assert await query(db_path, "SELECT kind, detail FROM issue_events WHERE kind = 'review'") == [
        ("review", "属于住户室内装修")]
    assert await query(db_path, "SELECT e.detail, g.level FROM issue_events e JOIN issues i ON i.id = e.issue_id "
                                "JOIN grid_units g ON g.id = i.owner_unit_id WHERE e.to_status = 'escalated'") == [
        ("居民申请复核。下级不予受理的原因：属于住户室内装修", "street")]  # the next level up with someone, and why


async def test_a_cancelled_rating_can_be_given_from_the_report(server: FakeTelegramServer, db_path: Path,
                                                               clock: ManualClock) -> None:
    async with running(settings(server, db_path), clock) as service:
        chat, leader, ref = await reported_and_resolved(server, service, db_path, clock)
        await chat.tap("✅ 解决了")
        await chat.expect("请给这次处理打个分")
        await chat.tap("✖ 取消")
        await chat.tap("📋 我的反映")
        await chat.tap(f"{ref} 🏠 屋顶漏水 · 已办结，待您确认")
        detail = await chat.expect("状态：已办结，待您确认")
        assert labels(server, detail) == ["⭐ 评价", "📋 我的全部反映", "✖ 取消"]
        await chat.tap("⭐ 评价")
        await chat.tap("⭐⭐⭐")
        later(service, clock)
        await chat.tap("跳过")
        await chat.expect(f"谢谢您的评价！{ref} 已经办结")
        rated = await leader.expect(f"{ref} 居民评价：★★★")
        assert "留言" not in (rated.text or "")
        await chat.tap("📋 我的反映")
        await chat.tap(f"{ref} 🏠 屋顶漏水 · 已完成")
        assert "⭐ 评价" not in labels(server, await chat.expect("状态：已完成"))
    assert await query(db_path, "SELECT status, rating FROM issues") == [("closed", 3)]


async def test_cancel_means_do_not_submit_and_asks_before_dropping_a_draft(
        server: FakeTelegramServer, db_path: Path, clock: ManualClock) -> None:
    async with running(settings(server, db_path), clock):
        chat = await at_menu(server, WANG)
        await start_report(chat)
        await chat.tap("✖ 取消")  # nothing typed yet: nothing to lose
        await chat.expect("已取消。")
        await describe(chat, "楼道顶上渗水")
        await chat.expect("已收到 0 张")
        await chat.tap("✖ 取消")
        asked = await chat.expect("放弃这条反映吗？")
        assert labels(server, asked) == ["是的，放弃", "不，接着填"]
        await chat.tap("不，接着填")  # back where she was, the draft kept
        await chat.expect("已收到 0 张")
        await chat.tap("跳过")
        await chat.expect("内容：楼道顶上渗水")
        chat.send("/cancel")  # the command means the same as the button
        await chat.expect("放弃这条反映吗？")
        await chat.tap("是的，放弃")
        done = await chat.expect("好的，这条反映没有提交。")
        assert "请选择要办的事" in (done.text or "")
    assert await query(db_path, "SELECT COUNT(*) FROM issues") == [(0,)]
    assert await query(db_path, "SELECT COUNT(*) FROM conversations WHERE flow = 'report'") == [(0,)]


async def test_what_is_still_wrong_can_be_said_in_a_voice_note(server: FakeTelegramServer, db_path: Path,
                                                               clock: ManualClock) -> None:
    media = db_path.parent / "media"
    async with running(settings(server, db_path), clock) as service:
        chat, leader, ref = await reported_and_resolved(server, service, db_path, clock)
        await chat.expect(f"您反映的 {ref} 已办结")
        later(service, clock)
        await chat.tap("❌ 没解决")
        await chat.expect(f"{ref} 还有哪里不好？")
        server.push_voice(WANG)
        await chat.expect(f"我们不会放手。{ref} 已重新交给网格员处理")
        task = await leader.expect("居民说：（语音留言）")
        assert task.method == "sendVoice" and "🔁 重新办理" in (task.text or "")
        assert len(list(media.iterdir())) == 1
        await forget_me(chat)  # the voice note goes with her
        await server.wait_until(lambda: not list(media.iterdir()), 5, lambda: "the voice file is still there")
    assert await query(db_path, "SELECT COUNT(*) FROM issue_voices") == [(0,)]
