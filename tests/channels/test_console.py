"""The console demo, driven through its real standard input and output as a separate process, and in this process
on an injected clock for the stories that take a week."""

from __future__ import annotations

import asyncio
import io
import os
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from bot import app
from bot.clock import Clock, ManualClock
from bot.config import Settings
from bot.conversations.engine import Engine
from bot.conversations.tokens import Token
from bot.domain.people import Duty, Role
from bot.features.catalog import all_flows
from bot.features.invites.feature import FEATURE as INVITES
from bot.features.invites.tokens import DUTY, ROLE, DutyPick, RolePick
from bot.features.meetings import service as meeting_service
from bot.features.registration.feature import FEATURE as REGISTRATION
from bot.features.registration.tokens import LANGUAGE, Language
from bot.handlers.console import ConsoleChannel
from bot.i18n import SUPPORTED, use_locale
from bot.services import demo
from bot.services.media import MediaStore
from bot.storage import grid, people, scheduled_jobs
from bot.storage.db import Database
from bot.storage.scheduled_jobs import Subject
from tests.cli_harness import Terminal, console_demo
from tests.harness import TickingClock

TZ = "Asia/Shanghai"
ZONE = ZoneInfo(TZ)
MONDAY = datetime(2030, 3, 4, 0, 0, tzinfo=UTC)  # Monday 08:00 in Shanghai; this week's meeting is Saturday 9 March
WHEN = "3月9日（周六）09:00"


@pytest.fixture
async def terminal(tmp_path: Path) -> AsyncIterator[Terminal]:
    async with console_demo(tmp_path) as running:
        yield running


async def test_resident_joins_by_picking_their_building(terminal: Terminal) -> None:
    await terminal.expect("同意吗？")
    await terminal.type("1")  # agree
    screen = await terminal.expect("请选择您所在的社区")
    await terminal.expect("> ")
    assert "[1] 幸福社区" in terminal.screen and "[2] 和谐社区" in terminal.screen, screen
    await terminal.type("2")  # 和谐社区
    await terminal.expect("请选择您所在的小区")
    await terminal.type("康乐小区")  # the label typed instead of its number
    await terminal.expect("请选择您住的楼栋")
    await terminal.type("1")
    await terminal.expect("请输入房号")
    await terminal.type("5-302")
    await terminal.expect("加入成功！您的住址：和谐社区 · 康乐小区 · 1号楼 · 5-302")
    await terminal.type("👤 我的信息")  # a button's label works like its number
    await terminal.expect("住址：和谐社区 · 康乐小区 · 1号楼 · 5-302")
    await terminal.type("/quit")
    assert await terminal.process.wait() == 0


async def test_admin_invites_a_leader_who_accepts_and_the_admin_is_told(terminal: Terminal) -> None:
    await terminal.expect("同意吗？")
    await terminal.type("/as admin")
    await terminal.expect("现在您是 admin")
    await terminal.expect("邀请网格员")
    await terminal.type("/invite building_leader C01-A-B2 safety,sanitation")
    created = await terminal.expect("请选择要办的事")
    code = re.search(r"邀请码：(inv-[a-z0-9]+)", created)
    assert code, created
    await terminal.type("/as resident 7")
    await terminal.expect("同意吗？")
    await terminal.type(f"/start {code.group(1)}")
    await terminal.expect("您受邀担任：幸福社区 · 阳光花园 · 2号楼 楼栋党小组长\n分工：安全员, 卫生员")
    await terminal.type("1")  # accept
    await terminal.expect("同意吗？")
    await terminal.type("1")  # consent
    await terminal.expect("您现在是 幸福社区 · 阳光花园 · 2号楼 楼栋党小组长。")
    await terminal.expect("📨 发给 admin 的消息：\n"
                          "resident-7 已接受邀请，成为 幸福社区 · 阳光花园 · 2号楼 楼栋党小组长。")
    await terminal.type(f"/start {code.group(1)}")  # a second use of the same code
    await terminal.expect("这个邀请码已经用过了")
    await terminal.type("/quit")
    assert await terminal.process.wait() == 0


async def test_admin_invites_a_party_member_down_to_their_household_with_buttons(terminal: Terminal) -> None:
    await terminal.expect("同意吗？")
    await terminal.type("/as admin")
    await terminal.expect("邀请网格员")
    await terminal.type("/invite")
    await terminal.expect("党员中心户")
    await terminal.type("党员中心户")
    for label in ("幸福社区", "阳光花园", "1号楼"):
        await terminal.type(label)
    await terminal.expect("哪个党员中心户？")
    await terminal.type("1号楼 301 党员中心户")
    await terminal.expect("生成邀请")
    await terminal.type("生成邀请")
    created = await terminal.expect("请选择要办的事")
    code = re.search(r"邀请码：(inv-[a-z0-9]+)", created)
    assert code, created
    await terminal.type("/as resident 7")
    await terminal.expect("同意吗？")
    await terminal.type(f"/start {code.group(1)}")
    await terminal.expect("您受邀担任：幸福社区 · 阳光花园 · 1号楼 · 1号楼 301 党员中心户 党员中心户")
    await terminal.type("/quit")
    assert await terminal.process.wait() == 0


async def test_the_whole_story_in_one_terminal(terminal: Terminal, tmp_path: Path) -> None:
    """A resident reports a leak with a photo; the building leader accepts and resolves it; the resident rates it."""
    Image.new("RGB", (64, 48), (200, 30, 30)).save(tmp_path / "leak.jpg")
    await terminal.expect("同意吗？")
    for line in ("1", "1", "1", "1", "3-201"):  # agree, 幸福社区, 阳光花园, 1号楼, room
        await terminal.type(line)
    await terminal.expect("加入成功")
    await terminal.type("1")  # 我要反映
    await terminal.expect("您要反映哪方面的事")
    await terminal.type("1")  # 屋顶漏水
    await terminal.expect("请说说是什么情况")
    await terminal.type("屋顶漏水，下雨天滴水")
    await terminal.expect("最多 5 张，已收到 0 张")
    await terminal.type(f"/photo {tmp_path / 'leak.jpg'}")
    await terminal.expect("已收到 1 张")
    await terminal.type("1")  # 发完了
    await terminal.expect("照片：1 张")
    await terminal.type("1")  # 提交
    ref = re.search(r"编号：(JL-\d{8}-\d{4})", await terminal.expect("有进展会马上告诉您"))
    assert ref is not None
    await terminal.expect(f"📨 发给 building-C01-A-B1 的消息：\n[照片 {tmp_path}/media/")
    await terminal.expect(f"📋 {ref.group(1)} 🏠 屋顶漏水")
    await terminal.type("/as leader C01-A-B1")
    await terminal.expect("—— 现在您是 building-C01-A-B1 ——")
    await terminal.expect("> ")
    await terminal.type("a")  # ✋ 受理, on the pushed task
    await terminal.expect(f"您已受理 {ref.group(1)}")
    await terminal.expect(f"📨 发给 resident-1 的消息：\n您反映的 {ref.group(1)} 已由")
    await terminal.type("🗂 我的任务")
    await terminal.expect("待办")
    await terminal.type("1")  # the task
    await terminal.expect("✅ 办结")
    await terminal.type("2")  # 办结 on the card (accepted: no 受理 any more)
    await terminal.expect("再输入处理说明")
    await terminal.type("换了防水卷材")
    await terminal.expect("已请居民确认问题是否解决")
    await terminal.expect("问题解决了吗？\n[a] ✅ 解决了")
    await terminal.type("/as resident")
    await terminal.expect("> ")
    await terminal.type("a")  # ✅ 解决了
    await terminal.expect("请给这次处理打个分吧")
    await terminal.type("5")
    await terminal.expect("还有什么想说的吗")
    await terminal.type("很满意，谢谢楼长")
    await terminal.expect("谢谢您的评价")
    await terminal.type("/quit")
    assert await terminal.process.wait() == 0


# ------------------------------------------------------------------------------- the demo in this process


class Screen(io.StringIO):
    """The demo's standard output: what it printed, and a wake-up for whoever waits for more."""

    def __init__(self) -> None:
        super().__init__()
        self.grew = asyncio.Event()

    def write(self, text: str) -> int:
        self.grew.set()
        return super().write(text)


class Console:
    """`app.console` running in this process on an injected clock, typed into through a pipe."""

    def __init__(self, tmp_path: Path, clock: Clock) -> None:
        self.path = tmp_path / "demo.db"
        self.clock = clock
        self.settings = Settings(db_path=str(self.path), media_dir=str(tmp_path / "media"), locale="zh_CN",
                                 timezone=TZ)
        read, write = os.pipe()
        self._inp = os.fdopen(read, "r", encoding="utf-8")
        self._keys = os.fdopen(write, "w", encoding="utf-8")
        self.out = Screen()
        self._read = 0
        self.task = asyncio.create_task(app.console(self.settings, self._inp, self.out, self.clock))

    @property
    def screen(self) -> str:
        return self.out.getvalue()

    async def type(self, line: str) -> None:
        self._keys.write(f"{line}\n")
        self._keys.flush()

    async def expect(self, text: str, timeout: float = 10.0) -> str:  # noqa: ASYNC109
        """Wait for `text` after what earlier expectations consumed; returns the output up to it."""
        try:
            async with asyncio.timeout(timeout):
                while (found := self.screen.find(text, self._read)) < 0:
                    if self.task.done():
                        raise AssertionError(f"console ended without {text!r}; it printed:\n{self.screen}")
                    self.out.grew.clear()
                    await self.out.grew.wait()
        except TimeoutError:
            raise AssertionError(f"no {text!r} after:\n{self.screen[self._read:]}") from None
        seen = self.screen[self._read:found + len(text)]
        self._read = found + len(text)
        return seen

    async def close(self) -> None:
        if not self._keys.closed:
            self._keys.close()  # end of input: the demo stops
        await asyncio.wait_for(self.task, 10)
        self._inp.close()


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[Console]:
    running = Console(tmp_path, TickingClock(MONDAY))
    try:
        yield running
    finally:
        await running.close()


def pushed(screen: str, who: str, text: str) -> bool:
    """Whether a push to `who` starting with `text` was printed."""
    return f"📨 发给 {who} 的消息：\n{text}" in screen


async def test_the_meeting_week_a_law_talk_and_a_notice_in_one_terminal(console: Console) -> None:
    """Issue 4's "done when": a resident answers this Saturday's meeting and raises a topic; the chair sees it on the
    agenda and publishes the outcomes; the admin schedules a law talk and sends a notice to one community."""
    await console.expect("同意吗？")
    for line in ("1", "1", "1", "1", "3-201"):  # agree, 幸福社区, 阳光花园, 1号楼, room
        await console.type(line)
    await console.expect("加入成功")
    await console.type("3")  # 🗓 周六说事
    await console.expect(f"🗓 周六说事：{WHEN}\n地点：幸福社区\n您还没说能不能来。")
    await console.type("1")  # ✅ 参加
    await console.expect("好的，已为您报名参加！")
    await console.expect("您已报名参加 ✅")
    await console.type("4")  # 💬 提议题
    await console.expect("想在议事会上说什么事？")
    await console.type("楼道的灯坏了一个月了")
    await console.expect("要配一张照片吗？")
    await console.type("1")  # 不用照片
    await console.expect("收到您的议题：“楼道的灯坏了一个月了”。")

    await console.type("/as resident 2")  # a neighbour in the other community
    await console.expect("同意吗？")
    for line in ("1", "2", "1", "1", "5-502"):  # agree, 和谐社区, 和平里, 1号楼, room
        await console.type(line)
    await console.expect("加入成功！您的住址：和谐社区 · 和平里 · 1号楼 · 5-502。")

    await console.type("/as secretary C01")  # the chair
    await console.expect("—— 现在您是 community-C01 ——")
    await console.type("3")  # 🗓 周六说事: a secretary living elsewhere goes straight to chairing
    await console.expect(f"🧑‍⚖️ 幸福社区 周六说事（主持）\n🗓 周六说事：{WHEN}")
    await console.expect("报名：✅ 参加 1 · 🤔 可能 0 · ❌ 来不了 0 · ⏳ 候补 0\n🙋 已签到 0 · 💬 议题 1")
    await console.type("1")  # 📋 看议题
    await console.expect(f"📋 {WHEN} 议事会的议题\n议题 1 个：\n1. 🟡 待议 楼道的灯坏了一个月了（resident-1 3-201）")

    await console.type("/later sat 09:30")  # the week goes by, each send at its time
    await console.expect("⏩ 演示时间：3月9日（周六）09:30")
    await console.expect(f"📨 发给 community-C01 的消息：\n📋 {WHEN} 议事会的议题已截止，请您提前看看：")
    await console.expect("1. 🟡 待议 楼道的灯坏了一个月了（resident-1 3-201）")
    await console.expect(f"📨 发给 resident-1 的消息：\n⏰ 周六说事一小时后开始（{WHEN}）")
    assert pushed(console.screen, "resident-1", f"🗓 周六说事 · 居民议事\n时间：{WHEN}\n地点：幸福社区")
    assert pushed(console.screen, "resident-1", f"⏰ 提醒：周六说事 {WHEN} 开始")
    assert "系统中断过" not in console.screen  # nothing was late: every send went out at its own time
    await console.type("3")  # 🗓 周六说事
    await console.expect("[3] 📝 录入议事结果")
    await console.type("1")  # 📋 看议题
    await console.type("1")  # the topic
    await console.expect("提出人：resident-1 3-201\n内容：楼道的灯坏了一个月了")
    await console.type("1")  # 💬 标记为已讨论
    await console.expect("“楼道的灯坏了一个月了”已标记为已讨论。")
    await console.type("2")  # ⬆️ 返回主持页面
    await console.expect("[3] 📝 录入议事结果")
    await console.type("3")
    await console.expect(f"请输入 {WHEN} 议事会的结果")
    await console.type("一、楼道灯本周内修好。")
    await console.expect("议事结果已发布，发给了 1 位居民。")
    await console.expect(f"📨 发给 resident-1 的消息：\n📝 {WHEN} 周六说事的结果：\n一、楼道灯本周内修好。\n\n"
                         "您提的议题“楼道的灯坏了一个月了”：已在会上讨论")

    await console.type("/as admin")
    await console.expect("—— 现在您是 admin ——")
    await console.type("6")  # ⚖️ 安排讲座
    await console.expect("[1] ➕ 新建法治宣讲")
    await console.type("1")
    for question, answer in (("请输入题目", "民法典与邻里生活"), ("主讲人是谁", "王律师"),
                             ("什么时候开始", "2030-03-14 14:30"), ("在哪里举行", "社区党群服务中心")):
        await console.expect(question)
        await console.type(answer)
    await console.expect("通知哪里的居民？当前：近邻街道。")
    await console.type("2")  # 幸福社区
    await console.expect("[1] 📍 整个幸福社区")
    await console.type("1")
    await console.expect("补充说明")
    await console.type("1")  # 跳过
    await console.expect("通知范围：幸福社区（现有 1 位居民）")
    await console.type("1")  # 📢 发布并通知居民
    await console.expect("已发布⚖️ 法治宣讲《民法典与邻里生活》，正在通知 1 位居民")
    await console.expect("📨 发给 resident-1 的消息：\n📣 活动通知\n⚖️ 法治宣讲：《民法典与邻里生活》\n🎤 主讲：王律师\n"
                         "🕑 时间：3月14日（周四）14:30\n📍 地点：社区党群服务中心")

    await console.type("5")  # 📢 群发通知
    await console.expect("[1] ✅ 发给近邻街道   [2] 幸福社区")
    await console.type("2")  # 幸福社区
    await console.type("1")  # ✅ 发给幸福社区
    await console.expect("发给幸福社区的哪些人？")
    await console.type("1")  # 居民
    await console.expect("请输入通知内容")
    await console.type("本周六上午义诊。")
    await console.type("1")  # 不附照片
    await console.expect("预览：下面就是居民将收到的消息，共 1 人。")
    await console.type("1")  # ✅ 确认发送
    await console.expect("好的，正在发送给 1 人")
    await console.expect("📨 发给 admin 的消息：\n📢 群发中 · 幸福社区 · 居民\n已发送 0 / 1，失败 0")
    await console.expect("📨 发给 resident-1 的消息：\n📢 通知 · 幸福社区\n\n本周六上午义诊。")
    await console.expect("📨 发给 admin 的消息：\n📢 群发完成 · 幸福社区 · 居民\n共 1 人\n✅ 已送达 1\n"
                         "🚫 无法送达（已屏蔽机器人或账号已停用）0\n⚠️ 发送失败 0")

    # the neighbour in 和谐社区 heard of their own community's meeting, and of nothing meant for 幸福社区
    screen = console.screen
    assert pushed(screen, "resident-2", f"🗓 周六说事 · 居民议事\n时间：{WHEN}\n地点：和谐社区")
    for text in ("📣 活动通知", "📢 通知 · 幸福社区", "📝"):
        assert not pushed(screen, "resident-2", text), text
    await console.type("/quit")
    await asyncio.wait_for(console.task, 10)


# ----------------------------------------------------------------------------------- demo seed and clock


async def test_the_demo_opens_this_weeks_meeting_once(db: Database) -> None:
    await demo.seed(db, MONDAY, "zh_CN", TZ)
    async with db.write() as tx:  # the secretary of 和谐社区 pauses their meetings
        community = await grid.by_code(tx, "C02")
        secretary = await people.person_for(tx, demo.CHANNEL, demo.member_id(Role.COMMUNITY_SECRETARY, "C02"))
        assert community is not None and secretary is not None
        await meeting_service.configure(tx, community.id, secretary, MONDAY, TZ, active=False)
    for _ in range(2):  # the demo restarted on the same database
        await demo.seed(db, MONDAY, "zh_CN", TZ)
    async with db.read() as tx:
        rows = await tx.all("SELECT g.code, m.starts_at, m.status FROM meetings m JOIN grid_units g "
                            "ON g.id = m.community_id ORDER BY g.code")
        settings = await tx.all("SELECT g.code, s.active FROM meeting_settings s JOIN grid_units g "
                                "ON g.id = s.community_id ORDER BY g.code")
        people_count = await tx.scalar("SELECT COUNT(*) FROM people")
        jobs = await tx.all("SELECT kind FROM scheduled_jobs j JOIN meetings m ON m.id = j.subject_id "
                            "WHERE j.subject = 'meeting' AND m.status = 'scheduled' ORDER BY j.due_at")
    assert [tuple(row) for row in rows] == [("C01", "2030-03-09T01:00:00.000000Z", "scheduled"),
                                            ("C02", "2030-03-09T01:00:00.000000Z", "cancelled")]
    assert [tuple(row) for row in settings] == [("C01", 1), ("C02", 0)]  # a pause is not undone by a restart
    assert people_count == 1 + 10 + 2  # the admin, a leader per building, a secretary per community
    assert [row[0] for row in jobs] == ["announce", "agenda", "remind_eve", "remind_hour", "poll"]


@pytest.mark.parametrize(("words", "expected"), [
    (["2h"], "2030-03-04T10:00"),
    (["3d"], "2030-03-07T08:00"),
    (["90m"], "2030-03-04T09:30"),
    (["sat", "09:30"], "2030-03-09T09:30"),
    (["Mon", "9:00"], "2030-03-04T09:00"),  # later today
    (["mon", "08:00"], "2030-03-11T08:00"),  # now: a week on
    (["07:00"], "2030-03-05T07:00"),  # tomorrow
    (["19:00"], "2030-03-04T19:00"),
    (["0h"], None), (["400d"], None), (["soon"], None), (["sat"], None), (["sat", "25:00"], None),
    (["someday", "09:00"], None), (["saturday", "09:00"], None), ([], None), (["sat", "09:30", "x"], None),
])
def test_where_later_goes(words: list[str], expected: str | None) -> None:
    target = demo.later_target(words, MONDAY, TZ)
    assert target == (datetime.fromisoformat(expected).replace(tzinfo=ZONE) if expected else None)


async def test_later_moves_the_demo_clock_and_sends_each_thing_at_its_time(db: Database, tmp_path: Path) -> None:
    clock = demo.DemoClock(ManualClock(MONDAY))
    await demo.seed(db, clock.now(), "zh_CN", TZ)
    engine = Engine(db, clock, all_flows(), admins=frozenset({("console", demo.ADMIN_ID)}), timezone=TZ)
    out = io.StringIO()
    lines = io.StringIO("/later soon\n/later sat 09:30\n/later 2h\n")
    channel = ConsoleChannel(engine, MediaStore(tmp_path / "media"), lines, out, language_hint="zh_CN", pushed={},
                             travel=demo.TimeTravel(db, clock, TZ))
    with use_locale("zh_CN"):
        await channel.run()
    screen = out.getvalue()
    assert "/later sat 09:30（下个周六 9:30）" in screen  # the banner tells how
    assert "现在是 3月4日（周一）08:00。用法：/later 2h" in screen
    assert "⏩ 演示时间：3月9日（周六）09:30\n请选择您所在的社区" not in screen
    assert "⏩ 演示时间：3月9日（周六）09:30\n" in screen and "⏩ 演示时间：3月9日（周六）11:30\n" in screen
    async with db.read() as tx:
        community = await grid.by_code(tx, "C01")
        assert community is not None
        held = await tx.all("SELECT id FROM meetings WHERE community_id = ? ORDER BY starts_at", (community.id,))
        results = {job.kind: job.outcome for job in await scheduled_jobs.of(tx, Subject.MEETING, held[0][0])}
    assert results == {"announce": "sent", "agenda": "sent", "remind_eve": "sent", "remind_hour": "sent",
                       "poll": ""}  # each went out at its time, none late; the poll is for tomorrow
    assert len(held) == 2  # once this week's began, next week's was planned


@pytest.mark.parametrize("codec", INVITES.tokens + REGISTRATION.tokens, ids=lambda codec: codec.prefix)
def test_invite_and_joining_token_codecs_round_trip_and_refuse_garbage(codec: Token[Any]) -> None:
    for value in codec.samples():
        assert codec.parse(codec.make(value)) == value
    for garbage in ("", codec.prefix, f"{codec.prefix}:", f"{codec.prefix}:safety:x", f"{codec.prefix}:01",
                    f"{codec.prefix}:-1", "u:12", f"{codec.prefix}x:en", f"{codec.prefix}:done", f"{codec.prefix}:fr"):
        assert codec.parse(garbage) is None


def test_invite_and_language_buttons_keep_their_tokens() -> None:
    assert ROLE.make(RolePick(Role.BUILDING_LEADER)) == "role:building_leader"
    assert DUTY.make(DutyPick(Duty.SAFETY)) == "duty:safety"
    assert DUTY.parse("duty:done") is None  # the "make the invite" button, not a duty
    assert [LANGUAGE.make(Language(code)) for code in SUPPORTED] == ["lang:zh_CN", "lang:en"]
    assert all(LANGUAGE.parse(f"lang:{code}") == Language(code) for code in SUPPORTED)
