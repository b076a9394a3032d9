"""道德模范评选 through the engine on neutral events, on the sample street with an injected clock: a campaign from
its creation to the 表彰 (every phase fired from its scheduled rows); the consent gate, forged tokens included; one
vote per category, no self-votes, counts hidden until the close; a burst of new accounts' votes flagged; the
reminder held in quiet hours; rights re-checked at every press."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.clock import ManualClock
from bot.conversations.engine import Engine
from bot.conversations.tokens import Ref
from bot.domain.messages import Inbound, InboundKind, Reply, Sender, text_inbound
from bot.domain.people import Role
from bot.domain.quiet import QuietHours
from bot.features.catalog import discover
from bot.features.moral_models import service
from bot.features.moral_models.model import Category, Phase
from bot.features.moral_models.service import CampaignJobs
from bot.features.moral_models.tokens import (
    BALLOT,
    CONSENT,
    EXAMINE,
    HONOUR,
    PUBLIC,
    RESULTS,
    REVIEW,
    SHOW,
    VOTE,
    Consent,
)
from bot.features.reports.timers import set_quiet_hours
from bot.services.grid_import import import_grid
from bot.storage import grid, people
from bot.storage.db import Database
from tests.harness import SAMPLE, Member, seed_people

TZ = "Asia/Shanghai"
ZONE = ZoneInfo(TZ)
DENIED = "抱歉，您没有这个权限。"
UNKNOWN = "没有找到这个内容。"
TITLE = "2027年上半年道德模范评选"
COUNT = re.compile(r"\d+\s*票")  # a vote count, as the results show it
CAST = [Member("admin", "街道", street_admin=True, channel="console"),
        Member("sec1", "张书记", roles=((Role.COMMUNITY_SECRETARY, "C01"),), channel="console"),
        Member("sec2", "孙书记", roles=((Role.COMMUNITY_SECRETARY, "C02"),), channel="console"),
        Member("wang", "王阿姨", home="C01-A-B1", room="3-201", channel="console"),
        Member("zhao", "赵叔", home="C01-A-B1", room="3-202", channel="console"),
        Member("chen", "陈大爷", home="C01-A-B2", room="5-502", channel="console"),
        Member("li", "李姐", home="C01-B-B1", room="1-101", channel="console"),
        Member("liu", "刘阿姨", home="C02-A-B1", room="1-101", channel="console")]


class Street:
    """The sample street and its people, the engine they talk to, and the campaign's scheduled work."""

    def __init__(self, db: Database, clock: ManualClock, ids: dict[str, int]) -> None:
        self.db, self.clock, self.ids = db, clock, ids
        self.engine = Engine(db, clock, discover().flows, admins=frozenset({("console", "admin")}), timezone=TZ)
        self.jobs = CampaignJobs(QuietHours.parse("21:00-07:00"))
        self.last: dict[str, list[Reply]] = {}
        self.seen: dict[str, int] = {}

    async def send(self, who: str, text: str) -> str:
        """`who` types `text`; the text of the replies."""
        return await self._handle(who, text_inbound(Sender("console", who, who), text))

    async def token(self, who: str, token: str) -> str:
        """`who` presses a button carrying `token` (one shown to them, or forged)."""
        return await self._handle(who, Inbound(Sender("console", who, who), InboundKind.BUTTON, token=token))

    async def press(self, who: str, label: str) -> str:
        """`who` presses the button labelled `label` on what they were shown last."""
        return await self.token(who, _find(self.last[who], label))

    async def photo(self, who: str, path: str) -> str:
        return await self._handle(who, Inbound(Sender("console", who, who), InboundKind.PHOTO, media_ref=path))

    async def _handle(self, who: str, inbound: Inbound) -> str:
        self.last[who] = await self.engine.handle(inbound)
        return "\n".join(reply.text for reply in self.last[who])

    async def pushes(self, who: str) -> list[Reply]:
        """The pushes queued for `who` since this was last asked."""
        async with self.db.read() as tx:
            rows = await tx.all("SELECT id, payload FROM outbox WHERE chat_id = ? AND id > ? ORDER BY id",
                                (who, self.seen.get(who, 0)))
        if rows:
            self.seen[who] = rows[-1][0]
        return [Reply.from_json(json.loads(row[1])) for row in rows]

    async def tap_push(self, who: str, label: str) -> str:
        """`who` presses `label` on the latest of their pushes carrying it."""
        async with self.db.read() as tx:
            rows = await tx.all("SELECT payload FROM outbox WHERE chat_id = ? ORDER BY id DESC", (who,))
        for row in rows:
            reply = Reply.from_json(json.loads(row[0]))
            if any(button.label == label for line in reply.buttons for button in line):
                return await self.token(who, _find([reply], label))
        raise AssertionError(f"no push to {who} has {label!r}")

    async def to(self, moment: datetime) -> int:
        """The clock moves on to `moment`; what fell due fires; how many jobs fired."""
        self.clock.advance((moment - self.clock.now()).total_seconds())
        return await self.jobs.fire_due(self.db, self.clock.now(), TZ)

    async def campaign(self) -> service.Campaign:
        async with self.db.read() as tx:
            campaign_id = await tx.scalar("SELECT MAX(id) FROM moral_campaigns")
            return await service.campaign(tx, campaign_id)

    async def nomination(self, nominee: str, category: Category) -> int:
        async with self.db.read() as tx:
            found = await tx.scalar("SELECT id FROM moral_nominations WHERE nominee_id = ? AND category = ?",
                                    (self.ids[nominee], category))
        assert found is not None
        return int(found)

    async def newcomers(self, count: int) -> list[str]:
        """`count` residents of 幸福社区 who register now."""
        first = len(self.ids)
        users = [f"new{n}" for n in range(first, first + count)]
        async with self.db.write() as tx:
            cast = [Member(user, f"新居民{n}", home="C01-B-B1", room=f"2-{n + 101}", channel="console")
                    for n, user in enumerate(users, first)]
            self.ids.update(await seed_people(tx, cast, self.clock.now()))
        return users


def _find(replies: list[Reply], label: str) -> str:
    tokens = [button.token for reply in replies for line in reply.buttons for button in line if button.label == label]
    assert tokens, f"no button {label!r} in {[b.label for r in replies for line in r.buttons for b in line]}"
    return tokens[-1]


def _labels(replies: list[Reply]) -> list[str]:
    """The buttons' labels, without the back / cancel row."""
    return [button.label for reply in replies for line in reply.buttons for button in line
            if not button.token.startswith("nav:")]


@pytest.fixture
async def street(db: Database, clock: ManualClock) -> Street:
    await import_grid(db, SAMPLE)
    async with db.write() as tx:
        ids = await seed_people(tx, CAST, clock.now())
    return Street(db, clock, ids)


async def open_campaigns(street: Street, who: str) -> str:
    await street.send(who, "/menu")
    return await street.press(who, "🏅 道德模范")


async def nominate(street: Street, who: str, category: str, path: tuple[str, ...], room: str, story: str,
                   photo: str = "") -> str:
    """`who` presses 我要提名 on the announcement and walks the wizard to the end."""
    assert "您要提名哪一类" in await street.tap_push(who, "📝 我要提名")
    await street.press(who, category)
    for unit in path:
        await street.press(who, unit)
    await street.send(who, room)
    await street.send(who, story)
    if photo:
        await street.photo(who, photo)
    else:
        await street.press(who, "不发照片")
    return await street.press(who, "✅ 提交提名")


def local(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=ZONE).astimezone(UTC)


async def test_a_campaign_goes_from_nomination_to_honours_through_the_chat(street: Street, tmp_path: Path) -> None:
    # the admin opens it: title, scope, the default dates, publish
    assert "还没有评选活动" in await open_campaigns(street, "admin")
    assert "请输入评选名称" in await street.press("admin", "➕ 新建评选")
    assert "整个街道，还是一个社区" in await street.send("admin", TITLE)
    assert _labels(street.last["admin"])[:3] == ["📍 整个近邻街道", "幸福社区", "和谐社区"]
    confirm = await street.press("admin", "幸福社区")
    assert "📝 提名截止：12月11日（周五）09:00" in confirm and "🗳 投票截止：2027年1月1日（周五）09:00" in confirm
    await street.press("admin", "🗓 修改各阶段天数")
    assert "1 到 60 之间" in await street.send("admin", "14 7 0 7")
    assert "📝 提名截止：12月11日（周五）09:00" in await street.send("admin", "14 7 7 7")
    assert f"已发布《{TITLE}》" in await street.press("admin", "📢 发布评选")
    campaign = await street.campaign()
    assert campaign.phase is Phase.NOMINATING and campaign.vote_until == local("2027-01-01 09:00")

    assert await street.to(street.clock.now()) == 1  # the announcement, to everyone in 幸福社区 and nobody else
    for resident in ("wang", "zhao", "chen", "li"):
        [push] = await street.pushes(resident)
        assert f"《{TITLE}》开始提名啦" in push.text and "12月11日（周五）09:00" in push.text
    assert await street.pushes("liu") == []
    assert "不在您住的社区" in await street.token("liu", f"dm:nom:{campaign.id}")  # a forged 我要提名

    # 王阿姨 nominates her neighbour 赵叔 as 好婆媳: building by buttons, room typed, story, no photo
    assert "您要提名哪一类" in await street.tap_push("wang", "📝 我要提名")
    await street.press("wang", "好婆媳")
    assert "当前：幸福社区" in street.last["wang"][-1].text
    await street.press("wang", "阳光花园")
    await street.press("wang", "1号楼")
    assert "请输入被提名人的房号" in street.last["wang"][-1].text
    assert "没有已登记的居民" in await street.send("wang", "3-201")  # her own room: nobody else lives there
    assert "请写一写他（她）的事迹" in await street.send("wang", "3-202")
    await street.send("wang", "照顾瘫痪的婆婆十年如一日。")
    await street.press("wang", "不发照片")
    assert "【好婆媳】赵叔\n照顾瘫痪的婆婆十年如一日。" in street.last["wang"][-1].text
    assert "正在请被提名人同意" in await street.press("wang", "✅ 提交提名")
    [ask] = await street.pushes("zhao")
    assert "王阿姨提名您为“好婆媳”" in ask.text and _labels([ask]) == ["✅ 同意", "❌ 不同意"]

    # 陈大爷 nominates 王阿姨 as 优秀志愿者 with a photo; 李姐 nominates 陈大爷 as 好婆媳
    photo = str(tmp_path / "wang.jpg")
    await nominate(street, "chen", "优秀志愿者", ("阳光花园", "1号楼"), "3-201", "社区义务巡逻五年。", photo)
    [ask_wang] = await street.pushes("wang")
    assert ask_wang.photo == photo
    await nominate(street, "li", "好婆媳", ("阳光花园", "2号楼"), "5-502", "和儿媳相处融洽。")
    assert "已经在这一类被提名了" in await nominate(street, "chen", "好婆媳", ("阳光花园", "1号楼"), "3-202", "又一次")

    # nothing is shown before consent: the reviewer's list is empty, a forged card token learns nothing
    zhao_nomination = await street.nomination("zhao", Category.IN_LAWS)
    assert "还没有本人同意了的提名" in await street.token("sec1", REVIEW.make(Ref(campaign.id)))
    assert (await street.token("sec1", EXAMINE.make(Ref(zhao_nomination)))).startswith(UNKNOWN)
    assert (await street.token("chen", SHOW.make(Ref(zhao_nomination)))).startswith(UNKNOWN)

    assert "提名将交社区审核" in await street.tap_push("zhao", "✅ 同意")
    assert _labels(street.last["zhao"][:1]) == ["↩️ 撤回同意"]
    assert "赵叔同意了您的提名" in (await street.pushes("wang"))[0].text
    await street.tap_push("wang", "✅ 同意")
    assert "这个提名不会给任何人看" in await street.tap_push("chen", "❌ 不同意")  # 陈大爷 declines
    assert "没有同意您的提名" in (await street.pushes("li"))[0].text
    assert "我的提名：好婆媳 · 陈大爷（本人不同意）" in await street.token("li", f"dm:c:{campaign.id}")

    # nominations close: the community's secretary reviews; a resident cannot
    assert await street.to(campaign.nominate_until) == 1
    [review_push] = await street.pushes("sec1")
    assert "有 2 个提名等您审核" in review_push.text
    assert (await street.token("wang", REVIEW.make(Ref(campaign.id)))).startswith(DENIED)
    assert (await street.token("sec2", REVIEW.make(Ref(campaign.id)))).startswith(DENIED)  # C02's secretary
    listed = await street.tap_push("sec1", "🔍 审核提名")
    assert "好婆媳 · 赵叔（本人已同意，待审核）" in _labels(street.last["sec1"])
    assert "陈大爷" not in listed + "".join(_labels(street.last["sec1"]))  # declined: never shown
    await street.press("sec1", "好婆媳 · 赵叔（本人已同意，待审核）")
    assert "已通过" in await street.press("sec1", "✅ 通过")
    assert "审核通过了" in (await street.pushes("wang"))[0].text
    await street.press("sec1", "优秀志愿者 · 王阿姨（本人已同意，待审核）")
    assert street.last["sec1"][-1].photo == photo
    assert "请写明理由" in await street.press("sec1", "❌ 不通过")
    assert "已记下不通过" in await street.send("sec1", "事迹需要补充材料。")
    assert "未通过审核。理由：事迹需要补充材料。" in (await street.pushes("chen"))[-1].text

    # 公示: residents see 赵叔 and may object; the objection reaches the reviewer
    assert await street.to(campaign.review_until) == 1
    assert "公示开始" in (await street.pushes("li"))[0].text
    public = await street.tap_push("li", "📋 查看公示")
    assert _labels(street.last["li"]) == ["好婆媳 · 赵叔"] and "公示" in public
    assert "照顾瘫痪的婆婆" in await street.press("li", "好婆媳 · 赵叔")
    await street.press("li", "✋ 提出异议")
    assert "已收到您的异议" in await street.send("li", "听说他家常年占用楼道。")
    [objection] = await street.pushes("sec1")
    assert "听说他家常年占用楼道" in objection.text
    assert "✋ 异议：听说他家常年占用楼道。" in await street.token("sec1", _find([objection], "🔍 查看"))
    assert "公示已经开始" in await street.press("zhao", "↩️ 撤回同意")  # too late to take consent back

    # the vote: one ballot per category, never for oneself, no counts anywhere before the close
    assert await street.to(campaign.publicize_until) == 1
    assert "投票开始" in (await street.pushes("chen"))[-1].text
    ballot = await street.tap_push("chen", "🗳 去投票")
    assert _labels(street.last["chen"]) == ["好婆媳"]
    await street.press("chen", "好婆媳")
    assert "已投票（好婆媳）" in await street.press("chen", "🗳 投给 赵叔")
    assert _labels(street.last["chen"]) == ["✅ 好婆媳：已投 赵叔"]
    assert "每类只能投一票" in await street.token("chen", VOTE.make(Ref(zhao_nomination)))
    assert "不能给自己投票" in await street.token("zhao", VOTE.make(Ref(zhao_nomination)))
    assert "不在您住的社区" in await street.token("liu", VOTE.make(Ref(zhao_nomination)))
    for who in ("sec1", "chen", "admin"):
        assert "投票结束后才能看结果" in await street.token(who, RESULTS.make(Ref(campaign.id)))
    seen = [ballot, await street.token("sec1", REVIEW.make(Ref(campaign.id))),
            await street.token("sec1", EXAMINE.make(Ref(zhao_nomination))),
            await street.token("wang", f"dm:c:{campaign.id}"),
            await street.token("wang", PUBLIC.make(Ref(campaign.id)))]
    assert not any(COUNT.search(text) for text in seen)

    # the day before the close, those who have not voted are reminded (09:00 is outside quiet hours)
    await street.pushes("li")  # (what came before)
    assert await street.to(campaign.vote_until - timedelta(days=1)) == 1
    assert await street.pushes("chen") == []
    assert ["投票快截止了" in push.text for push in await street.pushes("li")] == [True]
    await street.tap_push("wang", "🗳 去投票")
    assert "【好婆媳】候选人" in await street.send("wang", "1")  # typed, as on the console or WeCom's lists
    assert "已投票（好婆媳）" in await street.send("wang", "🗳 投给 赵叔")

    # the close: counted, the top of each category on the 表彰 list, confirmed by the reviewer, told to everyone
    assert await street.to(campaign.vote_until) == 1
    assert "现在不在投票时间" in await street.token("li", BALLOT.make(Ref(campaign.id)))
    results = await street.tap_push("sec1", "🏆 查看结果")
    assert "【好婆媳】\n⭐ 赵叔：2 票" in results
    assert "投票结束后才能看结果" in await street.token("li", RESULTS.make(Ref(campaign.id)))  # not before 表彰
    assert (await street.token("li", HONOUR.make(Ref(zhao_nomination)))).startswith(DENIED)
    await street.press("sec1", "⭐ 赵叔")  # off the list …
    assert "表彰名单是空的" in await street.press("sec1", "📢 发布表彰")
    await street.token("sec1", RESULTS.make(Ref(campaign.id)))
    await street.press("sec1", "☆ 赵叔")  # … and on again
    assert "正在通知 4 位居民" in await street.press("sec1", "📢 发布表彰")
    for resident in ("wang", "zhao", "chen", "li"):
        honours = (await street.pushes(resident))[-1].text
        assert f"《{TITLE}》表彰名单" in honours and "⭐ 赵叔：2 票" in honours
    assert await street.pushes("liu") == []
    assert "⭐ 赵叔：2 票" in await street.token("li", RESULTS.make(Ref(campaign.id)))
    assert (await street.campaign()).phase is Phase.HONOURED
    async with street.db.read() as tx:
        events = await service.history(tx, zhao_nomination)
    assert [event.kind for event in events[0]] == ["nominated", "consented", "approved", "honoured"]


async def campaign_with_nomination(street: Street) -> tuple[service.Campaign, int]:
    """A 幸福社区 campaign opened through the service, 王阿姨's nomination of 赵叔 (好婆媳) consented to."""
    async with street.db.write() as tx:
        admin = await people.by_id(tx, street.ids["admin"])
        community = await grid.by_code(tx, "C01")
        assert community is not None
        opened = await service.create(tx, TITLE, community.id, service.DEFAULT_DAYS, admin, True, street.clock.now(),
                                      TZ)
        wang = await people.by_id(tx, street.ids["wang"])
        made = await service.nominate(tx, opened.id, wang, Category.IN_LAWS, street.ids["zhao"], "孝敬老人。", "",
                                      street.clock.now(), TZ)
        await service.consent(tx, made.id, await people.by_id(tx, street.ids["zhao"]), True, street.clock.now())
    await street.to(street.clock.now())
    return opened, made.id


async def approved_and_voting(street: Street) -> tuple[service.Campaign, int]:
    """… approved by the secretary, and the vote open."""
    opened, nomination_id = await campaign_with_nomination(street)
    async with street.db.write() as tx:
        secretary = await people.by_id(tx, street.ids["sec1"])
        await service.decide(tx, nomination_id, secretary, False, True, "", street.clock.now())
    await street.to(opened.publicize_until)
    return opened, nomination_id


async def test_a_burst_of_new_accounts_votes_is_flagged_to_the_reviewer(street: Street) -> None:
    opened, nomination_id = await approved_and_voting(street)
    await street.pushes("sec1")
    vote = VOTE.make(Ref(nomination_id))
    for who in ("wang", "chen", "li"):  # accounts older than the campaign: never part of a burst
        assert "已投票" in await street.token(who, vote)
    late = await street.newcomers(6)
    for who in late[:4]:
        assert "已投票" in await street.token(who, vote)
    street.clock.advance(3600)  # an hour on: the first four are out of the window
    for who in late[4:]:
        assert "已投票" in await street.token(who, vote)
    assert await street.pushes("sec1") == []
    assert "⚠️" not in await street.token("sec1", REVIEW.make(Ref(opened.id)))

    more = await street.newcomers(3)
    for who in more:
        await street.token(who, vote)
    [flagged] = await street.pushes("sec1")
    assert "一小时内收到 5 张新注册账号的投票" in flagged.text and "赵叔" in flagged.text
    review = await street.token("sec1", REVIEW.make(Ref(opened.id)))
    assert "⚠️ 赵叔：60 分钟内 5 张新注册账号的投票" in review
    assert "⚠️ 好婆媳 · 赵叔（审核通过）" in _labels(street.last["sec1"])
    assert "⚠️ 赵叔：60 分钟内 5 张新注册账号的投票" in await street.token("sec1", _find([flagged], "🔍 查看"))
    extra = await street.newcomers(1)
    await street.token(extra[0], vote)
    assert await street.pushes("sec1") == []  # flagged once
    async with street.db.read() as tx:
        assert await tx.scalar("SELECT COUNT(*) FROM moral_votes WHERE new_account = 1") == 10  # all counted
        assert await tx.scalar("SELECT COUNT(*) FROM moral_votes WHERE new_account = 0") == 3



async def test_the_reminder_before_the_close_waits_out_quiet_hours(street: Street) -> None:
    opened, _ = await approved_and_voting(street)
    async with street.db.write() as tx:
        await set_quiet_hours(tx, "08:00-10:00")  # as an admin's /quiet sets them: 09:00 is quiet
    for who in ("wang", "li"):
        await street.pushes(who)
    assert "已投票" in await street.token("wang", VOTE.make(Ref(await street.nomination("zhao", Category.IN_LAWS))))
    remind_at = opened.vote_until - timedelta(days=1)
    assert await street.to(remind_at) == 1
    assert await street.pushes("li") == []
    async with street.db.read() as tx:
        assert await tx.scalar("SELECT outcome FROM scheduled_jobs WHERE kind = 'remind' AND done_at IS NOT NULL") == (
            "held")
    assert await street.to(remind_at + timedelta(minutes=59)) == 0
    assert await street.to(remind_at + timedelta(hours=1)) == 1  # 10:00: the quiet hours are over
    assert ["投票快截止了" in push.text for push in await street.pushes("li")] == [True]
    assert await street.pushes("wang") == []  # she has voted


async def test_nothing_is_shown_before_consent_and_consent_can_be_taken_back_before_publicity(street: Street) -> None:
    opened, nomination_id = await campaign_with_nomination(street)
    async with street.db.write() as tx:
        chen = await people.by_id(tx, street.ids["chen"])
        waiting = await service.nominate(tx, opened.id, chen, Category.NEIGHBOUR, street.ids["li"], "帮邻居修水管。",
                                         "", street.clock.now(), TZ)
    ask = await street.pushes("li")
    assert "陈大爷提名您为“最美邻里”" in ask[-1].text
    # 李姐 has not answered: the reviewer never sees it, nor does anyone by forging tokens, at any phase
    await street.to(opened.nominate_until)
    review = await street.token("sec1", REVIEW.make(Ref(opened.id)))
    assert "最美邻里" not in review + "".join(_labels(street.last["sec1"]))
    assert (await street.token("sec1", EXAMINE.make(Ref(waiting.id)))).startswith(UNKNOWN)
    assert (await street.token("admin", EXAMINE.make(Ref(waiting.id)))).startswith(UNKNOWN)  # the same answer as
    assert (await street.token("admin", EXAMINE.make(Ref(999)))).startswith(UNKNOWN)  # for no nomination at all
    assert (await street.token("wang", CONSENT.make(Consent(waiting.id, True)))).startswith(DENIED)  # not hers

    # 赵叔 takes his consent back before 公示: gone from the review list, and his nominator is told
    assert "您已经回复过了" in await street.token("zhao", CONSENT.make(Consent(nomination_id, True)))
    assert "不再参加评选" in await street.token("zhao", CONSENT.make(Consent(nomination_id, False)))
    assert "您已经回复过了" in await street.token("zhao", CONSENT.make(Consent(nomination_id, False)))
    assert "赵叔撤回了对提名的同意" in (await street.pushes("wang"))[-1].text
    await street.token("sec1", REVIEW.make(Ref(opened.id)))
    assert not any("赵叔" in label for label in _labels(street.last["sec1"]))
    assert (await street.token("sec1", EXAMINE.make(Ref(nomination_id)))).startswith(UNKNOWN)

    await street.to(opened.review_until)  # 公示: neither is on it; a late consent is refused
    assert "还没有通过审核的提名" in await street.token("chen", PUBLIC.make(Ref(opened.id)))
    for forged in (nomination_id, waiting.id):
        assert (await street.token("chen", SHOW.make(Ref(forged)))).startswith(UNKNOWN)
        assert (await street.token("chen", f"dm:obj:{forged}")).startswith(UNKNOWN)
    assert "公示已经开始" in await street.token("li", CONSENT.make(Consent(waiting.id, True)))


async def test_rights_are_checked_again_at_every_press(street: Street) -> None:
    home = await open_campaigns(street, "wang")
    assert "还没有评选活动" in home and "➕ 新建评选" not in _labels(street.last["wang"])
    assert "没看懂" in await street.token("wang", "dm-new")  # the admin's button, typed in by hand: not offered
    opened, nomination_id = await campaign_with_nomination(street)
    await street.to(opened.nominate_until)

    # a resident cannot review, approve or see the counts; another community's secretary neither
    for who in ("wang", "sec2"):
        assert (await street.token(who, EXAMINE.make(Ref(nomination_id)))).startswith(DENIED)
        assert (await street.token(who, RESULTS.make(Ref(opened.id)))).startswith(DENIED if who == "sec2" else
                                                                                  "投票结束后才能看结果")
    # the secretary opens the card; her role is taken away before she presses 通过: refused, nothing changed
    await street.token("sec1", EXAMINE.make(Ref(nomination_id)))
    async with street.db.write() as tx:
        await tx.execute("DELETE FROM roles WHERE person_id = ?", (street.ids["sec1"],))
    assert (await street.press("sec1", "✅ 通过")).startswith(DENIED)
    async with street.db.read() as tx:
        assert (await service.nomination(tx, nomination_id)).status.value == "consented"
    assert (await street.token("wang", "dm:c:999")).startswith("没有找到")
    assert (await street.token("wang", "dm:c:abc")).startswith(DENIED)  # not a token of any shape
    assert (await street.token("liu", f"dm:c:{opened.id}")).startswith(DENIED)  # 和谐社区: not hers


async def test_a_nomination_taken_down_during_the_vote_voids_its_votes(street: Street) -> None:
    opened, zhao = await campaign_with_nomination(street)
    now = street.clock.now()
    async with street.db.write() as tx:
        li, secretary = [await people.by_id(tx, street.ids[who]) for who in ("li", "sec1")]
        chen = (await service.nominate(tx, opened.id, li, Category.IN_LAWS, street.ids["chen"], "和睦。", "", now,
                                       TZ)).id
        await service.consent(tx, chen, await people.by_id(tx, street.ids["chen"]), True, now)
        for nomination_id in (zhao, chen):
            await service.decide(tx, nomination_id, secretary, False, True, "", now)
    await street.to(opened.publicize_until)
    assert "已投票" in await street.token("li", VOTE.make(Ref(zhao)))
    for who in ("wang", "zhao"):
        await street.pushes(who)

    await street.token("sec1", EXAMINE.make(Ref(zhao)))
    assert "请写明理由" in await street.press("sec1", "🚫 撤下")
    assert "已撤下并留痕" in await street.send("sec1", "经核实，事迹与实际不符。")
    for who in ("wang", "zhao"):  # the nominator and the nominee
        assert "已被撤下。理由：经核实，事迹与实际不符。" in (await street.pushes(who))[-1].text
    assert (await street.token("li", VOTE.make(Ref(zhao)))).startswith(UNKNOWN)
    await street.token("li", BALLOT.make(Ref(opened.id)))
    assert _labels(street.last["li"]) == ["好婆媳"]  # her vote went with it: she may vote again
    assert "已投票" in await street.token("li", VOTE.make(Ref(chen)))
    async with street.db.read() as tx:
        trail, _ = await service.history(tx, zhao)
    assert [(event.kind, event.note) for event in trail][-1] == ("removed", "经核实，事迹与实际不符。")


async def test_a_street_wide_campaign_reaches_every_community_and_is_reviewed_by_the_street(street: Street) -> None:
    await open_campaigns(street, "admin")
    await street.press("admin", "➕ 新建评选")
    await street.send("admin", "全街道道德模范评选")
    await street.press("admin", "📍 整个近邻街道")
    await street.press("admin", "📢 发布评选")
    opened = await street.campaign()
    await street.to(street.clock.now())
    for resident in ("wang", "liu"):  # 幸福社区 and 和谐社区
        assert "全街道道德模范评选》开始提名" in (await street.pushes(resident))[-1].text
    assert "已提交" in await nominate(street, "liu", "最美邻里", ("幸福社区", "阳光花园", "1号楼"), "3-201", "热心肠。")
    await street.tap_push("wang", "✅ 同意")
    await street.to(opened.nominate_until)
    assert (await street.token("sec1", REVIEW.make(Ref(opened.id)))).startswith(DENIED)  # a community's secretary
    assert "有 1 个提名等您审核" in (await street.pushes("admin"))[-1].text
    await street.tap_push("admin", "🔍 审核提名")
    await street.press("admin", "最美邻里 · 王阿姨（本人已同意，待审核）")
    assert "已通过" in await street.press("admin", "✅ 通过")
