"""Saturday meetings (周六说事) over Telegram: the real PTB Application against the fake Bot API server, a whole
meeting week on an injected clock, downtime across scheduled sends, and rights checked on every token."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from bot.app import Service
from bot.clock import ManualClock, iso, parse_iso
from bot.conversations.tokens import Token
from bot.domain.grid import GridUnit
from bot.domain.people import Person, Role
from bot.features.meetings import service, store, tokens
from bot.features.meetings.model import Answer, MeetingSettings, Notice, TopicStatus
from bot.i18n import SUPPORTED, catalog
from bot.services.grid_import import import_grid
from bot.storage import grid, people
from bot.storage.db import Database, Tx
from tests import harness
from tests.fake_telegram import FakeTelegramServer
from tests.harness import SAMPLE, Chat, Member, TickingClock, running, seed_people, seed_street

ROOT = Path(__file__).resolve().parents[3]
TZ = "Asia/Shanghai"
ZONE = ZoneInfo(TZ)
CHAIR, WANG, LI, ZHAO, QIAN, SUN = 3001, 3101, 3102, 3103, 3104, 3201
# (telegram id, name, home building, room): all in 幸福社区 (C01) but 孙哥, who lives in 和谐社区 (C02)
RESIDENTS = ((WANG, "王阿姨", "C01-A-B1", "101"), (LI, "李叔", "C01-A-B2", "202"), (ZHAO, "赵姐", "C01-B-B1", "303"),
             (QIAN, "钱伯", "C01-A-B1", "404"), (SUN, "孙哥", "C02-A-B1", "505"))
START = datetime(2030, 3, 4, 0, 0, tzinfo=UTC)  # Monday 08:00 in Shanghai; the meeting is Saturday 9 March
WHEN = "3月9日（周六）09:00"
PLACE = "社区党群服务中心二楼"
DENIED = "抱歉，您没有这个权限。"
OTHER_COMMUNITY = "抱歉，这是别的社区的议事会"
ANNOUNCE = "🗓 周六说事 · 居民议事"
EVENING = "⏰ 提醒：周六说事"
HOUR_BEFORE = "⏰ 周六说事一小时后开始"




@pytest.fixture
def clock() -> ManualClock:
    return TickingClock(START)


class Street(harness.Street[int]):
    """The sample street with 张书记 chairing 幸福社区 (C01), and the residents; Telegram user ids as keys."""

    async def meeting_ids(self) -> list[int]:
        return [row[0] for row in await self.query("SELECT id FROM meetings ORDER BY starts_at")]

    async def answers(self) -> dict[int, str]:
        rows = await self.query("SELECT person_id, answer FROM meeting_rsvps ORDER BY person_id")
        by_person = {person: user for user, person in self.ids.items()}
        return {by_person[person]: answer for person, answer in rows}

    async def pushed(self, user: int, text: str) -> int:
        """How many pushes containing `text` were queued for `user` (whatever has been delivered so far)."""
        rows = await self.query("SELECT payload FROM outbox WHERE chat_id = ?", (str(user),))
        return sum(text in payload for (payload,) in rows)


@pytest.fixture
async def street(tmp_path: Path, clock: ManualClock) -> Street:
    cast = [Member(CHAIR, "张书记", roles=((Role.COMMUNITY_SECRETARY, "C01"),)),
            *(Member(user, name, home=building, room=room) for user, name, building, room in RESIDENTS)]
    path = tmp_path / "jinlin.db"
    return Street(path, *await seed_street(path, cast, clock.now()))


async def _chair_of_c01(tx: Tx, now: datetime) -> tuple[GridUnit, Person]:
    """幸福社区 (C01), and 张书记 who chairs it (on Telegram account 1) once the sample street is imported."""
    ids = await seed_people(tx, [Member(1, "张书记", roles=((Role.COMMUNITY_SECRETARY, "C01"),))], now)
    community = await grid.by_code(tx, "C01")
    chair = await people.by_id(tx, ids[1])
    assert community is not None and chair is not None
    return community, chair


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), "blue").save(buffer, "JPEG")
    return buffer.getvalue()


async def propose(chat: Chat, meeting_id: int, topic: str) -> None:
    """💬 提议题 on the meeting's announcement: `topic` typed, no photo, and the topic taken."""
    chat.press(f"mt:tp:{meeting_id}")
    await chat.expect("想在议事会上说什么事？")
    chat.send(topic)
    await chat.tap("不用照片")
    await chat.expect("收到您的议题")


async def at(clock: ManualClock, jinlin: Service, local: str) -> None:
    """Move the clock on to `local` (the street's time) and let the scheduler fire what fell due."""
    target = datetime.fromisoformat(local).replace(tzinfo=ZONE)
    gap = (target - clock.now()).total_seconds()
    assert gap > 0, f"the test's clock already ran past {local}"
    clock.advance(gap)
    assert jinlin.core.scheduler is not None
    await jinlin.core.scheduler.run_timers()


def move_to(clock: ManualClock, local: str) -> None:
    """Move the clock while Jinlin is down."""
    clock.advance((datetime.fromisoformat(local).replace(tzinfo=ZONE) - clock.now()).total_seconds())


ANSWERING = frozenset({"sendMessage", "sendPhoto", "sendVoice", "editMessageText"})


async def open_meetings(chair: Chat) -> None:
    """The chair switches weekly meetings on, sets the place and a capacity of two, from the main menu."""
    chair.send("/menu")
    await chair.tap("🗓 周六说事")
    await chair.expect("幸福社区 周六说事（主持）")
    await chair.expect("每周议事会还没有开启")
    await chair.tap("⚙️ 设置")
    await chair.tap("▶️ 开启每周议事")
    await chair.expect("时间：每周六 09:00")
    await chair.tap("📍 地点")
    await chair.expect("请输入议事会的地点")
    chair.send(PLACE)
    await chair.expect(f"地点：{PLACE}")
    await chair.tap("👥 人数上限")
    await chair.expect("每次最多多少人参加？")
    chair.send("两个")
    await chair.expect("请输入 1 到 10000 之间的数字")
    chair.send("2")
    await chair.expect("人数上限：2")


async def test_a_meeting_week(server: FakeTelegramServer, street: Street, clock: ManualClock) -> None:
    async with running(street.settings(server), clock) as jinlin:
        chair, wang, li, zhao, qian, sun = (Chat(server, user) for user in (CHAIR, WANG, LI, ZHAO, QIAN, SUN))
        await open_meetings(chair)
        [meeting_id] = await street.meeting_ids()
        planned = await street.query("SELECT starts_at, ends_at, topics_until, place, capacity FROM meetings")
        assert planned == [("2030-03-09T01:00:00.000000Z", "2030-03-09T03:00:00.000000Z",
                            "2030-03-08T01:00:00.000000Z", PLACE, 2)]  # stored in UTC
        jobs = await street.query("SELECT kind, due_at FROM scheduled_jobs WHERE subject = 'meeting' ORDER BY due_at")
        assert jobs == [("announce", "2030-03-06T01:00:00.000000Z"), ("agenda", "2030-03-08T01:00:00.000000Z"),
                        ("remind_eve", "2030-03-08T11:00:00.000000Z"), ("remind_hour", "2030-03-09T00:00:00.000000Z"),
                        ("poll", "2030-03-10T02:00:00.000000Z")]

        qian.send("/menu")  # 钱伯 does not want the announcements
        await qian.tap("🗓 周六说事")
        await qian.expect(f"🗓 周六说事：{WHEN}\n地点：{PLACE}")
        await qian.tap("🔕 不再接收议事通知")
        await qian.expect("以后不再给您发议事会通知了")

        # Wednesday 09:00, three days ahead: the announcement, to the community's residents who did not mute it
        await at(clock, jinlin, "2030-03-06T09:00:30")
        for chat in (wang, li, zhao):
            note = await chat.expect(ANNOUNCE)
            assert f"时间：{WHEN}\n地点：{PLACE}" in (note.text or "")
            assert "这次限 2 人" in (note.text or "")
            assert server.buttons(note) == [
                ("✅ 参加", f"mt:r:{meeting_id}:y"), ("🤔 可能来", f"mt:r:{meeting_id}:m"),
                ("❌ 来不了", f"mt:r:{meeting_id}:n"), ("💬 提议题", f"mt:tp:{meeting_id}"),
                ("🔕 不再接收议事通知", f"mt:mute:{street.units['C01']}")]
        everyone = (WANG, LI, ZHAO, QIAN, SUN, CHAIR)
        assert [await street.pushed(user, ANNOUNCE) for user in everyone] == [1, 1, 1, 0, 0, 0]

        # answers, a full meeting, the waitlist and a change of mind that promotes it
        await wang.tap("✅ 参加")
        await wang.expect("好的，已为您报名参加！")
        await li.tap("✅ 参加")
        await li.expect("好的，已为您报名参加！")
        await zhao.tap("✅ 参加")
        await zhao.expect("这次已经报满了，您在候补第 1 位。")
        await zhao.expect("您在候补第 1 位 ⏳")
        assert await street.answers() == {WANG: "yes", LI: "yes", ZHAO: "waitlist"}
        chair.press(f"mt:c:{street.units['C01']}")
        await chair.expect("报名：✅ 参加 2/2 · 🤔 可能 0 · ❌ 来不了 0 · ⏳ 候补 1")

        await wang.tap("🤔 可能来")
        await wang.expect("好的，记下您可能来。")
        promoted = await zhao.expect("好消息！3月9日（周六）09:00 的周六说事有空位了，您已从候补转为参加。")
        assert server.buttons(promoted) == [("❌ 来不了了", f"mt:r:{meeting_id}:n")]
        assert await street.answers() == {WANG: "maybe", LI: "yes", ZHAO: "yes"}
        await wang.tap("✅ 参加")  # full again: back of the line
        await wang.expect("您在候补第 1 位")
        await wang.tap("🤔 可能来")
        await wang.expect("好的，记下您可能来。")
        chair.press(f"mt:c:{street.units['C01']}")
        await chair.expect("报名：✅ 参加 2/2 · 🤔 可能 1 · ❌ 来不了 0 · ⏳ 候补 0")

        # someone from another community cannot answer or submit, whatever they press
        before = await street.answers()
        sun.send("/menu")
        await sun.expect("请选择要办的事")
        for forged in (f"mt:r:{meeting_id}:y", f"mt:tp:{meeting_id}", f"mt:in:{meeting_id}"):
            assert (await sun.answer(forged)).startswith(OTHER_COMMUNITY), forged
        for forged in (f"mt:r:{meeting_id}:x", f"mt:r:0{meeting_id}:y", f"mt:r:{meeting_id}", "mt:zz:1",
                       f"mt:r:{meeting_id}:y:1", f"mt:c:{street.units['C01']}", f"mt:ag:{meeting_id}"):
            assert (await sun.answer(forged)).startswith(DENIED), forged
        assert await street.answers() == before
        assert await street.query("SELECT COUNT(*) FROM meeting_topics") == [(0,)]

        # topics until the cut-off: words with a photo, a voice note, words alone
        await li.tap("💬 提议题")
        await li.expect("想在议事会上说什么事？")
        li.send("楼下电动车乱停，能不能划个停车区？")
        await li.expect("要配一张照片吗？")
        server.push_photo(LI, data=jpeg())
        await li.expect("收到您的议题：“楼下电动车乱停，能不能划个停车区？”")
        zhao.press(f"mt:tp:{meeting_id}")
        await zhao.expect("想在议事会上说什么事？")
        server.push_voice(ZHAO)
        await zhao.tap("不用照片")
        await zhao.expect("收到您的议题：“🎤 语音议题”")
        await propose(wang, meeting_id, "小区路灯坏了好几盏")

        # Friday 09:00: topics close and the agenda goes to the chair
        await at(clock, jinlin, "2030-03-08T09:00:30")
        agenda = await chair.expect(f"📋 {WHEN} 议事会的议题已截止")
        assert "1. 🟡 待议 楼下电动车乱停，能不能划个停车区？（李叔 202）" in (agenda.text or "")
        assert "2. 🟡 待议 🎤 语音议题（赵姐 303）" in (agenda.text or "")
        assert "3. 🟡 待议 小区路灯坏了好几盏（王阿姨 101）" in (agenda.text or "")
        assert (await wang.answer(f"mt:tp:{meeting_id}")).startswith("这次的议题在 3月8日（周五）09:00 已经截止了")

        # Friday 19:00 and Saturday 08:00: the reminders, to those coming or maybe coming
        await at(clock, jinlin, "2030-03-08T19:00:30")
        for chat in (wang, li, zhao):
            await chat.expect(f"{EVENING} {WHEN} 开始，地点：{PLACE}")
        await at(clock, jinlin, "2030-03-09T08:00:30")
        for chat in (wang, li, zhao):
            reminder = await chat.expect(HOUR_BEFORE)
            assert server.buttons(reminder) == [("🙋 我到了", f"mt:in:{meeting_id}")]
        for user in (QIAN, SUN, CHAIR):
            assert (await street.pushed(user, EVENING), await street.pushed(user, HOUR_BEFORE)) == (0, 0)

        # the meeting: 李叔 checks in, the chair marks 赵姐, and works through the agenda
        await at(clock, jinlin, "2030-03-09T09:05")
        await li.tap("🙋 我到了")
        await li.expect("签到成功，欢迎您！")
        chair.press(f"mt:at:{meeting_id}")
        await chair.expect("🙋 签到：已到 1 人（名单共 3 人）")
        await chair.tap("⬜ 赵姐 303")
        await chair.expect("已标记 赵姐 303 到场。")
        await chair.expect("🙋 签到：已到 2 人（名单共 3 人）")

        chair.press(f"mt:ag:{meeting_id}")
        await chair.tap("1. 楼下电动车乱停，能不能划个停车区？")
        card = await chair.expect("提出人：李叔 202")
        assert card.method == "sendPhoto"
        await chair.tap("✍️ 答复提出人")
        await chair.expect("请输入对“楼下电动车乱停，能不能划个停车区？”的答复")
        chair.send("下周请物业在东门划线，先试点一个月。")
        await chair.expect("已答复“楼下电动车乱停，能不能划个停车区？”")
        await li.expect("您在议事会提的“楼下电动车乱停，能不能划个停车区？”有答复了：\n下周请物业在东门划线")

        await chair.tap("2. 🎤 语音议题")
        voice = await chair.expect("提出人：赵姐 303")
        assert voice.method == "sendVoice"
        await chair.tap("📣 转为事件办理")
        await chair.expect("转为事件：请选一个类别")
        await chair.tap("🔊 噪音扰民")
        reported = await chair.expect("已转为事件 JL-")
        ref = re.search(r"JL-\d{8}-\d{4}", reported.text or "")
        assert ref is not None
        told = await zhao.expect(f"已转为事件 {ref.group()}")
        [(issue_id,)] = await street.query("SELECT id FROM issues")
        assert server.buttons(told) == [("查看详情", f"r:view:{issue_id}")]
        issue = await street.query("SELECT reporter_id, unit_id, category, voice_ref != '' FROM issues")
        assert issue == [(street.ids[ZHAO], street.units["C01"], "noise", 1)]

        await chair.expect(f"📋 {ref.group()} 🔊 噪音扰民\n地点：幸福社区")  # routed like any report: to the community
        chair.press(f"mt:ag:{meeting_id}")
        await chair.tap("3. 小区路灯坏了好几盏")
        await chair.tap("💬 标记为已讨论")
        await chair.expect("“小区路灯坏了好几盏”已标记为已讨论。")
        statuses = await street.query("SELECT status FROM meeting_topics ORDER BY id")
        assert statuses == [("answered",), ("reported",), ("discussed",)]

        # afterwards: the outcomes, to those who came and those who raised a topic
        await at(clock, jinlin, "2030-03-09T11:30")
        chair.press(f"mt:c:{street.units['C01']}")
        await chair.tap("📝 录入议事结果")
        await chair.expect(f"请输入 {WHEN} 议事会的结果")
        chair.send("一、东门试点划电动车停放区；二、路灯本周内修好。")
        await chair.expect("议事结果已发布，发给了 3 位居民。")
        outcome = f"📝 {WHEN} 周六说事的结果：\n一、东门试点划电动车停放区；二、路灯本周内修好。"
        await li.expect(f"{outcome}\n\n您提的议题“楼下电动车乱停，能不能划个停车区？”：答复：下周请物业在东门划线")
        await zhao.expect(f"{outcome}\n\n您提的议题“🎤 语音议题”：已转为事件 {ref.group()} 办理")
        await wang.expect(f"{outcome}\n\n您提的议题“小区路灯坏了好几盏”：已在会上讨论")
        assert [await street.pushed(user, outcome) for user in (QIAN, SUN)] == [0, 0]

        # Sunday 10:00: the satisfaction poll, to those who came
        await at(clock, jinlin, "2030-03-10T10:00:30")
        poll = await li.expect("谢谢您来参加 3月9日（周六）09:00 的周六说事！")
        assert server.buttons(poll)[0] == ("⭐⭐⭐⭐⭐", f"mt:p:{meeting_id}:5")
        await zhao.expect("谢谢您来参加")
        assert await street.pushed(WANG, "谢谢您来参加") == 0
        await li.tap("⭐⭐⭐⭐")
        await li.expect("收到您的评分 ⭐⭐⭐⭐")
        li.send("时间再早一点更好")
        await li.expect("谢谢您的评价")
        assert (await wang.answer(f"mt:p:{meeting_id}:1")).startswith("只有到场签到的居民可以评价")
        assert await street.query("SELECT person_id, stars, comment FROM meeting_polls") == [
            (street.ids[LI], 4, "时间再早一点更好")]
        chair.press(f"mt:c:{street.units['C01']}")
        await chair.expect("上次议事会（3月9日（周六）09:00）满意度：4.0 ⭐（1 人评价）")
        await chair.expect("🗓 周六说事：3月16日（周六）09:00")  # next week's is planned already

    results = await street.query("SELECT kind, outcome FROM scheduled_jobs WHERE subject = 'meeting' "
                                 "AND subject_id = ? ORDER BY due_at",
                                (meeting_id,))
    assert results == [("announce", "sent"), ("agenda", "sent"), ("remind_eve", "sent"), ("remind_hour", "sent"),
                       ("poll", "sent")]


async def _open_by_service(street: Street, now: datetime, **changes: object) -> int:
    """The chair turns meetings on through the service; returns the meeting planned."""
    async with street.db() as db, db.write() as tx:
        chair = await people.by_id(tx, street.ids[CHAIR])
        assert chair is not None
        await service.configure(tx, street.units["C01"], chair, now, TZ, active=True, **changes)
        wang = await people.by_id(tx, street.ids[WANG])
        assert wang is not None
        [meeting_id] = [row[0] for row in await tx.all("SELECT id FROM meetings")]
        await service.rsvp(tx, meeting_id, wang, "yes", now, TZ)
    return meeting_id


async def test_downtime_sends_a_missed_notice_once_and_reports_those_too_late(
        server: FakeTelegramServer, street: Street, clock: ManualClock) -> None:
    meeting_id = await _open_by_service(street, clock.now())
    wang, chair = Chat(server, WANG), Chat(server, CHAIR)

    move_to(clock, "2030-03-07T10:00")  # down across Wednesday's announcement: it goes out once, at start
    async with running(street.settings(server), clock) as jinlin:
        await wang.expect(ANNOUNCE)
        assert jinlin.core.scheduler is not None
        assert await jinlin.core.scheduler.run_timers() == 0

    move_to(clock, "2030-03-08T20:00")  # down across Friday evening's reminder
    async with running(street.settings(server), clock) as jinlin:
        await wang.expect(f"{EVENING} {WHEN}")
        assert jinlin.core.scheduler is not None
        assert await jinlin.core.scheduler.run_timers() == 0
    assert (await street.pushed(WANG, ANNOUNCE), await street.pushed(WANG, EVENING)) == (1, 1)

    move_to(clock, "2030-03-09T12:00")  # down across the hour-before reminder and the meeting itself
    async with running(street.settings(server), clock) as jinlin:
        missed = await chair.expect(f"⚠️ 系统中断过，{WHEN} 议事会的这些通知没能按时发出：会前一小时的提醒。")
        assert server.buttons(missed) == [("🧑‍⚖️ 主持页面", f"mt:c:{street.units['C01']}")]
        assert jinlin.core.scheduler is not None
        assert await jinlin.core.scheduler.run_timers() == 0
    assert await street.pushed(WANG, HOUR_BEFORE) == 0  # not sent late
    results = dict(await street.query("SELECT kind, outcome FROM scheduled_jobs WHERE subject = 'meeting' "
                                      "AND subject_id = ?", (meeting_id,)))
    assert results == {"announce": "sent", "agenda": "sent", "remind_eve": "sent", "remind_hour": "late",
                       "poll": ""}


async def test_late_notices_of_one_meeting_are_reported_together(server: FakeTelegramServer, street: Street,
                                                                 clock: ManualClock) -> None:
    await _open_by_service(street, clock.now())
    move_to(clock, "2030-03-09T10:00")  # down all week: nothing before the meeting goes out now
    async with running(street.settings(server), clock):
        missed = await Chat(server, CHAIR).expect("⚠️ 系统中断过")
        assert "会议通知、议题汇总、前一晚的提醒、会前一小时的提醒" in (missed.text or "")
    assert await street.pushed(WANG, ANNOUNCE) == 0
    assert await street.pushed(CHAIR, "⚠️ 系统中断过") == 1


async def test_a_waitlisted_resident_is_promoted_when_the_capacity_grows(server: FakeTelegramServer,
                                                                       street: Street, clock: ManualClock) -> None:
    meeting_id = await _open_by_service(street, clock.now(), capacity=1)
    async with running(street.settings(server), clock):
        li, chair = Chat(server, LI), Chat(server, CHAIR)
        for chat in (li, chair):
            chat.send("/menu")
            await chat.expect("请选择要办的事")
        assert (await li.answer(f"mt:r:{meeting_id}:y")).startswith("这次已经报满了，您在候补第 1 位。")
        chair.press(f"mt:set:{street.units['C01']}")
        await chair.tap("👥 人数上限")
        await chair.tap("不限")
        await chair.expect("人数上限：不限")
        await li.expect("好消息！")
    assert await street.answers() == {WANG: "yes", LI: "yes"}


async def test_only_the_communitys_secretary_chairs(server: FakeTelegramServer, street: Street,
                                                   clock: ManualClock) -> None:
    meeting_id = await _open_by_service(street, clock.now())
    async with street.db() as db, db.write() as tx:  # the secretary of 和谐社区 is no chair of 幸福社区's meeting
        await people.grant_role(tx, street.ids[SUN], Role.COMMUNITY_SECRETARY, street.units["C02"])
    async with running(street.settings(server), clock):
        for user in (WANG, SUN):
            chat = Chat(server, user)
            chat.send("/menu")
            await chat.expect("请选择要办的事")
            for token in (f"mt:c:{street.units['C01']}", f"mt:set:{street.units['C01']}", f"mt:ag:{meeting_id}",
                          f"mt:at:{meeting_id}", f"mt:oc:{meeting_id}", f"mt:am:{meeting_id}:{street.ids[WANG]}"):
                assert (await chat.answer(token)).startswith(DENIED), (user, token)
        sun = Chat(server, SUN)
        sun.press(f"mt:c:{street.units['C02']}")  # their own community is theirs to chair
        await sun.expect("和谐社区 周六说事（主持）")
    assert await street.query("SELECT COUNT(*) FROM meeting_attendance") == [(0,)]
    assert await street.query("SELECT active, place FROM meeting_settings") == [(1, "")]


async def test_meetings_are_stored_in_utc(db: Database, clock: ManualClock) -> None:
    await import_grid(db, SAMPLE)
    now = datetime(2030, 3, 4, 0, 0, tzinfo=UTC)
    async with db.write() as tx:
        community = await grid.by_code(tx, "C01")
        assert community is not None
        await store.save_settings(tx, community.id, now, start_time="19:30", weekday=2)
        assert await service.plan(tx, now, TZ)
    await service.fire_due(db, now, "Europe/London")  # the zone setting changed: the planned meeting stays
    async with db.read() as tx:
        rows = await tx.all("SELECT starts_at FROM meetings")
    assert [row[0] for row in rows] == [iso(datetime(2030, 3, 6, 11, 30, tzinfo=UTC))]


@pytest.mark.parametrize(("now", "expected"), [
    ("2030-03-04T08:00", "2030-03-09T09:00"),  # Monday: this Saturday
    ("2030-03-09T08:59", "2030-03-09T09:00"),
    ("2030-03-09T09:00", "2030-03-16T09:00"),  # the meeting has begun: next week's
    ("2030-03-10T10:00", "2030-03-16T09:00"),
])
def test_the_next_occurrence(now: str, expected: str) -> None:
    settings = MeetingSettings(1, 5, "09:00", 120, "", None, 3, 24, True)
    starts, ends, until = service.occurrence(settings, datetime.fromisoformat(now).replace(tzinfo=ZONE), TZ)
    assert starts == datetime.fromisoformat(expected).replace(tzinfo=ZONE)
    assert (ends - starts, starts - until) == (timedelta(hours=2), timedelta(hours=24))


@pytest.mark.parametrize(("typed", "clock_time"), [("9:00", "09:00"), ("19：30", "19:30"), ("23:59", "23:59"),
                                                   ("24:00", None), ("9", None), ("9:5", None), ("０9:00", None)])
def test_typed_times(typed: str, clock_time: str | None) -> None:
    parsed = service.parse_time(typed)
    assert (parsed.strftime("%H:%M") if parsed else None) == clock_time


def test_every_meeting_message_is_translated() -> None:
    """Keys passed to MeetingError and built from data are not seen by test_i18n's scan; check them here."""
    sources = "".join((ROOT / "bot" / path).read_text(encoding="utf-8")
                      for path in ("features/meetings/model.py", "features/meetings/service.py",
                                   "features/meetings/meeting.py", "features/meetings/notices.py"))
    keys = set(re.findall(r'"(meeting\.[a-z_.]+)"', sources))
    keys |= {f"meeting.weekday.{day}" for day in service.WEEKDAYS}
    keys |= {f"meeting.job.{kind}" for kind in Notice}
    keys |= {f"meeting.topic_status.{status}" for status in TopicStatus}
    keys |= {f"meeting.decision.{status}" for status in ("open", "discussed")}
    keys |= {f"meeting.your_answer.{answer}" for answer in (*Answer, "none")}
    keys |= {f"meeting.{kind}.{answer}" for kind in ("answered", "rsvp") for answer in Answer}
    keys |= {"meeting.muted", "meeting.unmuted"}
    for locale in SUPPORTED:
        missing = sorted(key for key in keys if catalog(locale).gettext(key) == key)
        assert not missing, f"{locale} lacks {missing}"


async def test_answering_a_pushed_announcement_returns_to_the_interrupted_draft(
        server: FakeTelegramServer, street: Street, clock: ManualClock) -> None:
    async with street.db() as db, db.write() as tx:
        chair = await people.by_id(tx, street.ids[CHAIR])
        assert chair is not None
        await service.configure(tx, street.units["C01"], chair, clock.now(), TZ, active=True)
    [meeting_id] = await street.meeting_ids()
    async with running(street.settings(server), clock):
        wang = Chat(server, WANG)
        wang.send("/menu")
        await wang.tap("📣 我要反映")
        await wang.tap("🏠 屋顶漏水")
        await wang.expect("请说说是什么情况")
        wang.press(f"mt:r:{meeting_id}:y")
        resumed = await wang.expect("好的，已为您报名参加！")
        assert "请说说是什么情况" in (resumed.text or "")
    assert await street.answers() == {WANG: "yes"}


async def test_the_chair_sets_the_days_of_notice_and_when_topics_close(server: FakeTelegramServer,
                                                                          street: Street, clock: ManualClock) -> None:
    meeting_id = await _open_by_service(street, clock.now())
    async with running(street.settings(server), clock):
        chair = Chat(server, CHAIR)
        chair.send("/menu")
        await chair.expect("请选择要办的事")
        chair.press(f"mt:set:{street.units['C01']}")
        await chair.expect("提前 3 天通知，开始前 24 小时截止议题")
        await chair.tap("⏳ 议题截止时间")
        await chair.expect("议事会开始前多久不再收议题？")
        await chair.tap("72 小时")  # three days' notice would announce it after topics had closed
        await chair.expect("提前 3 天通知时，议题不能在开始前 72 小时就截止")
        await chair.tap("📣 提前几天通知")
        await chair.tap("5 天")
        await chair.expect("提前 5 天通知，开始前 24 小时截止议题")
        await chair.tap("⏳ 议题截止时间")
        await chair.tap("48 小时")
        await chair.expect("提前 5 天通知，开始前 48 小时截止议题")
        assert (await chair.answer("n:7")).startswith("没看懂，请点下面的按钮")  # not one of the choices
    rows = await street.query("SELECT announce_days_ahead, topic_cutoff_hours FROM meeting_settings")
    assert [tuple(row) for row in rows] == [(5, 48)]
    starts, until = (await street.query("SELECT starts_at, topics_until FROM meetings WHERE id = ?",
                                        (meeting_id,)))[0]
    assert parse_iso(starts) - parse_iso(until) == timedelta(hours=48)  # unannounced: the meeting ahead follows


async def test_a_new_time_moves_the_meeting_only_while_it_is_unannounced(db: Database) -> None:
    await import_grid(db, SAMPLE)
    monday = datetime(2030, 3, 4, 0, 0, tzinfo=UTC)
    async with db.write() as tx:
        community, chair = await _chair_of_c01(tx, monday)
        assert await service.configure(tx, community.id, chair, monday, TZ, active=True) == "meeting.settings.saved"
        moved = await service.configure(tx, community.id, chair, monday, TZ, weekday=4, start_time="19:30")
        assert moved == "meeting.settings.saved"
        rows = await tx.all("SELECT starts_at, topics_until FROM meetings")
        assert [tuple(row) for row in rows] == [("2030-03-08T11:30:00.000000Z", "2030-03-07T11:30:00.000000Z")]
        jobs = await tx.all("SELECT kind, due_at FROM scheduled_jobs WHERE kind IN ('announce', 'remind_hour')")
        assert sorted(tuple(row) for row in jobs) == [("announce", "2030-03-05T11:30:00.000000Z"),
                                                     ("remind_hour", "2030-03-08T10:30:00.000000Z")]
    wednesday = datetime(2030, 3, 6, 0, 0, tzinfo=UTC)
    assert await service.fire_due(db, wednesday, TZ) == 1  # announced (nobody lives here: no pushes)
    async with db.write() as tx:
        kept = await service.configure(tx, community.id, chair, wednesday, TZ, weekday=5, start_time="09:00")
        assert kept == "meeting.settings.next_week"
        assert [row[0] for row in await tx.all("SELECT starts_at FROM meetings")] == ["2030-03-08T11:30:00.000000Z"]
    assert await service.fire_due(db, datetime(2030, 3, 8, 12, 0, tzinfo=UTC), TZ) >= 1  # it began: next one planned
    async with db.read() as tx:
        starts = [row[0] for row in await tx.all("SELECT starts_at FROM meetings ORDER BY starts_at")]
    assert starts == ["2030-03-08T11:30:00.000000Z", "2030-03-09T01:00:00.000000Z"]  # the new time, from then on


async def test_the_chair_calls_off_this_weeks_meeting(server: FakeTelegramServer, street: Street,
                                                      clock: ManualClock) -> None:
    meeting_id = await _open_by_service(street, clock.now())  # 王阿姨 said yes straight away
    async with street.db() as db, db.write() as tx:
        qian = await people.by_id(tx, street.ids[QIAN])
        assert qian is not None
        await service.set_muted(tx, street.units["C01"], qian, True, clock.now())  # not announced to 钱伯
        await people.grant_role(tx, street.ids[SUN], Role.COMMUNITY_SECRETARY, street.units["C02"])
    async with running(street.settings(server), clock) as jinlin:
        chair, wang, li, zhao, qian_chat, sun = (Chat(server, user) for user in (CHAIR, WANG, LI, ZHAO, QIAN, SUN))
        await at(clock, jinlin, "2030-03-06T09:00:30")
        for chat in (wang, li, zhao):
            await chat.expect(ANNOUNCE)
        await li.tap("❌ 来不了")
        await li.expect("好的，记下您这次来不了")
        await propose(zhao, meeting_id, "垃圾分类点太远")
        qian_chat.send("/menu")
        await qian_chat.tap("🗓 周六说事")
        await qian_chat.tap("🤔 可能来")  # muted, but answered from the menu: told too
        await qian_chat.expect("好的，记下您可能来。")

        # neither a resident nor another community's secretary may call it off, whatever they press
        for chat in (wang, sun):
            chat.send("/menu")
            await chat.expect("请选择要办的事")
            for token in (f"mt:cx:{meeting_id}", f"mt:cxok:{meeting_id}", f"mt:cxok:{meeting_id}:y", "mt:cx:01"):
                assert (await chat.answer(token)).startswith(DENIED), (chat.user_id, token)
        assert await street.query("SELECT status FROM meetings") == [("scheduled",)]

        chair.send("/menu")
        await chair.tap("🗓 周六说事")
        await chair.expect("幸福社区 周六说事（主持）")
        await chair.tap("🚫 取消这次议事会")
        await chair.expect(f"确定取消 {WHEN} 的周六说事吗？已收到通知、报名或提了议题的 4 位居民会收到取消通知")
        await chair.tap("↩️ 不取消，返回")  # changed their mind, then not
        await chair.expect("幸福社区 周六说事（主持）")
        assert await street.query("SELECT status FROM meetings") == [("scheduled",)]
        await chair.tap("🚫 取消这次议事会")
        await chair.tap("🚫 确定取消")
        done = await chair.expect(f"已取消 {WHEN} 的议事会，通知了 4 位居民。")
        assert "🗓 周六说事：3月16日（周六）09:00" in (done.text or "")  # next week's is planned already

        cancelled = f"🚫 {WHEN} 的周六说事（幸福社区）取消了"
        for chat in (wang, li, zhao, qian_chat):
            await chat.expect(cancelled)
        assert [await street.pushed(user, cancelled) for user in (SUN, CHAIR)] == [0, 0]

        # its buttons answer politely, and a second confirmation changes nothing
        gone = "抱歉，这次议事会已经取消了。"
        for token in (f"mt:r:{meeting_id}:y", f"mt:tp:{meeting_id}", f"mt:in:{meeting_id}"):
            assert (await wang.answer(token)).startswith(gone), token
        assert (await chair.answer(f"mt:cxok:{meeting_id}")).startswith(gone)
        assert (await chair.answer(f"mt:ag:{meeting_id}")).startswith(gone)

        # no agenda, no reminders; the week stays called off however often the scheduler plans
        await at(clock, jinlin, "2030-03-08T19:00:30")
        await at(clock, jinlin, "2030-03-09T08:00:30")
        for user in (WANG, QIAN):
            assert (await street.pushed(user, EVENING), await street.pushed(user, HOUR_BEFORE)) == (0, 0)
        assert await street.pushed(CHAIR, "议题已截止") == 0
        assert [await street.pushed(user, cancelled) for user in (WANG, LI, ZHAO, QIAN)] == [1, 1, 1, 1]

        await at(clock, jinlin, "2030-03-13T09:00:30")  # next week's goes ahead as usual
        for chat in (wang, li, zhao):
            note = await chat.expect(ANNOUNCE)
            assert "时间：3月16日（周六）09:00" in (note.text or "")

    meetings = await street.query("SELECT starts_at, status FROM meetings ORDER BY starts_at")
    assert meetings == [("2030-03-09T01:00:00.000000Z", "cancelled"), ("2030-03-16T01:00:00.000000Z", "scheduled")]
    jobs = await street.query("SELECT kind, outcome FROM scheduled_jobs WHERE subject = 'meeting' AND subject_id = ?",
                              (meeting_id,))
    assert jobs == [("announce", "sent")]  # the rest were taken off the schedule


async def test_what_may_be_called_off(db: Database) -> None:
    """Only a meeting ahead; a called-off week is never planned again, while one dropped by pausing comes back."""
    await import_grid(db, SAMPLE)
    monday = datetime(2030, 3, 4, 0, 0, tzinfo=UTC)
    async with db.write() as tx:
        community, chair = await _chair_of_c01(tx, monday)
        await service.configure(tx, community.id, chair, monday, TZ, active=True)
        await service.configure(tx, community.id, chair, monday, TZ, active=False)  # paused: dropped …
        await service.configure(tx, community.id, chair, monday, TZ, active=True)  # … and back on
        [(first, status)] = [tuple(row) for row in await tx.all("SELECT id, status FROM meetings")]
        assert status == "scheduled"

        meeting, told = await service.cancel(tx, first, chair, monday, TZ)
        assert (meeting.id, told) == (first, 0)
        with pytest.raises(service.MeetingError, match=re.escape("meeting.error.cancelled")):
            await service.cancel(tx, first, chair, monday, TZ)
        await service.configure(tx, community.id, chair, monday, TZ, active=False)
        await service.configure(tx, community.id, chair, monday, TZ, active=True)  # a call-off stays
        await service.configure(tx, community.id, chair, monday, TZ, weekday=5, start_time="09:00")
        rows = await tx.all("SELECT starts_at, status FROM meetings ORDER BY starts_at")
        assert [tuple(row) for row in rows] == [("2030-03-09T01:00:00.000000Z", "cancelled"),
                                                ("2030-03-16T01:00:00.000000Z", "scheduled")]
        [(second,)] = [tuple(row) for row in await tx.all("SELECT id FROM meetings WHERE status = 'scheduled'")]

    saturday = datetime(2030, 3, 16, 1, 30, tzinfo=UTC)  # next week's has begun: too late to call off
    assert await service.fire_due(db, saturday, TZ) >= 1
    async with db.write() as tx:
        with pytest.raises(service.MeetingError, match=re.escape("meeting.error.cancel_started")):
            await service.cancel(tx, second, chair, saturday, TZ)
        await service.enter_outcome(tx, second, chair, "都定了", saturday, TZ)
        with pytest.raises(service.MeetingError, match=re.escape("meeting.error.closed")):
            await service.cancel(tx, second, chair, saturday - timedelta(hours=1), TZ)


async def test_cancelling_a_typed_topic_asks_first(server: FakeTelegramServer, street: Street,
                                                   clock: ManualClock) -> None:
    async with running(street.settings(server), clock):
        chair, wang = Chat(server, CHAIR), Chat(server, WANG)
        await open_meetings(chair)
        [meeting_id] = await street.meeting_ids()
        wang.send("/menu")
        await wang.expect("请选择要办的事")
        wang.press(f"mt:tp:{meeting_id}")
        await wang.expect("想在议事会上说什么事？")
        wang.send("楼道里堆满了杂物")
        await wang.expect("要配一张照片吗？")
        await wang.tap("✖ 取消")
        await wang.expect("放弃这个议题吗？")
        await wang.tap("不，接着填")
        await wang.expect("要配一张照片吗？")
        await wang.tap("✖ 取消")
        await wang.tap("是的，放弃")
        await wang.expect("好的，这个议题没有提交。")
    assert await street.query("SELECT COUNT(*) FROM meeting_topics") == [(0,)]


@pytest.mark.parametrize("codec", tokens.CODECS, ids=lambda codec: codec.prefix)
def test_every_meeting_token_reads_back_what_it_makes(codec: Token[Any]) -> None:
    for value in codec.samples():
        assert codec.parse(codec.make(value)) == value
    sample = codec.make(next(iter(codec.samples())))
    head = sample.rpartition(":")[0]
    for garbage in (head, f"{sample}:1", f"{head}:01", f"{head}:-1", f"zz{sample}", ""):
        assert codec.parse(garbage) is None, garbage


def test_meeting_tokens_are_the_ones_already_sent() -> None:
    assert tokens.RSVP.make(tokens.Rsvp(12, tokens.Choice.YES)) == "mt:r:12:y"
    assert tokens.RATE.make(tokens.Rating(12, 4)) == "mt:p:12:4"
    assert tokens.MARK.make(tokens.Mark(12, 7)) == "mt:am:12:7"
    assert tokens.press(tokens.Action.CANCEL_OK, 12) == "mt:cxok:12"
    assert tokens.press(tokens.Action.UNMUTE, 3) == "mt:unmute:3"
    assert tokens.PRESS.parse("mt:am:12") is None and tokens.RSVP.parse("mt:r:12:x") is None
    assert tokens.RATE.parse("mt:p:12:6") is None and tokens.PRESS.parse("mt:tp:0") is None
    assert tokens.WEEKDAY.parse("wd:7") is None and tokens.NUMBER.parse("n:24") == tokens.Number(24)
