"""WeCom delivery: neutral replies as application messages, and the outbox sender that maps WeCom's answers.

A reply becomes one or more message/send calls, in this order: its voice note (AMR only: WeCom plays nothing
else), its photo, its document (a `file` message), then its text. Text without buttons is a `text` message (plain
text, never markdown; split into parts of at most 2048 bytes, which WeCom would otherwise truncate). Text with
buttons becomes a `button_interaction` template card when the buttons fit one (at most 6, labels of at most 10
characters, distinct tokens): the buttons' keys are the tokens, which come back in the click event; the first line
of the text is the card's title and the rest its sub-title, and text too long for the card goes before it as a text
message. Otherwise the text is sent
with the choices numbered below it ("1. label"), and the person types a number or a label.

WeCom cannot edit an application message, so `replace` is ignored and the reply is sent anew.

A numbered list can only be answered by typing, and typed text reaches the engine as an answer to the person's
current prompt, not to a push: so the sender remembers, per member, the choices of the latest message it delivered
when those were numbered (`numbered_choice`), and the channel turns a number or label typed in answer into that
button's press, as the console does for its lettered pushes. Memory only: after a restart a typed number answers
the current prompt again (the engine's own fallback).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
import stat
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bot.clock import Clock
from bot.delivery.outbox import ChannelLimits, Permanent, RetryAfter, SendResult, Sent, Transient, Unreachable
from bot.domain.messages import Button, Reply
from bot.handlers.wecom_api import (
    MAX_USERS_PER_SEND,
    TOKEN_ERRORS,
    WeComApi,
    WeComApiError,
    WeComAuthError,
    WeComError,
    WeComUnavailable,
    valid_userid,
)
from bot.handlers.wecom_budget import MemberBudget

log = logging.getLogger(__name__)

CHANNEL = "wecom"
DEFAULT_PER_SECOND = 20.0
# WeCom drops (silently) more than 30 messages a minute or 1000 an hour from one application to one member:
# 3.6 s between two messages to a member stays under both (16.7 a minute, exactly 1000 an hour).
MEMBER_INTERVAL = 3.6
MAX_BUDGET_WAIT = 60.0  # seconds a send waits for a member's budget (longer: Transient, tried again later)
RATE_LIMIT_PAUSE = 60.0  # seconds the channel pauses after a frequency error
MAX_TEXT_BYTES = 2048  # text.content
MAX_CARD_BUTTONS = 6  # button_interaction button_list
MAX_CARD_TITLE = 36  # characters of main_title.title
MAX_CARD_SUB_TITLE = 160  # characters of sub_title_text
MAX_BUTTON_LABEL = 10  # characters of a card button's text
MAX_KEY_BYTES = 1024  # a card button's key
FREQUENCY_ERRORS = frozenset({45009, 45011, 45033})  # API frequency / concurrency limits
UNREACHABLE_ERRORS = frozenset({60111, 81013})  # userid not found; every recipient invalid
SYSTEM_BUSY = -1
_UPLOAD_TTL = 2 * 24 * 3600.0  # seconds an uploaded file's media_id is reused (WeCom keeps it 3 days)
_UPLOADS_KEPT = 256
_NUMBERED_KEPT = 100_000  # members whose latest numbered list is remembered
# Text messages render <a href=...> tags as links: a zero-width space after "<" keeps any tag in the text (a
# resident's words, say) from becoming one, and changes nothing a person sees.
_TAG_START_RE = re.compile(r"<(?=[A-Za-z/!?])")
_ZERO_WIDTH_SPACE = "\u200b"

Message = dict[str, Any]


def member_interval(chat_id: str) -> float:
    """Minimum gap (s) between two messages to one member."""
    return MEMBER_INTERVAL


def compose(text: str, buttons: Sequence[Button]) -> list[Message]:
    """The text and buttons of a reply as WeCom messages (a card's task_id is left empty: set it per send)."""
    if buttons and card_fits(text, buttons):
        return card_messages(text, buttons)
    if buttons:
        text = numbered(text, buttons)
    return text_messages(text)


def card_fits(text: str, buttons: Sequence[Button]) -> bool:
    """Whether the buttons can be a button_interaction card's buttons (and there is text for its title)."""
    tokens = [button.token for button in buttons]
    return (bool(text.strip()) and 1 <= len(buttons) <= MAX_CARD_BUTTONS and len(set(tokens)) == len(tokens)
            and all(0 < len(b.label) <= MAX_BUTTON_LABEL and b.label.strip() for b in buttons)
            and all(0 < len(token.encode()) <= MAX_KEY_BYTES for token in tokens))


def card_messages(text: str, buttons: Sequence[Button]) -> list[Message]:
    """A button_interaction card (preceded by the text when the card cannot hold it)."""
    title, sub_title, preface = _card_text(text)
    card: Message = {
        "card_type": "button_interaction",
        "task_id": "",
        "main_title": {"title": title},
        "button_list": [{"text": button.label, "style": 1, "key": button.token} for button in buttons],
    }
    if sub_title:
        card["sub_title_text"] = sub_title
    return [*text_messages(preface), {"msgtype": "template_card", "template_card": card}]


def _card_text(text: str) -> tuple[str, str, str]:
    """(title, sub-title, text to send before the card): the first line is the title if it fits (else its start
    with "…", the whole text going below); what is below goes into the sub-title, or before the card if too long."""
    text = text.strip()
    first, _, rest = text.partition("\n")
    first, rest = first.strip(), rest.strip()
    if len(first) <= MAX_CARD_TITLE:
        title, body = first, rest
    else:
        title, body = first[: MAX_CARD_TITLE - 1] + "…", text
    if len(body) <= MAX_CARD_SUB_TITLE:
        return title, body, ""
    return title, "", text


def numbered(text: str, buttons: Sequence[Button]) -> str:
    """The text followed by the choices, one per line: "1. label"."""
    choices = "\n".join(f"{number}. {button.label}" for number, button in enumerate(buttons, start=1))
    return f"{text.rstrip()}\n\n{choices}" if text.strip() else choices


def text_messages(text: str) -> list[Message]:
    """Plain text as text messages of at most 2048 bytes each (none for blank text); tags cannot become links."""
    if not text.strip():
        return []
    safe = _TAG_START_RE.sub("<" + _ZERO_WIDTH_SPACE, text)
    return [{"msgtype": "text", "text": {"content": part}} for part in split_text(safe, MAX_TEXT_BYTES)]


def split_text(text: str, limit: int) -> list[str]:
    """`text` in parts of at most `limit` UTF-8 bytes, cut between lines where possible; blank parts dropped."""
    parts: list[str] = []
    current, size = "", 0
    for line in text.splitlines(keepends=True):
        length = len(line.encode())
        if size + length > limit and current:
            parts.append(current)
            current, size = "", 0
        while length > limit:  # a line longer than a whole part: cut it on a character boundary
            head = line.encode()[:limit].decode("utf-8", "ignore")
            parts.append(head)
            line = line[len(head):]
            length = len(line.encode())
        current += line
        size += length
    parts.append(current)
    return [part.rstrip("\n") for part in parts if part.strip()]


def _with_task_id(message: Message) -> Message:
    """A card gets a task_id of its own for every send (WeCom refuses one used before by the application)."""
    if message.get("msgtype") != "template_card":
        return message
    card = dict(message["template_card"])
    card["task_id"] = f"jl-{int(time.time())}-{secrets.token_hex(8)}"
    return {**message, "template_card": card}


class WeComSender:
    """The outbox's WeCom channel, for one self-built application.

    Outcomes: a frequency error (45009, 45011, 45033) is RetryAfter(60); an unknown member (60111), every
    recipient invalid (81013) or a member in `invaliduser` is Unreachable; network failures, timeouts, HTTP errors,
    "system busy" (-1), a token still refused after one renewal and a refused corp secret (logged as an error: it
    needs an operator) are Transient; any other errcode is Permanent. A reply of several messages is reported by
    its first failure (earlier parts may have arrived and are sent again on a retry).

    A local photo is uploaded once and its media_id reused for two days; anything else in `Reply.photo` or
    `Reply.voice` without a slash is taken for a WeCom media_id.
    """

    channel = CHANNEL

    def __init__(self, api: WeComApi, clock: Clock, per_second: float = DEFAULT_PER_SECOND) -> None:
        self._api = api
        self._clock = clock
        self._budget = MemberBudget(clock)
        self.limits = ChannelLimits(per_second=per_second, chat_interval=member_interval, batch=MAX_USERS_PER_SEND)
        self._uploads: dict[tuple[str, str, int, int], tuple[str, float]] = {}  # (kind, path, mtime, size)
        self._numbered: dict[str, tuple[Button, ...]] = {}  # lower-cased userid → choices of its latest message

    def numbered_choice(self, userid: str, text: str) -> str | None:
        """The token of the choice `text` names (its number, or its label) if the latest message delivered to
        `userid` listed its choices by number; else None."""
        listed = self._numbered.get(userid.lower())
        if not listed:
            return None
        typed = text.strip()
        for number, button in enumerate(listed, start=1):
            if typed in (str(number), button.label):
                return button.token
        return None

    def _remember(self, members: Sequence[str], listed: tuple[Button, ...]) -> dict[str, tuple[Button, ...]]:
        """`members` are about to be sent a message whose choices are `listed` by number (() if none are); what
        was remembered for them before. Done before the call, not after: a member may answer before WeCom's
        answer to the call is back."""
        earlier: dict[str, tuple[Button, ...]] = {}
        for userid in members:
            key = userid.lower()
            earlier[key] = self._numbered.pop(key, ())
            if listed:
                self._numbered[key] = listed
        while len(self._numbered) > _NUMBERED_KEPT:
            del self._numbered[next(iter(self._numbered))]
        return earlier

    def _unless_sent(self, results: Mapping[str, SendResult], listed: tuple[Button, ...],
                     earlier: Mapping[str, tuple[Button, ...]]) -> None:
        """Members the message did not reach keep what they were last shown (unless another send followed)."""
        for userid, result in results.items():
            key = userid.lower()
            if isinstance(result, Sent) or key not in earlier or self._numbered.get(key, ()) is not listed:
                continue
            self._numbered.pop(key, None)
            if earlier[key]:
                self._numbered[key] = earlier[key]

    async def send(self, chat_id: str, reply: Reply, replace: str = "") -> SendResult:
        return (await self.send_many([chat_id], reply))[chat_id]

    async def send_many(self, chat_ids: Sequence[str], reply: Reply) -> dict[str, SendResult]:
        """Send `reply` to every member in `chat_ids` (userids) with one message/send per 1000 members (per
        message of the reply); the outcome for each id given."""
        recipients = list(dict.fromkeys(chat_ids))
        results: dict[str, SendResult] = {
            userid: Permanent("malformed WeCom userid") for userid in recipients if not valid_userid(userid)}
        members = [userid for userid in recipients if userid not in results]
        if not members:
            return results
        try:
            messages = await self._render(reply)
        except WeComError as exc:
            failure = _failure(exc)
            return results | {userid: failure for userid in members}
        if not messages:
            return results | {userid: Permanent("nothing WeCom can show in this reply") for userid in members}
        buttons = tuple(button for row in reply.buttons for button in row)
        listed = buttons if buttons and not card_fits(reply.text, buttons) else ()
        for start in range(0, len(members), MAX_USERS_PER_SEND):
            chunk = members[start:start + MAX_USERS_PER_SEND]
            earlier = self._remember(chunk, listed)
            batch = await self._send_batch(chunk, messages)
            self._unless_sent(batch, listed, earlier)
            results.update(batch)
        return results

    async def _send_batch(self, members: list[str], messages: list[Message]) -> dict[str, SendResult]:
        results: dict[str, SendResult] = {}
        pending = members
        ref = ""
        for message in messages:
            pending, spent = await self._within_budget(pending)
            results |= spent
            if not pending:
                return results
            try:
                outcome = await self._api.send(pending, _with_task_id(message))
            except WeComError as exc:
                failure = _failure(exc)
                return results | {userid: failure for userid in pending}
            if not outcome.ok:
                failure = _failure_for(outcome.errcode, outcome.errmsg)
                return results | {userid: failure for userid in pending}
            invalid = {userid.lower() for userid in outcome.invalid_users}
            if invalid:
                gone = [userid for userid in pending if userid.lower() in invalid]
                results.update({userid: Unreachable("invaliduser: not in the application's range") for userid in gone})
                pending = [userid for userid in pending if userid.lower() not in invalid]
                if not pending:
                    return results
            self._budget.spend(pending)
            ref = outcome.msgid
        return results | {userid: Sent(ref) for userid in pending}

    async def _within_budget(self, members: list[str]) -> tuple[list[str], dict[str, SendResult]]:
        """The members one more message may go to now, after waiting up to a minute for one member's budget (a
        reply, a push); those whose budget is spent for longer, or any in a batch whose budget is spent now, are
        Transient (the outbox tries them again later)."""
        if len(members) == 1 and 0 < (delay := self._budget.wait(members[0])) <= MAX_BUDGET_WAIT:
            await self._clock.sleep(delay)
        spent: dict[str, SendResult] = {userid: Transient("member's message budget spent (30/min, 1000/h)")
                                        for userid in members if self._budget.wait(userid) > 0}
        return [userid for userid in members if userid not in spent], spent

    async def _render(self, reply: Reply) -> list[Message]:
        messages: list[Message] = []
        if reply.voice and (voice := await self._media_message("voice", reply.voice)):
            messages.append(voice)
        if reply.photo and (photo := await self._media_message("image", reply.photo)):
            messages.append(photo)
        if reply.document and (document := await self._media_message("file", reply.document)):
            messages.append(document)
        messages += compose(reply.text, [button for row in reply.buttons for button in row])
        return messages

    async def _media_message(self, kind: str, ref: str) -> Message | None:
        media_id = await self._media_id(kind, ref)
        return {"msgtype": kind, kind: {"media_id": media_id}} if media_id else None

    async def _media_id(self, kind: str, ref: str) -> str:
        """The media_id to send `ref` (a local file, uploaded; or a media_id) as; "" to send the reply without it."""
        path = Path(ref)
        status = await asyncio.to_thread(_file_stat, path)
        if status is None:
            if "/" in ref or os.sep in ref:
                log.warning("wecom: %s file %s is missing; sending the reply without it", kind, path.name)
                return ""
            return ref
        if kind == "voice" and path.suffix.lower() != ".amr":
            log.info("wecom: a %s voice note cannot be played on WeCom (AMR only); sending the text only", path.suffix)
            return ""
        key = (kind, str(path), status.st_mtime_ns, status.st_size)
        now = time.monotonic()
        cached = self._uploads.get(key)
        if cached is not None and now - cached[1] < _UPLOAD_TTL:
            return cached[0]
        try:
            media_id = await self._api.upload(kind, path)
        except WeComApiError as exc:
            if isinstance(exc, WeComAuthError) or not _degradable(exc.errcode):
                raise
            log.warning("wecom: %s upload refused (errcode %d); sending the reply without it", kind, exc.errcode)
            return ""
        if len(self._uploads) >= _UPLOADS_KEPT:
            self._uploads.clear()
        self._uploads[key] = (media_id, now)
        return media_id


def _file_stat(path: Path) -> os.stat_result | None:
    """The status of the regular file at `path`, or None if there is none."""
    try:
        status = path.stat()
    except (OSError, ValueError):
        return None
    return status if stat.S_ISREG(status.st_mode) else None


def _degradable(errcode: int) -> bool:
    """Whether an upload refused with `errcode` is better left out than retried (a bad file, not a busy server)."""
    return errcode not in FREQUENCY_ERRORS and errcode not in TOKEN_ERRORS and errcode != SYSTEM_BUSY


def _failure(exc: WeComError) -> SendResult:
    match exc:
        case WeComAuthError():
            log.error("WeCom refused the corp id / secret (errcode %d); messages wait until it is fixed", exc.errcode)
            return Transient(f"gettoken refused: errcode {exc.errcode}")
        case WeComApiError():
            return _failure_for(exc.errcode, exc.errmsg)
        case WeComUnavailable():
            return Transient(str(exc))
        case _:
            return Transient(type(exc).__name__)


def _failure_for(errcode: int, errmsg: str) -> SendResult:
    description = f"errcode {errcode}: {errmsg}"
    if errcode in FREQUENCY_ERRORS:
        return RetryAfter(RATE_LIMIT_PAUSE)
    if errcode in UNREACHABLE_ERRORS:
        return Unreachable(description)
    if errcode in TOKEN_ERRORS or errcode == SYSTEM_BUSY:
        return Transient(description)
    return Permanent(description)
