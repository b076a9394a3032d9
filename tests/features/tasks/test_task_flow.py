"""Grid members' tasks over Telegram: the real PTB Application against the fake Bot API server, on the sample street
with people seeded on Telegram accounts and reports filed straight through the service."""

from __future__ import annotations

import io
from dataclasses import astuple
from datetime import datetime, timedelta
from pathlib import Path
from typing import NamedTuple
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from bot.clock import ManualClock, iso
from bot.domain.people import Duty, Role
from bot.features.reports import service
from bot.features.reports import store as issues
from bot.features.reports.tokens import TASK, Task, TaskAction
from bot.features.tasks.feature import FEATURE
from bot.storage import grid, people
from tests import harness
from tests.fake_telegram import FakeTelegramServer
from tests.harness import Chat, Member, TickingClock, running, seed_street

TZ = "Asia/Shanghai"
RESIDENT, LEADER, OTHER_LEADER, SECRETARY, ADMIN = 1101, 1201, 1202, 1301, 1900
HOUR = 3600
DENIED = "抱歉，您没有这个权限。"
LEADER_WHO = "幸福社区 · 阳光花园 · 1号楼 楼栋党小组长"




@pytest.fixture
def clock() -> ManualClock:
    return TickingClock()


class Snapshot(NamedTuple):
    status: str
    owner: str
    events: tuple[tuple[object, ...], ...]


class Street(harness.Street[int]):
    """The seeded database, reached through a second connection while Jinlin runs; Telegram user ids as keys."""

    admins = frozenset({("telegram", str(ADMIN))})

    async def file(self, clock: ManualClock, category: str = "roof_leak", unit: str = "C01-A-B1",
                   photos: tuple[str, ...] = ()) -> tuple[int, str]:
        """A report by the resident (the report flow is not used); returns its id and reference number."""
        async with self.db() as db, db.write() as tx:
            reporter = await people.by_id(tx, self.ids[RESIDENT])
            place = await grid.by_code(tx, unit)
            assert reporter is not None and place is not None
            draft = service.Draft(category, "楼道里有问题", place.id, photos=photos)
            issue = await service.submit(tx, reporter, draft, clock.now(), TZ)
        return issue.id, issue.ref

    async def add_info(self, clock: ManualClock, issue_id: int, text: str, photo: str) -> None:
        """The resident adds to their report (the my-reports flow is not used)."""
        async with self.db() as db, db.write() as tx:
            reporter = await people.by_id(tx, self.ids[RESIDENT])
            assert reporter is not None
            await service.add_info(tx, issue_id, reporter, text, photo, clock.now())

    def photo(self, name: str) -> str:
        """A JPEG kept under the media directory, as a stored photo is."""
        self.media.mkdir(exist_ok=True)
        path = self.media / name
        path.write_bytes(_jpeg())
        return str(path)

    async def snapshot(self, issue_id: int) -> Snapshot:
        async with self.db() as db, db.read() as tx:
            issue = await issues.get(tx, issue_id)
            assert issue is not None
            owner = await grid.by_id(tx, issue.owner_unit_id)
            assert owner is not None
            events = tuple(astuple(event) for event in await issues.events(tx, issue_id))
        return Snapshot(issue.status.value, owner.code, events)


def test_the_task_token_reads_back_what_it_makes_and_nothing_else() -> None:
    assert FEATURE.tokens == (TASK,)
    for value in TASK.samples():
        assert TASK.parse(TASK.make(value)) == value, value
    for forged in ("t:acc", "t:acc:1:1", "t:acc:01", "t:acc:-1", "t:acc:0", "t:zap:1", "r:acc:1", "", "t:list"):
        assert TASK.parse(forged) is None, forged
    assert TASK.make(Task(TaskAction.ACCEPT, 12)) == "t:acc:12"
    assert TASK.parse("t:view:7") == Task(TaskAction.VIEW, 7)


@pytest.fixture
async def street(tmp_path: Path, clock: ManualClock) -> Street:
    duties = tuple((duty, "C01") for duty in (Duty.SANITATION, Duty.SAFETY, Duty.MEDIATION, Duty.LEGAL_ADVISOR))
    cast = [Member(RESIDENT, "王阿姨", home="C01-A-B1"),
            Member(LEADER, "李师傅", roles=((Role.BUILDING_LEADER, "C01-A-B1"),)),
            Member(OTHER_LEADER, "赵师傅", roles=((Role.BUILDING_LEADER, "C01-A-B2"),)),
            Member(SECRETARY, "张书记", roles=((Role.COMMUNITY_SECRETARY, "C01"),), duties=duties),
            Member(ADMIN, "街道", street_admin=True)]
    path = tmp_path / "jinlin.db"
    return Street(path, *await seed_street(path, cast, clock.now()))


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), "green").save(buffer, "JPEG")
    return buffer.getvalue()


async def test_leader_accepts_notes_and_resolves_a_pushed_task(server: FakeTelegramServer, street: Street,
                                                               clock: ManualClock) -> None:
    issue_id, ref = await street.file(clock, "sanitation")  # to the leader and the sanitation duty at C01
    async with running(street.settings(server), clock):
        leader, secretary, resident = Chat(server, LEADER), Chat(server, SECRETARY), Chat(server, RESIDENT)
        card = await leader.expect(f"📋 {ref} 🧹 环境卫生")
        assert ("✋ 受理", f"t:acc:{issue_id}") in server.buttons(card)
        await secretary.expect(f"📋 {ref}")

        await leader.tap("✋ 受理")
        await leader.expect(f"✋ 您已受理 {ref}")
        await secretary.expect(f"{ref} 已由 {LEADER_WHO} 受理。")
        await resident.expect(f"您反映的 {ref} 已由 {LEADER_WHO} 受理。")
        assert (await street.snapshot(issue_id)).status == "accepted"

        await leader.tap("🗂 我的任务")
        listing = await leader.expect("待办 1 件")
        assert server.buttons(listing)[0] == (f"{ref} 🧹 环境卫生", f"t:view:{issue_id}")
        await leader.tap(f"{ref} 🧹 环境卫生")
        await leader.expect("状态：处理中")
        await leader.tap("📝 备注")
        await leader.expect(f"请输入 {ref} 的进展备注")
        leader.send("已通知保洁，明早清运")
        await leader.expect(f"已记下 {ref} 的备注")
        await resident.expect(f"{ref} 有新进展（{LEADER_WHO}）：已通知保洁，明早清运")

        leader.press(f"t:res:{issue_id}")  # the card's button, pressed on an older message
        await leader.expect(f"办结 {ref}：可以先发一张处理后的照片")
        server.push_photo(LEADER, data=_jpeg())
        await leader.expect("📷 已附上照片。")
        leader.send("已清运完毕")
        await leader.expect(f"{ref} 已办结，已请居民确认问题是否解决。")
        fixed = await resident.expect(f"您反映的 {ref} 已办结（{LEADER_WHO}）：已清运完毕\n\n问题解决了吗？")
        assert fixed.method == "sendPhoto" and fixed.file is not None
        assert server.buttons(fixed) == [("✅ 解决了", f"r:fix:{issue_id}:y"), ("❌ 没解决", f"r:fix:{issue_id}:n")]

        resolved = await street.snapshot(issue_id)
        assert resolved.status == "resolved"
        assert await leader.answer(f"t:acc:{issue_id}") == (  # a replayed accept changes nothing
            "这件事现在是“已办结，待您确认”，不能这样操作。\n\n请选择要办的事：")
        assert (await leader.answer(f"t:note:{issue_id}")).startswith("这件事现在是")  # not asked for a note first
        assert await street.snapshot(issue_id) == resolved


async def test_escalating_with_a_reason_moves_the_task_up(server: FakeTelegramServer, street: Street,
                                                          clock: ManualClock) -> None:
    issue_id, ref = await street.file(clock)
    async with running(street.settings(server), clock):
        leader, secretary, resident = Chat(server, LEADER), Chat(server, SECRETARY), Chat(server, RESIDENT)
        await leader.expect(f"📋 {ref}")
        await leader.tap("✋ 受理")
        await resident.expect(f"{ref} 已由 {LEADER_WHO} 受理")

        leader.press(f"t:esc:{issue_id}")
        await leader.expect(f"请说明 {ref} 需要上报的原因")
        server.push_sticker(LEADER)
        await leader.expect("请用文字输入。")
        leader.send("屋顶防水需要社区统一维修")
        await leader.expect(f"{ref} 已上报到 幸福社区。")
        card = await secretary.expect(f"📋 {ref}")
        assert "上报原因：屋顶防水需要社区统一维修" in (card.text or "")
        await resident.expect(f"您反映的 {ref} 已上报到 幸福社区 处理。")
        moved = await street.snapshot(issue_id)
        assert (moved.status, moved.owner) == ("escalated", "C01")
        assert moved.events[-1][2:] == ("transition", "accepted", "escalated", "屋顶防水需要社区统一维修")

        await secretary.tap("✋ 受理")  # the new owner takes it; the resident hears of it again
        await secretary.expect(f"✋ 您已受理 {ref}")
        await resident.expect(f"您反映的 {ref} 已由 幸福社区 社区党总支书记 受理。")


async def test_not_ours_hands_the_task_up(server: FakeTelegramServer, street: Street, clock: ManualClock) -> None:
    issue_id, ref = await street.file(clock)
    async with running(street.settings(server), clock):
        leader, secretary = Chat(server, LEADER), Chat(server, SECRETARY)
        await leader.expect(f"📋 {ref}")
        await leader.tap("↪️ 不归我管")
        await leader.expect(f"{ref} 不归本级管？")
        await leader.tap("↪️ 确认交给上一级")
        await leader.expect(f"{ref} 已上报到 幸福社区。")
        card = await secretary.expect(f"📋 {ref}")
        assert "上报原因：下级反馈不归他们管" in (card.text or "")
    moved = await street.snapshot(issue_id)
    assert (moved.status, moved.owner) == ("escalated", "C01")
    assert "hand_up" in [event[2] for event in moved.events]


async def test_rejecting_needs_a_reason_and_tells_the_resident(server: FakeTelegramServer, street: Street,
                                                              clock: ManualClock) -> None:
    issue_id, ref = await street.file(clock)
    async with running(street.settings(server), clock):
        leader, resident = Chat(server, LEADER), Chat(server, RESIDENT)
        await leader.expect(f"📋 {ref}")
        await leader.tap("🚫 不予受理")
        await leader.expect(f"请说明 {ref} 不予受理的原因")
        leader.send("   ")
        await leader.expect("请用文字输入。")
        leader.send("属于住户室内装修，不是公共事务")
        await leader.expect(f"{ref} 已不予受理，原因已告知居民。")
        await resident.expect(f"您反映的 {ref} 不予受理，原因：属于住户室内装修，不是公共事务")
        assert (await street.snapshot(issue_id)).status == "rejected"
        await leader.tap("🗂 我的任务")
        await leader.expect("您负责的范围内目前没有待办的事。")


async def test_a_legal_answer_is_required(server: FakeTelegramServer, street: Street, clock: ManualClock) -> None:
    issue_id, ref = await street.file(clock, "legal")  # the legal adviser is the community secretary
    async with running(street.settings(server), clock):
        secretary, resident = Chat(server, SECRETARY), Chat(server, RESIDENT)
        await secretary.expect(f"📋 {ref}")
        await secretary.tap("⚖️ 回复")
        prompt = await secretary.expect(f"回复 {ref}：请输入给居民的解答（必填）")
        assert server.buttons(prompt) == [("✖ 取消", "tk:drop")]  # no "finish without a note"
        assert (await secretary.answer("res:done")).startswith("请写下给居民的回复。")  # forged: asked again
        secretary.send("可以依据《民法典》第二百八十六条要求停止侵害。")
        await secretary.expect(f"{ref} 已办结")
        await resident.expect(f"您咨询的 {ref} 有回复了（幸福社区 社区党总支书记）：\n可以依据《民法典》")
    assert (await street.snapshot(issue_id)).status == "resolved"


async def test_rights_and_state_are_checked_again_at_the_final_step(server: FakeTelegramServer, street: Street,
                                                                    clock: ManualClock) -> None:
    first, first_ref = await street.file(clock)
    second, _ = await street.file(clock, "parking")
    async with running(street.settings(server), clock):
        leader, secretary = Chat(server, LEADER), Chat(server, SECRETARY)
        await leader.expect(f"📋 {first_ref}")
        secretary.send("/menu")
        await secretary.expect("请选择要办的事")
        assert (await secretary.answer(f"t:rej:{first}")).startswith(f"请说明 {first_ref} 不予受理的原因")
        leader.press(f"t:res:{first}")  # meanwhile the leader resolves it
        await leader.tap("✅ 不写说明，直接办结")
        await leader.expect(f"{first_ref} 已办结")
        resolved = await street.snapshot(first)
        secretary.send("重复反映")
        await secretary.expect("这件事现在是“已办结，待您确认”，不能这样操作。")
        assert await street.snapshot(first) == resolved

        assert (await secretary.answer(f"t:note:{second}")).startswith("请输入")
        async with street.db() as db, db.write() as tx:  # the secretary steps down while typing
            await tx.execute("DELETE FROM roles WHERE person_id = ?", (street.ids[SECRETARY],))
            await tx.execute("DELETE FROM duties WHERE person_id = ?", (street.ids[SECRETARY],))
        before = await street.snapshot(second)
        secretary.send("已联系物业")
        await secretary.expect(DENIED)
        assert await street.snapshot(second) == before


async def test_my_tasks_lists_overdue_first(server: FakeTelegramServer, street: Street, clock: ManualClock) -> None:
    parking, parking_ref = await street.file(clock, "parking")  # 72 h for the building
    hazard, hazard_ref = await street.file(clock, "safety_hazard", "C01-A-B2")  # 2 h at every level
    async with running(street.settings(server), clock) as jinlin:
        assert jinlin.core.scheduler is not None
        admin, other = Chat(server, ADMIN), Chat(server, OTHER_LEADER)
        admin.send("/menu")
        await admin.tap("🗂 我的任务")
        listing = await admin.expect("待办 2 件")
        assert server.buttons(listing)[:2] == [(f"{parking_ref} 🚗 停车", f"t:view:{parking}"),
                                               (f"{hazard_ref} ⚠️ 安全隐患", f"t:view:{hazard}")]
        for _ in range(3):  # building → community → street, then past the street's time too
            clock.advance(2 * HOUR + 1)
            await jinlin.core.scheduler.run_timers()
        await admin.expect(f"⏰ {hazard_ref} 已超时")
        assert (await street.snapshot(hazard)).owner == "S01"
        admin.send("/menu")
        await admin.tap("🗂 我的任务")
        listing = await admin.expect("待办 2 件")
        assert server.buttons(listing)[:2] == [(f"⏰ {hazard_ref} ⚠️ 安全隐患", f"t:view:{hazard}"),
                                               (f"{parking_ref} 🚗 停车", f"t:view:{parking}")]
        assert f"⏰ {hazard_ref} ⚠️ 安全隐患（幸福社区 · 阳光花园 · 2号楼）" in (listing.text or "")
        await admin.tap(f"⏰ {hazard_ref} ⚠️ 安全隐患")
        await admin.expect("状态：已上报上级")

        other.send("/menu")  # only what lies in the leader's own building
        await other.tap("🗂 我的任务")
        mine = await other.expect("待办 1 件")
        assert [token for _, token in server.buttons(mine)][:1] == [f"t:view:{hazard}"]


async def test_the_clock_climbs_building_community_street(server: FakeTelegramServer, street: Street,
                                                         clock: ManualClock) -> None:
    issue_id, ref = await street.file(clock)  # roof leak: 24 h at each level, reminded at 80 %
    async with running(street.settings(server), clock) as jinlin:
        timers = jinlin.core.scheduler
        assert timers is not None
        leader, secretary, admin, resident = (Chat(server, user) for user in (LEADER, SECRETARY, ADMIN, RESIDENT))
        await leader.expect(f"📋 {ref}")
        climb = ((leader, secretary, "幸福社区", "C01"), (secretary, admin, "近邻街道", "S01"))
        for owner, successor, place, code in climb:
            clock.advance(20 * HOUR)
            await timers.run_timers()
            reminder = await owner.expect(f"⏰ 提醒：{ref}")
            assert server.buttons(reminder) == [("查看任务", f"t:view:{issue_id}")]
            clock.advance(4 * HOUR + 1)
            await timers.run_timers()
            await owner.expect(f"{ref} 已上报到 {place}。")
            card = await successor.expect(f"📋 {ref}")
            assert "上报原因：超过办理时限" in (card.text or "")
            await resident.expect(f"您反映的 {ref} 已上报到 {place} 处理。")
            assert (await street.snapshot(issue_id)).owner == code

        clock.advance(20 * HOUR)
        await timers.run_timers()
        await admin.expect(f"⏰ 提醒：{ref}")
        clock.advance(4 * HOUR + 1)
        await timers.run_timers()
        await admin.expect(f"⏰ {ref} 已超时，请尽快处理。")  # the street is the last owner
        at_top = await street.snapshot(issue_id)
        assert (at_top.status, at_top.owner) == ("escalated", "S01")
        kinds = [event[2] for event in at_top.events]
        assert (kinds.count("escalate"), kinds[-1]) == (2, "overdue")
        clock.advance(7 * 24 * HOUR)
        await timers.run_timers()  # (the week's reports fire meanwhile)
        assert await street.snapshot(issue_id) == at_top


ACTORS = {"resident": RESIDENT, "leader of another building": OTHER_LEADER, "community secretary": SECRETARY,
          "street admin": ADMIN}
ALLOWED = {"community secretary", "street admin"}  # above the building: in scope
# action → (token action, what the member does next, the confirmation, the status afterwards)
ACTIONS: dict[str, tuple[str, tuple[str, str] | None, str, str]] = {
    "view": ("view", None, "状态：已派单", "assigned"),
    "accept": ("acc", None, "✋ 您已受理 {ref}", "accepted"),
    "note": ("note", ("send", "已联系物业"), "已记下 {ref} 的备注", "assigned"),
    "resolve": ("res", ("tap", "✅ 不写说明，直接办结"), "{ref} 已办结", "resolved"),
    "escalate": ("esc", ("send", "需要上级协调"), "{ref} 已上报到 幸福社区", "escalated"),
    "not ours": ("up", ("tap", "↪️ 确认交给上一级"), "{ref} 已上报到 幸福社区", "escalated"),
    "reject": ("rej", ("send", "不属于公共事务"), "{ref} 已不予受理", "rejected"),
}


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("actor", ACTORS)
async def test_who_may_act_on_a_task_in_building_one(actor: str, action: str, server: FakeTelegramServer,
                                                     street: Street, clock: ManualClock) -> None:
    issue_id, ref = await street.file(clock)
    token, then, confirmation, status = ACTIONS[action]
    async with running(street.settings(server), clock):
        chat = Chat(server, ACTORS[actor])
        chat.send("/menu")
        await chat.expect("请选择要办的事")
        before = await street.snapshot(issue_id)
        first = await chat.answer(f"t:{token}:{issue_id}")
        if actor not in ALLOWED:
            assert first.startswith(DENIED)
            assert await street.snapshot(issue_id) == before
            return
        if then is not None:
            how, what = then
            if how == "tap":
                await chat.tap(what)
            else:
                chat.send(what)
        await chat.expect(confirmation.format(ref=ref))
    after = await street.snapshot(issue_id)
    assert after.status == status
    assert (after.events == before.events) is (action == "view")


async def test_forged_tokens_change_nothing(server: FakeTelegramServer, street: Street, clock: ManualClock) -> None:
    issue_id, ref = await street.file(clock)
    async with running(street.settings(server), clock):
        leader = Chat(server, LEADER)
        await leader.expect(f"📋 {ref}")
        before = await street.snapshot(issue_id)
        assert (await leader.answer("t:acc:999999")).startswith("找不到这件事。")
        for forged in ("t:acc:abc", "t:zap:1", f"t:zap:{issue_id}", f"t:acc:{issue_id}:1", f"t:acc:0{issue_id}",
                       f"t:acc:{issue_id}{'0' * 12}", "t:acc:-1", "t:acc:１", f"t:acc: {issue_id}", "t:acc:"):
            assert (await leader.answer(forged)).startswith(DENIED), forged
        assert await street.snapshot(issue_id) == before
        await leader.tap("🗂 我的任务")  # and the real buttons still work
        await leader.expect("待办 1 件")


async def test_marking_a_duplicate_merges_it_into_the_original(server: FakeTelegramServer, street: Street,
                                                               clock: ManualClock) -> None:
    original_id, original = await street.file(clock)
    copy_id, copy = await street.file(clock, "water_pressure")
    async with running(street.settings(server), clock):
        leader, resident = Chat(server, LEADER), Chat(server, RESIDENT)
        await leader.expect(f"📋 {copy}")
        await leader.tap("🔁 与其他事项重复")
        await leader.expect(f"{copy} 和哪件事重复？")
        leader.send("JL-20990101-0001")
        await leader.expect("找不到编号为 JL-20990101-0001 的有效事项")
        assert (await street.snapshot(copy_id)).status == "assigned"
        leader.press(f"t:dup:{copy_id}")
        await leader.expect(f"{copy} 和哪件事重复？")
        leader.send(original.lower())
        await leader.expect(f"{copy} 已并入 {original}，居民已收到通知。")
        await resident.expect(f"您反映的 {copy} 与 {original} 是同一件事")
    assert (await street.snapshot(copy_id)).status == "duplicate"
    assert (await street.snapshot(original_id)).status == "assigned"


async def test_the_task_page_offers_what_can_be_done_and_comes_back(server: FakeTelegramServer, street: Street,
                                                                    clock: ManualClock) -> None:
    issue_id, ref = await street.file(clock, "safety_hazard")  # 2 h at every level
    async with running(street.settings(server), clock) as jinlin:
        assert jinlin.core.scheduler is not None
        leader, admin = Chat(server, LEADER), Chat(server, ADMIN)
        await leader.expect(f"📋 {ref}")
        await leader.tap("✋ 受理")
        page = await leader.expect(f"✋ 您已受理 {ref}")  # the task page again, not the main menu
        assert "状态：处理中" in (page.text or "") and "请选择要办的事" not in (page.text or "")
        labels = [label for label, _ in server.buttons(page)]
        assert "✋ 受理" not in labels and "⬆️ 上报" in labels
        await leader.tap("📝 备注")
        await leader.expect(f"请输入 {ref} 的进展备注")
        leader.send("已到现场")
        page = await leader.expect(f"已记下 {ref} 的备注")
        assert "状态：处理中" in (page.text or "")
        assert ("🗂 我的任务", "t:list") in server.buttons(page)

        for _ in range(2):  # building → community → street
            clock.advance(2 * HOUR + 1)
            await jinlin.core.scheduler.run_timers()
        card = await admin.expect(f"📋 {ref}")
        labels = [label for label, _ in server.buttons(card)]
        assert "⬆️ 上报" not in labels and "↪️ 不归我管" not in labels and "✋ 受理" in labels
        before = await street.snapshot(issue_id)
        assert (await admin.answer(f"t:esc:{issue_id}")).startswith("已经是街道层级，不能再上报了。")
        assert (await admin.answer(f"t:up:{issue_id}")).startswith("已经是街道层级，不能再上报了。")
        assert await street.snapshot(issue_id) == before


async def test_the_task_page_shows_every_photo_and_the_whole_history(server: FakeTelegramServer, street: Street,
                                                                    clock: ManualClock) -> None:
    issue_id, ref = await street.file(clock, photos=(street.photo("a.jpg"), street.photo("b.jpg")))
    async with running(street.settings(server), clock):
        leader, secretary = Chat(server, LEADER), Chat(server, SECRETARY)
        await leader.expect(f"📋 {ref}")
        await leader.tap("✋ 受理")
        await leader.expect(f"✋ 您已受理 {ref}")
        await leader.tap("📝 备注")
        await leader.expect(f"请输入 {ref} 的进展备注")
        leader.send("已到现场")
        await leader.expect(f"已记下 {ref} 的备注")
        await street.add_info(clock, issue_id, "楼上也在漏", street.photo("c.jpg"))
        leader.press(f"t:esc:{issue_id}")
        await leader.expect(f"请说明 {ref} 需要上报的原因")
        leader.send("需要社区协调")
        await leader.expect(f"{ref} 已上报到 幸福社区。")
        await secretary.expect(f"📋 {ref}")

        secretary.press(f"t:view:{issue_id}")
        for number in (1, 2):  # the report's second photo and the resident's addition; the first is on the card
            shown = await secretary.expect(f"📷 照片 {number}/2")
            assert shown.method == "sendPhoto" and (shown.file is not None or shown.file_id)  # uploaded or reused
        page = await secretary.expect("🕘 经过：")
        assert page.method == "sendPhoto"
        text = page.text or ""
        steps = ["居民反映了这件事", "交给 幸福社区 · 阳光花园 · 1号楼 办理", f"{LEADER_WHO} 受理",
                 f"{LEADER_WHO} 备注：已到现场", "居民补充：楼上也在漏", f"{LEADER_WHO} 上报，原因：需要社区协调",
                 "交给 幸福社区 办理"]
        assert all(step in text for step in steps), text
        assert [text.index(step) for step in steps] == sorted(text.index(step) for step in steps)


def _local(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of November 2026 on the street's clock."""
    return datetime(2026, 11, day, hour, minute, tzinfo=ZoneInfo(TZ))


async def test_quiet_hours_hold_reminders_until_morning_but_not_urgent_ones(server: FakeTelegramServer,
                                                                           street: Street,
                                                                           clock: ManualClock) -> None:
    assert clock.now() < _local(27, 18)
    parking, parking_ref = await street.file(clock, "parking")  # 72 h: reminded at 80 %, 11-30 02:36
    clock.to(_local(27, 22))
    _, hazard_ref = await street.file(clock, "safety_hazard", "C01-A-B2")  # urgent: reminded 23:36
    async with running(street.settings(server), clock) as jinlin:  # quiet hours 21:00-07:00 by default
        timers = jinlin.core.scheduler
        assert timers is not None
        leader, other = Chat(server, LEADER), Chat(server, OTHER_LEADER)
        await other.expect(f"📋 {hazard_ref}")
        clock.to(_local(27, 23, 40))
        await timers.run_timers()
        await other.expect(f"⏰ 提醒：{hazard_ref}")  # urgent: in the middle of the night too

        pending = ("SELECT due_at FROM scheduled_jobs WHERE subject = 'issue' AND subject_id = ? "
                   "AND kind = 'remind' AND done_at IS NULL")
        clock.to(_local(30, 2, 40))
        await timers.run_timers()
        assert await street.query(pending, (parking,)) == [(iso(_local(30, 7)),)]  # moved to the end of the night
        clock.to(_local(30, 6, 59))
        await timers.run_timers()
        assert await street.query(pending, (parking,)) == [(iso(_local(30, 7)),)]
        clock.to(_local(30, 7))
        await timers.run_timers()
        await leader.expect(f"⏰ 提醒：{parking_ref}")
        assert await street.query(pending, (parking,)) == []


async def test_escalation_is_not_held_by_quiet_hours(server: FakeTelegramServer, street: Street,
                                                    clock: ManualClock) -> None:
    clock.to(_local(27, 22))
    issue_id, ref = await street.file(clock)  # roof leak: 24 h at the building: it climbs at 22:00 the next night
    async with running(street.settings(server), clock) as jinlin:
        timers = jinlin.core.scheduler
        assert timers is not None
        leader, secretary = Chat(server, LEADER), Chat(server, SECRETARY)
        await leader.expect(f"📋 {ref}")
        clock.to(_local(28, 22))
        await timers.run_timers()
        await leader.expect(f"{ref} 已上报到 幸福社区。")
        card = await secretary.expect(f"📋 {ref}")
        assert "上报原因：超过办理时限" in (card.text or "")
        assert (await street.snapshot(issue_id)).owner == "C01"


async def test_cancel_on_a_step_returns_to_the_task_page_and_asks_before_dropping_a_photo(
        server: FakeTelegramServer, street: Street, clock: ManualClock) -> None:
    issue_id, ref = await street.file(clock)
    async with running(street.settings(server), clock):
        leader = Chat(server, LEADER)
        await leader.expect(f"📋 {ref}")
        before = await street.snapshot(issue_id)
        for token, asked in ((f"t:up:{issue_id}", f"{ref} 不归本级管？"), (f"t:note:{issue_id}", "进展备注"),
                             (f"t:rej:{issue_id}", "不予受理的原因")):
            leader.press(token)
            prompt = await leader.expect(asked)
            assert [token for _, token in server.buttons(prompt)].count("tk:drop") == 1
            assert "nav:cancel" not in [token for _, token in server.buttons(prompt)]  # one meaning only
            await leader.tap("✖ 取消")
            page = await leader.expect("好的，这件事没有做任何改动。")
            assert "状态：已派单" in (page.text or "") and "请选择要办的事" not in (page.text or "")

        leader.press(f"t:res:{issue_id}")
        await leader.expect(f"办结 {ref}")
        server.push_photo(LEADER, data=_jpeg())
        await leader.expect("📷 已附上照片。")
        await leader.tap("✖ 取消")
        await leader.expect("刚才发的照片还没有提交，要放弃吗？")
        await leader.tap("不放弃，接着办结")
        await leader.expect("📷 已附上照片。")  # the photo is still there
        await leader.tap("✖ 取消")
        await leader.expect("要放弃吗？")
        await leader.tap("放弃")
        await leader.expect("状态：已派单")
        leader.press(f"t:res:{issue_id}")
        prompt = await leader.expect(f"办结 {ref}")
        assert "📷" not in (prompt.text or "")
    assert await street.snapshot(issue_id) == before


async def test_a_street_admin_sets_the_quiet_hours_in_the_chat(server: FakeTelegramServer, street: Street,
                                                               clock: ManualClock) -> None:
    parking, _ = await street.file(clock, "parking")  # reminded at 80 %, 11-30 02:36
    async with running(street.settings(server), clock) as jinlin:
        timers = jinlin.core.scheduler
        assert timers is not None
        admin, leader = Chat(server, ADMIN), Chat(server, LEADER)
        await leader.expect("📋")
        leader.send("/quiet 00:00-01:00")
        await leader.expect(DENIED)
        admin.send("/quiet")
        await admin.expect("🌙 免打扰时段：按启动时的默认设置。")
        admin.send("/quiet 7-21")
        await admin.expect("请这样写：/quiet 21:00-07:00")
        admin.send("/quiet 22:00-06:00")
        await admin.expect("🌙 已保存，免打扰时段：22:00-06:00。")
        admin.send("/quiet")
        await admin.expect("🌙 免打扰时段：22:00-06:00。")

        clock.to(_local(30, 2, 40))
        await timers.run_timers()
        pending = ("SELECT due_at FROM scheduled_jobs WHERE subject = 'issue' AND subject_id = ? "
                   "AND kind = 'remind' AND done_at IS NULL")
        assert await street.query(pending, (parking,)) == [(iso(_local(30, 6)),)]  # the street's own morning
        admin.send("/quiet off")
        await admin.expect("🌙 已保存，免打扰时段：不设免打扰。")


async def test_the_streets_overdue_nudge_waits_for_the_morning(server: FakeTelegramServer, street: Street,
                                                               clock: ManualClock) -> None:
    clock.to(_local(27, 22))
    issue_id, ref = await street.file(clock)  # roof leak: 24 h a level, so every step falls at 22:00
    async with running(street.settings(server), clock) as jinlin:
        timers = jinlin.core.scheduler
        assert timers is not None
        admin = Chat(server, ADMIN)
        # building → community → street, each on time at night; a minute later each night, as the ticking clock
        # puts each next step a few seconds after the one before
        for minute, day in enumerate((28, 29), start=1):
            clock.to(_local(day, 22, minute))
            await timers.run_timers()
        await admin.expect(f"📋 {ref}")
        clock.to(_local(30, 22, 3))
        await timers.run_timers()
        morning = _local(30, 7) + timedelta(days=1)
        pending = ("SELECT due_at FROM scheduled_jobs WHERE subject = 'issue' AND subject_id = ? "
                   "AND kind = 'escalate' AND done_at IS NULL")
        assert await street.query(pending, (issue_id,)) == [(iso(morning),)]
        assert "overdue" not in [event[2] for event in (await street.snapshot(issue_id)).events]
        clock.to(morning)
        await timers.run_timers()
        await admin.expect(f"⏰ {ref} 已超时，请尽快处理。")
        assert (await street.snapshot(issue_id)).events[-1][2] == "overdue"
