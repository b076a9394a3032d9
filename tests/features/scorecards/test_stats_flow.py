"""/stats in the chat, driven through the engine on console accounts over the sample street with a week of known
figures: each role's view (exact numbers and ranks), forged tokens refused, a resident sees no ranks, the reports
behind a figure, and an administrator's exclusion with a reason (audited, the figures change) and inclusion."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.conversations.engine import Engine
from bot.conversations.tokens import Ref
from bot.domain.messages import Inbound, InboundKind, Reply, Sender, text_inbound
from bot.domain.people import Duty, Person, Role
from bot.features.catalog import discover
from bot.features.reports import service as reports
from bot.features.reports import store as issues
from bot.features.reports.model import EventKind
from bot.features.scorecards import service
from bot.features.scorecards.model import Period, Weights
from bot.features.scorecards.tokens import REPORT, UNIT
from bot.services.grid_import import import_grid
from bot.storage import grid, people
from bot.storage.db import Database
from tests.harness import SAMPLE, Member, seed_people

TZ = "Asia/Shanghai"
T0 = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)  # Saturday 10:00 in Shanghai, the first day of 2026-W48
HOUR = 3600
DENIED = "抱歉，您没有这个权限。\n\n请选择要办的事："  # the refusal, then the main menu
CAST = (Member("admin", "街道", street_admin=True, channel="console"),
        Member("sec1", "张书记", roles=((Role.COMMUNITY_SECRETARY, "C01"),), channel="console"),
        Member("lead1", "李师傅", roles=((Role.BUILDING_LEADER, "C01-A-B1"),), channel="console"),
        Member("lead2", "赵师傅", roles=((Role.BUILDING_LEADER, "C01-A-B2"),), channel="console"),
        Member("safety2", "钱安全员", duties=((Duty.SAFETY, "C02"),), channel="console"),
        Member("multi", "孙师傅", roles=((Role.BUILDING_LEADER, "C02-A-B2"),), duties=((Duty.SANITATION, "C01-A"),),
               channel="console"),
        Member("anna", "Anna", roles=((Role.BUILDING_LEADER, "C01-A-B2"),), locale="en", channel="console"),
        Member("party", "周党员", home="C01-A-B1", roles=((Role.PARTY_MEMBER, "C01-A-B1-H1"),), channel="console"),
        Member("r1", "王阿姨", home="C01-A-B1", channel="console"),
        Member("r2", "陈大爷", home="C01-A-B2", channel="console"),
        Member("r3", "刘阿姨", home="C02-A-B1", channel="console"))


@dataclass
class Street:
    """The seeded street: the engine, unit ids by code, report ids by name ("A", "C", "P0" …)."""

    engine: Engine
    db: Database
    units: dict[str, int]
    reports: dict[str, int]
    last: dict[str, Reply]

    async def send(self, user: str, text: str) -> Reply:
        return await self._handle(user, text_inbound(Sender("console", user, user), text))

    async def press(self, user: str, token: str) -> Reply:
        return await self._handle(user, Inbound(Sender("console", user, user), InboundKind.BUTTON, token=token))

    async def tap(self, user: str, label: str) -> Reply:
        """Press the button labelled `label` on the latest reply to `user`."""
        buttons = {button.label: button.token for row in self.last[user].buttons for button in row}
        assert label in buttons, f"no {label!r} in {list(buttons)} on {self.last[user].text!r}"
        return await self.press(user, buttons[label])

    async def _handle(self, user: str, inbound: Inbound) -> Reply:
        replies = await self.engine.handle(inbound)
        self.last[user] = replies[-1]
        return replies[-1]


def labels(reply: Reply) -> list[str]:
    return [button.label for row in reply.buttons for button in row]


@pytest.fixture
async def street(db: Database) -> Street:
    """幸福社区 1号楼: A (accepted, resolved, 5★), C (never accepted: overdue now); 2号楼: five on time, 5 5 4 2 1★;
    和谐社区 和平里 1号楼: five on time, 5★ each (nobody below the street there: the administrator takes them).
    All roof leaks (24 h), filed in the first minutes of 2026-W48; now is two days later."""
    await import_grid(db, SAMPLE)
    clock = ManualClock(T0)
    async with db.write() as tx:
        ids = await seed_people(tx, CAST, T0)
        units = {unit.code: unit.id for unit, _ in await grid.all_units(tx)}
    who: dict[str, Person] = {}
    async with db.read() as tx:
        for user, person_id in ids.items():
            found = await people.by_id(tx, person_id)
            assert found is not None
            who[user] = found
    plan = [("A", "r1", "lead1", 5), ("C", "r1", "", 0), *((f"P{n}", "r2", "lead2", stars)
                                                          for n, stars in enumerate((5, 5, 4, 2, 1))),
            *((f"Q{n}", "r3", "admin", 5) for n in range(5))]
    homes = {"r1": "C01-A-B1", "r2": "C01-A-B2", "r3": "C02-A-B1"}
    made: dict[str, int] = {}
    for name, resident, _, _ in plan:
        async with db.write() as tx:
            draft = reports.Draft("roof_leak", f"屋顶漏水 {name}", units[homes[resident]])
            made[name] = (await reports.submit(tx, who[resident], draft, clock.now(), TZ)).id
        clock.advance(60)
    for hours, step in ((1, "accept"), (2, "resolve"), (3, "rate")):
        clock.advance(T0.timestamp() + hours * HOUR - clock.now().timestamp())
        async with db.write() as tx:
            for name, resident, member, stars in plan:
                if not member:
                    continue
                if step == "accept":
                    await reports.accept(tx, made[name], who[member], clock.now())
                elif step == "resolve":
                    await reports.resolve(tx, made[name], who[member], "修好了", "", clock.now())
                else:
                    await reports.rate(tx, made[name], who[resident], stars, "", clock.now())
    clock.advance(T0.timestamp() + 48 * HOUR - clock.now().timestamp())
    engine = Engine(db, clock, discover().flows, admins=frozenset({("console", "admin")}), timezone=TZ)
    return Street(engine, db, units, made, {})


async def test_the_street_admin_sees_every_community_ranked_with_the_boards(street: Street) -> None:
    page = await street.send("admin", "/stats")
    assert page.text.splitlines() == [
        "📊 近邻街道 · 本周（11月21日至11月27日）",
        "反映 12 件",
        "响应率 91.7%（11/12）",
        "按时办结率 91.7%（11/12）",
        "满意率 81.8%（9/11），回访率 100.0%（11/11）",
        "当前超期 1 件",
        "红榜：和谐社区（100.0）、幸福社区（82.0）",
        "黑榜：暂无",
        "",
        "下级社区（全街道排名）：",
        "1. 和谐社区 100.0 分",
        "2. 幸福社区 82.0 分",
    ]
    assert labels(page)[:7] == ["🔍 响应率", "🔍 按时办结率", "🔍 满意率", "🔍 当前超期", "和谐社区", "幸福社区",
                                "✓ 本周"]
    community = await street.tap("admin", "幸福社区")
    assert community.text.splitlines()[1:3] == ["得分 82.0 · 社区第 2 名（共 2 个）", "反映 7 件"]
    assert "⬆️ 上一级" in labels(community)
    assert "1. 阳光花园" not in community.text and "2. 阳光花园 82.0 分" in community.text
    assert "· 翠竹苑 暂不排名" in community.text
    back_up = await street.tap("admin", "⬆️ 上一级")
    assert back_up.text.startswith("📊 近邻街道")


async def test_a_building_leader_sees_their_building_and_its_rank(street: Street) -> None:
    one = await street.send("lead1", "/stats")
    assert one.text.splitlines() == [
        "📊 1号楼 · 本周（11月21日至11月27日）",
        "暂不排名（评价人数不足或数据不够）",
        "反映 2 件",
        "响应率 50.0%（1/2）",
        "按时办结率 50.0%（1/2）",
        "满意率 样本不足（1），回访率 100.0%（1/1）",
        "当前超期 1 件",
    ]
    assert "⬆️ 上一级" not in labels(one)  # the complex is not theirs
    two = await street.send("lead2", "/stats")
    assert two.text.splitlines()[1:4] == ["得分 86.0 · 楼栋第 2 名（共 2 个）", "反映 5 件", "响应率 100.0%（5/5）"]
    assert "满意率 60.0%（3/5），回访率 100.0%（5/5）" in two.text


async def test_a_secretary_sees_the_units_below_and_a_duty_holder_their_duty_unit(street: Street) -> None:
    secretary = await street.send("sec1", "/stats")
    assert secretary.text.splitlines()[:2] == ["📊 幸福社区 · 本周（11月21日至11月27日）",
                                               "得分 82.0 · 社区第 2 名（共 2 个）"]
    assert "红榜" not in secretary.text  # the boards are the street's
    complex_ = await street.tap("sec1", "阳光花园")
    assert complex_.text.splitlines()[-4:] == ["下级楼栋（全街道排名）：", "2. 2号楼 86.0 分", "· 1号楼 暂不排名",
                                               "· 3号楼 暂不排名"]
    building = await street.tap("sec1", "1号楼")
    assert building.text.splitlines()[2] == "反映 2 件"
    duty = await street.send("safety2", "/stats")
    assert duty.text.splitlines()[:3] == ["📊 和谐社区 · 本周（11月21日至11月27日）",
                                          "得分 100.0 · 社区第 1 名（共 2 个）", "反映 5 件"]


async def test_a_member_cannot_reach_a_unit_or_report_outside_theirs_by_a_forged_token(street: Street) -> None:
    for user, token in (("sec1", UNIT.make(Ref(street.units["C02"]))), ("sec1", UNIT.make(Ref(street.units["S01"]))),
                        ("lead1", UNIT.make(Ref(street.units["C01-A-B2"]))),
                        ("lead1", REPORT.make(Ref(street.reports["P0"]))),  # 2号楼's, pressed on 1号楼's page
                        ("sec1", REPORT.make(Ref(street.reports["Q0"])))):
        await street.send(user, "/stats")
        assert (await street.press(user, token)).text == DENIED, (user, token)
    await street.send("lead1", "/stats")
    refused = await street.press("lead1", "ss:x")  # no report open: not a button of this page
    assert refused.text.startswith("没看懂，请点下面的按钮") and "📊 1号楼" in refused.text


async def test_a_resident_sees_their_community_totals_and_no_ranks(street: Street) -> None:
    one = await street.send("r1", "/stats")
    assert one.text.splitlines() == ["📊 幸福社区 · 本周（11月21日至11月27日）", "本社区居民反映 7 件，已办结 6 件。",
                                     "满意率 66.7%（6 人评价）"]
    assert labels(one)[:4] == ["✓ 本周", "上周", "本月", "本半年"] and not any("🔍" in label for label in labels(one))
    assert (await street.press("r1", UNIT.make(Ref(street.units["C01"])))).text == DENIED
    three = await street.send("r3", "/stats")
    assert three.text.splitlines()[1:] == ["本社区居民反映 5 件，已办结 5 件。", "满意率 100.0%（5 人评价）"]
    last_week = await street.tap("r3", "上周")
    assert last_week.text.splitlines() == ["📊 和谐社区 · 上周（11月14日至11月20日）",
                                           "本社区居民反映 0 件，已办结 0 件。",
                                           "满意率：评价的人还太少，暂不统计（0 人评价）"]


async def test_the_period_picker_changes_the_figures(street: Street) -> None:
    await street.send("lead2", "/stats")
    last_week = await street.tap("lead2", "上周")
    assert last_week.text.splitlines()[:4] == ["📊 2号楼 · 上周（11月14日至11月20日）",
                                               "暂不排名（评价人数不足或数据不够）", "反映 0 件", "响应率 —（0/0）"]
    month = await street.tap("lead2", "本月")
    assert month.text.splitlines()[0] == "📊 2号楼 · 本月（11月1日至11月30日）" and "反映 5 件" in month.text
    half = await street.tap("lead2", "本半年")
    assert half.text.splitlines()[0] == "📊 2号楼 · 本半年（7月1日至12月31日）"


async def test_exclusion_from_the_chat_needs_the_administrator(street: Street) -> None:
    async with street.db.read() as tx:
        before = await issues.events(tx, street.reports["C"])
    assert not [event for event in before if event.kind is EventKind.SCORE_EXCLUDED]


async def _refs(street: Street, *names: str) -> list[str]:
    async with street.db.read() as tx:
        found = [await issues.get(tx, street.reports[name]) for name in names]
    return [issue.ref for issue in found if issue is not None]


async def test_the_drill_down_lists_exactly_the_reports_behind_a_figure(street: Street) -> None:
    a, c = await _refs(street, "A", "C")
    await street.send("lead1", "/stats")
    response = await street.tap("lead1", "🔍 响应率")
    assert response.text.splitlines() == ["📊 1号楼 · 本周（11月21日至11月27日）", "响应率：共 2 件",
                                          "✓ 按时受理，✗ 没有按时受理", f"✓ {a} 🏠 屋顶漏水 · 已完成",
                                          f"✗ {c} 🏠 屋顶漏水 · 已派单"]
    assert labels(response)[:2] == [f"✓ {a} 🏠 屋顶漏水", f"✗ {c} 🏠 屋顶漏水"]
    await street.send("lead1", "/stats")
    overdue = await street.tap("lead1", "🔍 当前超期")
    assert overdue.text.splitlines()[1:] == ["当前超期：共 1 件", "这些反映已经超过办理时限，还没有办结",
                                             f"{c} 🏠 屋顶漏水 · 已派单"]
    task = await street.tap("lead1", f"{c} 🏠 屋顶漏水")  # theirs to act on: the task card
    assert task.text.startswith(f"📋 {c} 🏠 屋顶漏水") and "状态：已派单" in task.text
    assert "✋ 受理" in labels(task) and "🚫 不计入考核" not in labels(task)
    assert (await street.press("lead1", "ss:x")).text == DENIED  # only administrators take reports out
    await street.send("lead2", "/stats")
    satisfaction = await street.tap("lead2", "🔍 满意率")
    assert [line[0] for line in satisfaction.text.splitlines()[3:]] == ["✓", "✓", "✓", "✗", "✗"]  # 5 5 4 2 1★


async def test_a_report_no_longer_open_is_read_only(street: Street) -> None:
    [a] = await _refs(street, "A")
    await street.send("sec1", "/stats")
    await street.tap("sec1", "阳光花园")
    await street.tap("sec1", "1号楼")
    await street.tap("sec1", "🔍 按时办结率")
    summary = await street.tap("sec1", f"✓ {a} 🏠 屋顶漏水")
    assert summary.text.startswith(f"{a} 🏠 屋顶漏水\n状态：已完成\n地点：幸福社区 · 阳光花园 · 1号楼 · 3-201")
    assert not any(label.startswith(("✋", "🚫", "↩️")) for label in labels(summary))


async def test_the_street_figures_page_through_their_reports(street: Street) -> None:
    await street.send("admin", "/stats")
    first = await street.tap("admin", "🔍 响应率")
    assert first.text.splitlines()[1:4] == ["响应率：共 12 件", "✓ 按时受理，✗ 没有按时受理", "第 1/2 页"]
    assert len([label for label in labels(first) if label.startswith(("✓ JL", "✗ JL"))]) == 8
    second = await street.tap("admin", "下一页 ▶")
    assert second.text.splitlines()[3] == "第 2/2 页" and "◀ 上一页" in labels(second)
    assert len([label for label in labels(second) if label.startswith(("✓ JL", "✗ JL"))]) == 4


async def test_an_admin_excludes_a_report_with_a_reason_from_the_chat_and_includes_it_back(street: Street) -> None:
    [c] = await _refs(street, "C")
    await street.send("admin", "/stats")
    for label in ("幸福社区", "阳光花园", "1号楼", "🔍 响应率", f"✗ {c} 🏠 屋顶漏水"):
        page = await street.tap("admin", label)
    assert "🚫 不计入考核" in labels(page)
    asked = await street.tap("admin", "🚫 不计入考核")
    assert asked.text == f"请写明 {c} 不计入考核的理由（最多 500 字），会留痕备查："
    too_long = await street.send("admin", "长" * 501)
    assert too_long.text.startswith("理由最多 500 个字。") and "请写明" in too_long.text
    done = await street.send("admin", "居民重复提交，已电话核实")
    assert done.text.startswith(f"{c} 已不计入考核（理由：居民重复提交，已电话核实）。")
    assert "🚫 不计入考核（11月23日 10:00；理由：居民重复提交，已电话核实）" in done.text
    assert "↩️ 恢复计入" in labels(done)
    async with street.db.read() as tx:
        admin = await people.person_for(tx, "console", "admin")
        events = [(event.kind, event.actor_id, event.detail) for event in await issues.events(tx, street.reports["C"])
                  if event.kind in (EventKind.SCORE_EXCLUDED, EventKind.SCORE_INCLUDED)]
    assert admin is not None and events == [(EventKind.SCORE_EXCLUDED, admin.id, "居民重复提交，已电话核实")]
    leader = await street.send("lead1", "/stats")
    assert leader.text.splitlines()[2:4] == ["反映 1 件", "响应率 100.0%（1/1）"] and "当前超期 0 件" in leader.text

    back = await street.tap("admin", "↩️ 恢复计入")
    assert back.text.startswith(f"{c} 重新计入考核。") and "🚫 不计入考核" in labels(back)
    async with street.db.read() as tx:
        kinds = [event.kind for event in await issues.events(tx, street.reports["C"])]
    assert kinds.count(EventKind.SCORE_INCLUDED) == 1
    leader = await street.send("lead1", "/stats")
    assert leader.text.splitlines()[2:4] == ["反映 2 件", "响应率 50.0%（1/2）"]


async def test_a_reason_can_be_dropped_and_a_resident_cannot_drill(street: Street) -> None:
    [c] = await _refs(street, "C")
    await street.send("admin", "/stats")
    await street.tap("admin", "🔍 当前超期")
    await street.tap("admin", f"{c} 🏠 屋顶漏水")
    await street.tap("admin", "🚫 不计入考核")
    kept = await street.tap("admin", "↩️ 不排除了")
    assert kept.text.startswith(f"好的，{c} 仍然计入考核。") and "🚫 不计入考核" in labels(kept)
    async with street.db.read() as tx:
        assert await tx.scalar("SELECT COUNT(*) FROM score_exclusions") == 0
    await street.send("r1", "/stats")
    assert (await street.press("r1", REPORT.make(Ref(street.reports["A"])))).text == DENIED
    await street.send("r1", "/stats")
    assert (await street.press("r1", "ss:f:response")).text.startswith("没看懂")


async def test_a_member_of_several_units_sees_each_and_a_party_member_the_residents_view(street: Street) -> None:
    home = await street.send("multi", "/stats")
    assert home.text.splitlines()[:4] == ["📊 我负责的单位 · 本周（11月21日至11月27日）", "", "【阳光花园】",
                                          "得分 82.0 · 小区第 2 名（共 2 个）"]
    assert home.text.splitlines()[9:13] == ["", "【2号楼】", "暂不排名（评价人数不足或数据不够）", "反映 0 件"]
    assert labels(home)[:3] == ["阳光花园", "2号楼", "✓ 本周"]
    building = await street.tap("multi", "2号楼")
    assert building.text.startswith("📊 2号楼 ·") and "⬆️ 上一级" not in labels(building)
    await street.send("multi", "/stats")
    assert (await street.press("multi", UNIT.make(Ref(street.units["C02-A-B1"])))).text == DENIED  # a neighbour
    party = await street.send("party", "/stats")  # 党员中心户: no scored unit of their own
    assert party.text.splitlines()[1] == "本社区居民反映 7 件，已办结 6 件。"


async def test_the_chat_ranks_with_the_streets_weights(street: Street, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    weights = tmp_path / "weights.csv"
    weights.write_text("项目,分值\n响应率,100\n", encoding="utf-8")
    monkeypatch.setenv("JINLIN_SCORE_WEIGHTS", str(weights))
    one = await street.send("lead1", "/stats")  # 50 % in time, one overdue: 50 − 2; satisfaction not weighted
    assert one.text.splitlines()[1] == "得分 48.0 · 楼栋第 3 名（共 3 个）"
    two = await street.send("lead2", "/stats")
    assert two.text.splitlines()[1] == "得分 100.0 · 楼栋第 1 名（共 3 个）"  # sharing first place with 和平里 1号楼


async def test_a_task_button_typed_as_its_number_acts_as_pressed(street: Street) -> None:
    [c] = await _refs(street, "C")
    await street.send("lead1", "/stats")
    await street.tap("lead1", "🔍 当前超期")
    card = await street.tap("lead1", f"{c} 🏠 屋顶漏水")
    number = labels(card).index("✋ 受理") + 1
    accepted = await street.send("lead1", str(number))  # as on the console, or WeCom's numbered list
    assert accepted.text.startswith(f"✋ 您已受理 {c}")
    async with street.db.read() as tx:
        issue = await issues.get(tx, street.reports["C"])
    assert issue is not None and issue.status.value == "accepted"


async def test_a_member_reads_the_page_in_their_language(street: Street) -> None:
    page = await street.send("anna", "/stats")
    assert page.text.splitlines() == [
        "📊 2号楼 · This week (21 Nov to 27 Nov)",
        "Score 86.0 · building no. 2 (of 2)",
        "Reports: 5",
        "response rate: 100.0% (5/5)",
        "resolved on time: 100.0% (5/5)",
        "satisfaction: 60.0% (3/5); follow-up rate: 100.0% (5/5)",
        "Overdue now: 0",
    ]
    assert labels(page)[:5] == ["🔍 response rate", "🔍 resolved on time", "🔍 satisfaction", "🔍 overdue now",
                                "✓ This week"]


async def test_a_frozen_half_year_is_shown_as_frozen(street: Street) -> None:
    async with street.db.write() as tx:
        await service.freeze(tx, Period.parse("2026-H2", TZ), T0 + timedelta(hours=48), Weights())
    await street.send("lead2", "/stats")
    half = await street.tap("lead2", "本半年")
    assert half.text.splitlines()[:3] == ["📊 2号楼 · 本半年（7月1日至12月31日）", "已于 2026-11-23 10:00 定格",
                                          "得分 86.0 · 楼栋第 2 名（共 2 个）"]
