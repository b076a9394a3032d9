"""Reports at the service level: routing decisions, the audited state machine, numbering, timers and follow-up."""

from __future__ import annotations

import pytest

from bot.clock import ManualClock
from bot.domain.people import Duty, Person, Role
from bot.features.reports import service, timers
from bot.features.reports import store as issues
from bot.features.reports.model import Issue, Status
from bot.i18n import use_locale
from bot.services.grid_import import import_grid
from bot.storage import grid, people
from bot.storage.db import Database, Tx
from tests.harness import SAMPLE, Member, seed_people

TZ = "Asia/Shanghai"


async def _person(tx: Tx, member: Member[str]) -> Person:
    """`member` created (on a Telegram account named as they are), as the services see them."""
    [person_id] = (await seed_people(tx, [member], ManualClock().now())).values()
    found = await people.by_id(tx, person_id)
    assert found is not None
    return found


class Street:
    """The sample street with a resident, two building leaders, a community secretary and a street admin."""

    resident: Person
    leader: Person
    other_leader: Person
    secretary: Person
    admin: Person
    home: int


@pytest.fixture
async def street(db: Database) -> Street:
    await import_grid(db, SAMPLE)
    s = Street()
    async with db.write() as tx:
        s.resident = await _person(tx, Member("resident", "resident", home="C01-A-B1"))
        s.leader = await _person(tx, Member("leader", "leader", roles=((Role.BUILDING_LEADER, "C01-A-B1"),)))
        s.other_leader = await _person(tx, Member("other", "other", roles=((Role.BUILDING_LEADER, "C01-A-B2"),)))
        s.secretary = await _person(tx, Member("secretary", "secretary", roles=((Role.COMMUNITY_SECRETARY, "C01"),),
                                               duties=((Duty.MEDIATION, "C01"), (Duty.LEGAL_ADVISOR, "C01"))))
        s.admin = await _person(tx, Member("admin", "admin", roles=((Role.STREET_ADMIN, "S01"),)))
        building = await grid.by_code(tx, "C01-A-B1")
        assert building is not None
        s.home = building.id
    return s


async def _submit(db: Database, street: Street, clock: ManualClock, category: str = "roof_leak") -> int:
    async with db.write() as tx:
        issue = await service.submit(tx, street.resident, service.Draft(category, "漏水了", street.home),
                                     clock.now(), TZ)
    return issue.id


async def _get(db: Database, issue_id: int) -> tuple[Issue, list[int]]:
    async with db.read() as tx:
        issue = await issues.get(tx, issue_id)
        assert issue is not None
        return issue, await issues.recipients(tx, issue_id)


async def test_routing_goes_to_the_leader_and_the_nearest_duty_holder(db: Database, street: Street,
                                                                       clock: ManualClock) -> None:
    leak = await _submit(db, street, clock)
    dispute = await _submit(db, street, clock, "neighbour_dispute")
    issue, to = await _get(db, leak)
    assert (issue.status, to) == (Status.ASSIGNED, [street.leader.id])
    assert issue.ref == "JL-20261127-0001"
    issue, to = await _get(db, dispute)
    assert issue.ref == "JL-20261127-0002"
    assert sorted(to) == sorted([street.leader.id, street.secretary.id])  # mediation duty sits at the community
    async with db.read() as tx:
        kinds = [(e.kind, e.to_status or "") for e in await issues.events(tx, dispute)]
        route = [e.detail for e in await issues.events(tx, dispute) if e.kind == "route"]
    assert kinds == [("transition", "submitted"), ("route", ""), ("transition", "assigned")]
    assert "duty:mediation" in route[0] and "building_leader" in route[0]


async def test_a_level_with_nobody_is_skipped(db: Database, street: Street, clock: ManualClock) -> None:
    async with db.write() as tx:
        far = await grid.by_code(tx, "C02-B-B3")  # no leader, no complex secretary, no community secretary
        assert far is not None
        issue = await service.submit(tx, street.resident, service.Draft("parking", "乱停车", far.id), clock.now(), TZ)
        owner = await grid.by_id(tx, issue.owner_unit_id)
    assert owner is not None and owner.code == "S01"
    assert (await _get(db, issue.id))[1] == [street.admin.id]


async def test_reference_numbers_follow_the_street_date(db: Database, street: Street, clock: ManualClock) -> None:
    clock.advance(15 * 3600 + 30 * 60)  # 09:00 UTC + 15.5 h = 08:30 next day in Shanghai (UTC+8)
    issue, _ = await _get(db, await _submit(db, street, clock))
    assert issue.ref == "JL-20261128-0001"


async def test_only_allowed_transitions_and_people(db: Database, street: Street, clock: ManualClock) -> None:
    leak = await _submit(db, street, clock)
    async with db.write() as tx:
        with pytest.raises(service.IssueError, match=r"auth\.denied"):
            await service.accept(tx, leak, street.other_leader, clock.now())
        with pytest.raises(service.IssueError, match=r"auth\.denied"):
            await service.rate(tx, leak, street.leader, 5, "", clock.now())
        with pytest.raises(service.IssueError, match=r"issue\.error\.state"):
            await service.rate(tx, leak, street.resident, 5, "", clock.now())  # not resolved yet
        await service.accept(tx, leak, street.leader, clock.now())
        with pytest.raises(service.IssueError, match=r"task\.taken"):
            await service.accept(tx, leak, street.secretary, clock.now())
        await service.resolve(tx, leak, street.leader, "换了防水层", "", clock.now())
        with pytest.raises(service.IssueError, match=r"issue\.error\.state"):
            await service.accept(tx, leak, street.leader, clock.now())  # a replayed accept
        await service.rate(tx, leak, street.resident, 4, "很快", clock.now())
    issue, _ = await _get(db, leak)
    assert (issue.status, issue.rating, issue.comment) == (Status.CLOSED, 4, "很快")


async def test_the_clock_climbs_the_grid_and_the_street_is_last(db: Database, street: Street,
                                                               clock: ManualClock) -> None:
    leak = await _submit(db, street, clock)
    owners = []
    for _ in range(4):
        clock.advance(24 * 3600 + 1)
        await timers.fire_due(db, clock.now(), TZ)
        async with db.read() as tx:
            issue = await issues.get(tx, leak)
            assert issue is not None
            owner = await grid.by_id(tx, issue.owner_unit_id)
            assert owner is not None
            owners.append(owner.code)
    assert owners == ["C01", "S01", "S01", "S01"]  # building → (no complex secretary) community → street, then stays
    async with db.read() as tx:
        kinds = [e.kind for e in await issues.events(tx, leak)]
        queued = await tx.scalar("SELECT COUNT(*) FROM outbox WHERE payload LIKE '%已超时%'")
    assert kinds.count("escalate") == 2 and "overdue" in kinds
    assert queued == 1  # one overdue nudge to the street admin


async def test_a_timed_out_task_says_why_in_each_members_language(db: Database, street: Street,
                                                                    clock: ManualClock) -> None:
    async with db.write() as tx:
        await people.set_locale(tx, street.secretary.id, "en")
    leak = await _submit(db, street, clock)
    clock.advance(24 * 3600 + 1)
    with use_locale("zh_CN"):  # the timer runs in the street's language
        await timers.fire_due(db, clock.now(), TZ)
    async with db.read() as tx:
        issue = await issues.get(tx, leak)
        assert issue is not None
        rows = await tx.all("SELECT payload FROM outbox WHERE chat_id = ? AND idempotency_key LIKE ?",
                            ("secretary", f"issue:{leak}:task:escalated:%"))
    assert issue.status is Status.ESCALATED
    assert len(rows) == 1 and "Escalated because: time limit passed" in rows[0][0]


async def test_unanswered_follow_up_reminds_once_then_closes(db: Database, street: Street,
                                                              clock: ManualClock) -> None:
    leak = await _submit(db, street, clock)
    async with db.write() as tx:
        await service.resolve(tx, leak, street.leader, "修好了", "", clock.now())
    clock.advance(service.FOLLOWUP_REMIND.total_seconds() + 1)
    assert await timers.fire_due(db, clock.now(), TZ) == 1
    assert (await _get(db, leak))[0].status is Status.RESOLVED
    clock.advance((service.FOLLOWUP_CLOSE - service.FOLLOWUP_REMIND).total_seconds())
    await timers.fire_due(db, clock.now(), TZ)
    issue, _ = await _get(db, leak)
    assert (issue.status, issue.rating) == (Status.CLOSED, None)
    clock.advance(service.RECHECK.total_seconds())
    await timers.fire_due(db, clock.now(), TZ)  # roof leaks are infrastructure: asked again after 14 days
    async with db.write() as tx:
        reopened = await service.answer_fixed(tx, leak, street.resident, False, clock.now(), TZ)
    assert reopened.status is Status.REOPENED and reopened.flagged
    async with db.read() as tx:
        texts = [row[0] for row in await tx.all("SELECT payload FROM outbox WHERE chat_id = 'resident' ORDER BY id")]
    assert sum("提醒" in text for text in texts) == 1
    assert any("两周前" in text for text in texts)


async def test_not_fixed_reopens_to_its_owner(db: Database, street: Street, clock: ManualClock) -> None:
    leak = await _submit(db, street, clock)
    async with db.write() as tx:
        await service.accept(tx, leak, street.leader, clock.now())
        await service.resolve(tx, leak, street.leader, "修好了", "", clock.now())
        issue = await service.answer_fixed(tx, leak, street.resident, False, clock.now(), TZ)
        timers_left = await tx.all("SELECT kind FROM scheduled_jobs WHERE subject = 'issue' AND subject_id = ? "
                                   "AND done_at IS NULL ORDER BY kind",
                                   (leak,))
    assert (issue.status, issue.flagged, issue.assignee_id) == (Status.REOPENED, True, street.leader.id)
    assert [row[0] for row in timers_left] == ["escalate", "remind"]
    async with db.read() as tx:
        texts = [row[0] for row in await tx.all("SELECT payload FROM outbox WHERE chat_id = 'leader' ORDER BY id")]
    assert "🔁 重新办理：居民反馈上次处理后问题没有解决。" in texts[-1]  # done again, not "escalated because"
    assert "上报原因" not in texts[-1]
