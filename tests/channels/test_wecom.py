"""Jinlin on WeCom (企业微信) end to end: the real service (`start_service`) with its WeCom channel pointed at the fake
WeCom server on 127.0.0.1, members driving it through encrypted callbacks over real HTTP (tests/wecom_harness.py).

Time is a TickingClock shared by the bot and the fake (one second further at every reading): the callback
timestamps, the outbox's pacing and WeCom's per-member limits all run on it, so nobody sleeps for real.
"""

from __future__ import annotations

import asyncio
import io
import math
import re
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from bot.clock import ManualClock
from bot.config import Settings
from bot.delivery.outbox import Sent, Transient
from bot.domain.messages import Button, Reply
from bot.domain.people import Role
from bot.handlers.wecom_api import WeComApi
from bot.handlers.wecom_send import WeComSender
from tests import harness
from tests.fake_telegram import FakeTelegramServer
from tests.fake_wecom import FakeWeComServer
from tests.harness import Chat, Member, TickingClock, running, seed_people, seed_street, settings_for
from tests.wecom_client import (
    encrypt,
    image_xml,
    outer_xml,
    signed_query,
    template_card_event_xml,
    url_verification_query,
)
from tests.wecom_harness import (
    AES_KEY,
    AGENT_ID,
    CALLBACK_TOKEN,
    CORP_ID,
    PATH,
    SECRET,
    WeComLink,
    WeComPerson,
    choices,
    wecom_settings,
)

LEADER = "LiShiFu"  # building leader of 幸福社区 · 阳光花园 · 1号楼 (C01-A-B1), on WeCom (userids are case-insensitive)
TG_LEADER = 2001  # the same building's leader on Telegram instead (the cross-channel test)
RESIDENT = "wangayi"  # joins through registration, on WeCom
NEIGHBOUR = "zhaodaye"  # already registered in C01-A-B1, room 502, on WeCom
ADMIN = "jiedao"  # the street's administrator, on WeCom
INVITEE = "zhoushifu"  # invited to lead 幸福社区 · 阳光花园 · 2号楼 (C01-A-B2), on WeCom
REF = re.compile(r"JL-\d{8}-\d{4}")
TABLES = ("people", "channel_accounts", "conversations", "inbox", "outbox", "issues", "issue_photos")
BOMB = ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">'
        '<!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">]>'
        '<xml><ToUserName>wwcorp</ToUserName><FromUserName>mallory</FromUserName><CreateTime>{t}</CreateTime>'
        '<MsgType>text</MsgType><Content>&f;</Content><MsgId>66</MsgId></xml>')
XXE = ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
       '<xml><ToUserName>wwcorp</ToUserName><FromUserName>mallory</FromUserName><CreateTime>{t}</CreateTime>'
       '<MsgType>text</MsgType><Content>&xxe;</Content><MsgId>67</MsgId></xml>')


@pytest.fixture
def clock() -> TickingClock:
    return TickingClock()


@pytest.fixture
async def fake(clock: TickingClock) -> AsyncIterator[FakeWeComServer]:
    async with FakeWeComServer(corp_id=CORP_ID, secret=SECRET, agent_id=AGENT_ID, clock=clock) as server:
        yield server


class Street(harness.Street[str]):
    """The sample street, seeded before Jinlin starts; read through a second connection while it runs."""

    admins = frozenset({("wecom", ADMIN)})

    async def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of the tables a callback could write to."""
        return {table: await self.query(f"SELECT * FROM {table} ORDER BY rowid")  # noqa: S608  (fixed names)
                for table in TABLES}

    async def residents(self, userids: list[str], building: str, now: datetime) -> None:
        """Registered residents of `building` on WeCom accounts."""
        async with self.db() as db, db.write() as tx:
            cast = [Member(userid, f"居民{n}", home=building, room=f"{n % 30 + 1}-101", channel="wecom")
                    for n, userid in enumerate(userids)]
            await seed_people(tx, cast, now)

    def photos_kept(self) -> list[Path]:
        return [path for path in self.media.rglob("*") if path.is_file()] if self.media.exists() else []


async def seed(tmp_path: Path, clock: TickingClock, channel: str = "wecom", leader: str = LEADER) -> Street:
    """The street with its administrator and 赵大爷 on WeCom, and 1号楼's leader (`leader` on `channel`)."""
    cast = [Member(leader, "李师傅", roles=((Role.BUILDING_LEADER, "C01-A-B1"),), channel=channel),
            Member(ADMIN, "街道", street_admin=True, channel="wecom"),
            Member(NEIGHBOUR, "赵大爷", home="C01-A-B1", room="502", channel="wecom")]
    path = tmp_path / "jinlin.db"
    return Street(path, *await seed_street(path, cast, clock.now()))


@pytest.fixture
async def street(tmp_path: Path, clock: TickingClock) -> Street:
    return await seed(tmp_path, clock)


def settings(fake: FakeWeComServer, street: Street, base: Settings | None = None) -> Settings:
    return wecom_settings(fake, street.path, base, admins=street.admins, media_dir=str(street.media))


@asynccontextmanager
async def on_wecom(fake: FakeWeComServer, street: Street, clock: TickingClock,
                   base: Settings | None = None) -> AsyncIterator[WeComLink]:
    """Jinlin running with its WeCom channel (and Telegram too, if `base` configures it); stopped on exit, which
    waits for every callback accepted to be handled."""
    async with running(settings(fake, street, base), clock) as service, WeComLink(fake, service, clock) as link:
        yield link


def jpeg(colour: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 6), colour).save(out, "JPEG")
    return out.getvalue()


def ref_in(text: str | None) -> str:
    found = REF.search(text or "")
    assert found is not None, text
    return found.group()


async def join(person: WeComPerson, room: str = "3-201") -> None:
    """Registration from the first message: consent, community, complex, building, room; ends at the menu."""
    await person.send("你好")
    await person.expect("同意吗？")
    await person.tap("✅ 同意")
    await person.tap("幸福社区")
    await person.tap("阳光花园")
    await person.tap("1号楼")
    await person.expect("请输入房号")
    await person.send(room)
    await person.expect(f"加入成功！您的住址：幸福社区 · 阳光花园 · 1号楼 · {room}")


async def report_with_photo(person: WeComPerson, text: str, before_each: Callable[[], None] = lambda: None) -> str:
    """From the menu: a leaking roof, described, with one photo, submitted; its reference. `before_each` runs
    before each of the six things the person sends."""
    steps: list[tuple[Callable[[], Awaitable[None]], str]] = [
        (lambda: person.tap("📣 我要反映"), "您要反映哪方面的事"),
        (lambda: person.tap("🏠 屋顶漏水"), "请说说是什么情况"),
        (lambda: person.send(text), "已收到 0 张"),
        (lambda: person.photo(jpeg()), "已收到 1 张"),
        (lambda: person.tap("✅ 发完了"), f"内容：{text}\n地点：幸福社区 · 阳光花园 · 1号楼"),
        (lambda: person.tap("✅ 提交"), "编号：JL-"),
    ]
    for act, answer in steps:
        before_each()
        await act()
        shown = await person.expect(answer)
    return ref_in(shown.text)


# -- (a) registration and a full report on WeCom -----------------------------------------------------------------


async def test_a_resident_joins_reports_and_rates_and_the_leader_resolves_on_wecom(
        fake: FakeWeComServer, street: Street, clock: TickingClock) -> None:
    async with on_wecom(fake, street, clock) as link:
        resident, leader = WeComPerson(link, RESIDENT), WeComPerson(link, LEADER)
        await join(resident)
        consent = resident.screen()[0]
        assert (consent.msgtype, consent.buttons[0]) == ("template_card", ("✅ 同意", "consent:yes"))
        ref = await report_with_photo(resident, "顶楼漏水，天花板一直在滴水")

        task = await leader.expect(f"📋 {ref} 🏠 屋顶漏水")
        assert "内容：顶楼漏水，天花板一直在滴水" in task.text
        [photo] = [m for m in leader.screen() if m.msgtype == "image"]  # the resident's photo, uploaded again
        [kept] = street.photos_kept()  # downloaded from WeCom into the media store
        assert fake.media(photo.content["media_id"]).data == kept.read_bytes()
        await leader.tap("✋ 受理")  # seven choices: a numbered list, answered by typing its number
        await leader.expect(f"✋ 您已受理 {ref}")
        await resident.expect(f"您反映的 {ref} 已由 幸福社区 · 阳光花园 · 1号楼 楼栋党小组长 受理。")
        await leader.tap("🗂 我的任务")
        await leader.tap(f"{ref} 🏠 屋顶漏水")
        await leader.tap("✅ 办结")
        await leader.expect(f"办结 {ref}")
        await leader.send("已修好防水层")
        await leader.expect(f"{ref} 已办结，已请居民确认问题是否解决。")

        asked = await resident.expect(f"您反映的 {ref} 已办结")
        assert asked.buttons == [("✅ 解决了", "r:fix:1:y"), ("❌ 没解决", "r:fix:1:n")]
        await resident.tap("✅ 解决了")
        await resident.tap("⭐⭐⭐⭐⭐")
        await resident.expect("还有什么想说的吗")
        await resident.send("谢谢李师傅")
        await resident.expect(f"谢谢您的评价！{ref} 已经办结")
        await leader.expect(f"{ref} 居民评价：★★★★★")

    assert await street.query("SELECT a.channel, a.user_id, p.room FROM people p JOIN channel_accounts a "
                              "ON a.person_id = p.id WHERE a.user_id = ?", (RESIDENT,)) == [
        ("wecom", RESIDENT, "3-201")]
    assert await street.query("SELECT status, rating, comment, description FROM issues") == [
        ("closed", 5, "谢谢李师傅", "顶楼漏水，天花板一直在滴水")]
    assert await street.query("SELECT stage, COUNT(*) FROM issue_photos GROUP BY stage") == [("report", 1)]
    assert [path.read_bytes()[:2] for path in street.photos_kept()] == [b"\xff\xd8"]  # a JPEG
    assert fake.dropped == []  # never over WeCom's per-member limits
    pressed = fake.calls_to("message/update_template_card")
    assert pressed and len(fake.card_updates) == len(pressed)  # every card pressed was settled, once
    assert {update["button"]["replace_name"] for update in fake.card_updates} == {"✓ 已选择"}


async def test_a_typed_number_answers_the_latest_numbered_list_delivered(fake: FakeWeComServer) -> None:
    """What lets a member answer a pushed numbered list (the task above): the sender remembers the choices of the
    latest message it delivered to each member, when they were listed by number."""
    api = WeComApi(CORP_ID, SECRET, AGENT_ID, base_url=fake.base_url, timeout=5)
    sender = WeComSender(api, ManualClock())
    seven = (tuple(Button(f"选项{n}", f"t:x:{n}") for n in range(1, 8)),)  # more than a card holds
    try:
        assert isinstance(await sender.send("ZhangSan", Reply("任务", seven)), Sent)
        assert [sender.numbered_choice("zhangsan", typed) for typed in (" 3 ", "选项7", "8", "0", "你好")] == [
            "t:x:3", "t:x:7", None, None, None]
        await sender.send("zhangsan", Reply("请选择", ((Button("好", "ok"),),)))  # a card: typing is the engine's
        assert sender.numbered_choice("zhangsan", "1") is None
        await sender.send("zhangsan", Reply("任务", seven))
        fake.fail_next(http_status=502)
        other = (tuple(Button(f"别的{n}", f"o:{n}") for n in range(1, 8)),)
        assert isinstance(await sender.send("zhangsan", Reply("没送到", other)), Transient)
        assert sender.numbered_choice("zhangsan", "1") == "t:x:1"  # what was not delivered was not shown
        await sender.send_many(["lisi", "wangwu"], Reply("群发", other))
        assert (sender.numbered_choice("wangwu", "2"), sender.numbered_choice("zhangsan", "2")) == ("o:2", "t:x:2")
    finally:
        await api.close()


# -- (b) the same report across channels ------------------------------------------------------------------------


async def test_a_resident_on_wecom_and_a_leader_on_telegram_work_the_same_report(
        fake: FakeWeComServer, server: FakeTelegramServer, tmp_path: Path, clock: TickingClock) -> None:
    street = await seed(tmp_path, clock, "telegram", str(TG_LEADER))
    both = settings_for(server, street.path)
    async with on_wecom(fake, street, clock, base=both) as link:
        assert link.service.telegram is not None and link.service.wecom is not None
        resident, leader = WeComPerson(link, RESIDENT), Chat(server, TG_LEADER)
        await join(resident)
        ref = await report_with_photo(resident, "楼道顶上渗水")
        [(issue_id,)] = await street.query("SELECT id FROM issues WHERE ref = ?", (ref,))

        task = await leader.expect(f"📋 {ref} 🏠 屋顶漏水")
        assert task.method == "sendPhoto"  # the photo taken on WeCom, shown on Telegram
        await leader.tap("✋ 受理")
        await leader.expect(f"✋ 您已受理 {ref}")
        await resident.expect(f"您反映的 {ref} 已由 幸福社区 · 阳光花园 · 1号楼 楼栋党小组长 受理。")
        leader.press(f"t:res:{issue_id}")
        await leader.expect(f"办结 {ref}：可以先发一张处理后的照片")
        server.push_photo(TG_LEADER, data=jpeg("blue"))
        await leader.expect("📷 已附上照片。")
        leader.send("防水层已重做")
        await leader.expect(f"{ref} 已办结，已请居民确认问题是否解决。")

        await resident.expect(f"您反映的 {ref} 已办结（幸福社区 · 阳光花园 · 1号楼 楼栋党小组长）：防水层已重做")
        after = [m for m in resident.screen() if m.msgtype == "image"]
        assert len(after) == 1  # the photo taken on Telegram, shown on WeCom (uploaded to WeCom)
        assert fake.media(after[0].content["media_id"]).data[:2] == b"\xff\xd8"
        await resident.tap("❌ 没解决")
        await resident.expect(f"{ref} 还有哪里不好？")
        await resident.tap("跳过")
        await resident.expect(f"我们不会放手。{ref} 已重新交给网格员处理")
        reopened = await leader.expect("上次处理后问题没有解决")
        assert ref in (reopened.text or "")

    assert await street.query("SELECT status, flagged FROM issues") == [("reopened", 1)]
    assert await street.query("SELECT stage, COUNT(*) FROM issue_photos GROUP BY stage ORDER BY stage") == [
        ("report", 1), ("resolution", 1)]


# -- (c) security over real HTTP --------------------------------------------------------------------------------


async def test_forged_stale_reused_and_foreign_callbacks_are_403_and_change_nothing(
        fake: FakeWeComServer, street: Street, clock: TickingClock) -> None:
    async with on_wecom(fake, street, clock) as link:
        mallory = WeComPerson(link, "mallory")
        first = link.request(mallory.text_xml("你好"))  # a genuine first message, so that a replay has its nonce
        assert await link.post_raw(*first) == (200, "")
        await mallory.expect("同意吗？")
        before, sends = await street.snapshot(), len(fake.sends)

        attempts: dict[str, tuple[dict[str, str], bytes]] = {}
        query, body = link.request(mallory.text_xml("伪造的签名"))
        attempts["forged signature"] = ({**query, "msg_signature": "0" * 40}, body)
        query, body = link.request(mallory.text_xml("改过的消息"))
        attempts["signature of another message"] = (first[0], body)
        attempts["stale timestamp"] = link.request(mallory.text_xml("五分钟前"), timestamp=link.now() - 400)
        attempts["future timestamp"] = link.request(mallory.text_xml("五分钟后"), timestamp=link.now() + 400)
        attempts["replayed nonce"] = link.request(mallory.text_xml("重放"), timestamp=int(first[0]["timestamp"]),
                                                  nonce=first[0]["nonce"])
        attempts["replayed request"] = first  # byte for byte, as WeCom retries: 200, and acted on once
        attempts["wrong corp id"] = link.request(mallory.text_xml("别的企业"), corp_id="wwother")
        answers = {name: await link.post_raw(*request) for name, request in attempts.items()}
        assert answers == {**dict.fromkeys(attempts, (403, "")), "replayed request": (200, "")}
    # Stopped: every callback the channel accepted has been handled by now.
    assert await street.snapshot() == before
    assert len(fake.sends) == sends
    assert [m.text for m in fake.messages_to("mallory")] == [mallory.screen()[0].text]


async def test_malformed_callbacks_are_refused_and_the_service_carries_on(
        fake: FakeWeComServer, street: Street, clock: TickingClock) -> None:
    async with on_wecom(fake, street, clock) as link:
        mallory, neighbour = WeComPerson(link, "mallory"), WeComPerson(link, NEIGHBOUR)
        before, sends = await street.snapshot(), len(fake.sends)

        def signed(inner: str) -> tuple[dict[str, str], bytes]:
            """Properly signed and encrypted: the harm is inside."""
            return link.request(inner)

        def outer(body: bytes) -> tuple[dict[str, str], bytes]:
            """A signed query around an outer body that is harmful itself."""
            return signed_query(CALLBACK_TOKEN, link.now(), link.nonce(), "x"), body

        now = link.now()
        valid_outer = outer_xml(encrypt(AES_KEY, CORP_ID, mallory.text_xml("hi")), CORP_ID).decode()
        attempts: dict[str, tuple[tuple[dict[str, str], bytes], int]] = {
            "XML bomb outside": (outer(BOMB.format(t=now).encode()), 400),
            "XML bomb inside": (signed(BOMB.format(t=now)), 400),
            "external entity outside": (outer(XXE.format(t=now).encode()), 400),
            "external entity inside": (signed(XXE.format(t=now)), 400),
            "control character outside": (outer(valid_outer.replace("<xml>", "<xml>\x01").encode()), 400),
            "control character inside": (signed(mallory.text_xml("hi\x07there")), 400),
            "not XML": (outer(b"hello, world"), 400),
            "JSON": (outer(b'{"Encrypt": "x"}'), 400),
            "not UTF-8": (outer(b"<xml>\xff\xfe</xml>"), 400),
            "empty": (outer(b""), 400),
            "no query": (({}, valid_outer.encode()), 400),
            "too big": (outer(b"<xml>" + b"a" * (64 * 1024) + b"</xml>"), 413),
        }
        answers = {name: (await link.post_raw(*request))[0] for name, (request, _) in attempts.items()}
        assert answers == {name: status for name, (_, status) in attempts.items()}

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the cap applies while reading
            for _ in range(70):
                yield b"a" * 1024

        query = signed_query(CALLBACK_TOKEN, link.now(), link.nonce(), "x")
        async with link.session.post(link.url, params=query, data=chunks()) as response:
            assert response.status == 413

        assert await link.get("/healthz") == (200, '{"status": "ok"}')
        await neighbour.send("你好")  # the next good callback is handled as ever
        await neighbour.expect("请选择要办的事")
    after = await street.snapshot()
    written = ("conversations", "inbox", "outbox")  # the good callback's state, event and reply
    assert {table: rows for table, rows in after.items() if table not in written} == {
        table: rows for table, rows in before.items() if table not in written}
    assert [row[1] for row in after["conversations"]] == [NEIGHBOUR]  # the good callback's, and nothing else
    assert [row[3] for row in after["inbox"]] == [row[3] for row in before["inbox"]] + [NEIGHBOUR]
    assert [row[3] for row in after["outbox"]] == [row[3] for row in before["outbox"]] + [NEIGHBOUR]
    assert len(fake.sends) == sends + 1 and fake.messages_to("mallory") == []


async def test_url_verification(fake: FakeWeComServer, street: Street, clock: TickingClock) -> None:
    async with on_wecom(fake, street, clock) as link:
        good = url_verification_query(CALLBACK_TOKEN, AES_KEY, CORP_ID, "1616140317555161061", link.now(), "n-1")
        assert await link.get(PATH, good) == (200, "1616140317555161061")
        forged = {**url_verification_query(CALLBACK_TOKEN, AES_KEY, CORP_ID, "42", link.now(), "n-2"),
                  "msg_signature": "f" * 40}
        assert (await link.get(PATH, forged))[0] == 403
        stale = url_verification_query(CALLBACK_TOKEN, AES_KEY, CORP_ID, "42", link.now() - 400, "n-3")
        assert (await link.get(PATH, stale))[0] == 403
        foreign = url_verification_query(CALLBACK_TOKEN, AES_KEY, "wwother", "42", link.now(), "n-4")
        assert (await link.get(PATH, foreign))[0] == 403
        assert (await link.get(PATH, {"echostr": "x"}))[0] == 400


# -- (d) WeCom's retries ----------------------------------------------------------------------------------------


async def test_a_byte_identical_retry_is_answered_200_and_acted_on_once(
        fake: FakeWeComServer, street: Street, clock: TickingClock) -> None:
    async with on_wecom(fake, street, clock) as link:
        neighbour = WeComPerson(link, NEIGHBOUR)
        request = link.request(neighbour.text_xml("你好"))  # WeCom retries with the same signature, nonce and body
        assert await asyncio.gather(*(link.post_raw(*request) for _ in range(3))) == [(200, "")] * 3
        await neighbour.expect("请选择要办的事")
        assert await link.post_raw(*request) == (200, "")  # once more after it was handled
    assert len(neighbour.screen()) == 1


async def test_each_callback_delivered_four_times_is_acted_on_once(
        fake: FakeWeComServer, street: Street, clock: TickingClock) -> None:
    async with on_wecom(fake, street, clock) as link:
        neighbour, leader = WeComPerson(link, NEIGHBOUR), WeComPerson(link, LEADER)

        async def four_times(inner: str) -> str:
            """As WeCom retries: the same message, each delivery freshly signed; all at once."""
            answers = await asyncio.gather(*(link.post_raw(*link.request(inner)) for _ in range(4)))
            assert answers == [(200, "")] * 4
            return inner

        async def press_four_times(label: str) -> str:
            card = next(m for m in reversed(neighbour.screen()) if label in dict(m.buttons))
            return await four_times(template_card_event_xml(
                NEIGHBOUR, dict(card.buttons)[label], corp_id=CORP_ID, task_id=card.content["task_id"],
                create_time=link.now()))

        await four_times(neighbour.text_xml("你好"))
        await neighbour.expect("请选择要办的事")
        await neighbour.send("1")  # 📣 我要反映, the menu being a numbered list
        await neighbour.expect("您要反映哪方面的事")
        await four_times(neighbour.text_xml("1"))  # 🏠 屋顶漏水 in the numbered list of categories
        await neighbour.expect("请说说是什么情况")
        await four_times(neighbour.text_xml("厨房天花板漏水"))
        await neighbour.expect("已收到 0 张")
        fake.add_media("retried-photo", jpeg("green"))
        await four_times(image_xml(NEIGHBOUR, "retried-photo", corp_id=CORP_ID, create_time=link.now(),
                                   msg_id=link.msg_id()))
        await neighbour.expect("已收到 1 张")
        await press_four_times("✅ 发完了")
        await neighbour.expect("请您核对一下")
        submit = await press_four_times("✅ 提交")
        ref = ref_in((await neighbour.expect("编号：JL-")).text)
        await leader.expect(ref)
    first_run = neighbour.screen()
    async with on_wecom(fake, street, clock) as link:  # restarted: the channel has forgotten, the engine has not
        await link.deliver(submit)
        await link.deliver(neighbour.text_xml("1"))  # a new message is acted on: 📣 我要反映 from the menu
        await neighbour.expect("您要反映哪方面的事")

    shown = Counter(m.text.split("\n")[0] for m in first_run)
    assert [line for line, times in shown.items() if times > 1] == []  # every reply exactly once
    assert len(first_run) == 7
    assert neighbour.screen()[:-1] == first_run  # nothing for the submit delivered again after the restart
    assert await street.query("SELECT ref, description FROM issues") == [(ref, "厨房天花板漏水")]
    assert await street.query("SELECT COUNT(*) FROM issue_photos") == [(1,)]
    assert len(street.photos_kept()) == 1  # a retried photo is not kept four times
    assert len([m for m in leader.screen() if ref in m.text]) == 1


# -- (e) tokens expiring between steps --------------------------------------------------------------------------


async def test_tokens_expiring_between_steps_lose_nothing(fake: FakeWeComServer, street: Street,
                                                          clock: TickingClock) -> None:
    async with on_wecom(fake, street, clock) as link:
        resident, leader = WeComPerson(link, RESIDENT), WeComPerson(link, LEADER)
        await join(resident)
        fetched = fake.token_fetches
        ref = await report_with_photo(resident, "水管爆了", before_each=fake.expire_tokens)
        fake.expire_tokens()  # the push to the leader goes out through the outbox on an expired token
        await leader.expect(f"📋 {ref}")
        fake.expire_tokens()
        await leader.tap("✋ 受理")
        await leader.expect(f"✋ 您已受理 {ref}")
        await resident.expect(f"您反映的 {ref} 已由")

    refused = [call for call in fake.calls if call.errcode == 42001]
    assert len(refused) >= 8 and fake.token_fetches - fetched >= 8  # each of the 8 expiries really bit
    answered = [call for call in fake.sends if call.errcode == 0]
    delivered = sum(len(messages) for messages in fake.received().values())
    assert delivered == sum(len(call.users) for call in answered)  # every accepted send reached its member
    assert all(call.errcode in (0, 42001) for call in fake.calls)


# -- (f) a broadcast to 1,500 residents on WeCom ----------------------------------------------------------------


async def test_a_broadcast_to_fifteen_hundred_residents_goes_out_in_few_calls(
        fake: FakeWeComServer, street: Street, clock: TickingClock) -> None:
    userids = [f"r{n:05d}" for n in range(1500)]
    gone = userids[::500]  # left the street's WeCom: WeCom answers them in invaliduser
    await street.residents(userids, "C01-B-B1", clock.now())
    fake.known_users = {u.lower() for u in [*userids, NEIGHBOUR, ADMIN, LEADER] if u not in gone}
    async with on_wecom(fake, street, clock) as link:
        admin = WeComPerson(link, ADMIN)
        await admin.send("你好")
        await admin.tap("📢 群发通知")
        await admin.tap("✅ 发给近邻街道")
        await admin.tap("居民")
        await admin.expect("请输入通知内容")
        await admin.send("燃气安全检查本周进行，请留意入户时间。")
        await admin.tap("不附照片")
        await admin.expect("共 1,501 人")  # and 赵大爷
        await admin.tap("✅ 确认发送（1,501 人）")
        await admin.expect("正在发送给 1,501 人")
        done = await admin.expect("📢 群发完成", timeout=20)

    notice = "📢 通知 · 近邻街道\n\n燃气安全检查本周进行，请留意入户时间。"
    calls = [call for call in fake.sends if (call.body or {}).get("text", {}).get("content") == notice]
    recipients = len(userids) + 1
    assert len(calls) <= 2 * math.ceil(recipients / 1000), [len(call.users) for call in calls]
    received = Counter(user for user, messages in fake.received().items() for m in messages if m.text == notice)
    assert set(received) == {u.lower() for u in [*userids, NEIGHBOUR] if u not in gone}
    assert set(received.values()) == {1}
    assert "✅ 已送达 1,498\n🚫 无法送达（已屏蔽机器人或账号已停用）3\n⚠️ 发送失败 0" in done.text
    assert await street.query("SELECT user_id FROM channel_accounts WHERE unreachable_at IS NOT NULL "
                              "ORDER BY user_id") == [(u,) for u in gone]
    assert fake.dropped == []


# -- (g) an invite on WeCom -------------------------------------------------------------------------------------


async def test_an_invite_on_wecom_makes_a_member_the_building_leader_once(
        fake: FakeWeComServer, street: Street, clock: TickingClock) -> None:
    """WeCom has no deep links: the invite's link is the text "/start CODE", which the invitee sends."""
    leader_of = "幸福社区 · 阳光花园 · 2号楼 楼栋党小组长"
    async with on_wecom(fake, street, clock) as link:
        admin, invitee, other = WeComPerson(link, ADMIN), WeComPerson(link, INVITEE), WeComPerson(link, "qianjie")
        await admin.send("你好")
        await admin.tap("➕ 邀请网格员")
        await admin.expect("邀请担任什么职务？")
        await admin.tap("楼栋党小组长")
        await admin.tap("幸福社区")
        await admin.tap("阳光花园")
        await admin.tap("2号楼")
        await admin.expect("选择分工")
        await admin.tap("安全员")
        await admin.expect("✓ 安全员")
        await admin.tap("生成邀请")
        created = (await admin.expect(f"已生成邀请：{leader_of}")).text
        code = re.search(r"邀请码：(inv-[a-z0-9]+)", created)
        assert code is not None, created
        assert f"/start {code.group(1)}" in created.splitlines() and "https://" not in created

        await invitee.send(f"/start {code.group(1)}")
        await invitee.expect(f"您受邀担任：{leader_of}\n分工：安全员\n接受吗？")
        await invitee.tap("✅ 接受")
        await invitee.expect("同意吗？")  # not registered yet: the privacy consent first
        await invitee.tap("✅ 同意")
        welcome = await invitee.expect(f"您现在是 {leader_of}。")
        assert "请选择要办的事" in welcome.text and "🗂 我的任务" in dict(choices(welcome))  # a member's menu at once
        await admin.expect(f"已接受邀请，成为 {leader_of}。")  # through the outbox

        await other.send(f"/start {code.group(1)}")  # the same code again, by someone else …
        await other.expect("这个邀请码已经用过了。如需帮助请联系街道管理员。")
        await invitee.send(f"/start {code.group(1)}")  # … and by the leader themselves
        await invitee.expect("这个邀请码已经用过了。")

    granted = ("SELECT a.user_id, g.code, r.role FROM roles r JOIN channel_accounts a ON a.person_id = r.person_id "
               "JOIN grid_units g ON g.id = r.unit_id WHERE g.code = 'C01-A-B2'")
    assert await street.query(granted) == [(INVITEE, "C01-A-B2", "building_leader")]
    assert await street.query("SELECT a.user_id, d.duty FROM duties d JOIN channel_accounts a "
                              "ON a.person_id = d.person_id") == [(INVITEE, "safety")]
    assert await street.query("SELECT a.user_id FROM invites i JOIN channel_accounts a ON a.person_id = i.used_by "
                              "WHERE i.used_at IS NOT NULL") == [(INVITEE,)]
    assert await street.query("SELECT COUNT(*) FROM channel_accounts WHERE user_id = 'qianjie'") == [(0,)]
