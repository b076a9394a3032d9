"""两联 visits through the engine: a member logs a visit whose need becomes a report on the household's behalf (its
resident told, able to rate; the member when nobody is registered); notes read only by the member and their
branch secretary; the weekly overdue list on an injected clock, held past quiet hours; coverage on a hand-counted
fixture."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import ManualClock
from bot.conversations.engine import Engine
from bot.conversations.tokens import Ref
from bot.domain.messages import Inbound, InboundKind, Reply, Sender, text_inbound
from bot.domain.people import Person, Role
from bot.features.catalog import all_flows
from bot.features.reports import service as reports
from bot.features.reports import store as issues
from bot.features.reports.model import EventKind, Status
from bot.features.reports.timers import set_quiet_hours
from bot.features.scorecards import service as scorecards
from bot.features.scorecards.model import Period, Weights
from bot.features.visits import service
from bot.features.visits.model import Mode, Quarter
from bot.features.visits.tokens import HOUSEHOLD, VISIT
from bot.services.grid_import import import_grid
from bot.storage import grid, people, scheduled_jobs
from bot.storage.db import Database
from bot.storage.scheduled_jobs import Subject
from tests.harness import SAMPLE, Member, seed_people

TZ = "Asia/Shanghai"
# The sample grid and a second party household in 阳光花园 (C01-A), looking after 2号楼 101 and 102.
GRID = SAMPLE + "党员中心户,C01-A-B2-H1,2号楼 103 党员中心户,C01-A-B2,101;102\n".encode()
START = datetime(2030, 1, 2, 2, 0, tzinfo=UTC)  # a Wednesday, 10:00 in the street
MEMBER, SECOND, FAR_MEMBER = "member", "second", "far-member"
WANG, WANG_SON, LI, LEADER, SECRETARY, FAR_SECRETARY = "wang", "wang-son", "li", "leader", "secretary", "far-sec"
CAST = (
    Member(MEMBER, "王建国", home="C01-A-B1", room="301", roles=((Role.PARTY_MEMBER, "C01-A-B1-H1"),),
           channel="console"),
    Member(SECOND, "刘红", home="C01-A-B2", room="103", roles=((Role.PARTY_MEMBER, "C01-A-B2-H1"),),
           channel="console"),
    Member(FAR_MEMBER, "陈党员", home="C01-B-B2", room="502", roles=((Role.PARTY_MEMBER, "C01-B-B2-H1"),),
           channel="console"),
    Member(WANG, "王阿姨", home="C01-A-B1", room="201", channel="console"),
    Member(WANG_SON, "小王", home="C01-A-B1", room="201", channel="console"),  # the same household
    Member(LI, "李叔", home="C01-A-B1", room="202", channel="console"),
    Member(LEADER, "楼栋长", roles=((Role.BUILDING_LEADER, "C01-A-B1"),), channel="console"),
    Member(SECRETARY, "孙书记", roles=((Role.COMPLEX_SECRETARY, "C01-A"),), channel="console"),
    Member(FAR_SECRETARY, "周书记", roles=((Role.COMPLEX_SECRETARY, "C01-B"),), channel="console"),
)


@dataclass
class Street:
    db: Database
    engine: Engine
    clock: ManualClock
    ids: dict[str, int]
    units: dict[str, int]

    async def say(self, user: str, text: str) -> list[Reply]:
        return await self.engine.handle(text_inbound(Sender("console", user, user), text))

    async def press(self, user: str, token: str) -> list[Reply]:
        return await self.engine.handle(Inbound(Sender("console", user, user), InboundKind.BUTTON, token=token))

    async def open_visits(self, user: str) -> list[Reply]:
        menu = await self.say(user, "/menu")
        return await self.press(user, buttons(menu)["🚪 两联走访"])

    async def pushes(self, user: str, like: str) -> list[dict[str, object]]:
        async with self.db.read() as tx:
            rows = await tx.all("SELECT payload FROM outbox WHERE chat_id = ? AND idempotency_key LIKE ? ORDER BY id",
                                (user, like))
        return [json.loads(row[0]) for row in rows]

    async def person(self, user: str) -> Person:
        async with self.db.read() as tx:
            found = await people.by_id(tx, self.ids[user])
        assert found is not None
        return found


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def street(db: Database, clock: ManualClock) -> Street:
    await import_grid(db, GRID)
    async with db.write() as tx:
        ids = await seed_people(tx, CAST, clock.now())
        units = {unit.code: unit.id for unit, _ in await grid.all_units(tx)}
    return Street(db, Engine(db, clock, all_flows(), timezone=TZ), clock, ids, units)


def text(replies: list[Reply]) -> str:
    return "\n".join(reply.text for reply in replies)


def buttons(replies: list[Reply]) -> dict[str, str]:
    return {button.label: button.token for row in replies[-1].buttons for button in row}


def starting(label: str, replies: list[Reply]) -> str:
    return next(token for name, token in buttons(replies).items() if name.startswith(label))


async def visit(street: Street, room: str, *, need: str = "", user: str = MEMBER) -> list[Reply]:
    """The member's whole visit to `room` in person, with a note, no photo, and `need` (a parking matter) if any."""
    listed = await street.open_visits(user)
    await street.press(user, starting(room, listed))
    await street.press(user, "vs:m:door")
    await street.say(user, "老人身体还好，聊了聊家常。")
    await street.press(user, "vx:nophoto")
    if not need:
        return await street.press(user, "vx:noneed")
    await street.press(user, "vx:need")
    await street.press(user, "c:parking")
    return await street.say(user, need)


async def test_a_visit_whose_need_becomes_a_report_the_resident_is_told_of_and_rates(street: Street) -> None:
    """Issue 12's "done when" (visits): the member logs a visit; the need raised in it is the household's report."""
    listed = await street.open_visits(MEMBER)
    assert "您联系 3 户" in text(listed)
    assert [label.split("　")[0] for label in buttons(listed)][:3] == ["201", "202", "302"]
    page = await street.press(MEMBER, starting("201", listed))
    assert "上次走访：还没走访过" in text(page) and "频次：每季度走访" in text(page)
    assert list(buttons(page))[:3] == ["🚪 上门", "📞 电话", "💬 微信"]
    await street.press(MEMBER, "vs:m:door")
    assert "只有您和支部书记能看到" in text(await street.say(MEMBER, "   "))  # empty: asked again
    await street.say(MEMBER, "王阿姨说楼下总有车堵消防通道。")
    assert "有需要反映的事吗" in text(await street.press(MEMBER, "vx:nophoto"))
    await street.press(MEMBER, "vx:need")
    await street.press(MEMBER, "c:parking")
    done = await street.say(MEMBER, "楼下消防通道经常被私家车堵住")
    assert "已帮住户反映，编号 JL-20300102-0001" in text(done)

    async with street.db.read() as tx:
        issue = await issues.by_ref(tx, "JL-20300102-0001")
        assert issue is not None
        trail = await issues.events(tx, issue.id)
        followers = await issues.followers(tx, issue.id)
        visit_row = await tx.one("SELECT mode, note, issue_id FROM visits")
    assert issue.reporter_id == street.ids[WANG] and issue.unit_id == street.units["C01-A-B1"]
    assert followers == [street.ids[WANG_SON]]  # the household's other resident follows it
    assert any(event.kind is EventKind.NOTE and event.actor_id == street.ids[MEMBER] and "王建国" in event.detail
               for event in trail)
    assert visit_row is not None and tuple(visit_row) == ("door", "王阿姨说楼下总有车堵消防通道。", issue.id)
    for resident in (WANG, WANG_SON):
        [told] = await street.pushes(resident, "visit:%")
        assert "您的党员联系人 王建国 走访时帮您反映了" in str(told["text"]) and "JL-20300102-0001" in str(told["text"])
        assert told["buttons"] == [[["📋 查看这件反映", f"r:view:{issue.id}"]]]
    assert "visit" not in json.dumps(await street.pushes(LI, "%"))  # the neighbour hears nothing

    leader, wang = await street.person(LEADER), await street.person(WANG)
    async with street.db.write() as tx:
        await reports.resolve(tx, issue.id, leader, "已联系物业，加装了隔离桩", "", street.clock.now())
    assert await street.pushes(WANG, f"issue:{issue.id}:resolved%")  # "问题解决了吗？", as for any report
    async with street.db.write() as tx:
        rated = await reports.rate(tx, issue.id, wang, 5, "谢谢", street.clock.now())
    assert rated.status is Status.CLOSED and rated.rating == 5


async def test_a_need_at_a_household_nobody_registered_is_filed_by_the_member(street: Street) -> None:
    done = await visit(street, "302", need="门口的车位被占了")
    assert "这户还没有人登记" in text(done)
    async with street.db.read() as tx:
        issue = await issues.by_ref(tx, "JL-20300102-0001")
    assert issue is not None and issue.reporter_id == street.ids[MEMBER]
    async with street.db.write() as tx:  # and it is refused a second time
        visit_id = int(await tx.scalar("SELECT id FROM visits"))
        with pytest.raises(service.VisitError):
            await service.raise_need(tx, await people.by_id(tx, street.ids[MEMBER]), visit_id, "parking", "再报一次",
                                     "", street.clock.now(), TZ)


async def test_visit_notes_are_read_by_the_member_and_their_branch_secretary_only(street: Street) -> None:
    assert "已保存" in text(await visit(street, "201"))
    async with street.db.read() as tx:
        visit_id = int(await tx.scalar("SELECT id FROM visits"))
    listed = await street.open_visits(MEMBER)
    records = await street.press(MEMBER, buttons(listed)["📖 我的走访记录"])
    card = await street.press(MEMBER, next(iter(buttons(records).values())))
    assert "📝 老人身体还好，聊了聊家常。" in text(card)

    page = await street.open_visits(SECRETARY)  # the branch secretary's page: coverage, overdue, latest visits
    assert "本季度走访覆盖率：1/5 户（20%）" in text(page)
    assert "老人身体还好" not in text(page)  # notes only on a visit's own card
    assert "📝 老人身体还好" in text(await street.press(SECRETARY, VISIT.make(Ref(visit_id))))

    for intruder in (SECOND, FAR_MEMBER, FAR_SECRETARY):  # another member, one of another branch, their secretary
        await street.open_visits(intruder)
        if intruder != FAR_SECRETARY:
            await street.press(intruder, "vx:mine")  # their own list, and a visit that is not on it
        forged = await street.press(intruder, VISIT.make(Ref(visit_id)))
        assert "没有这个权限" in text(forged) and "老人身体" not in text(forged)
    async with street.db.read() as tx:
        for user in (WANG, LEADER, SECOND, FAR_SECRETARY):
            with pytest.raises(service.VisitError):
                await service.read_visit(tx, await people.by_id(tx, street.ids[user]), visit_id)
    assert "🚪 两联走访" not in buttons(await street.say(WANG, "/menu"))


async def test_a_forged_household_token_cannot_log_a_visit_elsewhere(street: Street) -> None:
    listed = await street.open_visits(SECOND)
    assert "您联系 2 户" in text(listed)
    await street.open_visits(MEMBER)  # 1号楼 201 is tracked once 王建国 opens his list
    async with street.db.read() as tx:
        theirs = int(await tx.scalar("SELECT id FROM visit_households WHERE room = '201'"))
    await street.open_visits(SECOND)
    refused = await street.press(SECOND, HOUSEHOLD.make(Ref(theirs)))
    assert "没有这个权限" in text(refused)
    async with street.db.write() as tx:
        second = await people.by_id(tx, street.ids[SECOND])
        with pytest.raises(service.VisitError):
            await service.log(tx, second, theirs, Mode.PHONE, "冒充", "", "", street.clock.now())
        with pytest.raises(service.VisitError):
            await service.set_monthly(tx, second, theirs, True, street.clock.now())
        assert await tx.scalar("SELECT COUNT(*) FROM visits") == 0


async def fire(street: Street, moment: datetime) -> int:
    street.clock.advance((moment - street.clock.now()).total_seconds())
    return await service.VisitJobs(None).fire_due(street.db, moment, TZ)


async def test_the_weekly_overdue_list_reaches_the_branch_secretary_and_waits_out_quiet_hours(
        street: Street) -> None:
    await street.open_visits(MEMBER)  # 王建国's three households are tracked from now
    await street.open_visits(SECOND)
    assert await fire(street, START) == 0  # every branch gets its Monday round
    first = service.next_round(START, TZ)
    assert first == datetime(2030, 1, 7, 1, 0, tzinfo=UTC)  # Monday 09:00 in the street
    async with street.db.read() as tx:
        pending = await scheduled_jobs.pending_subjects(tx, Subject.BRANCH_VISITS)
    assert pending == {street.units["C01-A"], street.units["C01-B"]}  # 和谐社区's branches have no party member

    assert await fire(street, first) == 2  # nothing overdue yet: nobody is told
    assert not await street.pushes(SECRETARY, "visits:%")

    street.clock.advance(80 * 86400)
    await visit(street, "201")  # visited 80 days on: due again in a quarter
    async with street.db.write() as tx:  # 2号楼 101 flagged for monthly visits by the secretary
        flagged = int(await tx.scalar("SELECT id FROM visit_households WHERE room = '101'"))
        await service.set_monthly(tx, await people.by_id(tx, street.ids[SECRETARY]), flagged, True,
                                  street.clock.now())
    monday = service.next_round(START + timedelta(days=95), TZ)  # 2030-04-08, 96 days after START
    while (round_at := service.next_round(street.clock.now(), TZ)) < monday:
        await fire(street, round_at)
    for push in await street.pushes(SECRETARY, "visits:%"):  # before: only the monthly household was overdue
        assert "2号楼 · 101" in str(push["text"]) and "1号楼 · 202" not in str(push["text"])
    before = len(await street.pushes(SECRETARY, "visits:%"))

    async with street.db.write() as tx:
        await set_quiet_hours(tx, "08:00-10:00")
    await fire(street, monday)  # in quiet hours: held until 10:00
    assert len(await street.pushes(SECRETARY, "visits:%")) == before
    async with street.db.read() as tx:
        branch = street.units["C01-A"]
        jobs = await scheduled_jobs.of(tx, Subject.BRANCH_VISITS, branch)
    assert [job.outcome for job in jobs if job.done_at is not None][-1] == "held"
    assert [job.due_at for job in jobs if job.done_at is None] == [monday + timedelta(hours=1)]

    await fire(street, monday + timedelta(hours=1))
    pushed = await street.pushes(SECRETARY, "visits:%")
    assert len(pushed) == before + 1
    lines = str(pushed[-1]["text"]).split("\n")
    assert lines[0] == "📋 两联走访提醒：阳光花园有 4 户超期未走访"
    assert "· 幸福社区 · 阳光花园 · 1号楼 · 202 — 王建国 — 超期 5 天" in lines  # 96 days on, due after 91
    assert "· 幸福社区 · 阳光花园 · 1号楼 · 302 — 王建国 — 超期 5 天" in lines
    assert not any("1号楼 · 201" in line for line in lines)  # visited 16 days ago
    assert any("2号楼 · 101 — 刘红" in line for line in lines)
    for push in await street.pushes(FAR_SECRETARY, "visits:%"):  # 翠竹苑's own households only
        assert "翠竹苑" in str(push["text"]) and "阳光花园" not in str(push["text"])
    async with street.db.read() as tx:
        pending_after = [job.due_at for job in await scheduled_jobs.of(tx, Subject.BRANCH_VISITS, branch)
                         if job.done_at is None]
    assert pending_after == [monday + timedelta(days=7)]  # the next round is a row too


async def test_coverage_per_branch_rolled_up_on_a_hand_counted_fixture(street: Street) -> None:
    quarter = Quarter.containing(START, TZ)
    assert (quarter.start, quarter.end) == (datetime(2029, 12, 31, 16, tzinfo=UTC),
                                            datetime(2030, 3, 31, 16, tzinfo=UTC))
    await visit(street, "201")
    await visit(street, "202")
    await visit(street, "202")  # twice: one household
    await visit(street, "101", user=SECOND)
    await visit(street, "501", user=FAR_MEMBER)
    async with street.db.write() as tx:  # 翠竹苑's visit falls before the quarter
        await tx.execute("UPDATE visits SET visited_at = '2029-12-30T00:00:00.000000Z' WHERE member_id = ?",
                         (street.ids[FAR_MEMBER],))
        codes = ("C01-A", "C01-B", "C01", "C02", "S01")
        figures = await service.coverage(tx, [street.units[code] for code in codes], quarter)
    # linked: 阳光花园 1号楼 201 202 302 + 2号楼 101 102 = 5; 翠竹苑 501 503 402 = 3; 和谐社区 101 103 202 +
    # 501 602 603 = 6. Visited in the quarter: 201, 202, 101.
    by_code = {code: (figures[street.units[code]].visited, figures[street.units[code]].linked) for code in codes}
    assert by_code == {"C01-A": (3, 5), "C01-B": (0, 3), "C01": (3, 8), "C02": (0, 6), "S01": (3, 14)}
    assert figures[street.units["C01-A"]].rate == pytest.approx(0.6)
    assert figures[street.units["C01-B"]].rate == 0.0
    async with street.db.read() as tx:  # the scorecards' 两联走访覆盖率 is the same count, for any period
        card = await scorecards.scorecard(tx, Period.parse("2030-H1", TZ), START, Weights())
    rows = {row.unit.code: row.metrics.visit_coverage for row in card.rows}
    assert {code: (rows[code].part, rows[code].whole) for code in codes} == by_code
