"""The WeCom sender and API wrapper: real wechatpy HTTP against the fake WeCom server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp import ClientSession

from bot.clock import ManualClock
from bot.delivery.outbox import BatchSender, Permanent, RetryAfter, Sent, Transient, Unreachable
from bot.domain.messages import Button, Reply
from bot.handlers.wecom_api import MAX_USERS_PER_SEND, WeComApi, WeComAuthError
from bot.handlers.wecom_send import (
    MAX_CARD_SUB_TITLE,
    MAX_TEXT_BYTES,
    MEMBER_INTERVAL,
    RATE_LIMIT_PAUSE,
    WeComSender,
    member_interval,
)
from tests.fake_wecom import FakeWeComServer, MemberLimits, Message

CORP = "wwcorp"
SECRET = "s3cret-0123456789"
AGENT = 1000002
TASK_ID_RE = re.compile(r"[A-Za-z0-9_\-@]{1,128}")


@pytest.fixture
async def fake() -> AsyncIterator[FakeWeComServer]:
    async with FakeWeComServer(corp_id=CORP, secret=SECRET, agent_id=AGENT) as server:
        yield server


@pytest.fixture
async def api(fake: FakeWeComServer) -> AsyncIterator[WeComApi]:
    client = WeComApi(CORP, SECRET, AGENT, base_url=fake.base_url, timeout=5)
    yield client
    await client.close()


@pytest.fixture
def sender(api: WeComApi) -> WeComSender:
    return WeComSender(api, ManualClock())


def only(messages: list[Message]) -> Message:
    assert len(messages) == 1, messages
    return messages[0]


def buttons(*labels: str) -> tuple[tuple[Button, ...], ...]:
    return (tuple(Button(label, f"pick:{number}") for number, label in enumerate(labels, start=1)),)


# ------------------------------------------------------------------------------------------ rendering


async def test_text_goes_out_as_plain_text_and_the_token_comes_from_the_base_url(
        fake: FakeWeComServer, sender: WeComSender) -> None:
    result = await sender.send("zhangsan", Reply("楼道灯坏了，已派单。"))

    message = only(fake.messages_to("zhangsan"))
    assert result == Sent(message.msgid)
    assert (message.msgtype, message.content) == ("text", {"content": "楼道灯坏了，已派单。"})
    assert message.body["agentid"] == AGENT
    [fetch] = fake.calls_to("gettoken")
    assert fetch.query["corpid"] == CORP
    assert fake.token_fetches == 1
    await sender.send("zhangsan", Reply("second"))
    assert fake.token_fetches == 1  # the token is kept while it is valid


async def test_tags_in_text_cannot_become_links(fake: FakeWeComServer, sender: WeComSender) -> None:
    text = '漏水 <a href="http://evil.example">点此查看照片</a> 温度<5度'

    assert await sender.send("lisi", Reply(text)) == Sent("msg1")

    content = only(fake.messages_to("lisi")).text
    assert "<a" not in content and "</a" not in content
    assert content.replace("\u200b", "") == text  # what a person sees is unchanged


async def test_long_text_is_split_under_the_byte_limit(fake: FakeWeComServer, sender: WeComSender) -> None:
    lines = [f"第{number}行：居民反映的问题描述" for number in range(300)]  # far over 2048 bytes
    text = "\n".join(lines)

    result = await sender.send("lisi", Reply(text))

    parts = [message.text for message in fake.messages_to("lisi")]
    assert len(parts) > 1
    assert all(len(part.encode()) <= MAX_TEXT_BYTES for part in parts)
    assert "\n".join(parts) == text
    assert result == Sent(fake.messages_to("lisi")[-1].msgid)


async def test_buttons_become_a_card_whose_keys_are_the_tokens(fake: FakeWeComServer, sender: WeComSender) -> None:
    reply = Reply("Report received.\nAnything else?",
                  buttons=((Button("Yes", "more:1"), Button("No", "more:0")), (Button("Back", "menu"),)))

    assert isinstance(await sender.send("wangwu", reply), Sent)
    assert isinstance(await sender.send("wangwu", reply), Sent)  # a second card needs a task_id of its own

    first, second = fake.messages_to("wangwu")
    assert first.msgtype == "template_card"
    card = first.content
    assert card["card_type"] == "button_interaction"
    assert card["main_title"] == {"title": "Report received."}
    assert card["sub_title_text"] == "Anything else?"
    assert first.buttons == [("Yes", "more:1"), ("No", "more:0"), ("Back", "menu")]
    assert TASK_ID_RE.fullmatch(card["task_id"])
    assert card["task_id"] != second.content["task_id"]


async def test_text_too_long_for_a_card_goes_before_it(fake: FakeWeComServer, sender: WeComSender) -> None:
    text = "通知：本周六上午九点在社区活动中心召开居民议事会\n" + "议题包括楼道堆物清理、电动车充电桩选址。" * 12
    assert len(text) > MAX_CARD_SUB_TITLE

    assert isinstance(await sender.send("wangwu", Reply(text, buttons=buttons("参加", "不参加"))), Sent)

    preface, card = fake.messages_to("wangwu")
    assert (preface.msgtype, preface.text) == ("text", text)
    assert card.msgtype == "template_card"
    assert card.content["main_title"]["title"] == "通知：本周六上午九点在社区活动中心召开居民议事会"
    assert card.buttons == [("参加", "pick:1"), ("不参加", "pick:2")]


async def test_more_than_six_buttons_are_listed_by_number(fake: FakeWeComServer, sender: WeComSender) -> None:
    reply = Reply("请选择类别：", buttons=(
        (Button("漏水", "cat:1"), Button("照明", "cat:2"), Button("水压", "cat:3")),
        (Button("卫生", "cat:4"), Button("噪音", "cat:5"), Button("安全", "cat:6")),
        (Button("返回", "nav:back"),)))

    assert isinstance(await sender.send("zhaoliu", reply), Sent)

    message = only(fake.messages_to("zhaoliu"))
    assert message.msgtype == "text"
    assert message.text == "请选择类别：\n\n1. 漏水\n2. 照明\n3. 水压\n4. 卫生\n5. 噪音\n6. 安全\n7. 返回"


async def test_a_label_too_long_for_a_card_button_is_listed_by_number(
        fake: FakeWeComServer, sender: WeComSender) -> None:
    assert isinstance(await sender.send("zhaoliu", Reply("Photos?", buttons=buttons("Skip the photos", "Add"))), Sent)

    assert only(fake.messages_to("zhaoliu")).text == "Photos?\n\n1. Skip the photos\n2. Add"


async def test_a_photo_is_uploaded_once_and_sent_before_the_text(
        tmp_path: Path, fake: FakeWeComServer, sender: WeComSender) -> None:
    poster = tmp_path / "poster.jpg"
    poster.write_bytes(b"\xff\xd8\xff\xe0poster\xff\xd9")
    reply = Reply("周六说事 海报", photo=str(poster))

    assert isinstance(await sender.send("sunqi", reply), Sent)
    assert isinstance(await sender.send("zhouba", reply), Sent)

    [upload] = fake.uploads
    assert (upload.type, upload.filename, upload.data) == ("image", "poster.jpg", b"\xff\xd8\xff\xe0poster\xff\xd9")
    for user in ("sunqi", "zhouba"):
        image, text = fake.messages_to(user)
        assert (image.msgtype, image.content) == ("image", {"media_id": upload.media_id})
        assert text.text == "周六说事 海报"


async def test_voice_notes_go_out_only_as_amr(tmp_path: Path, fake: FakeWeComServer, sender: WeComSender) -> None:
    amr = tmp_path / "note.amr"
    amr.write_bytes(b"#!AMR\n" + b"\x00" * 32)
    ogg = tmp_path / "note.oga"
    ogg.write_bytes(b"OggS" + b"\x00" * 32)

    assert isinstance(await sender.send("wujiu", Reply("语音留言", voice=str(amr))), Sent)
    assert isinstance(await sender.send("zhengshi", Reply("语音留言", voice=str(ogg))), Sent)

    voice, text = fake.messages_to("wujiu")
    assert (voice.msgtype, text.text) == ("voice", "语音留言")
    assert [m.msgtype for m in fake.messages_to("zhengshi")] == ["text"]
    assert [u.filename for u in fake.uploads] == ["note.amr"]


async def test_replace_sends_anew(fake: FakeWeComServer, sender: WeComSender) -> None:
    first = await sender.send("zhangsan", Reply("进度 1/2", slot="progress"))
    assert isinstance(first, Sent)

    second = await sender.send("zhangsan", Reply("进度 2/2", slot="progress"), replace=first.ref)

    assert [m.text for m in fake.messages_to("zhangsan")] == ["进度 1/2", "进度 2/2"]
    assert isinstance(second, Sent) and second.ref != first.ref


# -------------------------------------------------------------------------------------- broadcasts


async def test_send_many_uses_calls_of_at_most_1000_and_reports_invalid_users(
        fake: FakeWeComServer, sender: WeComSender) -> None:
    ids = [f"Resident{number:04d}" for number in range(2500)]
    gone = {ids[7], ids[1500], ids[2499]}
    fake.known_users = {userid.lower() for userid in ids if userid not in gone}

    results = await sender.send_many(ids, Reply("停水通知：明天 9:00-12:00"))

    assert [len(call.users) for call in fake.sends] == [1000, 1000, 500]
    assert set(results) == set(ids)
    assert {userid for userid, result in results.items() if isinstance(result, Unreachable)} == gone
    assert all(isinstance(results[userid], Sent) for userid in ids if userid not in gone)
    assert all(len(fake.messages_to(userid)) == (0 if userid in gone else 1) for userid in ids)


async def test_send_many_with_a_card_gives_each_call_its_own_task_id(
        fake: FakeWeComServer, sender: WeComSender) -> None:
    ids = [f"u{number}" for number in range(1500)]

    results = await sender.send_many(ids, Reply("会议通知", buttons=buttons("参加", "请假")))

    assert all(isinstance(result, Sent) for result in results.values())
    task_ids = [call.body["template_card"]["task_id"] for call in fake.sends if call.body]
    assert len(task_ids) == 2 and len(set(task_ids)) == 2


async def test_everyone_invalid_is_unreachable(fake: FakeWeComServer, sender: WeComSender) -> None:
    fake.known_users = {"zhangsan"}

    assert isinstance(await sender.send("ghost", Reply("hi")), Unreachable)
    results = await sender.send_many(["ghost", "Zhangsan"], Reply("hi"))

    assert isinstance(results["ghost"], Unreachable) and isinstance(results["Zhangsan"], Sent)
    assert fake.sends[0].errcode == 81013


async def test_a_malformed_userid_is_refused_without_a_call(fake: FakeWeComServer, sender: WeComSender) -> None:
    results = await sender.send_many(["a|b", "zhangsan"], Reply("hi"))

    assert isinstance(results["a|b"], Permanent) and isinstance(results["zhangsan"], Sent)
    assert [call.users for call in fake.sends] == [["zhangsan"]]


# -------------------------------------------------------------------------------- tokens and errors


async def test_an_expired_token_is_renewed_once_and_the_message_delivered(
        fake: FakeWeComServer, sender: WeComSender) -> None:
    assert isinstance(await sender.send("zhangsan", Reply("one")), Sent)
    fake.expire_tokens()

    assert isinstance(await sender.send("zhangsan", Reply("two")), Sent)

    assert fake.token_fetches == 2
    assert [call.errcode for call in fake.sends] == [0, 42001, 0]
    assert [m.text for m in fake.messages_to("zhangsan")] == ["one", "two"]


async def test_concurrent_sends_on_an_expired_token_renew_it_once(
        fake: FakeWeComServer, sender: WeComSender) -> None:
    assert isinstance(await sender.send("zhangsan", Reply("warm up")), Sent)
    fake.expire_tokens()

    results = await asyncio.gather(*(sender.send(f"user{n}", Reply("hi")) for n in range(8)))

    assert all(isinstance(result, Sent) for result in results)
    assert fake.token_fetches == 2


async def test_a_token_still_refused_after_renewal_is_transient(fake: FakeWeComServer, sender: WeComSender) -> None:
    fake.fail_next(2, errcode=40014, endpoint="message/send")

    result = await sender.send("zhangsan", Reply("hi"))

    assert isinstance(result, Transient)
    assert len(fake.sends) == 2  # the call and one retry, not a loop
    assert fake.messages_to("zhangsan") == []


async def test_server_errors_are_transient(fake: FakeWeComServer, sender: WeComSender) -> None:
    fake.fail_next(1, http_status=502)

    assert await sender.send("zhangsan", Reply("hi")) == Transient("HTTP 502")
    assert fake.messages_to("zhangsan") == []
    assert isinstance(await sender.send("zhangsan", Reply("hi")), Sent)


@pytest.mark.parametrize(("errcode", "expected"), [
    (45009, RetryAfter(RATE_LIMIT_PAUSE)),
    (45033, RetryAfter(RATE_LIMIT_PAUSE)),
    (60111, Unreachable("errcode 60111: userid not found")),
    (81013, Unreachable("errcode 81013: user & party & tag all invalid")),
    (-1, Transient("errcode -1: system busy")),
    (40008, Permanent("errcode 40008: invalid message type")),
])
async def test_errcodes_map_to_outcomes(fake: FakeWeComServer, sender: WeComSender, errcode: int,
                                        expected: object) -> None:
    fake.fail_next(1, errcode=errcode)

    assert await sender.send("zhangsan", Reply("hi")) == expected


async def test_a_refused_secret_is_transient_and_never_logged(
        fake: FakeWeComServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="bot")
    caplog.set_level(logging.DEBUG, logger="wechatpy")
    wrong = "not-the-secret-42"
    api = WeComApi(CORP, wrong, AGENT, base_url=fake.base_url)
    try:
        result = await WeComSender(api, ManualClock()).send("zhangsan", Reply("hi"))
        with pytest.raises(WeComAuthError) as raised:
            await api.send(["zhangsan"], {"msgtype": "text", "text": {"content": "hi"}})
    finally:
        await api.close()

    assert result == Transient("gettoken refused: errcode 40001")
    assert fake.token_fetches == 0 and fake.sends == []
    assert any(r.levelno == logging.ERROR for r in caplog.records)
    assert wrong not in caplog.text and wrong not in str(raised.value) and wrong not in repr(api)


async def test_an_unreachable_server_is_transient_without_the_url(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="bot")
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    api = WeComApi(CORP, SECRET, AGENT, base_url=f"http://127.0.0.1:{port}/cgi-bin", timeout=2)
    try:
        result = await WeComSender(api, ManualClock()).send("zhangsan", Reply("hi"))
    finally:
        await api.close()

    assert result == Transient("ConnectionError")
    assert SECRET not in caplog.text


# ----------------------------------------------------------------------------------------- the API


async def test_media_download_gives_bytes_and_suffix(fake: FakeWeComServer, api: WeComApi, tmp_path: Path) -> None:
    fake.add_media("m-photo", b"\x89PNG\r\n\x1a\nphoto", "image/png")
    fake.add_media("m-voice", b"#!AMR\nvoice", "audio/amr", filename="voice.amr", media_type="voice")
    path = tmp_path / "up.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0uploaded\xff\xd9")

    uploaded = await api.upload_image(path)

    assert await api.download_media("m-photo") == (b"\x89PNG\r\n\x1a\nphoto", ".png")
    assert await api.download_media("m-voice") == (b"#!AMR\nvoice", ".amr")
    assert await api.download_media(uploaded) == (b"\xff\xd8\xff\xe0uploaded\xff\xd9", ".jpg")
    assert all(call.query.get("access_token") for call in fake.calls_to("media/get"))


async def test_update_card_uses_the_response_code(fake: FakeWeComServer, api: WeComApi) -> None:
    card = {"card_type": "button_interaction", "task_id": "task-1", "main_title": {"title": "开会"},
            "button_list": [{"text": "参加", "style": 1, "key": "rsvp:1"}]}
    outcome = await api.send(["zhangsan"], {"msgtype": "template_card", "template_card": card})
    assert outcome.ok and outcome.response_code

    await api.update_card(["zhangsan"], outcome.response_code, "已参加")

    [update] = fake.card_updates
    assert update == {"userids": ["zhangsan"], "agentid": AGENT, "response_code": outcome.response_code,
                      "button": {"replace_name": "已参加"}}


async def test_api_calls_leave_the_event_loop_free(fake: FakeWeComServer, api: WeComApi) -> None:
    """The fake answers on this loop: a blocking call would never get its answer and time out."""
    send = asyncio.create_task(api.send(["zhangsan"], {"msgtype": "text", "text": {"content": "hi"}}))

    await fake.wait_until(lambda: len(fake.messages_to("zhangsan")) == 1, timeout=5)

    outcome = await send
    assert outcome.ok and outcome.msgid == fake.messages_to("zhangsan")[0].msgid


# -------------------------------------------------------------------------------------- the fake


async def test_the_fake_refuses_more_than_1000_users_and_bad_credentials(fake: FakeWeComServer) -> None:
    async with ClientSession() as http:
        async with http.get(f"{fake.base_url}gettoken", params={"corpid": CORP, "corpsecret": "wrong"}) as response:
            assert (await response.json())["errcode"] == 40001
        async with http.get(f"{fake.base_url}gettoken", params={"corpid": CORP, "corpsecret": SECRET}) as response:
            token = (await response.json())["access_token"]
        body = {"touser": "|".join(f"u{n}" for n in range(1001)), "agentid": AGENT, "msgtype": "text",
                "text": {"content": "hi"}}
        async with http.post(f"{fake.base_url}message/send", params={"access_token": token}, json=body) as response:
            assert (await response.json())["errcode"] == 40058
    assert fake.received() == {}


async def test_the_fake_drops_more_than_30_messages_a_minute_to_one_member() -> None:
    clock = ManualClock()
    async with FakeWeComServer(corp_id=CORP, secret=SECRET, clock=clock) as fake:
        api = WeComApi(CORP, SECRET, AGENT, base_url=fake.base_url)
        try:
            for number in range(31):
                assert (await api.send(["zhangsan"], {"msgtype": "text", "text": {"content": f"{number}"}})).ok
            clock.advance(61)
            assert (await api.send(["zhangsan"], {"msgtype": "text", "text": {"content": "later"}})).ok
        finally:
            await api.close()

    assert [(drop.userid, drop.limit) for drop in fake.dropped] == [("zhangsan", "30/min")]
    assert len(fake.messages_to("zhangsan")) == 31
    assert fake.messages_to("zhangsan")[-1].text == "later"


async def test_replies_and_pushes_to_one_member_keep_within_its_budget() -> None:
    """However fast a member is written to, the 31st message of a minute waits for the minute to pass (WeCom would
    drop it), and a notice to many members leaves out, for now, the one whose budget is spent."""
    clock = ManualClock()
    async with FakeWeComServer(corp_id=CORP, secret=SECRET, clock=clock) as fake:
        api = WeComApi(CORP, SECRET, AGENT, base_url=fake.base_url)
        sender = WeComSender(api, clock)
        start = clock.now()
        try:
            for number in range(1, 31):
                assert isinstance(await sender.send("zhangsan", Reply(f"第{number}条")), Sent)
            notice = await sender.send_many(["zhangsan", "lisi"], Reply("通知"))
            assert clock.now() == start  # nothing waited so far
            assert isinstance(await sender.send("zhangsan", Reply("第31条")), Sent)
            waited = (clock.now() - start).total_seconds()
        finally:
            await api.close()

    assert fake.dropped == []
    assert isinstance(notice["lisi"], Sent) and isinstance(notice["zhangsan"], Transient)
    assert waited == pytest.approx(60.0)  # the 31st went as soon as the first was a minute old
    assert [m.text for m in fake.messages_to("zhangsan")][-2:] == ["第30条", "第31条"]


def test_the_member_interval_keeps_under_both_limits(sender: WeComSender) -> None:
    assert sender.limits.chat_interval("anyone") == member_interval("anyone") == MEMBER_INTERVAL
    assert isinstance(sender, BatchSender) and sender.limits.batch == MAX_USERS_PER_SEND
    start = ManualClock().now()
    paced, hurried = MemberLimits(), MemberLimits()

    paced_drops = [paced.admit("m", start + timedelta(seconds=n * MEMBER_INTERVAL)) for n in range(2500)]
    hurried_drops = [hurried.admit("m", start + timedelta(seconds=n * 3.5)) for n in range(2500)]

    assert not any(paced_drops)
    assert "1000/h" in hurried_drops  # a little faster already breaks the hourly limit
