"""The weekly Saturday report: the draft's formulas on a hand-computed week (an empty community, a Δ against a
week never drafted and against one drafted), clusters, the 08:00 / 12:00 jobs on a manual clock, the secretary's
flow through the engine (rights re-checked at every press), late → 督查, the roll-up with its chart (a real PNG)
and its spreadsheet (opened with openpyxl)."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest

from bot.clock import ManualClock
from bot.conversations.engine import Engine
from bot.conversations.tokens import Ref
from bot.domain.messages import Inbound, InboundKind, Reply, Sender, text_inbound
from bot.domain.people import Person, Role
from bot.features.catalog import discover
from bot.features.lectures import store as lectures
from bot.features.lectures.model import Kind as LectureKind
from bot.features.meetings import store as meetings
from bot.features.meetings.model import MeetingStatus
from bot.features.reports import service as reports
from bot.features.scorecards.model import Period
from bot.features.weekly import export, service, store
from bot.features.weekly.model import Below, Cases, Cluster, Field, Status
from bot.features.weekly.tokens import EDIT, SUBMIT, Edit
from bot.i18n import use_locale
from bot.services import people as people_service
from bot.services.grid_import import import_grid
from bot.services.media import MediaStore
from bot.storage import grid, people, scheduled_jobs
from bot.storage.db import Database, Tx
from bot.storage.scheduled_jobs import Subject
from tests.harness import SAMPLE, Member, seed_people

TZ = "Asia/Shanghai"
W48, W49 = Period.parse("2026-W48", TZ), Period.parse("2026-W49", TZ)  # 11-21…11-27, 11-28…12-04
DRAFT = datetime(2026, 12, 5, 0, 0, tzinfo=UTC)  # Saturday 08:00 in the street
DEADLINE = datetime(2026, 12, 5, 4, 0, tzinfo=UTC)  # Saturday 12:00
SUNDAY = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)  # 10:00 in the street, in W49
H = 3600
SEC1, SEC2, ADMIN, LEAD1, LEAD2, R1, R2 = "601", "602", "900", "701", "702", "801", "802"
CAST = [Member(SEC1, "张书记", roles=((Role.COMMUNITY_SECRETARY, "C01"),)),
        Member(SEC2, "李书记", roles=((Role.COMMUNITY_SECRETARY, "C02"),)),
        Member(ADMIN, "街道", street_admin=True),
        Member(LEAD1, "王楼长", roles=((Role.BUILDING_LEADER, "C01-A-B1"),)),
        Member(LEAD2, "赵楼长", roles=((Role.BUILDING_LEADER, "C01-A-B2"),)),
        Member(R1, "王阿姨", home="C01-A-B1"), Member(R2, "陈大爷", home="C01-A-B2")]


def to(clock: ManualClock, moment: datetime) -> None:
    clock.advance(moment.timestamp() - clock.now().timestamp())


async def _person(tx: Tx, ids: dict[str, int], user: str) -> Person:
    found = await people.by_id(tx, ids[user])
    assert found is not None
    return found


@pytest.fixture
async def street(db: Database) -> dict[str, int]:
    """The sample street with the cast, and the hand-computed week W49 at 幸福社区 (C01); 和谐社区 (C02) has nothing.

    W48: a noise report at 1号楼, resolved the next day. W49 (Sunday 10:00): at 1号楼 three roof leaks by the same
    resident (the first accepted and resolved within the hour; a cluster; two repeats) and a lighting report
    (open); at 2号楼 a parking report, accepted within the hour, resolved the next day. A meeting held on Saturday
    the 28th with two present; a law talk on the 2nd, two check-ins, rated 5 and 4."""
    await import_grid(db, SAMPLE)
    async with db.write() as tx:
        ids = await seed_people(tx, CAST, SUNDAY - timedelta(days=10))
        r1, r2, lead1, lead2 = [await _person(tx, ids, user) for user in (R1, R2, LEAD1, LEAD2)]
        b1, b2, c01 = [await grid.by_code(tx, code) for code in ("C01-A-B1", "C01-A-B2", "C01")]
        assert b1 is not None and b2 is not None and c01 is not None
        earlier = SUNDAY - timedelta(days=6)
        noise = await reports.submit(tx, r1, reports.Draft("noise", "楼上装修", b1.id), earlier, TZ)
        await reports.resolve(tx, noise.id, lead1, "已协调", "", earlier + timedelta(days=1))
        filed = [await reports.submit(tx, who, reports.Draft(category, category, unit), SUNDAY + timedelta(minutes=n),
                                      TZ)
                 for n, (who, category, unit) in enumerate(((r1, "roof_leak", b1.id), (r1, "roof_leak", b1.id),
                                                            (r1, "roof_leak", b1.id), (r1, "lighting", b1.id),
                                                            (r2, "parking", b2.id)))]
        await reports.accept(tx, filed[0].id, lead1, SUNDAY + timedelta(hours=1))
        await reports.resolve(tx, filed[0].id, lead1, "修好了", "", SUNDAY + timedelta(hours=1))
        await reports.accept(tx, filed[4].id, lead2, SUNDAY + timedelta(hours=1))
        await reports.resolve(tx, filed[4].id, lead2, "车挪走了", "", SUNDAY + timedelta(days=1))
        starts = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)
        meeting = await meetings.create_meeting(tx, community_id=c01.id, starts_at=starts,
                                                ends_at=starts + timedelta(hours=2), topics_until=starts, place="",
                                                capacity=None, now=starts)
        assert meeting is not None
        await meetings.update_meeting(tx, meeting, status=MeetingStatus.HELD, outcome="楼道灯本周内修好。")
        for who in (r1, r2):
            await meetings.check_in(tx, meeting, who.id, starts, None)
        talk_at = datetime(2026, 12, 2, 6, 30, tzinfo=UTC)
        talk = await lectures.create(tx, kind=LectureKind.LAW_TALK, title="民法典与邻里", speaker="王律师", place="",
                                     description="", unit_id=c01.id, starts_at=talk_at, rsvp=False, creator_id=None,
                                     created_by="test", now=starts)
        for who, stars in ((r1, 5), (r2, 4)):
            await lectures.add_audience(tx, talk, who.id, starts)
            await lectures.set_checked_in(tx, talk, who.id, talk_at)
            await lectures.set_rating(tx, talk, who.id, stars, talk_at + timedelta(hours=3))
    return ids


async def _draft(db: Database, code: str, week: Period = W49, now: datetime = DRAFT) -> service.Draft:
    async with db.read() as tx:
        return await service.draft(tx, code, week, now)


async def test_the_draft_of_a_hand_computed_week(db: Database, street: dict[str, int]) -> None:
    draft = await _draft(db, "C01")
    assert draft.cases == Cases(new=5, resolved=2, overdue=3, backlog=3)  # roof ×2 and lighting open past 24 h
    assert draft.last == Cases(new=1, resolved=1, overdue=None, backlog=None)  # W48 never drafted: computed now
    assert [draft.delta(name) for name in ("new", "resolved", "overdue", "backlog")] == [4, 1, None, None]
    assert draft.rates == {"response": 0.4, "on_time": 0.4, "satisfaction": None}  # no ratings: 样本不足
    assert draft.top == (("roof_leak", 3), ("parking", 1), ("lighting", 1))  # a tie in the categories' order
    assert draft.below == (Below("C01", "幸福社区", "response", 0.4), Below("C01", "幸福社区", "on_time", 0.4),
                           Below("C01-A", "阳光花园", "response", 0.4), Below("C01-A", "阳光花园", "on_time", 0.4),
                           Below("C01-A-B1", "1号楼", "response", 0.25), Below("C01-A-B1", "1号楼", "on_time", 0.25))
    assert draft.repeats == 2 and draft.clusters == (Cluster("C01-A-B1", "1号楼", "roof_leak", 3),)
    [meeting] = draft.meetings
    assert (meeting.outcome, meeting.attendees) == ("楼道灯本周内修好。", 2)
    [talk] = draft.lectures
    assert (talk.title, talk.checked_in, talk.rated, talk.average) == ("民法典与邻里", 2, 2, 4.5)


async def test_an_empty_community_and_an_empty_last_week(db: Database, street: dict[str, int]) -> None:
    empty = await _draft(db, "C02")
    assert (empty.cases, empty.last) == (Cases(0, 0, 0, 0), Cases(0, 0, None, None))
    assert empty.rates == {"response": None, "on_time": None, "satisfaction": None}
    assert (empty.top, empty.below, empty.clusters, empty.meetings, empty.lectures, empty.repeats) == (
        (), (), (), (), (), 0)
    first = await _draft(db, "C01", W48.previous(), DRAFT)  # a week before anything: nothing on either side
    assert (first.cases, first.delta("new")) == (Cases(0, 0, 3, 3), 0)
    with pytest.raises(service.WeeklyError, match=r"weekly\.error\.unit"):
        await _draft(db, "C01-A")


async def test_two_of_a_kind_at_a_building_are_no_cluster(db: Database, street: dict[str, int]) -> None:
    async with db.write() as tx:
        await tx.execute("UPDATE issues SET status = 'withdrawn' "
                         "WHERE id = (SELECT MAX(id) FROM issues WHERE category = 'roof_leak')")
    draft = await _draft(db, "C01")
    assert draft.clusters == () and draft.cases.new == 4


async def _outbox(db: Database, user: str, key: str) -> list[Reply]:
    """The pushes to `user` whose idempotency key is LIKE `key`."""
    async with db.read() as tx:
        rows = await tx.all("SELECT payload FROM outbox WHERE chat_id = ? AND idempotency_key LIKE ? ORDER BY id",
                            (user, key))
    return [Reply.from_json(json.loads(row[0])) for row in rows]


async def _status(db: Database, code: str, period: str) -> store.Report:
    async with db.read() as tx:
        unit = await grid.by_code(tx, code)
        assert unit is not None
        found = await store.of(tx, unit.id, period)
    assert found is not None
    return found


def _sheet(path: Path) -> list[list[object]]:
    """The first sheet's rows, opened with openpyxl, without the empty cells it pads them with."""
    found = []
    for row in openpyxl.load_workbook(io.BytesIO(path.read_bytes())).worksheets[0].iter_rows(values_only=True):
        cells = list(row)
        while cells and cells[-1] is None:
            cells.pop()
        found.append(cells)
    return found


def _png_size(path: Path) -> int:
    """The size of the PNG at `path` (which must be one: its signature, a header chunk)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return len(data)


class Chat:
    """One person in the engine's conversations (the console's path: no channel in between)."""

    def __init__(self, engine: Engine, user: str) -> None:
        self.engine, self.sender = engine, Sender("telegram", user, user)

    async def press(self, token: str) -> str:
        return self._shown(await self.engine.handle(Inbound(self.sender, InboundKind.BUTTON, token=token)))

    async def send(self, text: str) -> str:
        return self._shown(await self.engine.handle(text_inbound(self.sender, text)))

    @staticmethod
    def _shown(replies: list[Reply]) -> str:
        """The replies' texts, each followed by its buttons' labels."""
        return "\n".join(f"{reply.text}\n{' '.join(b.label for row in reply.buttons for b in row)}"
                         for reply in replies)


async def test_draft_at_eight_submit_late_at_twelve_and_the_roll_up(db: Database, street: dict[str, int],
                                                                   tmp_path: Path) -> None:
    media = tmp_path / "media"
    clock = ManualClock(datetime(2026, 11, 27, 4, 0, tzinfo=UTC))  # Friday noon of W48
    assert await service.fire_due(db, clock.now(), TZ, media) == 0
    async with db.read() as tx:
        c01 = await grid.by_code(tx, "C01")
        assert c01 is not None
        planned = await store.of(tx, c01.id, "2026-W48")
        assert planned is not None and planned.status is Status.PLANNED
        assert [(job.kind, job.due_at) for job in await scheduled_jobs.of(tx, Subject.WEEKLY_REPORT, planned.id)] == [
            ("draft", datetime(2026, 11, 28, 0, 0, tzinfo=UTC)), ("deadline", datetime(2026, 11, 28, 4, 0, tzinfo=UTC))]
        assert len(await store.of_period(tx, "2026-W48")) == 2  # both communities

    to(clock, datetime(2026, 11, 28, 0, 0, tzinfo=UTC))  # W48's Saturday 08:00: drafts of W48; W49 planned
    assert await service.fire_due(db, clock.now(), TZ, media) == 2
    assert (await _status(db, "C01", "2026-W48")).status is Status.DRAFT
    assert (await _status(db, "C01", "2026-W49")).status is Status.PLANNED
    to(clock, DRAFT - timedelta(minutes=1))
    assert await service.fire_due(db, clock.now(), TZ, media) == 3  # W48's deadlines (late) and roll-up
    assert (await _status(db, "C01", "2026-W49")).status is Status.PLANNED

    to(clock, DRAFT)
    assert await service.fire_due(db, clock.now(), TZ, media) == 2
    report = await _status(db, "C01", "2026-W49")
    assert report.status is Status.DRAFT and report.draft is not None
    # as W48 was drafted (its backlog holds W49's three open reports, which the fixture filed ahead of the clock)
    assert report.draft.last == Cases(1, 1, 0, 3)
    assert [report.draft.delta(name) for name in ("new", "resolved", "overdue", "backlog")] == [4, 1, 3, 0]
    [push] = await _outbox(db, SEC1, f"weekly:{report.id}:draft:%")
    assert push.text.startswith("📊 幸福社区 周报 · 2026-W49（11-28 至 12-04）")
    assert "本周新增 5 件（比上周 +4），办结 2 件（+1），超期 3 件（+3），积压 3 件（±0）" in push.text
    assert "集中反映：1号楼 🏠 屋顶漏水 3 件" in push.text and "签到 2 人，评分 4.5（2 人评）" in push.text
    assert "反映最多：🏠 屋顶漏水 3 件、🚗 停车 1 件、💡 路灯照明 1 件" in push.text
    assert "低于 80% 的：幸福社区 响应率 40.0%、幸福社区 按时办结率 40.0%、阳光花园 响应率 40.0%" in push.text
    assert "🗓 周六说事 11月28日 09:00（到场 2 人）：楼道灯本周内修好。" in push.text
    assert push.text.endswith("✏️ 下周计划：（还没填）\n请在 12月5日 12:00 前填好三项并提交。")
    chart, sheet = Path(push.photo), Path(push.document)
    assert chart.parent == sheet.parent == media / "weekly"
    assert _png_size(chart) > 10_000
    cells = _sheet(sheet)
    assert cells[0][0] == "幸福社区 周报 2026-W49" and ["新增", 5, 1, 4] in cells and ["超期", 3, 0, 3] in cells
    assert ["🏠 屋顶漏水", 3] in cells and ["C01-A-B1", "1号楼", "🏠 屋顶漏水", 3] in cells
    c02 = await _status(db, "C02", "2026-W49")
    assert await _outbox(db, SEC2, f"weekly:{c02.id}:draft:%") != [] and await _outbox(db, ADMIN, "%draft%") == []

    engine = Engine(db, clock, discover().flows, timezone=TZ, admins=frozenset())
    secretary, other, resident = Chat(engine, SEC1), Chat(engine, SEC2), Chat(engine, R1)
    submit = SUBMIT.make(Ref(report.id))
    assert "还不能提交：请先填好 本周重点工作、需街道协调、下周计划。" in await secretary.press(submit)
    assert "请输入“本周重点工作”" in await secretary.press(EDIT.make(Edit(report.id, Field.KEY_WORK)))
    assert "内容不能为空" in await secretary.send("   ")
    assert "已保存“本周重点工作”。" in await secretary.send("排查屋顶漏水，联系物业维修。")
    for field, text in ((Field.NEEDS, "请街道协调维修基金。"), (Field.NEXT_PLAN, "督促 1 号楼修好路灯。")):
        await secretary.press(EDIT.make(Edit(report.id, field)))
        page = await secretary.send(text)
    assert "✏️ 下周计划：督促 1 号楼修好路灯。" in page
    for stranger in (other, resident):  # another community's secretary, a resident: refused at every press
        assert "抱歉，您没有这个权限。" in await stranger.press(EDIT.make(Edit(report.id, Field.NEEDS)))
        assert "抱歉，您没有这个权限。" in await stranger.press(submit)
    assert "周报已提交" in await secretary.press(submit)
    done = await _status(db, "C01", "2026-W49")
    assert (done.status, done.submitted_at) == (Status.SUBMITTED, DRAFT)
    assert done.texts[Field.NEEDS] == "请街道协调维修基金。"
    assert "已经提交了" in await secretary.press(EDIT.make(Edit(report.id, Field.NEEDS)))

    to(clock, DEADLINE)
    assert await service.fire_due(db, clock.now(), TZ, media) == 3  # two deadlines, one roll-up
    assert (await _status(db, "C02", "2026-W49")).status is Status.LATE
    assert (await _status(db, "C01", "2026-W49")).status is Status.SUBMITTED
    [rollup] = await _outbox(db, ADMIN, "weekly:rollup:2026-W49:%")
    assert "幸福社区（已提交）：新增 5，办结 2，超期 3，积压 3" in rollup.text
    assert "需街道协调：请街道协调维修基金。" in rollup.text
    assert rollup.text.endswith("🔔 督查（12 点前未提交）：和谐社区")
    assert _png_size(Path(rollup.photo)) > 10_000
    rows = _sheet(Path(rollup.document))
    assert rows[0] == ["社区周报 2026-W49"] and rows[2][:7] == ["C01", "幸福社区", "已提交", 5, 2, 3, 3]
    assert rows[3][:3] == ["C02", "和谐社区", "逾期未交"] and rows[2][-2] == "请街道协调维修基金。"

    admin = Chat(engine, ADMIN)  # the street's administrator: menu → 📰 周报, the roll-up and its 督查 list
    assert (await admin.send("/menu")).count("📰 周报") == 1
    assert "🔔 督查（12 点前未提交）：和谐社区" in await admin.press("m:weekly")

    late = await _status(db, "C02", "2026-W49")
    for field in Field:
        await other.press(EDIT.make(Edit(late.id, field)))
        await other.send(f"{field.value} 的内容")
    assert "已过截止时间，仍列在督查名单上" in await other.press(SUBMIT.make(Ref(late.id)))
    after = await _status(db, "C02", "2026-W49")
    assert (after.status, after.submitted_at) == (Status.LATE, DEADLINE)
    [told] = await _outbox(db, ADMIN, f"weekly:{late.id}:late_submitted:%")
    assert told.text.startswith("📥 和谐社区 补交了周报 2026-W49") and "next_plan 的内容" in told.text
    assert "🔔 督查（12 点前未提交）：和谐社区" in await admin.press("m:weekly")  # it stays on the list
    async with db.read() as tx:
        assert len(await store.of_period(tx, "2026-W50")) == 2  # next week's, planned when this week's fired


async def test_a_submission_after_twelve_is_late_even_before_the_deadline_job(db: Database, street: dict[str, int],
                                                                            tmp_path: Path) -> None:
    clock = ManualClock(DRAFT)
    await service.fire_due(db, clock.now(), TZ, tmp_path)
    report = await _status(db, "C01", "2026-W49")
    async with db.write() as tx:
        for field in Field:
            await store.set_text(tx, report.id, field, "好")
        secretary = await _person(tx, street, SEC1)
        done = await service.submit(tx, report.id, secretary, DEADLINE + timedelta(seconds=1), TZ)
    assert done.status is Status.LATE and done.submitted


async def test_deleting_a_community_takes_its_reports_and_their_jobs(db: Database, street: dict[str, int],
                                                                     tmp_path: Path) -> None:
    await service.fire_due(db, DRAFT - timedelta(days=1), TZ, tmp_path)
    report = await _status(db, "C02", "2026-W49")
    async with db.write() as tx:
        assert len(await scheduled_jobs.of(tx, Subject.WEEKLY_REPORT, report.id)) == 2
        await tx.execute("DELETE FROM weekly_reports WHERE id = ?", (report.id,))
        assert await scheduled_jobs.of(tx, Subject.WEEKLY_REPORT, report.id) == []


def test_the_english_spreadsheet_header_and_a_line_before_drafting() -> None:
    with use_locale("en"):
        header = export.header()
        line = export.line(store.Report(0, 1, "2026-W49", Status.PLANNED, None, dict.fromkeys(Field, ""), None, None,
                                        None), "C01", "Happy")
    assert header[:4] == ["code", "unit", "status", "new"] and "new vs last week" in header
    assert line[:3] == ["C01", "Happy", "not drafted"] and line[3:16] == [None] * 13


def test_the_scheduler_writes_attachments_under_the_media_directory(tmp_path: Path) -> None:
    [source] = [found for found in discover().job_sources(None, str(tmp_path)) if isinstance(found, service.WeeklyJobs)]
    assert source._directory == tmp_path


async def test_a_community_a_grid_import_adds_is_planned_at_the_next_pass(db: Database, street: dict[str, int],
                                                                          tmp_path: Path) -> None:
    friday = DRAFT - timedelta(hours=12)
    await service.fire_due(db, friday, TZ, tmp_path)
    await import_grid(db, SAMPLE + "社区,C03,团结社区,S01,\n".encode())
    async with db.read() as tx:
        assert await store.unplanned(tx, "2026-W49") != []
    await service.fire_due(db, friday + timedelta(seconds=30), TZ, tmp_path)
    new = await _status(db, "C03", "2026-W49")
    async with db.read() as tx:
        assert [job.kind for job in await scheduled_jobs.of(tx, Subject.WEEKLY_REPORT, new.id)] == ["draft", "deadline"]
        assert len(await store.of_period(tx, "2026-W49")) == 3


async def test_deleting_a_secretarys_information_keeps_the_report_and_the_street_files(
        db: Database, street: dict[str, int], tmp_path: Path) -> None:
    await service.fire_due(db, DRAFT, TZ, tmp_path)
    report = await _status(db, "C01", "2026-W49")
    [push] = await _outbox(db, SEC1, f"weekly:{report.id}:draft:%")
    async with db.write() as tx:
        for field in Field:
            await store.set_text(tx, report.id, field, "好")
        secretary = await _person(tx, street, SEC1)
        await service.submit(tx, report.id, secretary, DRAFT, TZ)
        await people_service.forget(tx, secretary, DRAFT, discover().media)
    await MediaStore(tmp_path).empty_trash(db)
    kept = await _status(db, "C01", "2026-W49")
    assert (kept.status, kept.submitted_by, kept.texts[Field.KEY_WORK]) == (Status.SUBMITTED, None, "好")
    assert _png_size(Path(push.photo)) > 10_000 and _sheet(Path(push.document))[0] == ["幸福社区 周报 2026-W49"]
