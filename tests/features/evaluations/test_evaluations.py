"""一评议 through the engine on neutral events, with the demo's `/later` (TimeTravel) moving an injected clock: a round
opened by the branch's secretary, the open push to its voters, ballots, the reminder held in quiet hours, the
close, determinations (优秀 capped) and each member's own result, nobody else's; the one-vote and self-vote rules,
the 5-ballot threshold, and ballots that cannot be joined to their voters."""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.clock import ManualClock
from bot.conversations.engine import Engine
from bot.conversations.tokens import Ref
from bot.domain.messages import Inbound, InboundKind, Reply, Sender
from bot.domain.people import Role
from bot.features.catalog import discover
from bot.features.contacts import service as contacts
from bot.features.contacts.model import Household
from bot.features.evaluations import service
from bot.features.evaluations import store as evaluation_store
from bot.features.evaluations.model import Grade, RoundStatus
from bot.features.evaluations.tokens import BALLOTS, MANAGE, OPEN_ONE, RESULT, SKIP_COMMENT, TARGET
from bot.features.reports.timers import set_quiet_hours
from bot.services import people as people_service
from bot.services.demo import DemoClock, TimeTravel
from bot.services.grid_import import import_grid
from bot.storage import inbox, people, scheduled_jobs
from bot.storage.db import Database
from bot.storage.inbox import Arrival
from bot.storage.scheduled_jobs import Subject
from tests.cli_harness import console_demo
from tests.harness import Member, seed_people

TZ = "Asia/Shanghai"
MONDAY = datetime(2026, 11, 30, 8, 0, tzinfo=ZoneInfo(TZ)).astimezone(UTC)  # Monday 08:00 in the street, H2
GRID = """level,code,name,parent_code,linked_households
street,S01,近邻街道,,
community,C01,幸福社区,S01,
complex,C01-A,阳光花园,C01,
building,C01-A-B1,1号楼,C01-A,
party_household,C01-A-B1-H1,1号楼 101 党员中心户,C01-A-B1,201;202;203;204;205;206
party_household,C01-A-B1-H2,1号楼 102 党员中心户,C01-A-B1,301
building,C01-A-B2,2号楼,C01-A,
party_household,C01-A-B2-H1,2号楼 101 党员中心户,C01-A-B2,401
complex,C01-B,月季园,C01,
building,C01-B-B1,1号楼,C01-B,
""".encode()
ADMIN = "admin"
SECRETARY = "secretary"  # 阳光花园's branch secretary
WANG, LI, ZHAO = "wang", "li", "zhao"  # the branch's three party members (H1, H2, B2-H1)
LINKED = [f"r20{n}" for n in range(1, 7)]  # residents of rooms 201 … 206 of 1号楼: linked to 王
SUN = "r301"  # linked to 李
FAR = "far"  # lives in 阳光花园 2号楼 room 999: linked to nobody
CAST = [Member(ADMIN, "管理员", street_admin=True, channel="console"),
        Member(SECRETARY, "陈书记", roles=((Role.COMPLEX_SECRETARY, "C01-A"),), channel="console"),
        Member(WANG, "王党员", home="C01-A-B1", room="101", roles=((Role.PARTY_MEMBER, "C01-A-B1-H1"),),
               channel="console"),
        Member(LI, "李党员", home="C01-A-B1", room="102", roles=((Role.PARTY_MEMBER, "C01-A-B1-H2"),),
               channel="console"),
        Member(ZHAO, "赵党员", home="C01-A-B2", room="101", roles=((Role.PARTY_MEMBER, "C01-A-B2-H1"),),
               channel="console"),
        *(Member(user, f"居民{user}", home="C01-A-B1", room=user[1:], channel="console") for user in LINKED),
        Member(SUN, "孙阿姨", home="C01-A-B1", room="301", channel="console"),
        Member(FAR, "钱大爷", home="C01-A-B2", room="999", channel="console")]


class Street:
    """The branch on an engine and the demo's `/later`, everyone on the console channel."""

    def __init__(self, db: Database, ids: dict[str, int]) -> None:
        self.db = db
        self.ids = ids
        self.clock = DemoClock(ManualClock(MONDAY))
        self.engine = Engine(db, self.clock, discover().flows, admins=frozenset({("console", ADMIN)}), timezone=TZ)
        self.travel = TimeTravel(db, self.clock, TZ, None)

    async def send(self, user: str, inbound_kind: InboundKind, **fields: str) -> list[Reply]:
        return await self.engine.handle(Inbound(Sender("console", user, user), inbound_kind, **fields))

    async def press(self, user: str, token: str) -> list[Reply]:
        return await self.send(user, InboundKind.BUTTON, token=token)

    async def type(self, user: str, text: str) -> list[Reply]:
        return await self.send(user, InboundKind.TEXT, text=text)

    async def menu(self, user: str) -> list[Reply]:
        return await self.send(user, InboundKind.COMMAND, command="menu")

    async def tap(self, user: str, replies: list[Reply], label: str) -> list[Reply]:
        """Press the button labelled `label` on the latest of `replies`."""
        buttons = {button.label: button.token for row in replies[-1].buttons for button in row}
        assert label in buttons, (label, replies[-1].text, list(buttons))
        return await self.press(user, buttons[label])

    async def later(self, moment: datetime) -> None:
        """`/later` to `moment`: what falls due on the way fires at its own time."""
        await self.travel.to(moment)

    async def pushes(self, user: str) -> list[Reply]:
        async with self.db.read() as tx:
            rows = await tx.all("SELECT payload FROM outbox WHERE chat_id = ? ORDER BY id", (user,))
        return [Reply.from_json(json.loads(row[0])) for row in rows]

    async def round_id(self) -> int:
        async with self.db.read() as tx:
            return int(await tx.scalar("SELECT MAX(id) FROM evaluation_rounds"))

    async def target_of(self, user: str) -> int:
        async with self.db.read() as tx:
            return int(await tx.scalar("SELECT id FROM evaluation_targets WHERE person_id = ? ORDER BY id DESC",
                                       (self.ids[user],)))

    async def vote(self, user: str, name: str, grade: str, comment: str = "") -> list[Reply]:
        """From the round's pushed button: rate `name` with `grade`, then the comment (or skip it)."""
        replies = await self.press(user, BALLOTS.make(Ref(await self.round_id())))
        replies = await self.tap(user, replies, f"评价 {name}")
        replies = await self.tap(user, replies, grade)
        assert grade not in replies[-1].text  # never echoed back
        return await (self.type(user, comment) if comment else self.press(user, SKIP_COMMENT))


def texts(replies: list[Reply]) -> str:
    return "\n".join(reply.text for reply in replies)


@pytest.fixture
async def street(db: Database) -> Street:
    await import_grid(db, GRID)
    async with db.write() as tx:
        ids = await seed_people(tx, CAST, MONDAY)
    return Street(db, ids)


async def open_round(street: Street) -> list[Reply]:
    """The secretary opens this half-year's round in the chat."""
    await street.menu(SECRETARY)
    replies = await street.press(SECRETARY, "m:evaluation")  # the menu's 🗳 一评议
    replies = await street.tap(SECRETARY, replies, "⚙️ 管理 阳光花园")
    assert "阳光花园：还没有开过评议。" in texts(replies)
    return await street.tap(SECRETARY, replies, "🗳 开启2026年下半年评议（7 天）")


async def test_a_round_runs_with_later_and_each_member_sees_only_their_own_result(street: Street) -> None:
    assert "已开启2026年下半年评议" in texts(await open_round(street))
    await street.later(MONDAY + timedelta(minutes=1))  # the open job fires: the round opens, its voters hear
    opened = "🗳 阳光花园 2026年下半年一评议开始了！"
    for voter in (WANG, LI, ZHAO, *LINKED, SUN):
        [push] = await street.pushes(voter)
        assert opened in push.text and "12月7日（周一）08:00" in push.text
        assert push.buttons[0][0].token == BALLOTS.make(Ref(await street.round_id()))
    assert await street.pushes(FAR) == [] and await street.pushes(SECRETARY) == []  # linked to nobody; no member

    # a resident rates their linked member only; a member rates the other members and the branch
    replies = await street.press(LINKED[0], BALLOTS.make(Ref(await street.round_id())))
    assert [button.label for row in replies[-1].buttons[:-1] for button in row] == ["评价 王党员"]
    replies = await street.press(WANG, BALLOTS.make(Ref(await street.round_id())))
    assert [button.label for row in replies[-1].buttons[:-1] for button in row] == [
        "评价 李党员", "评价 赵党员", "评价 本支部（阳光花园）"]

    for n, voter in enumerate(LINKED[:5]):
        replies = await street.vote(voter, "王党员", "优秀" if n < 3 else "合格", comment=f"王师傅热心{n}")
        assert texts(replies).startswith("✅ 已提交，您已经全部评完了")
    await street.vote(LI, "王党员", "基本合格")
    await street.vote(SUN, "李党员", "合格", comment="李师傅人好")  # one ballot: too few to show
    await street.vote(WANG, "本支部（阳光花园）", "优秀")

    # the day before the close falls in quiet hours (an admin has set /quiet 07:00-09:00): the reminder waits
    async with street.db.write() as tx:
        await set_quiet_hours(tx, "07:00-09:00")
    await street.later(MONDAY + timedelta(days=6, minutes=30))
    round_id = await street.round_id()
    async with street.db.read() as tx:
        jobs = [(job.kind, job.outcome) for job in await scheduled_jobs.of(tx, Subject.EVALUATION, round_id)]
    assert jobs == [("open", "sent"), ("remind", "held"), ("close", ""), ("remind", "")]
    assert len(await street.pushes(ZHAO)) == 1  # nothing yet
    await street.later(MONDAY + timedelta(days=6, hours=1, minutes=1))  # 09:01: the quiet hours are over
    assert "明天结束" in (await street.pushes(ZHAO))[-1].text
    assert len(await street.pushes(LINKED[0])) == 1  # done voting: not reminded
    assert "明天结束" in (await street.pushes(LINKED[5])).pop().text  # has not voted

    await street.later(MONDAY + timedelta(days=7, minutes=1))  # the close
    [closed] = [push for push in await street.pushes(SECRETARY) if "已结束" in push.text]
    assert closed.buttons[0][0].token == MANAGE.make(Ref(round_id))
    wang = (await street.pushes(WANG))[-1].text
    assert "优秀 3 · 合格 2 · 基本合格 1 · 不合格 0（共 6 票）" in wang
    assert "王师傅热心0" in wang and "支部评定：尚未录入" in wang
    li = (await street.pushes(LI))[-1].text
    assert "样本不足" in li and "李师傅人好" not in li and "合格 1" not in li  # fewer than 5: neither shown

    # the secretary's page: the same threshold; then the determinations, 优秀 for at most ⌊3 / 3⌋ = 1
    page = await street.press(SECRETARY, closed.buttons[0][0].token)
    assert "王党员：优秀 3 · 合格 2 · 基本合格 1 · 不合格 0（共 6 票） → 未评定" in page[-1].text
    assert "李党员：样本不足" in page[-1].text and "本支部（阳光花园）：样本不足" in page[-1].text
    assert "评为优秀的最多 1 人（3 名党员的三分之一，向下取整）" in page[-1].text
    replies = await street.tap(SECRETARY, page, "录入评定：王党员")
    replies = await street.tap(SECRETARY, replies, "优秀")
    assert "已录入：王党员 → 优秀" in texts(replies)
    replies = await street.tap(SECRETARY, replies, "录入评定：李党员")
    refused = await street.tap(SECRETARY, replies, "优秀")
    assert "优秀最多 1 人（3 名党员的三分之一，向下取整），已经满了" in texts(refused)
    replies = await street.press(SECRETARY, MANAGE.make(Ref(round_id)))
    replies = await street.tap(SECRETARY, replies, "录入评定：李党员")
    assert "已录入：李党员 → 合格" in texts(await street.tap(SECRETARY, replies, "合格"))
    assert "支部评定：优秀" in (await street.pushes(WANG))[-1].text

    # each member sees their own result, privately: the menu's 📜 我的评议结果, and their push's button
    await street.menu(WANG)
    mine = texts(await street.press(WANG, "m:evaluation_results"))
    assert "您的结果" in mine and "（共 6 票）" in mine and "支部评定：优秀" in mine
    own = RESULT.make(Ref(await street.target_of(LI)))
    assert "支部评定：合格" in texts(await street.press(LI, own))
    forged = RESULT.make(Ref(await street.target_of(WANG)))  # 李 bends the token to 王's result
    assert texts(await street.press(LI, forged)).startswith("抱歉，您没有这个权限。")
    assert texts(await street.press(LINKED[0], forged)).startswith("抱歉，您没有这个权限。")
    assert texts(await street.press(LI, MANAGE.make(Ref(round_id)))).startswith("抱歉，您没有这个权限。")


async def test_one_ballot_per_voter_and_target_never_oneself_only_ones_own(street: Street) -> None:
    await open_round(street)
    await street.later(MONDAY + timedelta(minutes=1))
    wang, li = await street.target_of(WANG), await street.target_of(LI)
    denied = "抱歉，您没有这个权限。"

    await street.press(WANG, BALLOTS.make(Ref(await street.round_id())))
    assert texts(await street.press(WANG, TARGET.make(Ref(wang)))).startswith("不能给自己评分。")
    await street.vote(LINKED[0], "王党员", "合格")
    assert texts(await street.press(LINKED[0], BALLOTS.make(Ref(await street.round_id())))).startswith(
        "✅ 您已经全部评完了")
    await street.press(SUN, BALLOTS.make(Ref(await street.round_id())))
    assert texts(await street.press(SUN, TARGET.make(Ref(wang)))).startswith(denied)  # not 孙's linked member
    assert texts(await street.press(FAR, BALLOTS.make(Ref(await street.round_id())))).startswith(denied)

    # a second ballot on the same target: refused in the flow, and by the store (the participation key)
    await street.vote(ZHAO, "李党员", "优秀")
    replies = await street.press(ZHAO, BALLOTS.make(Ref(await street.round_id())))
    assert "评价 李党员" not in [button.label for row in replies[-1].buttons for button in row]
    assert texts(await street.press(ZHAO, TARGET.make(Ref(li)))).startswith("您已经评过了")
    round_id = await street.round_id()
    async with street.db.write() as tx:
        assert not await evaluation_store.cast(tx, round_id, li, street.ids[ZHAO], Grade.BASIC, "")
        zhao = await people.by_id(tx, street.ids[ZHAO])
        assert zhao is not None
        with pytest.raises(service.EvaluationError, match=r"evaluation\.error\.voted"):
            await service.vote(tx, li, zhao, Grade.BASIC, "", street.clock.now())
    async with street.db.read() as tx:
        assert await tx.scalar("SELECT COUNT(*) FROM evaluation_ballots WHERE target_id = ?", (li,)) == 1

    # after the close no ballot is taken, and results are not out before it
    assert texts(await street.press(LI, RESULT.make(Ref(li)))).startswith("评议结束后才能看结果。")
    await street.later(MONDAY + timedelta(days=7, minutes=1))
    assert texts(await street.press(SUN, BALLOTS.make(Ref(await street.round_id())))).startswith(
        "这次评议已经结束了。")
    await street.menu(SECRETARY)  # twice a year, not more: no second round this half
    page = await street.tap(SECRETARY, await street.press(SECRETARY, "m:evaluation"), "⚙️ 管理 阳光花园")
    assert "已结束" in page[-1].text and not [button for row in page[-1].buttons for button in row
                                            if "开启" in button.label]
    assert "阳光花园2026年下半年的评议已经开过了" in texts(await street.press(SECRETARY, OPEN_ONE))


async def test_the_threshold_is_five_ballots(street: Street) -> None:
    await open_round(street)
    await street.later(MONDAY + timedelta(minutes=1))
    for voter in LINKED[:4]:
        await street.vote(voter, "王党员", "合格", comment=f"好{voter}")
    await street.later(MONDAY + timedelta(days=7, minutes=1))
    await street.menu(WANG)
    four = texts(await street.press(WANG, "m:evaluation_results"))
    assert "样本不足（不到 5 票，不显示）" in four and "好r201" not in four and "合格 4" not in four

    round_id, wang = await street.round_id(), await street.target_of(WANG)
    async with street.db.write() as tx:  # a fifth ballot, as if it had come in time
        await evaluation_store.cast(tx, round_id, wang, street.ids[LINKED[4]], Grade.UNQUALIFIED, "")
    await street.menu(WANG)
    five = texts(await street.press(WANG, "m:evaluation_results"))
    assert "优秀 0 · 合格 4 · 基本合格 0 · 不合格 1（共 5 票）" in five and "好r201" in five


def test_at_most_a_third_are_excellent_rounded_down() -> None:
    assert [service.excellent_cap(members) for members in (1, 2, 3, 5, 6, 10)] == [0, 0, 1, 1, 2, 3]


async def test_ballots_cannot_be_joined_to_their_voters(street: Street) -> None:
    await open_round(street)
    await street.later(MONDAY + timedelta(minutes=1))
    round_id = await street.round_id()

    async with street.db.read() as tx:
        columns = {table: [row[1] for row in await tx.all(f"PRAGMA table_info({table})")]
                   for table in ("evaluation_ballots", "evaluation_participation")}
        keys = {table: {row[2] for row in await tx.all(f"PRAGMA foreign_key_list({table})")}
                for table in ("evaluation_ballots", "evaluation_participation")}
        tables = [row[0] for row in await tx.all("SELECT name FROM sqlite_master WHERE type = 'table'")]
        referring = [table for table in tables
                     for row in await tx.all(f"PRAGMA foreign_key_list({table})") if row[2] == "evaluation_ballots"]
        with pytest.raises(sqlite3.OperationalError):  # no rowid: participation has no insertion order
            await tx.all("SELECT rowid FROM evaluation_participation")
    assert columns == {"evaluation_ballots": ["id", "round_id", "target_id", "grade", "comment"],
                       "evaluation_participation": ["round_id", "target_id", "voter_person_id"]}
    assert keys == {"evaluation_ballots": {"evaluation_rounds", "evaluation_targets"},
                    "evaluation_participation": {"evaluation_rounds", "evaluation_targets", "people"}}
    assert referring == []  # no table points at a ballot

    # voters vote in a known order; neither the ballots' ids nor the table's order follow it
    order = [LI, ZHAO, *LINKED]
    for n, voter in enumerate(order):
        await street.vote(voter, "王党员", "合格", comment=f"第{n}个")
    async with street.db.read() as tx:
        ballots = await tx.all("SELECT id, rowid, comment FROM evaluation_ballots ORDER BY rowid")
        stored = [int(row[2].removeprefix("第").removesuffix("个")) for row in ballots]
    assert all(row[0] == row[1] for row in ballots)  # the id is the rowid: no hidden order beside it
    assert stored != list(range(len(order)))  # 1 in 8! to fail by chance
    assert max(row[0] for row in ballots) > 2**40  # drawn at random, not counted up

    # a voter's deletion takes their participation along and leaves the anonymous ballots
    async with street.db.write() as tx:
        li = await people.by_id(tx, street.ids[LI])
        assert li is not None
        await people_service.forget(tx, li, street.clock.now(), discover().media)
    async with street.db.read() as tx:
        assert await tx.scalar("SELECT COUNT(*) FROM evaluation_participation WHERE round_id = ?",
                               (round_id,)) == len(order) - 1
        assert await tx.scalar("SELECT COUNT(*) FROM evaluation_ballots WHERE round_id = ?", (round_id,)) == len(order)
        assert await tx.scalar("SELECT person_id FROM evaluation_targets WHERE name = '李党员'") is None


async def test_a_vote_clears_the_grade_and_comment_from_the_stored_chat_events(street: Street) -> None:
    await open_round(street)
    await street.later(MONDAY + timedelta(minutes=1))
    sender = Sender("console", LINKED[0], LINKED[0])
    steps = [Inbound(sender, InboundKind.BUTTON, token=BALLOTS.make(Ref(await street.round_id())), event_id="e1"),
             Inbound(sender, InboundKind.BUTTON, token=TARGET.make(Ref(await street.target_of(WANG))), event_id="e2"),
             Inbound(sender, InboundKind.BUTTON, token="eg:unqualified", event_id="e3"),
             Inbound(sender, InboundKind.TEXT, text="楼道从来不管", event_id="e4")]
    for step in steps:  # as a channel hands them over: stored first, then handled
        async with street.db.write() as tx:
            await inbox.add_all(tx, [Arrival(step)], street.clock.now())
        async with street.db.read() as tx:
            entry = await inbox.next_for(tx, "console", LINKED[0])
        assert entry is not None
        await street.engine.handle_stored(entry, entry.inbound)
    async with street.db.read() as tx:
        payloads = " ".join(row[0] for row in await tx.all("SELECT payload FROM inbox"))
        answers = [json.loads(row[0])["text"] for row in await tx.all(
            "SELECT payload FROM outbox WHERE idempotency_key LIKE 'reply:e3:%' OR idempotency_key LIKE 'reply:e4:%'")]
        assert await tx.scalar("SELECT grade FROM evaluation_ballots") == "unqualified"  # it was cast
    assert "eg:" not in payloads and "楼道从来不管" not in payloads and "unqualified" not in payloads
    assert answers and "已提交" in answers[-1]
    assert not [answer for answer in answers if "不合格" in answer]  # the answers do not repeat the grade


async def test_an_admin_opens_every_branch_with_members_at_once_and_the_open_push_waits_for_morning(
        street: Street) -> None:
    async with street.db.write() as tx:
        await set_quiet_hours(tx, "21:00-07:00")
    await street.later(MONDAY + timedelta(hours=14))  # Monday 22:00
    await street.menu(ADMIN)
    replies = await street.press(ADMIN, "m:evaluation")
    assert "已为 1 个支部开启评议" in texts(await street.tap(ADMIN, replies, "🚀 为全部支部开启本半年评议"))
    async with street.db.read() as tx:
        assert [row[0] for row in await tx.all("SELECT branch_id FROM evaluation_rounds")] == [
            int(await tx.scalar("SELECT id FROM grid_units WHERE code = 'C01-A'"))]  # 月季园 has no members
    await street.later(MONDAY + timedelta(hours=14, minutes=5))
    assert await street.pushes(WANG) == []  # held until 07:00
    await street.later(MONDAY + timedelta(hours=23, minutes=1))  # Tuesday 07:01
    assert "开始了" in (await street.pushes(WANG))[-1].text
    round_id = await street.round_id()
    async with street.db.read() as tx:
        round_ = await evaluation_store.get_round(tx, round_id)
    assert round_ is not None and round_.status is RoundStatus.OPEN
    assert round_.closes_at == MONDAY + timedelta(days=7, hours=23)  # 7 days from when it opened
    await street.menu(SECRETARY)
    denied = await street.press(SECRETARY, "m:evaluation")
    assert "🚀 为全部支部开启本半年评议" not in [button.label for row in denied[-1].buttons for button in row]
    await street.menu(LI)
    await street.press(LI, "m:evaluation")  # a member's home: no such button, and pressing it anyway is refused
    assert texts(await street.press(LI, "eo:all")).startswith("抱歉，您没有这个权限。")



async def test_the_console_demo_runs_a_round_with_later(tmp_path: Path) -> None:
    """As the README tells it: a party member invited, a linked neighbour joins, the admin opens every branch's
    round, `/later` opens it and closes it, and the member reads their own result."""
    async with console_demo(tmp_path) as terminal:
        await terminal.expect("同意吗？")
        await terminal.type("/as admin")
        await terminal.expect("邀请网格员")
        await terminal.type("/invite party_member C01-A-B1-H1")
        code = re.search(r"邀请码：(inv-[a-z0-9]+)", await terminal.expect("请选择要办的事"))
        assert code is not None
        await terminal.type("/as resident 7")
        await terminal.expect("同意吗？")
        await terminal.type(f"/start {code.group(1)}")
        await terminal.expect("党员中心户")
        for line in ("1", "1"):  # accept, consent
            await terminal.type(line)
        await terminal.expect("您现在是")
        await terminal.type("/as resident 2")
        for line in ("1", "1", "1", "1", "201"):  # agree, 幸福社区, 阳光花园, 1号楼, room 201: linked to the member
            await terminal.type(line)
        await terminal.expect("加入成功")
        await terminal.type("/as admin")
        await terminal.expect("请选择要办的事")
        await terminal.type("🗳 一评议")
        await terminal.type("🚀 为全部支部开启本半年评议")
        await terminal.expect("已为 1 个支部开启评议")
        await terminal.type("/later 11h")  # past quiet hours (10 h by default): the round opens
        await terminal.expect("📨 发给 resident-2")
        await terminal.expect("一评议开始了！")
        await terminal.type("/as resident 2")
        await terminal.expect("请选择要办的事")
        await terminal.type("a")  # 🗳 去评议, on the push
        await terminal.expect("评价 resident-7")
        await terminal.type("评价 resident-7")
        await terminal.expect("请为党员 resident-7 选一个等级")
        await terminal.type("优秀")
        await terminal.expect("想说一句话吗？")
        await terminal.type("跳过")
        await terminal.expect("已提交，您已经全部评完了")
        await terminal.type("/later 8d")
        await terminal.expect("📨 发给 resident-7")
        await terminal.expect("样本不足")
        await terminal.type("/as resident 7")
        await terminal.expect("请选择要办的事")
        await terminal.type("📜 我的评议结果")
        await terminal.expect("您的结果\n样本不足（不到 5 票，不显示）\n支部评定：尚未录入")
        await terminal.type("/quit")
        assert await terminal.process.wait() == 0


async def test_a_voter_who_moved_away_is_neither_reminded_nor_counted(street: Street) -> None:
    await open_round(street)
    await street.later(MONDAY + timedelta(minutes=1))
    async with street.db.write() as tx:  # 孙阿姨 moves to 2号楼: no longer linked to 李
        far = await people.by_id(tx, street.ids[FAR])
        assert far is not None and far.building_id is not None
        await people.set_home(tx, street.ids[SUN], far.building_id, "301")
    await street.later(MONDAY + timedelta(days=6, minutes=1))
    round_id = await street.round_id()
    async with street.db.read() as tx:
        outcomes = [(job.kind, job.outcome) for job in await scheduled_jobs.of(tx, Subject.EVALUATION, round_id)]
    assert outcomes[:2] == [("open", "sent"), ("remind", "sent")]
    assert len(await street.pushes(SUN)) == 1 and "明天结束" in (await street.pushes(LI))[-1].text
    assert texts(await street.press(SUN, BALLOTS.make(Ref(round_id)))).startswith("抱歉，您没有这个权限。")


async def test_a_household_given_to_another_member_in_the_chat_rates_that_member(street: Street) -> None:
    """Who a resident rates follows the household's active contact: the grid's list until the branch secretary
    gives the household to another member (contacts), then that member."""
    async with street.db.write() as tx:
        secretary = await people.by_id(tx, street.ids[SECRETARY])
        building = await tx.scalar("SELECT id FROM grid_units WHERE code = 'C01-A-B1'")
        to_wang = await tx.scalar("SELECT id FROM grid_units WHERE code = 'C01-A-B1-H1'")
        await contacts.assign(tx, secretary, False, Household(building, "301"), to_wang, street.clock.now())
    await open_round(street)
    await street.later(MONDAY + timedelta(minutes=1))
    wang, li = await street.target_of(WANG), await street.target_of(LI)
    await street.press(SUN, BALLOTS.make(Ref(await street.round_id())))
    assert texts(await street.press(SUN, TARGET.make(Ref(li)))).startswith("抱歉，您没有这个权限。")
    assert not texts(await street.press(SUN, TARGET.make(Ref(wang)))).startswith("抱歉")
