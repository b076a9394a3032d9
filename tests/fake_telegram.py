"""A fake Telegram Bot API server for tests.

The real python-telegram-bot ``Bot``/``Application`` talks HTTP to it over 127.0.0.1::

    async with FakeTelegramServer() as server:
        app = (
            ApplicationBuilder().token("123:abc")
            .base_url(server.base_url).base_file_url(server.base_file_url).build()
        )

Requests are accepted the way Telegram accepts them: JSON body, urlencoded form or multipart form
(PTB sends a urlencoded form, or multipart when uploading, with every non-string value JSON-encoded),
and answered with Telegram's ``{"ok": ..., "result"/"error_code"/"description"}`` envelope.
Tests inject updates with ``push_*``, inspect ``calls``/``sent``/``edits`` and await the
``wait_for_*`` helpers, which are woken by the server itself (no sleep-polling).
"""

from __future__ import annotations

import asyncio
import copy
import html
import itertools
import json
import math
import re
import time
from collections import Counter, defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, ClientSession, web

from tests.loopback import LoopbackServer

JSONDict = dict[str, Any]
Handler = Callable[[JSONDict], Awaitable[Any]]

BOT_ID = 7000001
BOT_USERNAME = "jinlin_test_bot"
BOT_FIRST_NAME = "Jinlin"
BOT_USER: JSONDict = {"id": BOT_ID, "is_bot": True, "first_name": BOT_FIRST_NAME, "username": BOT_USERNAME}

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
POLL_CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
)
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
SET_WEBHOOK_CONFLICT = "Conflict: terminated by setWebhook request"
BLOCKED = "Forbidden: bot was blocked by the user"
QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
TOO_MANY = "Too Many Requests: retry after {}"

_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
# Update types Telegram withholds unless explicitly listed in allowed_updates.
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
# Methods addressed to a chat: these fail with 403 once the chat's user has blocked the bot.
_CHAT_METHODS = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendVoice",
        "sendChatAction",
        "editMessageText",
        "editMessageReplyMarkup",
    }
)
# Methods that send a message: these count against the limits of enforce_limits().
_SEND_METHODS = frozenset({"sendMessage", "sendPhoto", "sendDocument", "sendVoice"})
# Form values are strings; these parameters are decoded back into their Bot API types.
_JSON_FIELDS = frozenset(
    {
        "reply_markup", "commands", "allowed_updates", "scope", "menu_button", "entities",
        "caption_entities", "link_preview_options", "reply_parameters", "media",
    }
)  # fmt: skip
_INT_FIELDS = frozenset(
    {
        "chat_id", "message_id", "offset", "limit", "user_id", "reply_to_message_id", "max_connections",
        "cache_time", "message_thread_id", "from_chat_id", "duration",
    }
)  # fmt: skip
_FLOAT_FIELDS = frozenset({"timeout", "latitude", "longitude"})
_BOOL_FIELDS = frozenset(
    {
        "drop_pending_updates", "disable_notification", "show_alert", "protect_content",
        "disable_web_page_preview", "allow_sending_without_reply", "disable_content_type_detection",
        "has_spoiler", "show_caption_above_media",
    }
)  # fmt: skip
_INT_RE = re.compile(r"-?\d+")
_COMMAND_RE = re.compile(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?=\s|$)")
_BOT_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
_HTML_TAG_RE = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)(\s[^<>]*)?>")
_HTML_TAGS = frozenset(
    {
        "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a", "code",
        "pre", "blockquote", "tg-emoji", "tg-time",
    }
)  # fmt: skip
_PLACEHOLDER_JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00fake-jpeg\xff\xd9"


class ApiError(Exception):
    """A Bot API error answer: HTTP status, description and optional ``parameters``."""

    def __init__(self, status: int, description: str, parameters: JSONDict | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def response(self) -> web.Response:
        """The error envelope Telegram answers with."""
        body: JSONDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return web.json_response(body, status=self.status)


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


@dataclass(slots=True)
class UploadedFile:
    """A file part of a multipart request."""

    field_name: str
    filename: str
    content_type: str
    data: bytes = field(repr=False)

    @property
    def size(self) -> int:
        """Length of the uploaded content in bytes."""
        return len(self.data)


@dataclass(slots=True)
class Call:
    """One Bot API request as received (``status`` is filled in once answered; None if abandoned)."""

    method: str
    params: JSONDict
    at: float
    content_type: str = ""
    status: int | None = None


@dataclass(slots=True)
class SentMessage:
    """A message the bot sent; ``text`` is the text or caption exactly as the bot sent it."""

    message_id: int
    chat_id: int
    text: str | None
    reply_markup: JSONDict | None
    method: str
    at: float
    parse_mode: str | None = None
    file: UploadedFile | None = None
    file_id: str | None = None
    payload: JSONDict = field(default_factory=dict, repr=False)  # the Message object given to the bot

    @property
    def visible_text(self) -> str | None:
        """The text or caption as the user sees it (HTML markup parsed away)."""
        return self.payload.get("text", self.payload.get("caption"))


@dataclass(slots=True)
class Edit:
    """A successful editMessageText / editMessageReplyMarkup."""

    method: str
    chat_id: int
    message_id: int
    text: str | None
    reply_markup: JSONDict | None
    at: float


@dataclass(slots=True)
class _Failure:
    status: int
    description: str
    retry_after: int | None
    remaining: int
    chat_id: int | None


class _Limits:
    """Telegram's flood control, measured on the server's side by its clock (real time unless told otherwise).

    Overall: at most ``per_second`` sends in any window of ``window`` seconds (one second; longer only below one
    message a second, so that at least one send fits), i.e. a sliding window that never lets a burst above the
    rate through. Per chat: two sends to one chat at least ``per_chat_interval`` seconds apart.
    """

    def __init__(self, per_second: float, per_chat_interval: float, retry_after: int) -> None:
        if per_second <= 0 or per_chat_interval < 0 or retry_after < 1:
            raise ValueError("need per_second > 0, per_chat_interval >= 0 and retry_after >= 1")
        self.per_second = per_second
        self.per_chat_interval = per_chat_interval
        self.retry_after = retry_after
        self.window = max(1.0, 1.0 / per_second)
        self.capacity = max(1, math.floor(per_second * self.window + 1e-9))
        self._accepted: deque[float] = deque()  # times of the sends inside the current window
        self._chat_last: dict[Any, float] = {}

    def admit(self, chat_id: Any, now: float) -> bool:
        """True (and the send takes its slot) if a send to ``chat_id`` at ``now`` stays within the limits."""
        accepted = self._accepted
        while accepted and accepted[0] <= now - self.window:
            accepted.popleft()
        last = self._chat_last.get(chat_id)
        if len(accepted) >= self.capacity or (last is not None and now - last < self.per_chat_interval):
            return False
        accepted.append(now)
        self._chat_last[chat_id] = now
        return True


@dataclass(slots=True)
class _StoredFile:
    file_id: str
    unique_id: str
    path: str
    data: bytes = field(repr=False)


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _inline(markup: JSONDict | None) -> JSONDict | None:
    """The part of a reply markup Telegram keeps on a message (inline keyboards only)."""
    return markup if markup and "inline_keyboard" in markup else None


def _html_text(text: str) -> str:
    """Visible text of a Telegram-HTML message; raises like Telegram on malformed markup."""
    out: list[str] = []
    stack: list[str] = []
    pos = 0
    while (lt := text.find("<", pos)) != -1:
        out.append(text[pos:lt])
        offset = len(text[:lt].encode())
        match = _HTML_TAG_RE.match(text, lt)
        if match is None:
            raise _bad(f'can\'t parse entities: Unsupported start tag "" at byte offset {offset}')
        closing, name = match.group(1) == "/", match.group(2).lower()
        if name not in _HTML_TAGS:
            kind = "end" if closing else "start"
            raise _bad(f'can\'t parse entities: Unsupported {kind} tag "{name}" at byte offset {offset}')
        if not closing:
            stack.append(name)
        elif stack and stack[-1] == name:
            stack.pop()
        else:
            expected = f"</{stack[-1]}>" if stack else "nothing"
            raise _bad(
                f'can\'t parse entities: Unmatched end tag at byte offset {offset}, expected "{expected}", '
                f'found "</{name}>"'
            )
        pos = match.end()
    if stack:
        raise _bad(f"can't parse entities: Can't find end tag corresponding to start tag \"{stack[-1]}\"")
    out.append(text[pos:])
    return html.unescape("".join(out))


class FakeTelegramServer(LoopbackServer):
    """In-process fake of the Telegram Bot API (long polling, webhooks, messages, failures)."""

    def __init__(self, *, token: str | None = None, rate_limit: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """Accept any bot token, or only ``token`` (others get 401 Unauthorized) if given.

        ``rate_limit``: enforce Telegram's limits at that many messages per second (see :meth:`enforce_limits`).
        ``clock``: seconds, for the limits and the times calls are recorded at (real time by default).
        """
        super().__init__()
        self.token = token
        self._now = clock
        self.calls: list[Call] = []
        self.sent: list[SentMessage] = []
        self.edits: list[Edit] = []
        self.uploads: list[UploadedFile] = []
        self.webhook_url: str | None = None
        self.webhook_secret: str | None = None
        self.allowed_updates: list[str] | None = None
        self.commands: dict[tuple[str, str], list[JSONDict]] = {}  # (scope key, language_code) -> commands
        self.menu_buttons: dict[int | None, JSONDict] = {}  # chat_id (None: default) -> menu button
        self.too_many = 0  # 429 answers given (by enforce_limits() or fail_next())
        self.delivered: Counter[int] = Counter()  # chat_id -> messages successfully sent to it
        self._limits: _Limits | None = None
        self._calls_by_method: defaultdict[str, list[Call]] = defaultdict(list)
        self._sent_by_chat: defaultdict[int, list[SentMessage]] = defaultdict(list)
        self._messages: dict[tuple[int, int], SentMessage] = {}
        self._last_message_id: defaultdict[int, int] = defaultdict(int)
        self._updates: deque[JSONDict] = deque()
        self._last_update_id = 0
        self._pending_poll: asyncio.Future[str] | None = None
        self._failures: defaultdict[str, list[_Failure]] = defaultdict(list)
        self._delays: dict[str, float] = {}
        self._blocked: set[int] = set()
        self._open_callbacks: set[str] = set()
        self._files: dict[str, _StoredFile] = {}
        self._file_paths: dict[str, _StoredFile] = {}
        self._users: dict[int, JSONDict] = {}
        self._ids = itertools.count(1)
        self._tick = asyncio.Event()
        self._closing = False
        self._received_at = 0.0
        self._methods: dict[str, tuple[str, Handler]] = {
            name.lower(): (name, handler)
            for name, handler in (
                ("getMe", self._get_me),
                ("getUpdates", self._get_updates),
                ("setWebhook", self._set_webhook),
                ("deleteWebhook", self._delete_webhook),
                ("getWebhookInfo", self._get_webhook_info),
                ("setMyCommands", self._set_my_commands),
                ("getMyCommands", self._get_my_commands),
                ("deleteMyCommands", self._delete_my_commands),
                ("setChatMenuButton", self._set_chat_menu_button),
                ("sendMessage", self._send_message),
                ("editMessageText", self._edit_message_text),
                ("editMessageReplyMarkup", self._edit_message_reply_markup),
                ("answerCallbackQuery", self._answer_callback_query),
                ("sendPhoto", self._send_photo),
                ("sendDocument", self._send_document),
                ("sendVoice", self._send_voice),
                ("sendChatAction", self._send_chat_action),
                ("getFile", self._get_file),
                ("close", self._true),
                ("logOut", self._true),
            )
        }
        if rate_limit is not None:
            self.enforce_limits(rate_limit)

    # ----------------------------------------------------------------------------------- lifecycle

    def routes(self, router: web.UrlDispatcher) -> None:
        router.add_route("*", "/bot{token}/{method}", self._handle)
        router.add_get("/file/bot{token}/{path:.+}", self._handle_file)

    async def stop(self) -> None:
        """Answer pending long polls and delayed calls, then shut the server down."""
        self._closing = True
        self._notify()
        await super().stop()

    @property
    def base_url(self) -> str:
        """Value for ``ApplicationBuilder.base_url`` (PTB appends the token)."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """Value for ``ApplicationBuilder.base_file_url`` (PTB appends the token)."""
        return f"http://127.0.0.1:{self.port}/file/bot"

    # -------------------------------------------------------------------------------------- HTTP

    async def _handle(self, request: web.Request) -> web.Response:
        if self.token is not None and request.match_info["token"] != self.token:
            return ApiError(401, "Unauthorized").response()
        name = request.match_info["method"]
        entry = self._methods.get(name.lower())
        parse_error: ApiError | None = None
        try:
            params = await self._read_params(request)
        except ApiError as error:
            params, parse_error = {}, error
        call = Call(entry[0] if entry else name, params, self._now(), request.content_type)
        self.calls.append(call)
        self._calls_by_method[call.method].append(call)
        self._notify()
        try:
            if entry is None:
                raise ApiError(404, "Not Found")
            if parse_error is not None:
                raise parse_error
            if seconds := self._delays.get(call.method):
                await self._sleep(seconds)
            self._check_failures(call)
            chat_id = params.get("chat_id")
            self._check_limits(call)
            if call.method in _CHAT_METHODS and isinstance(chat_id, int) and chat_id in self._blocked:
                raise ApiError(403, BLOCKED)
            # Send handlers store the message before their first await, so this is their call's time.
            self._received_at = call.at
            response = web.json_response({"ok": True, "result": await entry[1](params)})
        except ApiError as error:
            response = error.response()
        call.status = response.status
        if response.status == 429:
            self.too_many += 1
        self._notify()
        return response

    async def _handle_file(self, request: web.Request) -> web.Response:
        if self.token is not None and request.match_info["token"] != self.token:
            return ApiError(401, "Unauthorized").response()
        stored = self._file_paths.get(request.match_info["path"])
        if stored is None:
            return ApiError(404, "Not Found").response()
        return web.Response(body=stored.data, content_type="application/octet-stream")

    async def _read_params(self, request: web.Request) -> JSONDict:
        params: JSONDict = dict(request.query)
        ctype = request.content_type
        if ctype == "application/json":
            try:
                body = await request.json()
            except ValueError as error:
                raise _bad("can't parse JSON object") from error
            if isinstance(body, dict):
                params.update(body)
        elif ctype == "multipart/form-data":
            async for part in await request.multipart():
                if not isinstance(part, BodyPartReader) or part.name is None:
                    continue
                if part.filename is not None:
                    upload = UploadedFile(
                        part.name,
                        part.filename,
                        part.headers.get("Content-Type", "application/octet-stream"),
                        bytes(await part.read()),
                    )
                    self.uploads.append(upload)
                    params[part.name] = upload
                else:
                    params[part.name] = await part.text()
        elif ctype == "application/x-www-form-urlencoded":
            params.update(await request.post())
        return {key: self._decode(key, value) for key, value in params.items()}

    @staticmethod
    def _decode(key: str, value: Any) -> Any:
        """Turn a (form) string back into the Bot API type of parameter ``key``."""
        if not isinstance(value, str):
            return value
        if key in _JSON_FIELDS:
            try:
                return json.loads(value)
            except ValueError as error:
                raise _bad(f"can't parse {key} JSON object") from error
        if key in _INT_FIELDS and _INT_RE.fullmatch(value):
            return int(value)
        if key in _FLOAT_FIELDS:
            try:
                return float(value)
            except ValueError:
                return value
        if key in _BOOL_FIELDS:
            return value.lower() in ("true", "1")
        return value

    # ------------------------------------------------------------------------- waking and waiting

    def _notify(self) -> None:
        """Wake everything waiting for a state change (long polls, ``wait_for_*``)."""
        self._tick.set()
        self._tick = asyncio.Event()

    async def _wait_tick(self, seconds: float) -> bool:
        tick = self._tick
        try:
            async with asyncio.timeout(seconds):
                await tick.wait()
        except TimeoutError:
            return False
        return True

    async def _sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` (a simulated slow answer), cut short when the server stops."""
        deadline = asyncio.get_running_loop().time() + seconds
        while not self._closing:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return
            await self._wait_tick(remaining)

    async def wait_until(
        self, predicate: Callable[[], bool], seconds: float, describe: Callable[[], str]
    ) -> None:
        deadline = asyncio.get_running_loop().time() + seconds
        while not predicate():
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0 or not await self._wait_tick(remaining):
                if predicate():
                    return
                raise AssertionError(describe())

    async def wait_for_sent(
        self,
        count: int,
        *,
        chat_id: int | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[SentMessage]:
        """Wait until at least ``count`` messages were sent (to ``chat_id``); return them."""

        def messages() -> list[SentMessage]:
            return self.sent if chat_id is None else self._sent_by_chat.get(chat_id, [])

        def describe() -> str:
            got = messages()
            where = "" if chat_id is None else f" to chat {chat_id}"
            lines = [f"expected {count} message(s){where} within {timeout}s, got {len(got)}:"]
            lines += [f"  {m.method} chat={m.chat_id} id={m.message_id}: {m.text!r}" for m in got[-20:]]
            others = [m for m in self.sent[-20:] if chat_id is not None and m.chat_id != chat_id]
            lines += [f"  (other chat) {m.method} chat={m.chat_id}: {m.text!r}" for m in others]
            failed = [c for c in self.calls[-20:] if c.status not in (200, None)]
            lines += [f"  failed call {c.method} -> {c.status}: {c.params}" for c in failed]
            return "\n".join(lines)

        await self.wait_until(lambda: len(messages()) >= count, timeout, describe)
        return list(messages())

    async def wait_for_calls(
        self,
        method: str,
        count: int,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[Call]:
        """Wait until at least ``count`` calls of ``method`` were received; return them."""
        name = self._canonical(method)
        calls = self._calls_by_method[name]

        def describe() -> str:
            seen = sorted({c.method for c in self.calls})
            return (
                f"expected {count} {name} call(s) within {timeout}s, got {len(calls)}; methods seen: {seen}"
            )

        await self.wait_until(lambda: len(calls) >= count, timeout, describe)
        return list(calls)

    # ----------------------------------------------------------------------------------- accessors

    def calls_of(self, method: str) -> list[Call]:
        """All recorded calls of ``method`` (any case; unknown names as sent), oldest first."""
        entry = self._methods.get(method.lower())
        return list(self._calls_by_method.get(entry[0] if entry else method, ()))

    def messages_to(self, chat_id: int) -> list[SentMessage]:
        """Messages successfully sent to ``chat_id``, oldest first."""
        return list(self._sent_by_chat.get(chat_id, ()))

    def last_to(self, chat_id: int) -> SentMessage:
        """The latest message sent to ``chat_id`` (AssertionError if there is none)."""
        messages = self._sent_by_chat.get(chat_id)
        if not messages:
            raise AssertionError(f"no message was sent to chat {chat_id}")
        return messages[-1]

    @staticmethod
    def buttons(message: SentMessage | JSONDict | None) -> list[tuple[str, str]]:
        """(label, callback_data) of every keyboard button, row by row (url for url buttons)."""
        markup = message.reply_markup if isinstance(message, SentMessage) else message
        if not markup:
            return []
        rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
        result: list[tuple[str, str]] = []
        for row in rows:
            for button in row:
                if isinstance(button, str):
                    result.append((button, ""))
                else:
                    result.append(
                        (button.get("text", ""), button.get("callback_data") or button.get("url", ""))
                    )
        return result

    @property
    def pending_updates(self) -> list[JSONDict]:
        """Updates not yet confirmed by an offset (delivered or not)."""
        return list(self._updates)

    # ---------------------------------------------------------------------------- failure control

    def _canonical(self, method: str) -> str:
        entry = self._methods.get(method.lower())
        if entry is None:
            raise ValueError(f"unknown Bot API method {method!r}")
        return entry[0]

    def fail_next(
        self,
        method: str,
        *,
        status: int,
        description: str | None = None,
        retry_after: int | None = None,
        count: int = 1,
        chat_id: int | None = None,
    ) -> None:
        """Make the next ``count`` calls of ``method`` (to ``chat_id``, if given) fail with ``status``.

        429 answers carry ``parameters.retry_after`` (default 1), which PTB turns into RetryAfter.
        """
        if status == 429 and retry_after is None:
            retry_after = 1
        if description is None:
            if status == 429:
                description = f"Too Many Requests: retry after {retry_after}"
            else:
                description = _DEFAULT_DESCRIPTIONS.get(status, "Error")
        self._failures[self._canonical(method)].append(
            _Failure(status, description, retry_after, count, chat_id)
        )

    def _check_failures(self, call: Call) -> None:
        rules = self._failures.get(call.method)
        if not rules:
            return
        for rule in rules:
            if rule.chat_id is None or rule.chat_id == call.params.get("chat_id"):
                rule.remaining -= 1
                if rule.remaining <= 0:
                    rules.remove(rule)
                parameters = {"retry_after": rule.retry_after} if rule.retry_after is not None else None
                raise ApiError(rule.status, rule.description, parameters)

    def enforce_limits(self, per_second: float, per_chat_interval: float = 1.0, retry_after: int = 1) -> None:
        """Answer sends beyond Telegram's limits with 429 "Too Many Requests: retry after N", as Telegram does.

        A send (sendMessage, sendPhoto, sendDocument, sendVoice) is refused if ``per_second`` sends were already
        accepted in the last second (a sliding window: no burst above the rate), or if the last accepted send to
        the same chat is less than ``per_chat_interval`` seconds old. A refused send is not recorded as sent
        and takes no slot; its answer carries ``parameters.retry_after`` = ``retry_after``. Every accepted send
        takes a slot, whatever its outcome after that. Time is the server's clock (real by default), read when the
        call is handled. Off by default; calling this again replaces the limits and forgets the sends counted so far.
        """
        self._limits = _Limits(per_second, per_chat_interval, retry_after)

    def _check_limits(self, call: Call) -> None:
        if self._limits is None or call.method not in _SEND_METHODS:
            return
        if not self._limits.admit(call.params.get("chat_id"), self._now()):
            seconds = self._limits.retry_after
            raise ApiError(429, TOO_MANY.format(seconds), {"retry_after": seconds})

    def duplicates(self) -> dict[int, int]:
        """Chats that received more than one message, with how many they received."""
        return {chat: count for chat, count in self.delivered.items() if count > 1}

    def block(self, chat_id: int) -> None:
        """Every send/edit to ``chat_id`` now fails with 403 "Forbidden: bot was blocked by the user"."""
        self._blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        """Undo :meth:`block`."""
        self._blocked.discard(chat_id)

    def delay(self, method: str, seconds: float) -> None:
        """Hold every answer to ``method`` for ``seconds`` before handling it (0 clears).

        A client that times out meanwhile disconnects and the call is then not processed.
        """
        name = self._canonical(method)
        if seconds > 0:
            self._delays[name] = seconds
        else:
            self._delays.pop(name, None)

    # ---------------------------------------------------------------------------------- injection

    def push_update(self, update: JSONDict) -> int:
        """Queue a raw update for getUpdates (``update_id`` is assigned if missing); return its id."""
        update = dict(update)
        update_id = update.setdefault("update_id", self._last_update_id + 1)
        if update_id <= self._last_update_id:
            raise ValueError(f"update_id {update_id} must be greater than {self._last_update_id}")
        self._last_update_id = update_id
        self._updates.append(update)
        self._notify()
        return int(update_id)

    def _user(self, user_id: int, first_name: str, language_code: str) -> JSONDict:
        user = {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": language_code}
        self._users[user_id] = user
        return user

    def _user_message(self, user_id: int, first_name: str, language_code: str, **content: Any) -> JSONDict:
        return {
            "message_id": self._new_message_id(user_id),
            "from": self._user(user_id, first_name, language_code),
            "chat": {"id": user_id, "type": "private", "first_name": first_name},
            "date": int(time.time()),
            **content,
        }

    def text_update(
        self, user_id: int, text: str, *, first_name: str = "居民", language_code: str = "zh-hans"
    ) -> JSONDict:
        """A private-chat text message update (no ``update_id``); commands get a bot_command entity."""
        content: JSONDict = {"text": text}
        if match := _COMMAND_RE.match(text):
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": _utf16_len(match.group())}]
        return {"message": self._user_message(user_id, first_name, language_code, **content)}

    def push_text(
        self, user_id: int, text: str, *, first_name: str = "居民", language_code: str = "zh-hans"
    ) -> int:
        """Queue a private text message from ``user_id``; return the update_id."""
        return self.push_update(
            self.text_update(user_id, text, first_name=first_name, language_code=language_code)
        )

    def callback_update(
        self,
        user_id: int,
        data: str,
        *,
        message_id: int | None = None,
        first_name: str = "居民",
        language_code: str = "zh-hans",
    ) -> JSONDict:
        """A button press on the bot's last message to ``user_id`` (or on ``message_id``)."""
        if message_id is None:
            messages = self._sent_by_chat.get(user_id)
            if not messages:
                raise LookupError(f"the bot has sent no message to chat {user_id} to press a button on")
            message = messages[-1]
        elif (found := self._messages.get((user_id, message_id))) is not None:
            message = found
        else:
            raise LookupError(f"the bot has sent no message {message_id} to chat {user_id}")
        query_id = str(4_000_000_000_000_000 + next(self._ids))
        self._open_callbacks.add(query_id)
        query = {
            "id": query_id,
            "from": self._user(user_id, first_name, language_code),
            "message": copy.deepcopy(message.payload),
            "chat_instance": str(-1_000_000_000 - user_id),
            "data": data,
        }
        return {"callback_query": query}

    def push_callback(
        self,
        user_id: int,
        data: str,
        *,
        message_id: int | None = None,
        first_name: str = "居民",
        language_code: str = "zh-hans",
    ) -> int:
        """Queue a callback_query on the bot's last message to ``user_id`` (or ``message_id``)."""
        update = self.callback_update(
            user_id, data, message_id=message_id, first_name=first_name, language_code=language_code
        )
        return self.push_update(update)

    def photo_update(
        self,
        user_id: int,
        *,
        caption: str = "",
        data: bytes | None = None,
        first_name: str = "居民",
        language_code: str = "zh-hans",
    ) -> JSONDict:
        """A private photo message (three sizes, all downloadable via getFile) from ``user_id``."""
        content: JSONDict = {"photo": self._photo_sizes(data if data is not None else _PLACEHOLDER_JPEG)}
        if caption:
            content["caption"] = caption
        return {"message": self._user_message(user_id, first_name, language_code, **content)}

    def push_photo(
        self,
        user_id: int,
        *,
        caption: str = "",
        data: bytes | None = None,
        first_name: str = "居民",
        language_code: str = "zh-hans",
    ) -> int:
        """Queue a photo message from ``user_id``; ``data`` is what downloading it returns."""
        return self.push_update(
            self.photo_update(
                user_id, caption=caption, data=data, first_name=first_name, language_code=language_code
            )
        )

    def push_voice(
        self,
        user_id: int,
        *,
        duration: int = 3,
        data: bytes = b"OggS-fake-voice",
        first_name: str = "居民",
        language_code: str = "zh-hans",
    ) -> int:
        """Queue a voice message from ``user_id``."""
        stored = self._store_file("voice", data, ".oga")
        voice = {
            "file_id": stored.file_id,
            "file_unique_id": stored.unique_id,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": len(data),
        }
        return self.push_update(
            {"message": self._user_message(user_id, first_name, language_code, voice=voice)}
        )

    def push_document(
        self,
        user_id: int,
        data: bytes,
        *,
        file_name: str = "file.bin",
        mime_type: str = "application/octet-stream",
        caption: str = "",
        first_name: str = "居民",
        language_code: str = "zh-hans",
    ) -> int:
        """Queue a document message from ``user_id`` (e.g. a photo sent as a file) that downloads as ``data``."""
        stored = self._store_file("documents", data, "")
        document = {
            "file_id": stored.file_id,
            "file_unique_id": stored.unique_id,
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": len(data),
        }
        content: JSONDict = {"document": document}
        if caption:
            content["caption"] = caption
        return self.push_update(
            {"message": self._user_message(user_id, first_name, language_code, **content)}
        )

    def push_sticker(
        self, user_id: int, *, emoji: str = "👍", first_name: str = "居民", language_code: str = "zh-hans"
    ) -> int:
        """Queue a (static, regular) sticker message from ``user_id``."""
        data = b"RIFF-fake-webp"
        stored = self._store_file("stickers", data, ".webp")
        sticker = {
            "file_id": stored.file_id,
            "file_unique_id": stored.unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "file_size": len(data),
        }
        return self.push_update(
            {"message": self._user_message(user_id, first_name, language_code, sticker=sticker)}
        )

    def push_location(
        self,
        user_id: int,
        lat: float,
        lon: float,
        *,
        first_name: str = "居民",
        language_code: str = "zh-hans",
    ) -> int:
        """Queue a location message from ``user_id``."""
        location = {"latitude": lat, "longitude": lon}
        return self.push_update(
            {"message": self._user_message(user_id, first_name, language_code, location=location)}
        )

    async def post_webhook(self, update: JSONDict, *, wrong_secret: bool = False) -> int:
        """POST ``update`` to the webhook with the secret header (or a wrong one); return the HTTP status."""
        if self.webhook_url is None:
            raise RuntimeError("no webhook is registered; the bot must call setWebhook first")
        update = dict(update)
        if "update_id" not in update:
            self._last_update_id += 1
            update["update_id"] = self._last_update_id
        headers: dict[str, str] = {}
        secret = (self.webhook_secret or "") + "-wrong" if wrong_secret else self.webhook_secret
        if secret:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        async with (
            ClientSession() as session,
            session.post(self.webhook_url, json=update, headers=headers) as reply,
        ):
            await reply.read()
            return reply.status

    # ---------------------------------------------------------------------------------- internals

    def _new_message_id(self, chat_id: int) -> int:
        self._last_message_id[chat_id] += 1
        return self._last_message_id[chat_id]

    def _store_file(self, folder: str, data: bytes, suffix: str) -> _StoredFile:
        n = next(self._ids)
        stored = _StoredFile(f"AgACAgFake{n:010d}", f"AQADFake{n:08d}", f"{folder}/file_{n}{suffix}", data)
        self._files[stored.file_id] = stored
        self._file_paths[stored.path] = stored
        return stored

    def _photo_sizes(self, data: bytes) -> list[JSONDict]:
        sizes = []
        for side in (90, 320, 1280):
            stored = self._store_file("photos", data, ".jpg")
            sizes.append(
                {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.unique_id,
                    "file_size": len(data),
                    "width": side,
                    "height": side,
                }
            )
        return sizes

    def _chat(self, chat_id: int) -> JSONDict:
        if chat_id > 0:
            first_name = self._users.get(chat_id, {}).get("first_name", "居民")
            return {"id": chat_id, "type": "private", "first_name": first_name}
        kind = "supergroup" if str(chat_id).startswith("-100") else "group"
        return {"id": chat_id, "type": kind, "title": "Test group"}

    @staticmethod
    def _chat_id(params: JSONDict) -> int:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise _bad("chat_id is empty")
        if not isinstance(chat_id, int) or isinstance(chat_id, bool):
            raise _bad("chat not found")
        return chat_id

    @staticmethod
    def _check_text(params: JSONDict, key: str, *, required: bool) -> str | None:
        """Validate text/caption like Telegram (length counted after HTML parsing, in UTF-16 units)."""
        text = params.get(key)
        if text is None and not required:
            return None
        text = "" if text is None else str(text)
        parse_mode = str(params.get("parse_mode") or "")
        visible = _html_text(text) if parse_mode.lower() == "html" else text
        if required and not visible.strip():
            raise _bad("message text is empty")
        if key == "text" and _utf16_len(visible) > MAX_TEXT:
            raise _bad("message is too long")
        if key == "caption" and _utf16_len(visible) > MAX_CAPTION:
            raise _bad("message caption is too long")
        return text

    @staticmethod
    def _check_markup(params: JSONDict) -> JSONDict | None:
        markup = params.get("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        rows = markup.get("inline_keyboard")
        if rows is not None:
            if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
                raise _bad('field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays')
            for row in rows:
                for button in row:
                    data = button.get("callback_data") if isinstance(button, dict) else None
                    if data is not None and len(str(data).encode()) > MAX_CALLBACK_DATA:
                        raise _bad("BUTTON_DATA_INVALID")
        return markup

    def _visible(self, text: str, params: JSONDict) -> str:
        return _html_text(text) if str(params.get("parse_mode") or "").lower() == "html" else text

    def _store_sent(
        self,
        method: str,
        chat_id: int,
        params: JSONDict,
        text: str | None,
        markup: JSONDict | None,
        content: JSONDict,
        *,
        file: UploadedFile | None = None,
        file_id: str | None = None,
    ) -> JSONDict:
        message_id = self._new_message_id(chat_id)
        payload: JSONDict = {
            "message_id": message_id,
            "from": BOT_USER,
            "chat": self._chat(chat_id),
            "date": int(time.time()),
            **content,
        }
        if (inline := _inline(markup)) is not None:
            payload["reply_markup"] = inline
        parse_mode = params.get("parse_mode")
        message = SentMessage(
            message_id, chat_id, text, markup, method, self._received_at, parse_mode, file, file_id, payload
        )
        self.sent.append(message)
        self._sent_by_chat[chat_id].append(message)
        self.delivered[chat_id] += 1
        self._messages[(chat_id, message_id)] = message
        return payload

    def _find_message(self, params: JSONDict) -> SentMessage:
        if "inline_message_id" in params:
            raise _bad("message to edit not found")
        chat_id = self._chat_id(params)
        message_id = params.get("message_id")
        if not isinstance(message_id, int):
            raise _bad("message identifier is not specified")
        message = self._messages.get((chat_id, message_id))
        if message is None:
            raise _bad("message to edit not found")
        return message

    def _record_edit(self, method: str, message: SentMessage) -> JSONDict:
        message.payload["edit_date"] = int(time.time())
        if (inline := _inline(message.reply_markup)) is not None:
            message.payload["reply_markup"] = inline
        else:
            message.payload.pop("reply_markup", None)
        self.edits.append(
            Edit(
                method,
                message.chat_id,
                message.message_id,
                message.text,
                message.reply_markup,
                self._now(),
            )
        )
        return message.payload

    def _resolve_file(
        self, params: JSONDict, key: str, folder: str, suffix: str
    ) -> tuple[_StoredFile, UploadedFile | None]:
        value = params.get(key)
        if isinstance(value, UploadedFile):
            return self._store_file(folder, value.data, suffix), value
        if isinstance(value, str) and value:
            if value in self._files:
                return self._files[value], None
            if value.startswith(("http://", "https://")):
                return self._store_file(folder, b"", suffix), None
            raise _bad("wrong file identifier/HTTP URL specified")
        raise _bad(f"there is no {key} in the request")

    # ------------------------------------------------------------------------------------ methods

    async def _true(self, params: JSONDict) -> bool:
        return True

    async def _get_me(self, params: JSONDict) -> JSONDict:
        return {
            **BOT_USER,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _deliverable(self, update: JSONDict) -> bool:
        kind = next((key for key in update if key != "update_id"), "")
        if self.allowed_updates:
            return kind in self.allowed_updates
        return kind not in _OPT_IN_UPDATES

    def _batch(self, limit: int) -> list[JSONDict]:
        batch: list[JSONDict] = []
        for update in self._updates:
            if self._deliverable(update):
                batch.append(update)
                if len(batch) >= limit:
                    break
        return batch

    async def _get_updates(self, params: JSONDict) -> list[JSONDict]:
        if self.webhook_url:
            raise ApiError(409, WEBHOOK_CONFLICT)
        offset = params.get("offset")
        if isinstance(offset, int) and offset > 0:
            while self._updates and self._updates[0]["update_id"] < offset:
                self._updates.popleft()
        elif isinstance(offset, int) and offset < 0:
            while len(self._updates) > -offset:
                self._updates.popleft()
        limit = params.get("limit")
        limit = min(limit, 100) if isinstance(limit, int) and limit > 0 else 100
        timeout = params.get("timeout")
        timeout = float(timeout) if isinstance(timeout, int | float) and timeout > 0 else 0.0
        if (allowed := params.get("allowed_updates")) is not None:
            self.allowed_updates = list(allowed) or None
        # Telegram keeps one long poll per bot: a newer request terminates the older one with 409.
        me: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        previous, self._pending_poll = self._pending_poll, me
        if previous is not None and not previous.done():
            previous.set_result(POLL_CONFLICT)
            self._notify()
        deadline = asyncio.get_running_loop().time() + timeout
        try:
            while True:
                if me.done():
                    raise ApiError(409, me.result())
                batch = self._batch(limit)
                remaining = deadline - asyncio.get_running_loop().time()
                if batch or self._closing or remaining <= 0:
                    return batch
                await self._wait_tick(remaining)
        finally:
            if self._pending_poll is me:
                self._pending_poll = None

    async def _set_webhook(self, params: JSONDict) -> bool:
        url = str(params.get("url") or "")
        if url and not url.startswith(("http://", "https://")):
            raise _bad("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
        secret = params.get("secret_token")
        if secret is not None and not _SECRET_RE.fullmatch(str(secret)):
            raise _bad("secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            self._updates.clear()
        if (allowed := params.get("allowed_updates")) is not None:
            self.allowed_updates = list(allowed) or None
        self.webhook_url = url or None
        self.webhook_secret = str(secret) if url and secret is not None else None
        if url and self._pending_poll is not None and not self._pending_poll.done():
            self._pending_poll.set_result(SET_WEBHOOK_CONFLICT)
            self._notify()
        return True

    async def _delete_webhook(self, params: JSONDict) -> bool:
        self.webhook_url = None
        self.webhook_secret = None
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _get_webhook_info(self, params: JSONDict) -> JSONDict:
        info: JSONDict = {
            "url": self.webhook_url or "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook_url:
            info["max_connections"] = 40
            info["ip_address"] = "127.0.0.1"
            if self.allowed_updates:
                info["allowed_updates"] = self.allowed_updates
        return info

    @staticmethod
    def _commands_key(params: JSONDict) -> tuple[str, str]:
        """("default" | "all_private_chats" | "chat:ID" | "chat_member:CHAT:USER" ..., language_code)."""
        scope = params.get("scope") or {"type": "default"}
        if not isinstance(scope, dict) or "type" not in scope:
            raise _bad("can't parse BotCommandScope JSON object")
        parts = [str(scope["type"])] + [str(scope[key]) for key in ("chat_id", "user_id") if key in scope]
        return ":".join(parts), str(params.get("language_code") or "")

    async def _set_my_commands(self, params: JSONDict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad("can't parse commands JSON object")
        for command in commands:
            if not isinstance(command, dict) or not _BOT_COMMAND_RE.fullmatch(
                str(command.get("command", ""))
            ):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[self._commands_key(params)] = commands
        return True

    async def _get_my_commands(self, params: JSONDict) -> list[JSONDict]:
        return self.commands.get(self._commands_key(params), [])

    async def _delete_my_commands(self, params: JSONDict) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True

    async def _set_chat_menu_button(self, params: JSONDict) -> bool:
        chat_id = self._chat_id(params) if "chat_id" in params else None
        button = params.get("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or "type" not in button:
            raise _bad("can't parse menu button JSON object")
        self.menu_buttons[chat_id] = button
        return True

    async def _send_message(self, params: JSONDict) -> JSONDict:
        chat_id = self._chat_id(params)
        text = self._check_text(params, "text", required=True)
        assert text is not None
        markup = self._check_markup(params)
        return self._store_sent(
            "sendMessage", chat_id, params, text, markup, {"text": self._visible(text, params)}
        )

    async def _send_photo(self, params: JSONDict) -> JSONDict:
        chat_id = self._chat_id(params)
        caption = self._check_text(params, "caption", required=False)
        markup = self._check_markup(params)
        stored, upload = self._resolve_file(params, "photo", "photos", ".jpg")
        size = {"file_id": stored.file_id, "file_unique_id": stored.unique_id, "file_size": len(stored.data)}
        content: JSONDict = {"photo": [{**size, "width": 320, "height": 320}]}
        if caption:
            content["caption"] = self._visible(caption, params)
        return self._store_sent(
            "sendPhoto", chat_id, params, caption, markup, content, file=upload, file_id=stored.file_id
        )

    async def _send_document(self, params: JSONDict) -> JSONDict:
        chat_id = self._chat_id(params)
        caption = self._check_text(params, "caption", required=False)
        markup = self._check_markup(params)
        stored, upload = self._resolve_file(params, "document", "documents", "")
        document: JSONDict = {
            "file_id": stored.file_id,
            "file_unique_id": stored.unique_id,
            "file_size": len(stored.data),
        }
        if upload is not None:
            document["file_name"] = upload.filename
            document["mime_type"] = upload.content_type
        content: JSONDict = {"document": document}
        if caption:
            content["caption"] = self._visible(caption, params)
        return self._store_sent(
            "sendDocument", chat_id, params, caption, markup, content, file=upload, file_id=stored.file_id
        )

    async def _send_voice(self, params: JSONDict) -> JSONDict:
        chat_id = self._chat_id(params)
        caption = self._check_text(params, "caption", required=False)
        markup = self._check_markup(params)
        stored, upload = self._resolve_file(params, "voice", "voice", ".oga")
        voice: JSONDict = {
            "file_id": stored.file_id,
            "file_unique_id": stored.unique_id,
            "duration": params.get("duration") or 1,
            "mime_type": "audio/ogg",
            "file_size": len(stored.data),
        }
        content: JSONDict = {"voice": voice}
        if caption:
            content["caption"] = self._visible(caption, params)
        return self._store_sent(
            "sendVoice", chat_id, params, caption, markup, content, file=upload, file_id=stored.file_id
        )

    async def _send_chat_action(self, params: JSONDict) -> bool:
        self._chat_id(params)
        if not params.get("action"):
            raise _bad("action is empty")
        return True

    async def _edit_message_text(self, params: JSONDict) -> JSONDict:
        message = self._find_message(params)
        if message.method != "sendMessage":
            raise _bad("there is no text in the message to edit")
        text = self._check_text(params, "text", required=True)
        markup = self._check_markup(params)
        if text == message.text and _inline(markup) == _inline(message.reply_markup):
            raise ApiError(400, NOT_MODIFIED)
        message.text, message.reply_markup = text, markup
        message.parse_mode = params.get("parse_mode")
        message.payload["text"] = self._visible(str(text), params)
        return self._record_edit("editMessageText", message)

    async def _edit_message_reply_markup(self, params: JSONDict) -> JSONDict:
        message = self._find_message(params)
        markup = self._check_markup(params)
        if _inline(markup) == _inline(message.reply_markup):
            raise ApiError(400, NOT_MODIFIED)
        message.reply_markup = markup
        return self._record_edit("editMessageReplyMarkup", message)

    async def _answer_callback_query(self, params: JSONDict) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self._open_callbacks:
            raise ApiError(400, QUERY_INVALID)
        self._open_callbacks.discard(query_id)
        return True

    async def _get_file(self, params: JSONDict) -> JSONDict:
        stored = self._files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise _bad("invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.unique_id,
            "file_size": len(stored.data),
            "file_path": stored.path,
        }


__all__ = [
    "BOT_FIRST_NAME",
    "BOT_ID",
    "BOT_USERNAME",
    "ApiError",
    "Call",
    "Edit",
    "FakeTelegramServer",
    "SentMessage",
    "UploadedFile",
]
