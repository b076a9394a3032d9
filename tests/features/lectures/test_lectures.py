"""Law talks and moral lectures: the organizer's wizard over Telegram (the real PTB Application against the fake Bot
API server, with an injected clock), the notice to residents in scope, RSVP, the reminder, changes, cancellation,
check-in and the satisfaction poll; scheduled sends across downtime; rights; and the `lecture` command line."""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.messages.pofile import read_po

from bot.clock import ManualClock, iso
from bot.conversations.tokens import Ref
from bot.domain.people import Role
from bot.features.catalog import discover
from bot.features.lectures import notices, service
from bot.features.lectures.model import Kind, Lecture
from bot.features.lectures.tokens import CODECS, NEW, RATE, RSVP, VIEW, New, Rate, Rsvp
from bot.i18n import SUPPORTED, po_path, use_locale
from bot.services.grid_import import import_grid
from bot.storage import grid, people
from bot.storage.db import Database
from tests import cli_harness, harness
from tests.fake_telegram import FakeTelegramServer
from tests.harness import SAMPLE, Chat, Member, TickingClock, running, seed_street

ROOT = Path(__file__).resolve().parents[3]
TZ = "Asia/Shanghai"
HOUR = 3600
ADMIN, SECRETARY, LEADER = 1900, 1301, 1201
NEAR, FAR, ENGLISH, ELSEWHERE = 2101, 2102, 2103, 2201  # residents: three in 幸福社区 (C01), one in 和谐社区 (C02)
HOMES = {NEAR: "C01-A-B1", FAR: "C01-B-B1", ENGLISH: "C01-A-B2", ELSEWHERE: "C02-A-B1"}
TITLE = "民法典与邻里纠纷"
PLACE = "幸福社区党群服务中心二楼"
DENIED = "抱歉，您没有这个权限。"




@pytest.fixture
def clock() -> TickingClock:
    return TickingClock()  # 2026-11-27 09:00 UTC, 17:00 in the street


def local(text: str) -> datetime:
    """A street-local time, as UTC."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=ZoneInfo(TZ)).astimezone(UTC)


class Street(harness.Street[int]):
    """The seeded database, reached through a second connection while Jinlin runs; Telegram user ids as keys."""

    admins = frozenset({("telegram", str(ADMIN))})

    async def schedule(self, clock: ManualClock, starts: datetime, *, by: int = ADMIN, unit: str = "C01",
                       rsvp: bool = True, title: str = TITLE) -> int:
        """A talk created straight through the service (the wizard is tested on its own)."""
        async with self.db() as db, db.write() as tx:
            person = await people.by_id(tx, self.ids[by])
            place = await grid.by_code(tx, unit)
            assert place is not None
            draft = service.Draft(Kind.LAW_TALK, title, "王律师", starts, "党群服务中心二楼", place.id, rsvp=rsvp)
            return (await service.create(tx, draft, person, False, clock.now(), TZ)).id

    async def pushes(self, user: int, kind: str) -> int:
        """Outbox rows of one kind of push (notice, remind, poll, v2 …) to a Telegram user."""
        found = await self.query("SELECT COUNT(*) FROM outbox WHERE chat_id = ? AND idempotency_key LIKE ?",
                                 (str(user), f"lecture:%:{kind}%"))
        return int(str(found[0][0]))


@pytest.fixture
async def street(tmp_path: Path, clock: ManualClock) -> Street:
    cast = [Member(ADMIN, "街道", street_admin=True),
            Member(SECRETARY, "张书记", roles=((Role.COMMUNITY_SECRETARY, "C01"),)),
            Member(LEADER, "李师傅", roles=((Role.BUILDING_LEADER, "C01-A-B1"),)),
            *(Member(user, name, home=HOMES[user], room="201", locale="en" if user == ENGLISH else "zh_CN")
              for user, name in ((NEAR, "王阿姨"), (FAR, "陈大爷"), (ENGLISH, "Anna"), (ELSEWHERE, "刘阿姨")))]
    path = tmp_path / "jinlin.db"
    return Street(path, *await seed_street(path, cast, clock.now()))


async def open_lectures(chat: Chat) -> None:
    """/menu, then the menu's 安排讲座 (on the new menu, not an older one)."""
    before = len(chat.screen())
    chat.send("/menu")
    await chat.server.wait_until(lambda: len(chat.screen()) > before, 5, lambda: "no menu")
    await chat.tap("⚖️ 安排讲座")


async def test_admin_publishes_a_law_talk_and_follows_it_to_the_poll(server: FakeTelegramServer, street: Street,
                                                                     clock: TickingClock) -> None:
    async with running(street.settings(server), clock) as jinlin:
        timers = jinlin.core.scheduler
        assert timers is not None
        admin = Chat(server, ADMIN)
        near, far, english, elsewhere = (Chat(server, user) for user in (NEAR, FAR, ENGLISH, ELSEWHERE))

        await open_lectures(admin)
        await admin.expect("目前没有安排")
        await admin.tap("➕ 新建法治宣讲")
        await admin.expect("⚖️ 法治宣讲 · 请输入题目（最多 60 字）")
        admin.send(TITLE)
        await admin.expect("主讲人是谁")
        admin.send("王律师（近邻律师事务所）")
        await admin.expect("请按街道当地时间输入，例如 2026-12-04 14:30")
        admin.send("2026年11月1日 14:30")
        await admin.expect("这个时间已经过去了")
        admin.send("2026-12-05 14:30")
        await admin.expect("在哪里举行")
        admin.send(PLACE)
        scope = await admin.expect("通知哪里的居民？当前：近邻街道")
        assert [label for label, _ in server.buttons(scope)][:3] == ["📍 整个近邻街道", "幸福社区", "和谐社区"]
        await admin.tap("幸福社区")
        await admin.expect("当前：幸福社区")
        await admin.tap("📍 整个幸福社区")
        await admin.expect("补充说明")
        await admin.tap("跳过")
        confirm = await admin.expect("请确认")
        assert "通知范围：幸福社区（现有 3 位居民）" in (confirm.text or "")
        assert "（现有 3 位居民）\n报名回执：不收集" in (confirm.text or "")  # no description, no line (no "—")
        assert "时间：12月5日（周六）14:30" in (confirm.text or "")
        await admin.tap("🙋 开启报名回执")
        await admin.expect("报名回执：收集")
        await admin.tap("📢 发布并通知居民")
        await admin.expect(f"已发布⚖️ 法治宣讲《{TITLE}》，正在通知 3 位居民")

        notice = await near.expect("📣 活动通知")
        assert f"⚖️ 法治宣讲：《{TITLE}》\n🎤 主讲：王律师（近邻律师事务所）\n🕑 时间：12月5日（周六）14:30" in (
            notice.text or "")
        [lecture_id] = [row[0] for row in await street.query("SELECT id FROM lectures")]
        assert server.buttons(notice) == [("✅ 参加", f"lc:rsvp:{lecture_id}:y"),
                                          ("❌ 不参加", f"lc:rsvp:{lecture_id}:n")]
        await far.expect("📣 活动通知")
        await english.expect("📣 Coming up\n⚖️ Law talk: “民法典与邻里纠纷”")  # in the resident's own language
        assert "🕑 When: Sat 5 Dec 14:30" in (english.screen()[-1].text or "")
        assert elsewhere.screen() == [] and await street.pushes(ELSEWHERE, "notice") == 0  # outside the scope

        await near.tap("✅ 参加")
        answered = await near.expect(f"✅ 已报名《{TITLE}》：12月5日（周六）14:30，{PLACE}")
        assert server.buttons(answered)[0] == ("✅ 参加", f"lc:rsvp:{lecture_id}:y")  # may still change their mind
        await far.tap("❌ 不参加")
        await far.expect(f"已记下：您不参加《{TITLE}》")

        await open_lectures(admin)  # the organizer moves it to Sunday morning
        await admin.tap(f"12月5日（周六）14:30 {TITLE}")
        card = await admin.expect(f"#{lecture_id} ⚖️ 法治宣讲")
        assert "📣 已发出通知\n通知 3 人 · 签到 0 人 · 参加 1 · 不参加 1" in (card.text or "")
        await admin.tap("🕑 改时间")
        await admin.expect("当前：12月5日（周六）14:30")
        admin.send("12-06 9:30")
        await admin.expect(f"《{TITLE}》已修改，正在通知 3 位居民。")
        change = (f"📅 变更通知：⚖️ 法治宣讲《{TITLE}》有调整\n"
                  "🕑 时间改为 12月6日（周日）09:30（原定 12月5日（周六）14:30）")
        for chat in (near, far):
            changed = await chat.expect(change)
            assert server.buttons(changed)[0][1] == f"lc:rsvp:{lecture_id}:y"
        await english.expect(f"📅 Change: the ⚖️ Law talk “{TITLE}” has changed\n🕑 It is now Sun 6 Dec 09:30")
        assert elsewhere.screen() == []

        clock.to(local("2026-12-05 14:30") - timedelta(hours=2))  # the old reminder's moment: nothing
        await timers.run_timers()
        clock.to(local("2026-12-06 09:30") - timedelta(hours=2))
        await timers.run_timers()
        reminder = await near.expect(f"⏰ 提醒：《{TITLE}》将于 12月6日（周日）09:30 在 {PLACE} 开始")
        assert server.buttons(reminder) == [("📍 签到", f"lc:in:{lecture_id}")]
        await english.expect("⏰ Reminder")
        assert [await street.pushes(user, "remind") for user in (NEAR, FAR, ENGLISH)] == [1, 0, 1]  # not who said no

        await english.tap("📍 Check in")  # at home, two hours early
        early = await english.expect("Check-in opens at Sun 6 Dec 08:30")
        assert server.buttons(early)[0] == ("📍 Check in", f"lc:in:{lecture_id}")
        clock.advance(HOUR + 60)
        english.press(f"lc:in:{lecture_id}")
        await english.expect("✅ Checked in to “民法典与邻里纠纷”")

        clock.to(local("2026-12-06 09:30") + service.POLL_AFTER)
        await timers.run_timers()
        poll = await near.expect(f"《{TITLE}》已经结束，感谢参加！您对这次活动满意吗？")
        assert server.buttons(poll)[3] == ("⭐⭐⭐⭐", f"lc:rate:{lecture_id}:4")
        await english.expect("How satisfied were you?")
        assert [await street.pushes(user, "poll") for user in (NEAR, FAR, ENGLISH, ELSEWHERE)] == [1, 0, 1, 0]

        await near.tap("⭐⭐⭐⭐")
        await near.expect(f"已收到您对《{TITLE}》的评价：⭐⭐⭐⭐")
        near.send("讲得很实用，希望多办")
        await near.expect("谢谢您的反馈！")
        await english.tap("⭐⭐⭐⭐⭐")
        await english.tap("Skip")
        await english.expect("Thank you for your feedback!")
        assert await timers.run_timers() == 0  # nothing is left to send

        await open_lectures(admin)
        await admin.tap(f"12月6日（周日）09:30 {TITLE}")
        card = await admin.expect("✔️ 已举行")
        assert ("通知 3 人 · 签到 1 人 · 参加 1 · 不参加 1 · 满意度 4.5（2 人评价）\n"
                "  ⭐⭐⭐⭐ 讲得很实用，希望多办") in (card.text or "")
        assert "🕑 改时间" not in [label for label, _ in server.buttons(card)]
    assert await street.query("SELECT rsvp, checked_in_at IS NOT NULL, rating, comment FROM lecture_audience "
                              "ORDER BY person_id") == [("yes", 0, 4, "讲得很实用，希望多办"), ("no", 0, None, ""),
                                                        (None, 1, 5, "")]


async def test_a_cancellation_reaches_everyone_told_and_stops_the_sends(server: FakeTelegramServer, street: Street,
                                                                        clock: TickingClock) -> None:
    lecture_id = await street.schedule(clock, local("2026-12-10 19:00"), by=SECRETARY, rsvp=False)
    async with running(street.settings(server), clock) as jinlin:
        timers = jinlin.core.scheduler
        assert timers is not None
        secretary, near, english = Chat(server, SECRETARY), Chat(server, NEAR), Chat(server, ENGLISH)
        notice = await near.expect("📣 活动通知")
        assert server.buttons(notice) == []  # no RSVP asked
        await english.expect("📣 Coming up")

        await open_lectures(secretary)
        await secretary.tap(f"12月10日（周四）19:00 {TITLE}")
        await secretary.tap("🚫 取消活动")
        await secretary.expect(f"确定取消《{TITLE}》吗？")
        await secretary.tap("🚫 确定取消")
        await secretary.expect(f"《{TITLE}》已取消，正在通知 3 位居民。")
        await near.expect(f"🚫 取消通知：原定 12月10日（周四）19:00 在 党群服务中心二楼 举行的⚖️ 法治宣讲《{TITLE}》")
        await english.expect("🚫 Called off: the ⚖️ Law talk “民法典与邻里纠纷” planned for Thu 10 Dec 19:00")

        near.press(f"lc:in:{lecture_id}")  # a stale button
        await near.expect("这场活动已经取消了。")
        clock.to(local("2026-12-10 19:00") + service.POLL_AFTER)
        await timers.run_timers()  # the reminder and the poll were called off too (the weekly reports fire)
    assert await street.pushes(NEAR, "remind") + await street.pushes(NEAR, "poll") == 0
    assert await street.query("SELECT kind, outcome FROM scheduled_jobs WHERE subject = 'lecture' AND subject_id = ? "
                              "ORDER BY id",
                              (lecture_id,)) == [("notice", "sent"), ("remind", "cancelled"), ("poll", "cancelled")]


async def test_a_reminder_due_while_the_bot_was_down_is_sent_once(server: FakeTelegramServer, street: Street,
                                                                  clock: TickingClock) -> None:
    starts = local("2026-11-28 19:00")
    await street.schedule(clock, starts)
    async with running(street.settings(server), clock):
        await Chat(server, NEAR).expect("📣 活动通知")
    clock.to(starts - timedelta(hours=1))  # down from before the reminder's moment until after it
    async with running(street.settings(server), clock) as jinlin:
        timers = jinlin.core.scheduler
        assert timers is not None
        near = Chat(server, NEAR)
        await near.expect(f"⏰ 提醒：《{TITLE}》将于 11月28日（周六）19:00")
        assert await timers.run_timers() == 0
        clock.advance(10 * 60)
        assert await timers.run_timers() == 0
    async with running(street.settings(server), clock):  # and once more after another restart
        pass
    sent = [m for m in server.messages_to(NEAR) if m.method == "sendMessage" and "⏰ 提醒" in (m.text or "")]
    assert len(sent) == 1 and await street.pushes(NEAR, "remind") == 1
    assert await street.query("SELECT kind, outcome FROM scheduled_jobs WHERE subject = 'lecture' ORDER BY id") == [
        ("notice", "sent"), ("remind", "sent"), ("poll", "")]


async def test_a_notice_for_a_talk_that_has_begun_is_not_sent_but_reported(server: FakeTelegramServer,
                                                                           street: Street,
                                                                           clock: TickingClock) -> None:
    starts = clock.now() + timedelta(hours=1)
    await street.schedule(clock, starts, by=SECRETARY)
    clock.to(starts + timedelta(minutes=30))  # the bot was down until after it began
    async with running(street.settings(server), clock) as jinlin:
        assert jinlin.core.scheduler is not None
        secretary = Chat(server, SECRETARY)
        await secretary.expect(f"⚠️ 《{TITLE}》的通知没有发出：活动已于 11月27日（周五）18:00 开始")
        assert await jinlin.core.scheduler.run_timers() == 0
        await open_lectures(secretary)
        await secretary.tap(f"11月27日（周五）18:00 {TITLE}")
        await secretary.expect("⚠️ 通知未发出（活动开始前机器人没有运行）")
    for user in (NEAR, FAR, ENGLISH):
        assert server.messages_to(user) == [] and await street.pushes(user, "notice") == 0
    assert await street.query("SELECT COUNT(*) FROM lecture_audience") == [(0,)]


async def test_a_secretary_cannot_reach_beyond_their_community(server: FakeTelegramServer, street: Street,
                                                               clock: TickingClock) -> None:
    async with street.db() as db, db.read() as tx:
        other = await grid.by_code(tx, "C02")
        other_complex = await grid.by_code(tx, "C02-A")
        street_unit = await grid.by_code(tx, "S01")
        secretary = await people.by_id(tx, street.ids[SECRETARY])
        leader = await people.by_id(tx, street.ids[LEADER])
    assert other is not None and other_complex is not None and street_unit is not None and secretary is not None
    async with running(street.settings(server), clock):
        chat = Chat(server, SECRETARY)
        await open_lectures(chat)
        await chat.tap("➕ 新建道德大讲堂")
        await chat.expect("🌱 道德大讲堂 · 请输入题目")
        steps = (("好家风故事会", "主讲人是谁"), ("李老师", "什么时候开始"), ("2026-12-12 10:00", "在哪里举行"),
                 ("社区活动室", "通知哪里的居民？当前：幸福社区"))
        for text, then in steps:
            chat.send(text)
            scope = await chat.expect(then)
        assert [label for label, _ in server.buttons(scope)][:3] == ["📍 整个幸福社区", "阳光花园", "翠竹苑"]
        for forged in (f"u:{other.id}", f"u:{other_complex.id}", f"u:{street_unit.id}"):
            assert (await chat.answer(forged)).startswith("这个范围不在您的管辖内。\n\n通知哪里的居民？当前：幸福社区")
        assert (await chat.answer("sc:up")).startswith("没看懂，请点下面的按钮选择")  # already at the top
        await chat.tap("📍 整个幸福社区")
        await chat.tap("跳过")
        await chat.expect("通知范围：幸福社区（现有 3 位居民）")

        leader_chat = Chat(server, LEADER)  # a building leader sees the menu item but may not organize
        await open_lectures(leader_chat)
        await leader_chat.expect("只有街道管理员和社区书记可以安排法治宣讲和道德大讲堂。")
    assert await street.query("SELECT COUNT(*) FROM lectures") == [(0,)]

    async with street.db() as db, db.write() as tx:  # the service refuses it too, whatever the flow sent
        for unit in (other, street_unit):
            draft = service.Draft(Kind.MORAL_LECTURE, "好家风", "李老师", clock.now() + timedelta(days=3), "活动室",
                                  unit.id)
            with pytest.raises(service.LectureError) as refused:
                await service.create(tx, draft, secretary, False, clock.now(), TZ)
            assert refused.value.key == "lecture.error.scope"
        with pytest.raises(service.LectureError) as denied:
            await service.create(tx, draft, leader, False, clock.now(), TZ)
        assert denied.value.key == "lecture.denied"


async def test_forged_resident_buttons_change_nothing(server: FakeTelegramServer, street: Street,
                                                      clock: TickingClock) -> None:
    lecture_id = await street.schedule(clock, local("2026-12-01 19:00"))
    other_id = await street.schedule(clock, local("2026-12-02 19:00"), rsvp=False, title="另一场")
    async with running(street.settings(server), clock):
        near, elsewhere = Chat(server, NEAR), Chat(server, ELSEWHERE)
        await near.expect("📣 活动通知")
        elsewhere.send("/menu")
        await elsewhere.expect("请选择要办的事")
        for token in (f"lc:rsvp:{lecture_id}:y", f"lc:in:{lecture_id}"):  # never told: not theirs to answer
            assert (await elsewhere.answer(token)).startswith(DENIED)
        for token in (f"lc:rate:{lecture_id}:5", f"lc:rsvp:{other_id}:y", "lc:rsvp:999999:y", "lc:rsvp:1:x",
                      f"lc:rate:{lecture_id}:6", f"lc:rsvp:0{lecture_id}:y", f"lc:in:{lecture_id}:1", "lc:zap:1"):
            # no poll yet, no RSVP on that one, unknown, malformed
            expected = "找不到这场活动。" if token == "lc:rsvp:999999:y" else DENIED
            assert (await near.answer(token)).startswith(expected), token
    assert await street.query("SELECT COUNT(*) FROM lecture_audience WHERE rsvp IS NOT NULL OR rating IS NOT NULL "
                              "OR checked_in_at IS NOT NULL") == [(0,)]


@pytest.mark.parametrize(("starts", "now", "reminded"), [
    ("2026-12-05 09:00", "2026-12-01 10:00", "2026-12-04 19:00"),  # a morning talk: the evening before
    ("2026-12-05 14:30", "2026-12-01 10:00", "2026-12-05 12:30"),  # in the afternoon: two hours before
    ("2026-12-05 09:00", "2026-12-04 20:00", "2026-12-05 07:00"),  # the evening has passed: two hours before
    ("2026-12-05 09:00", "2026-12-05 07:30", None),  # both have passed: none
])
def test_when_a_talk_is_reminded(starts: str, now: str, reminded: str | None) -> None:
    zone = ZoneInfo(TZ)

    def moment(text: str) -> datetime:
        return datetime.fromisoformat(text).replace(tzinfo=zone).astimezone(UTC)

    expected = None if reminded is None else moment(reminded)
    assert service.reminder_time(moment(starts), moment(now), TZ) == expected


async def talk_in_c01(db: Database, clock: ManualClock, starts: str, kind: Kind = Kind.LAW_TALK) -> Lecture:
    """A talk for 幸福社区 at `starts` (the street's time), created by the CLI's path on the sample grid."""
    await import_grid(db, SAMPLE)
    async with db.write() as tx:
        unit = await grid.by_code(tx, "C01")
        assert unit is not None
        draft = service.Draft(kind, TITLE, "王律师", service.parse_time(starts, TZ, clock.now()), "活动室", unit.id)
        return await service.create(tx, draft, None, True, clock.now(), TZ)


async def test_a_morning_talk_is_reminded_the_evening_before(db: Database, clock: ManualClock) -> None:
    lecture = await talk_in_c01(db, clock, "2026-12-05 09:00", Kind.MORAL_LECTURE)
    async with db.read() as tx:
        due = await tx.scalar("SELECT due_at FROM scheduled_jobs WHERE subject = 'lecture' AND subject_id = ? "
                              "AND kind = 'remind'",
                              (lecture.id,))
    assert due == "2026-12-04T11:00:00.000000Z"  # 19:00 in Shanghai


async def test_times_are_kept_in_utc(db: Database, clock: ManualClock) -> None:
    lecture = await talk_in_c01(db, clock, "2026-12-05 14:30")
    async with db.read() as tx:
        stored = await tx.scalar("SELECT starts_at FROM lectures WHERE id = ?", (lecture.id,))
    assert stored == iso(datetime(2026, 12, 5, 6, 30, tzinfo=UTC)) == "2026-12-05T06:30:00.000000Z"
    with use_locale("zh_CN"):
        assert notices.local(lecture.starts_at, TZ, clock.now()) == "12月5日（周六）14:30"
        assert notices.local(lecture.starts_at, "Europe/Berlin", clock.now()) == "12月5日（周六）07:30"  # same moment
        assert notices.local(lecture.starts_at, TZ, clock.now() + timedelta(days=400)) == "2026年12月5日（周六）14:30"


@pytest.mark.parametrize(("typed", "expected"), [
    ("2026-12-05 14:30", "2026-12-05 06:30"), ("12-05 14:30", "2026-12-05 06:30"), ("12月5日14:30", "2026-12-05 06:30"),
    ("2026/12/5 9:05", "2026-12-05 01:05"), ("2026年12月5日 14点30", "2026-12-05 06:30"),
    ("1-3 8:00", "2027-01-03 00:00"), ("abc", "lecture.error.time_format"),
    ("2026-02-30 10:00", "lecture.error.time_format"),
    ("2026-11-27 08:00", "lecture.error.past"), ("2028-01-01 10:00", "lecture.error.too_far"),
])
def test_typed_times(typed: str, expected: str) -> None:
    now = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)
    try:
        got = service.parse_time(typed, TZ, now).strftime("%Y-%m-%d %H:%M")
    except service.LectureError as error:
        got = error.key
    assert got == expected


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return cli_harness.run(tmp_path, *args, JINLIN_TIMEZONE=TZ)


def test_command_line_creates_lists_and_cancels(tmp_path: Path) -> None:
    assert run(tmp_path, "grid", "import", str(ROOT / "sample" / "grid.csv")).returncode == 0
    today = datetime.now(ZoneInfo(TZ)).date()
    day = today + timedelta(days=3)
    shown = f"{day.month}月{day.day}日" if day.year == today.year else f"{day.year}年{day.month}月{day.day}日"
    common = ("lecture", "create", "--kind", "moral_lecture", "--title", "好家风故事会", "--speaker", "李老师",
              "--place", "和平里活动室")
    created = run(tmp_path, *common, "--starts", f"{day:%Y-%m-%d} 14:30", "--scope", "C02", "--rsvp")
    assert created.returncode == 0, created.stderr
    assert created.stdout.startswith(f"已创建：#1 🌱 道德大讲堂《好家风故事会》 {shown}")
    assert "14:30 · 和平里活动室 · 和谐社区 — ⏳ 通知待发出 — 通知 0 人 · 签到 0 人 · 参加 0 · 不参加 0" in (
        created.stdout)
    assert "范围内现有 0 位居民" in created.stdout
    wrong = run(tmp_path, *common, "--starts", f"{day:%Y-%m-%d} 14:30", "--scope", "NOPE")
    assert (wrong.returncode, wrong.stderr.strip()) == (1, "没有编码为 NOPE 的网格单元。")
    past = run(tmp_path, *common, "--starts", "2020-01-01 10:00", "--scope", "C02")
    assert (past.returncode, past.stderr.strip()) == (1, "这个时间已经过去了，请输入以后的时间。")
    household = run(tmp_path, *common, "--starts", f"{day:%Y-%m-%d} 14:30", "--scope", "C02-A-B1-H1")
    assert (household.returncode, household.stderr.strip()) == (1, "这个范围不在您的管辖内。")

    listed = run(tmp_path, "lecture", "list")
    assert listed.returncode == 0 and listed.stdout.count("\n") == 1
    assert listed.stdout.startswith("#1 🌱 道德大讲堂《好家风故事会》")
    cancelled = run(tmp_path, "lecture", "cancel", "1")
    assert (cancelled.returncode, cancelled.stdout.strip()) == (0, "《好家风故事会》已取消，正在通知 0 位居民。")
    again = run(tmp_path, "lecture", "cancel", "1")
    assert (again.returncode, again.stderr.strip()) == (1, "这场活动已经取消了。")
    assert "— 🚫 已取消 —" in run(tmp_path, "lecture", "list").stdout


def test_every_lecture_message_is_in_both_catalogs() -> None:
    sources = [*sorted((ROOT / "bot" / "features" / "lectures").glob("*.py")), ROOT / "bot" / "cli.py"]
    used = {key for path in sources for key in re.findall(r"[\"'](lecture\.[a-z_.]*[a-z_])[\"']", path.read_text())}
    used |= {f"lecture.kind.{kind.value}" for kind in Kind} | {f"lecture.new.{kind.value}" for kind in Kind}
    used |= {f"lecture.ask.{field}" for field in ("title", "speaker", "place")}
    assert len(used) > 80
    for locale in SUPPORTED:
        with po_path(locale).open("rb") as source:
            entries = {str(m.id): str(m.string) for m in read_po(source) if m.id}
        missing = sorted(key for key in used if not entries.get(key, "").strip())
        assert not missing, f"{locale} lacks: {missing}"


async def test_a_notice_due_at_once_goes_out_at_the_commit_not_at_the_sweep(server: FakeTelegramServer,
                                                                           street: Street,
                                                                           passes: Counter[str]) -> None:
    clock = TickingClock()  # the street's clock: the notice is due at the moment it is published
    async with running(street.settings(server), clock) as jinlin:
        assert jinlin.core.scheduler is not None
        started = sum(passes.values())
        admin, near = Chat(server, ADMIN), Chat(server, NEAR)
        await open_lectures(admin)
        await admin.tap("➕ 新建法治宣讲")
        for answer, then in ((TITLE, "主讲人是谁"), ("王律师", "请按街道当地时间输入"),
                             ("2026-12-05 14:30", "在哪里举行"), (PLACE, "通知哪里的居民？")):
            admin.send(answer)
            await admin.expect(then)
        await admin.tap("幸福社区")
        await admin.expect("当前：幸福社区")
        await admin.tap("📍 整个幸福社区")
        await admin.expect("补充说明")
        await admin.tap("跳过")
        await admin.expect("请确认")
        await admin.tap("📢 发布并通知居民")

        await near.expect("📣 活动通知")
        await jinlin.core.scheduler.caught_up()
        sources = len(discover().job_sources(None))  # a pass asks every feature's source once
        assert sum(passes.values()) - started <= 2 * sources  # one pass (a sweep could add one), not one per step


def test_every_token_codec_round_trips_and_refuses_garbage() -> None:
    for codec in CODECS:
        samples = list(codec.samples())
        assert samples, codec.prefix
        for value in samples:
            assert codec.parse(codec.make(value)) == value
        for garbage in ("", codec.prefix, f"{codec.prefix}:", f"{codec.prefix}:01", f"{codec.prefix}:-1",
                        f"{codec.make(samples[0])}:1", f"zz:{codec.make(samples[0])}"):
            assert codec.parse(garbage) is None, garbage
    assert RSVP.make(Rsvp(12, True)) == "lc:rsvp:12:y" and RATE.make(Rate(7, 4)) == "lc:rate:7:4"
    assert NEW.make(New(Kind.MORAL_LECTURE)) == "k:moral_lecture" and VIEW.make(Ref(3)) == "v:3"
    for garbage in ("lc:rate:7:6", "lc:rate:7:0", "lc:rsvp:0:y", "lc:rsvp:1:x", "lc:in:1:1", "k:talk"):
        assert all(codec.parse(garbage) is None for codec in CODECS), garbage
