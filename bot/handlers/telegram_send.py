"""Telegram delivery: neutral replies as Bot API calls, and the outbox sender that maps PTB errors to outcomes."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
from datetime import timedelta
from pathlib import Path
from typing import cast

import telegram
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, LinkPreviewOptions
from telegram import error as tg_error

from bot.delivery.outbox import ChannelLimits, Permanent, RetryAfter, SendResult, Sent, Transient, Unreachable
from bot.domain.messages import Reply

log = logging.getLogger(__name__)
# PTB 22 gives durations (RetryAfter.retry_after ...) as timedelta, as PTB 23 will, when this is set, and as int
# seconds with a PTBDeprecationWarning otherwise; it reads the variable at every use, so it holds from here on.
os.environ["PTB_TIMEDELTA"] = "true"

CHANNEL = "telegram"
PRIVATE_CHAT_INTERVAL = 1.0  # seconds between two messages to one person
GROUP_CHAT_INTERVAL = 3.0  # 20 messages a minute to one group
MAX_CAPTION = 1024  # characters (UTF-16 code units) in a media caption
_UPLOADS_KEPT = 256  # local photos whose Telegram file id the sender remembers (a broadcast uploads its photo once)
_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def markup(reply: Reply) -> InlineKeyboardMarkup | None:
    """The reply's button rows as an inline keyboard whose callback data are the button tokens."""
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(button.label, callback_data=button.token) for button in row] for row in reply.buttons]
    )


async def send_reply(bot: telegram.Bot, chat_id: int | str, reply: Reply) -> telegram.Message:
    """Send `reply` as plain text without link previews. A voice note goes first, then a photo, then a document; the
    last attachment carries the text (and the buttons) as its caption when it fits, otherwise the text follows as a
    message of its own."""
    attachments = [(send, ref) for send, ref in ((bot.send_voice, reply.voice), (bot.send_photo, reply.photo),
                                                 (bot.send_document, reply.document)) if ref]
    captioned = attachments[-1] if attachments and _utf16_len(reply.text) <= MAX_CAPTION else None
    sent = None
    for send, ref in attachments:
        if (send, ref) == captioned:
            return await send(chat_id, await _file(ref), caption=reply.text or None, parse_mode=None,
                              reply_markup=markup(reply))
        sent = await send(chat_id, await _file(ref))
    if sent is not None and not reply.text:
        return sent
    return await bot.send_message(chat_id, reply.text, parse_mode=None, reply_markup=markup(reply),
                                  link_preview_options=_NO_PREVIEW)


async def _file(ref: str) -> InputFile | str:
    """A local file is uploaded; anything else is a Telegram file id."""
    path = Path(ref)
    if not await asyncio.to_thread(path.is_file):
        return ref
    return InputFile(await asyncio.to_thread(path.read_bytes), filename=path.name)


def _utf16_len(text: str) -> int:
    """Telegram counts text lengths in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def chat_interval(chat_id: str) -> float:
    """Minimum gap between messages to one chat: private chats have positive ids, groups negative ones."""
    return PRIVATE_CHAT_INTERVAL if chat_id.isdigit() else GROUP_CHAT_INTERVAL


class TelegramSender:
    """The outbox's Telegram channel.

    Outcomes: RetryAfter (429) pauses the channel; Forbidden (blocked, deactivated, kicked) and BadRequest
    "chat not found" (the chat no longer exists for the bot; marking it is undone when the person writes again)
    are Unreachable; ChatMigrated and other BadRequests are Permanent; TimedOut, NetworkError (5xx) and
    InvalidToken (logged as an error: it needs an operator) are Transient.

    `replace` (a message id this sender returned as `Sent.ref`) edits that message's text and buttons instead of
    sending a new one; if it cannot be edited (too old, deleted, a photo) a new message is sent. A local photo is
    uploaded once: later sends of the same file use the file id Telegram gave it.
    """

    channel = CHANNEL

    def __init__(self, bot: telegram.Bot, max_per_second: float) -> None:
        self._bot = bot
        self.limits = ChannelLimits(per_second=max_per_second, chat_interval=chat_interval)
        self._uploaded: dict[str, str] = {}  # local photo path → Telegram file id

    async def send(self, chat_id: str, reply: Reply, replace: str = "") -> SendResult:
        chat = _chat(chat_id)
        try:
            if (replace and not reply.photo and not reply.voice and not reply.document
                    and await self._edit(chat, replace, reply)):
                return Sent(replace)
            message = await self._send(chat, reply)
        except tg_error.TelegramError as exc:
            return _outcome(exc)
        return Sent(str(message.message_id))

    async def _send(self, chat: int | str, reply: Reply) -> telegram.Message:
        local = reply.photo
        known = self._uploaded.get(local)
        if known is not None:
            try:
                return await send_reply(self._bot, chat, dataclasses.replace(reply, photo=known))
            except tg_error.BadRequest:
                self._uploaded.pop(local, None)  # the file id is no longer good: upload the file again
        message = await send_reply(self._bot, chat, reply)
        if local and message.photo:
            if len(self._uploaded) >= _UPLOADS_KEPT:
                self._uploaded.clear()
            self._uploaded[local] = message.photo[-1].file_id
        return message

    async def _edit(self, chat: int | str, message_id: str, reply: Reply) -> bool:
        """Edit message `message_id` into `reply`; False if it cannot be edited (errors about the chat raise)."""
        if not message_id.isdigit():
            return False
        try:
            await self._bot.edit_message_text(reply.text, chat_id=chat, message_id=int(message_id), parse_mode=None,
                                              reply_markup=markup(reply), link_preview_options=_NO_PREVIEW)
        except tg_error.BadRequest as exc:
            problem = exc.message.lower()
            if "not modified" in problem:
                return True  # it already says this
            if "chat not found" in problem:
                raise
            log.info("could not edit message %s, sending a new one: %s", message_id, exc.message)
            return False
        return True


def _outcome(exc: tg_error.TelegramError) -> SendResult:
    match exc:
        case tg_error.RetryAfter():
            return RetryAfter(cast(timedelta, exc.retry_after).total_seconds())  # PTB_TIMEDELTA is set above
        case tg_error.Forbidden():
            return Unreachable(exc.message)
        case tg_error.BadRequest() if "chat not found" in exc.message.lower():
            return Unreachable(exc.message)
        case tg_error.BadRequest() | tg_error.ChatMigrated():
            return Permanent(exc.message)
        case tg_error.InvalidToken():
            log.error("Telegram rejected the bot token; messages wait until it is fixed")
            return Transient(exc.message)
        case _:
            return Transient(f"{type(exc).__name__}: {exc.message}")


def _chat(chat_id: str) -> int | str:
    """Numeric chat ids as ints; '@channelname' stays a string."""
    try:
        return int(chat_id)
    except ValueError:
        return chat_id
