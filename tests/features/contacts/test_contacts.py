"""亮身份 through the engine, as the console drives it: a party member writes their card, a linked resident sees it and
messages them, the member answers through the bot; one active contact per household (the grid's list, overridden
by an assignment in the chat, history kept); no menu entry without a contact; forged tokens are refused."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

import pytest

from bot.clock import ManualClock
from bot.conversations.engine import Engine
from bot.conversations.menu import PICK, Pick
from bot.conversations.tokens import Ref
from bot.domain.messages import Inbound, InboundKind, Reply, Sender, text_inbound
from bot.domain.people import Duty, Role
from bot.features.catalog import all_flows, discover
from bot.features.contacts import service, store
from bot.features.contacts.model import Household
from bot.features.contacts.tokens import REPLY
from bot.services import people as people_service
from bot.services.grid_import import import_grid
from bot.storage import grid, people
from bot.storage.db import Database
from tests.harness import SAMPLE, Member, seed_people

# The sample grid, with a second party household in 阳光花园 (C01-A) to reassign households to.
GRID = SAMPLE + "党员中心户,C01-A-B2-H1,2号楼 101 党员中心户,C01-A-B2,\n".encode()
MEMBER, SECOND, FAR_MEMBER = "member", "second", "far-member"
WANG, LI, ZHAO, SECRETARY, OTHER_SECRETARY = "wang", "li", "zhao", "secretary", "other-secretary"
CAST = (
    Member(MEMBER, "王建国", home="C01-A-B1", room="301", roles=((Role.PARTY_MEMBER, "C01-A-B1-H1"),),
           duties=((Duty.SAFETY, "C01-A-B1"),), channel="console"),
    Member(SECOND, "刘红", home="C01-A-B2", room="101", roles=((Role.PARTY_MEMBER, "C01-A-B2-H1"),),
           channel="console"),
    Member(FAR_MEMBER, "陈党员", home="C01-B-B2", room="502", roles=((Role.PARTY_MEMBER, "C01-B-B2-H1"),),
           channel="console"),
    Member(WANG, "王阿姨", home="C01-A-B1", room="201", channel="console"),  # linked to C01-A-B1-H1 by the grid
    Member(LI, "李叔", home="C01-A-B1", room="202", channel="console"),  # linked too
    Member(ZHAO, "赵大爷", home="C01-A-B1", room="401", channel="console"),  # not linked: no contact
    Member(SECRETARY, "孙书记", roles=((Role.COMPLEX_SECRETARY, "C01-A"),), channel="console"),
    Member(OTHER_SECRETARY, "周书记", roles=((Role.COMPLEX_SECRETARY, "C01-B"),), channel="console"),
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

    async def voice(self, user: str, path: str) -> list[Reply]:
        return await self.engine.handle(Inbound(Sender("console", user, user), InboundKind.VOICE, media_ref=path))

    async def menu(self, user: str) -> dict[str, str]:
        """The main menu's labels and tokens as `user` sees it."""
        replies = await self.say(user, "/menu")
        return {button.label: button.token for row in replies[-1].buttons for button in row}

    async def open(self, user: str, label: str) -> list[Reply]:
        return await self.press(user, (await self.menu(user))[label])

    async def pushes(self, user: str) -> list[dict[str, object]]:
        """What the outbox holds for `user`, oldest first."""
        async with self.db.read() as tx:
            rows = await tx.all("SELECT payload FROM outbox WHERE chat_id = ? AND idempotency_key LIKE 'contact:%' "
                                "ORDER BY id", (user,))
        return [json.loads(row[0]) for row in rows]


@pytest.fixture
async def street(db: Database, clock: ManualClock) -> Street:
    await import_grid(db, GRID)
    async with db.write() as tx:
        ids = await seed_people(tx, CAST, clock.now())
        units = {unit.code: unit.id for unit, _ in await grid.all_units(tx)}
    return Street(db, Engine(db, clock, all_flows()), clock, ids, units)


def text(replies: list[Reply]) -> str:
    return "\n".join(reply.text for reply in replies)


def buttons(replies: list[Reply]) -> dict[str, str]:
    return {button.label: button.token for row in replies[-1].buttons for button in row}


async def test_member_writes_a_card_a_linked_resident_reads_it_and_they_talk(street: Street) -> None:
    """Issue 12's "done when" (contacts): the card written, seen by a linked household, a message and its answer."""
    shown = await street.open(MEMBER, "🪪 我的党员名片")
    assert "👤 称呼：王建国" in text(shown) and "🤝 承诺：（还没写）" in text(shown)
    assert "📌 职责：党员中心户、安全员" in text(shown)
    assert "您联系的住户（3 户）" in text(shown) and "阳光花园 · 1号楼 · 202" in text(shown)
    await street.press(MEMBER, buttons(shown)["✏️ 改称呼"])
    await street.say(MEMBER, "王叔")
    await street.press(MEMBER, "cd:promise")
    assert "太长了" in text(await street.say(MEMBER, "长" * 101))  # asked again, nothing saved
    saved = await street.say(MEMBER, "有事您说话，随叫随到")
    assert "✅ 已保存" in text(saved) and "👤 称呼：王叔" in text(saved)
    assert "🤝 承诺：有事您说话，随叫随到" in text(saved)

    card = await street.open(WANG, "🤝 我的党员联系人")
    assert "👤 称呼：王叔" in text(card)
    assert "🏠 党员中心户：幸福社区 · 阳光花园 · 1号楼 · 1号楼 301 党员中心户" in text(card)
    await street.press(WANG, buttons(card)["💬 给TA留言"])
    assert "已转达" in text(await street.say(WANG, "楼道灯坏了，能帮忙问问吗？"))
    [pushed] = await street.pushes(MEMBER)
    assert pushed["text"] == "💬 幸福社区 · 阳光花园 · 1号楼 · 201 的住户给您留言：\n楼道灯坏了，能帮忙问问吗？"
    assert "王阿姨" not in json.dumps(pushed, ensure_ascii=False)  # the place, not the resident's channel or name
    [[(label, reply_token)]] = pushed["buttons"]  # type: ignore[misc]
    assert label == "↩️ 回复"

    await street.press(MEMBER, reply_token)
    assert "已转达" in text(await street.say(MEMBER, "好的，明天上午我去看看。"))
    [answer] = await street.pushes(WANG)
    assert answer["text"] == "💬 您的党员联系人 王叔 回复您：\n好的，明天上午我去看看。"
    [[(_, back)]] = answer["buttons"]  # type: ignore[misc]
    await street.press(WANG, back)
    await street.voice(WANG, "/media/voice-1.ogg")  # and the resident answers with a voice note
    voice = (await street.pushes(MEMBER))[-1]
    assert voice["voice"] == "/media/voice-1.ogg" and "（语音留言）" in str(voice["text"])


async def test_a_resident_without_a_contact_sees_no_entry_and_cannot_open_it(street: Street) -> None:
    assert "🤝 我的党员联系人" in await street.menu(WANG)
    menu = await street.menu(ZHAO)
    assert "🤝 我的党员联系人" not in menu and "🪪 我的党员名片" not in menu
    assert "没有这个权限" in text(await street.press(ZHAO, PICK.make(Pick("contact"))))  # the hidden entry, pressed
    assert "🪪 我的党员名片" in await street.menu(MEMBER)
    assert "🤝 我的党员联系人" not in await street.menu(MEMBER)  # the member's own home is not linked
    assert "🔗 联系户分配" in await street.menu(SECRETARY) and "🔗 联系户分配" not in await street.menu(WANG)


async def test_forged_reply_tokens_are_refused(street: Street) -> None:
    await street.open(WANG, "🤝 我的党员联系人")
    await street.press(WANG, "say:write")
    await street.say(WANG, "你好")
    [pushed] = await street.pushes(MEMBER)
    [[(_, token)]] = pushed["buttons"]  # type: ignore[misc]
    for intruder in (LI, FAR_MEMBER, ZHAO):  # a neighbour, another member, a resident with no contact
        assert "没有这个权限" in text(await street.press(intruder, token))
    assert "没有这个权限" in text(await street.press(WANG, token))  # the sender cannot answer their own message
    assert "没有这个权限" in text(await street.press(MEMBER, REPLY.make(Ref(999))))
    assert "没有这个权限" in text(await street.press(MEMBER, "ct:re:abc"))
    assert len(await street.pushes(MEMBER)) == 1 and not await street.pushes(WANG)


async def test_one_active_contact_per_household_reassigned_in_the_chat_with_history(street: Street) -> None:
    household = Household(street.units["C01-A-B1"], "201")
    await street.open(WANG, "🤝 我的党员联系人")
    await street.press(WANG, "say:write")
    await street.say(WANG, "你好")
    [[(_, token)]] = (await street.pushes(MEMBER))[0]["buttons"]  # type: ignore[misc]
    async with street.db.read() as tx:
        before = await service.contact_of(tx, household.building_id, household.room)
    assert before is not None and before.unit_id == street.units["C01-A-B1-H1"] and not before.assigned
    assert before.member_id == street.ids[MEMBER]

    await street.open(SECRETARY, "🔗 联系户分配")  # one complex: straight to its buildings
    building = await street.press(SECRETARY, f"u:{street.units['C01-A-B1']}")
    assert "请输入房号" in text(building)
    shown = await street.say(SECRETARY, "201")
    assert "目前的联系人：王叔" not in text(shown) and "目前的联系人：王建国（" in text(shown)
    assert list(buttons(shown))[:2] == ["1号楼 301 党员中心户", "2号楼 101 党员中心户"]
    done = await street.press(SECRETARY, buttons(shown)["2号楼 101 党员中心户"])
    assert "✅ 已分配" in text(done)
    assert "您新联系了一户" in str((await street.pushes(SECOND))[-1]["text"])

    street.clock.advance(60)
    async with street.db.write() as tx:
        now = await service.contact_of(tx, household.building_id, household.room)
        assert now is not None and now.unit_id == street.units["C01-A-B2-H1"] and now.assigned
        assert now.member_id == street.ids[SECOND]
        assert household not in await service.households_of(tx, street.ids[MEMBER])
        assert household in await service.households_of(tx, street.ids[SECOND])
        assert len(await service.households_of(tx, street.ids[MEMBER])) == 2
        with pytest.raises(service.ContactError):
            await service.assign(tx, None, True, household, street.units["C01-A-B2-H1"], street.clock.now())
        await service.assign(tx, None, True, household, street.units["C01-A-B1-H1"], street.clock.now())
        history = await store.history(tx, household)
        active = await tx.scalar("SELECT COUNT(*) FROM household_contacts WHERE ended_at IS NULL")
    assert [unit for unit, _, _ in history] == [street.units["C01-A-B2-H1"], street.units["C01-A-B1-H1"]]
    assert history[0][2] is not None and history[1][2] is None and active == 1

    assert "👤 称呼：王建国" in text(await street.open(WANG, "🤝 我的党员联系人"))  # back to the grid's member
    async with street.db.write() as tx:
        await service.assign(tx, None, True, household, street.units["C01-A-B2-H1"],
                             street.clock.now() + timedelta(minutes=1))
    assert "👤 称呼：刘红" in text(await street.open(WANG, "🤝 我的党员联系人"))
    # the old conversation cannot go on once the household has moved to another member
    assert "联系人已经换了" in text(await street.press(MEMBER, token))


async def test_assignment_rights_are_rechecked_on_the_server(street: Street) -> None:
    household = Household(street.units["C01-A-B1"], "201")
    async with street.db.write() as tx:
        other = await service.branches(tx, None, False)
        assert other == []
        for person, unit in ((OTHER_SECRETARY, "C01-A-B2-H1"), (SECRETARY, "C01-B-B2-H1"), (WANG, "C01-A-B2-H1")):
            who = await people.by_id(tx, street.ids[person])
            with pytest.raises(service.ContactError):
                await service.assign(tx, who, False, household, street.units[unit], street.clock.now())
    await street.open(SECRETARY, "🔗 联系户分配")
    refused = await street.press(SECRETARY, f"u:{street.units['C01-B-B1']}")  # a building of another complex
    assert "没看懂" in text(refused)
    await street.menu(WANG)
    assert "没有这个权限" in text(await street.press(WANG, PICK.make(Pick("assign_contact"))))


async def test_a_resident_who_deletes_their_information_takes_their_messages_along(street: Street) -> None:
    await street.open(WANG, "🤝 我的党员联系人")
    await street.press(WANG, "say:write")
    await street.voice(WANG, "/media/voice-7.ogg")
    await street.open(WANG, "🤝 我的党员联系人")
    await street.press(WANG, "say:write")
    await street.say(WANG, "我家201，水管漏了")
    assert any("水管漏了" in str(push["text"]) for push in await street.pushes(MEMBER))
    async with street.db.write() as tx:
        await tx.execute("UPDATE outbox SET status = 'sent'")  # delivered to the member
        wang = await people.by_id(tx, street.ids[WANG])
        assert wang is not None
        await people_service.forget(tx, wang, street.clock.now(), discover().media)
        left = await tx.scalar("SELECT COUNT(*) FROM contact_messages")
        trash = [row[0] for row in await tx.all("SELECT path FROM media_trash")]
    assert left == 0 and trash == ["/media/voice-7.ogg"]
    assert all("水管漏了" not in str(push["text"]) for push in await street.pushes(MEMBER))
