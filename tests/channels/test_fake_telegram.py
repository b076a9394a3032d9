"""Tests of the fake Telegram Bot API server, driven by the real python-telegram-bot client."""

from __future__ import annotations

import asyncio
import datetime as dtm
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import ClientSession, web
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MenuButtonCommands,
    Message,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import Application, ContextTypes, MessageHandler, filters
from telegram.request import HTTPXRequest

from tests.fake_telegram import BOT_ID, NOT_MODIFIED, FakeTelegramServer

TOKEN = "123456:TEST-token"
USER = 424242


def make_bot(server: FakeTelegramServer, token: str = TOKEN) -> Bot:
    return Bot(token, base_url=server.base_url, base_file_url=server.base_file_url)


@pytest.fixture
async def bot(server: FakeTelegramServer) -> AsyncIterator[Bot]:
    async with make_bot(server) as b:
        yield b


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data)] for label, data in pairs])


def retry_seconds(error: RetryAfter) -> float:
    """The wait the fake asked for, which PTB gives as a timedelta (PTB_TIMEDELTA, see conftest.py)."""
    assert isinstance(error.retry_after, dtm.timedelta)
    return error.retry_after.total_seconds()


async def test_get_me_and_url_layout(server: FakeTelegramServer, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.first_name, me.is_bot) == (BOT_ID, "jinlin_test_bot", "Jinlin", True)
    assert server.base_url == f"http://127.0.0.1:{server.port}/bot"
    assert server.base_file_url == f"http://127.0.0.1:{server.port}/file/bot"
    assert [c.method for c in server.calls] == ["getMe", "getMe"]  # Bot.initialize() calls getMe too


async def test_token_check() -> None:
    async with FakeTelegramServer(token="1:right") as srv:
        async with make_bot(srv, "1:right") as good:
            assert (await good.get_me()).id == BOT_ID
        with pytest.raises(InvalidToken):
            async with make_bot(srv, "1:wrong"):  # initialize() calls getMe
                pass
        async with ClientSession() as session, session.post(f"{srv.base_url}1:wrong/getMe") as reply:
            assert reply.status == 401
            assert await reply.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}


async def test_raw_http_json_body_case_insensitive_and_404(server: FakeTelegramServer, bot: Bot) -> None:
    markup = '{"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}'  # nested JSON as a string
    async with ClientSession() as session:
        url = f"{server.base_url}{TOKEN}"
        async with session.post(
            f"{url}/SENDMESSAGE", json={"chat_id": "7", "text": "hi", "reply_markup": markup}
        ) as r:
            body = await r.json()
        assert r.status == 200 and body["ok"] is True
        assert body["result"]["chat"] == {"id": 7, "type": "private", "first_name": "居民"}
        async with session.get(f"{url}/noSuchMethod") as r:
            assert r.status == 404
            assert await r.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    sent = server.last_to(7)
    assert (sent.chat_id, sent.text, sent.method) == (7, "hi", "sendMessage")
    assert server.buttons(sent) == [("A", "a")]
    assert server.calls[-2].method == "sendMessage" and server.calls[-1].method == "noSuchMethod"
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("noSuchMethod")


async def test_send_message_recorded_with_ptb_form_encoding(server: FakeTelegramServer, bot: Bot) -> None:
    message = await bot.send_message(
        USER, "你好 <b>居民</b>", parse_mode="HTML", reply_markup=keyboard(("是", "y"))
    )
    assert (message.message_id, message.chat.id, message.text) == (1, USER, "你好 居民")
    assert message.reply_markup == keyboard(("是", "y"))
    call = server.calls[-1]
    # PTB posts a urlencoded form with every non-string value JSON-encoded; the fake decodes them back.
    assert call.content_type == "application/x-www-form-urlencoded"
    assert call.params["chat_id"] == USER and call.status == 200
    assert call.params["reply_markup"] == {"inline_keyboard": [[{"text": "是", "callback_data": "y"}]]}
    sent = server.last_to(USER)
    assert (sent.message_id, sent.text, sent.parse_mode) == (1, "你好 <b>居民</b>", "HTML")
    assert sent.visible_text == "你好 居民"
    assert server.buttons(sent) == [("是", "y")]
    assert await server.wait_for_sent(1, chat_id=USER) == [sent]
    await bot.send_message(USER, "second", reply_markup=ReplyKeyboardMarkup([["甲", "乙"]]))
    assert [m.message_id for m in server.messages_to(USER)] == [1, 2]
    assert server.buttons(server.last_to(USER)) == [("甲", ""), ("乙", "")]
    assert server.messages_to(USER + 1) == []


async def test_callback_data_over_64_bytes_is_rejected(server: FakeTelegramServer, bot: Bot) -> None:
    ok_data = "近" * 21 + "a"  # 64 bytes in UTF-8
    await bot.send_message(USER, "ok", reply_markup=keyboard(("x", ok_data)))
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(USER, "too long", reply_markup=keyboard(("x", "a" * 65)))
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(USER, "too long", reply_markup=keyboard(("x", "近" * 22)))
    assert [m.text for m in server.sent] == ["ok"]
    assert [c.status for c in server.calls_of("sendMessage")] == [200, 400, 400]


async def test_text_validation(server: FakeTelegramServer, bot: Bot) -> None:
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(USER, "   ")
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(USER, "a" * 4097)
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(USER, "😀" * 2049)  # 4098 UTF-16 code units
    with pytest.raises(BadRequest, match="Can't parse entities"):
        await bot.send_message(USER, "1 < 2", parse_mode="HTML")
    with pytest.raises(BadRequest, match="Can't parse entities"):
        await bot.send_message(USER, "<b>bold</i>", parse_mode="HTML")
    await bot.send_message(USER, "a" * 4096)
    await bot.send_message(USER, "<b>" + "a" * 4096 + "</b>", parse_mode="HTML")  # tags do not count
    await bot.send_message(USER, "1 < 2")  # plain text needs no escaping
    assert len(server.sent) == 3
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message("@somebody", "x")


async def test_retry_after(server: FakeTelegramServer, bot: Bot) -> None:
    server.fail_next("SendMessage", status=429, retry_after=7)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(USER, "first try")
    assert retry_seconds(caught.value) == 7
    await bot.send_message(USER, "second try")
    assert [c.status for c in server.calls_of("sendMessage")] == [429, 200]
    assert [m.text for m in server.sent] == ["second try"]


async def test_blocked_user(server: FakeTelegramServer, bot: Bot) -> None:
    await bot.send_message(USER, "before")
    server.block(USER)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(USER, "after")
    with pytest.raises(Forbidden):
        await bot.send_chat_action(USER, "typing")
    with pytest.raises(Forbidden):
        await bot.edit_message_text("edited", chat_id=USER, message_id=1)
    await bot.send_message(USER + 1, "someone else")
    server.unblock(USER)
    await bot.send_message(USER, "unblocked")
    assert [m.text for m in server.messages_to(USER)] == ["before", "unblocked"]
    assert server.edits == []


async def test_server_errors_are_network_errors(server: FakeTelegramServer, bot: Bot) -> None:
    server.fail_next("sendMessage", status=500, count=2)
    server.fail_next("sendPhoto", status=502, description="Bad Gateway")
    for _ in range(2):
        with pytest.raises(NetworkError) as caught:
            await bot.send_message(USER, "x")
        assert not isinstance(caught.value, BadRequest | TimedOut)
        assert str(caught.value) == "Internal Server Error"
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_photo(USER, "https://example.org/a.jpg")
    await bot.send_message(USER, "x")
    assert len(server.sent) == 1 and len(server.calls) == 5


async def test_fail_next_for_one_chat(server: FakeTelegramServer, bot: Bot) -> None:
    server.fail_next("sendMessage", status=403, description="Forbidden: user is deactivated", chat_id=2)
    await bot.send_message(1, "one")
    with pytest.raises(Forbidden, match="user is deactivated"):
        await bot.send_message(2, "two")
    await bot.send_message(2, "two again")
    assert [(m.chat_id, m.text) for m in server.sent] == [(1, "one"), (2, "two again")]
    with pytest.raises(ValueError, match="unknown Bot API method"):
        server.fail_next("sendMesage", status=500)


async def test_edits(server: FakeTelegramServer, bot: Bot) -> None:
    message = await bot.send_message(USER, "选择", reply_markup=keyboard(("A", "a"), ("B", "b")))
    edited = await bot.edit_message_text("已选 A", chat_id=USER, message_id=message.message_id)
    assert isinstance(edited, type(message)) and edited.text == "已选 A" and edited.reply_markup is None
    stored = server.last_to(USER)
    assert (stored.text, stored.reply_markup) == ("已选 A", None)  # no reply_markup removes the keyboard
    with pytest.raises(BadRequest, match="Message is not modified") as caught:
        await bot.edit_message_text("已选 A", chat_id=USER, message_id=message.message_id)
    assert NOT_MODIFIED.removeprefix("Bad Request: ").lower() == str(caught.value).lower()
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", chat_id=USER, message_id=99)
    await bot.edit_message_reply_markup(
        chat_id=USER, message_id=message.message_id, reply_markup=keyboard(("C", "c"))
    )
    assert server.buttons(server.last_to(USER)) == [("C", "c")]
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_reply_markup(USER, message.message_id, reply_markup=keyboard(("C", "c")))
    assert [(e.method, e.text, e.reply_markup is None) for e in server.edits] == [
        ("editMessageText", "已选 A", True),
        ("editMessageReplyMarkup", "已选 A", False),
    ]
    assert len(server.sent) == 1


async def test_two_concurrent_get_updates_conflict(server: FakeTelegramServer) -> None:
    async with make_bot(server) as first, make_bot(server) as second:
        older = asyncio.create_task(first.get_updates(timeout=5))
        await server.wait_for_calls("getUpdates", 1)
        newer = asyncio.create_task(second.get_updates(timeout=5))
        with pytest.raises(Conflict, match="terminated by other getUpdates request"):
            await older  # Telegram answers the *older* request with 409
        await server.wait_for_calls("getUpdates", 2)
        update_id = server.push_text(USER, "hello")
        updates = await newer
    assert [u.update_id for u in updates] == [update_id]
    assert [c.status for c in server.calls_of("getUpdates")] == [409, 200]


async def test_long_poll_wakes_on_push_and_offsets(server: FakeTelegramServer, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await server.wait_for_calls("getUpdates", 1)
    started = time.monotonic()
    first = server.push_text(USER, "/start abc", first_name="老王")
    (update,) = await poll
    assert time.monotonic() - started < 2  # woken by the push, not by the 30 s timeout
    assert update.update_id == first and update.message is not None
    message = update.message
    assert message.text == "/start abc" and message.chat.type == "private" and message.chat.id == USER
    assert message.from_user is not None and message.from_user.language_code == "zh-hans"
    assert message.from_user.first_name == "老王" and message.from_user.is_bot is False
    assert [(e.type, e.offset, e.length) for e in message.entities] == [("bot_command", 0, 6)]

    ids = [server.push_text(USER, f"m{i}") for i in range(3)]
    assert [u.update_id for u in await bot.get_updates(limit=2)] == [first, ids[0]]  # not yet confirmed
    assert [u.update_id for u in await bot.get_updates(offset=ids[0] + 1)] == ids[1:]
    assert await bot.get_updates(offset=ids[-1] + 1, timeout=0) == ()
    assert server.pending_updates == []
    with pytest.raises(ValueError, match="must be greater"):
        server.push_update({"update_id": ids[0], "message": {}})


async def test_allowed_updates_filter(server: FakeTelegramServer, bot: Bot) -> None:
    await bot.send_message(USER, "menu", reply_markup=keyboard(("A", "a")))
    server.push_text(USER, "ignored")
    wanted = server.push_callback(USER, "a")
    updates = await bot.get_updates(allowed_updates=["callback_query"])
    assert [u.update_id for u in updates] == [wanted]
    assert server.allowed_updates == ["callback_query"]
    updates = await bot.get_updates(allowed_updates=[])  # [] restores the default set
    assert len(updates) == 2


async def test_injected_updates_parse_in_ptb(server: FakeTelegramServer, bot: Bot) -> None:
    sent = await bot.send_message(
        USER, "<i>请选择</i>", parse_mode="HTML", reply_markup=keyboard(("是", "yes"))
    )
    server.push_callback(USER, "yes")
    server.push_photo(USER, caption="坑洼", data=b"JPEG-BYTES")
    server.push_voice(USER)
    server.push_sticker(USER)
    server.push_location(USER, 31.23, 121.47)
    callback, photo, voice, sticker, location = await bot.get_updates()

    query = callback.callback_query
    assert query is not None and query.data == "yes" and query.from_user.id == USER
    assert isinstance(query.message, Message) and query.message.message_id == sent.message_id
    assert query.message.text == "请选择" and query.message.reply_markup == keyboard(("是", "yes"))
    assert await query.answer("ok") is True
    with pytest.raises(BadRequest, match="Query is too old"):
        await query.answer("twice")

    assert photo.message is not None and photo.message.caption == "坑洼" and len(photo.message.photo) == 3
    file = await bot.get_file(photo.message.photo[-1].file_id)
    assert bytes(await file.download_as_bytearray()) == b"JPEG-BYTES"
    assert (
        voice.message is not None
        and voice.message.voice is not None
        and voice.message.voice.to_dict()["duration"] == 3
    )
    assert sticker.message is not None and sticker.message.sticker is not None
    assert location.message is not None and location.message.location is not None
    assert (location.message.location.latitude, location.message.location.longitude) == (31.23, 121.47)
    with pytest.raises(BadRequest, match="Invalid file_id"):
        await bot.get_file("nope")


async def test_callback_on_specific_message(server: FakeTelegramServer, bot: Bot) -> None:
    with pytest.raises(LookupError):
        server.push_callback(USER, "x")
    first = await bot.send_message(USER, "one", reply_markup=keyboard(("1", "one")))
    await bot.send_message(USER, "two")
    await bot.edit_message_text(
        "one!", chat_id=USER, message_id=first.message_id, reply_markup=keyboard(("2", "b"))
    )
    server.push_callback(USER, "b", message_id=first.message_id)
    (update,) = await bot.get_updates()
    assert update.callback_query is not None and isinstance(update.callback_query.message, Message)
    assert update.callback_query.message.text == "one!"
    assert update.callback_query.message.reply_markup == keyboard(("2", "b"))


async def test_send_photo_multipart(server: FakeTelegramServer, bot: Bot) -> None:
    data = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    message = await bot.send_photo(
        USER, data, caption="海报", filename="poster.png", reply_markup=keyboard(("A", "a"))
    )
    call = server.calls[-1]
    assert call.content_type == "multipart/form-data"
    upload = call.params["photo"]
    assert (upload.filename, upload.size, upload.data) == ("poster.png", len(data), data)
    assert (
        call.params["chat_id"] == USER and call.params["reply_markup"]["inline_keyboard"][0][0]["text"] == "A"
    )
    sent = server.last_to(USER)
    assert (sent.method, sent.text, sent.file) == ("sendPhoto", "海报", upload)
    assert message.caption == "海报" and message.photo
    downloaded = await (await bot.get_file(message.photo[-1].file_id)).download_as_bytearray()
    assert bytes(downloaded) == data
    await bot.send_document(USER, b"a,b\n1,2\n", filename="grid.csv")
    document = server.last_to(USER)
    assert document.method == "sendDocument" and document.file is not None
    assert (document.file.filename, document.file.data) == ("grid.csv", b"a,b\n1,2\n")
    assert [u.filename for u in server.uploads] == ["poster.png", "grid.csv"]
    with pytest.raises(BadRequest, match="There is no text in the message to edit"):
        await bot.edit_message_text("x", chat_id=USER, message_id=message.message_id)


async def test_webhook_mode(server: FakeTelegramServer, bot: Bot) -> None:
    received: list[tuple[str | None, dict[str, object]]] = []

    async def receive(request: web.Request) -> web.Response:
        secret = request.headers.get("X-Telegram-Bot-Api-Secret-Token")
        received.append((secret, await request.json()))
        return web.Response(status=200 if secret == "s3cr-et_1" else 403)

    app = web.Application()
    app.router.add_post("/hook", receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    try:
        server.push_text(USER, "queued before webhook")
        assert await bot.set_webhook(url, secret_token="s3cr-et_1") is True
        assert (server.webhook_url, server.webhook_secret) == (url, "s3cr-et_1")
        assert (await bot.get_webhook_info()).url == url
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates()
        assert await server.post_webhook(server.text_update(USER, "via hook")) == 200
        assert await server.post_webhook({"update_id": 999, "message": {}}, wrong_secret=True) == 403
        assert [secret for secret, _ in received] == ["s3cr-et_1", "s3cr-et_1-wrong"]
        assert received[0][1]["message"]["text"] == "via hook"  # type: ignore[index]
        assert await bot.delete_webhook(drop_pending_updates=True) is True
        assert server.webhook_url is None and server.pending_updates == []
        assert await bot.get_updates() == ()
        with pytest.raises(RuntimeError, match="no webhook"):
            await server.post_webhook({})
    finally:
        await runner.cleanup()


async def test_commands_and_menu_button(server: FakeTelegramServer, bot: Bot) -> None:
    await bot.set_my_commands([BotCommand("start", "开始"), BotCommand("help", "帮助")], language_code="zh")
    assert [c.command for c in await bot.get_my_commands(language_code="zh")] == ["start", "help"]
    assert await bot.get_my_commands() == ()
    assert server.commands[("default", "zh")] == [
        {"command": "start", "description": "开始"},
        {"command": "help", "description": "帮助"},
    ]
    with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Start", "uppercase is invalid")])
    assert await bot.delete_my_commands(language_code="zh") is True
    assert await bot.get_my_commands(language_code="zh") == ()
    assert await bot.set_chat_menu_button(chat_id=USER, menu_button=MenuButtonCommands()) is True
    assert server.menu_buttons == {USER: {"type": "commands"}}
    assert await bot.close() is True and await bot.log_out() is True


async def test_waiters(server: FakeTelegramServer, bot: Bot) -> None:
    waiter = asyncio.create_task(server.wait_for_sent(2, chat_id=USER))
    await bot.send_message(USER, "a")
    await bot.send_message(USER + 1, "elsewhere")
    assert not waiter.done()
    await bot.send_message(USER, "b")
    assert [m.text for m in await waiter] == ["a", "b"]
    with pytest.raises(
        AssertionError, match=r"expected 1 message\(s\) to chat 5 within 0.05s, got 0"
    ) as caught:
        await server.wait_for_sent(1, chat_id=5, timeout=0.05)
    assert "'elsewhere'" in str(caught.value)
    with pytest.raises(AssertionError, match="expected 1 sendPhoto"):
        await server.wait_for_calls("sendPhoto", 1, timeout=0.05)


async def test_delay_makes_client_time_out(server: FakeTelegramServer, bot: Bot) -> None:
    server.delay("sendMessage", 5)
    with pytest.raises(TimedOut):
        await bot.send_message(USER, "slow", read_timeout=0.2)
    assert [c.params["text"] for c in server.calls_of("sendMessage")] == ["slow"]
    assert server.sent == []
    server.delay("sendMessage", 0)
    await bot.send_message(USER, "fast")
    assert [m.text for m in server.sent] == ["fast"]


async def test_application_long_polling_echo(server: FakeTelegramServer) -> None:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(f"echo: {update.effective_message.text}")

    app = (
        Application.builder()
        .token(TOKEN)
        .base_url(server.base_url)
        .base_file_url(server.base_file_url)
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT, echo))
    async with app:
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        await app.start()
        try:
            server.push_text(USER, "你好")
            (reply,) = await server.wait_for_sent(1, chat_id=USER)
            server.push_text(USER + 1, "second")
            await server.wait_for_sent(1, chat_id=USER + 1)
        finally:
            await app.updater.stop()
            await app.stop()
    assert (reply.chat_id, reply.text, reply.method) == (USER, "echo: 你好", "sendMessage")
    assert server.last_to(USER + 1).text == "echo: second"
    assert server.calls_of("deleteWebhook")  # start_polling bootstraps by deleting any webhook
    assert server.pending_updates == []  # the updater confirmed what it processed on stop


async def test_stop_answers_a_pending_long_poll(server: FakeTelegramServer, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await server.wait_for_calls("getUpdates", 1)
    started = time.monotonic()
    await server.stop()
    assert await poll == ()
    assert time.monotonic() - started < 2


# ---------------------------------------------------------------------------------- Telegram's limits


def pooled_bot(server: FakeTelegramServer, connections: int = 16) -> Bot:
    """A Bot that can have `connections` requests open at once (PTB's default is one)."""
    return Bot(TOKEN, base_url=server.base_url, base_file_url=server.base_file_url,
               request=HTTPXRequest(connection_pool_size=connections))


async def send_all(bot: Bot, chats: list[int]) -> list[Message | RetryAfter]:
    """Send to every chat at once; each result is the message or the RetryAfter it raised."""

    async def one(chat: int) -> Message | RetryAfter:
        try:
            return await bot.send_message(chat, f"to {chat}")
        except RetryAfter as error:
            return error

    return await asyncio.gather(*map(one, chats))


async def test_limits_are_off_by_default(server: FakeTelegramServer) -> None:
    async with pooled_bot(server) as b:
        results = await send_all(b, [USER] * 20 + list(range(1, 41)))
    assert not any(isinstance(result, RetryAfter) for result in results)
    assert (len(server.sent), server.too_many, server.delivered[USER]) == (60, 0, 20)


async def test_a_burst_above_the_rate_gets_429_with_retry_after(server: FakeTelegramServer) -> None:
    server.enforce_limits(5, per_chat_interval=0, retry_after=3)
    async with pooled_bot(server) as b:
        results = await send_all(b, list(range(1, 9)))
    refused = [result for result in results if isinstance(result, RetryAfter)]
    assert len(refused) == 3 and {retry_seconds(error) for error in refused} == {3}
    assert server.too_many == 3 and len(server.sent) == 5
    assert [c.status for c in server.calls_of("sendMessage")].count(429) == 3
    delivered = {chat for chat, count in server.delivered.items() if count}
    assert delivered == {m.chat_id for m in server.sent} and len(delivered) == 5  # refused sends are not recorded
    async with ClientSession() as session, session.post(f"{server.base_url}{TOKEN}/sendMessage",
                                                        json={"chat_id": 99, "text": "x"}) as reply:
        assert reply.status == 429
        assert await reply.json() == {"ok": False, "error_code": 429, "parameters": {"retry_after": 3},
                                      "description": "Too Many Requests: retry after 3"}
    assert server.too_many == 4


class Seconds:
    """A clock for the fake's limits that moves only when told (nothing waits for real)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def timed() -> AsyncIterator[tuple[FakeTelegramServer, Seconds, Bot]]:
    seconds = Seconds()
    async with FakeTelegramServer(clock=seconds) as fake, make_bot(fake) as b:
        yield fake, seconds, b


async def test_two_messages_to_one_chat_within_the_interval_get_429(
        timed: tuple[FakeTelegramServer, Seconds, Bot]) -> None:
    server, seconds, bot = timed
    server.enforce_limits(100, per_chat_interval=0.3)
    await bot.send_message(USER, "first")
    seconds.now += 0.29
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(USER, "too soon")
    assert retry_seconds(caught.value) == 1
    await bot.send_message(USER + 1, "another chat is not held up")
    seconds.now += 0.02  # 0.31 s after the first
    await bot.send_message(USER, "later")
    assert [m.text for m in server.messages_to(USER)] == ["first", "later"]
    assert server.too_many == 1 and server.duplicates() == {USER: 2}
    await bot.edit_message_text("edits are not limited", chat_id=USER, message_id=server.last_to(USER).message_id)


async def test_paced_sends_pass(timed: tuple[FakeTelegramServer, Seconds, Bot]) -> None:
    """40 sends a second to 4 chats in turn: within 50/s and 0.08 s per chat."""
    server, seconds, bot = timed
    server.enforce_limits(50, per_chat_interval=0.08)
    for n in range(30):
        await bot.send_message(n % 4 + 1, f"message {n}")
        seconds.now += 0.025
    assert server.too_many == 0 and len(server.sent) == 30
    assert dict(server.delivered) == {1: 8, 2: 8, 3: 7, 4: 7} == server.duplicates()


async def test_rate_limit_argument() -> None:
    async with FakeTelegramServer(rate_limit=2) as srv, pooled_bot(srv) as b:
        results = await send_all(b, [1, 2, 3, 3])
        assert sum(isinstance(result, RetryAfter) for result in results) == 2  # only two fit in a second
        assert srv.too_many == 2 and sum(srv.delivered.values()) == 2
