"""A fake WeCom (企业微信) server API for tests: the endpoints a self-built application's sender uses.

The real wechatpy client talks HTTP to it over 127.0.0.1::

    async with FakeWeComServer(corp_id="wwcorp", secret="s3cret") as fake:
        api = WeComApi("wwcorp", "s3cret", agent_id=1000002, base_url=fake.base_url)

``base_url`` ends in ``/cgi-bin/`` like wechatpy's ``API_BASE_URL``, so ``base_url + "gettoken"`` and
``base_url + "message/send"`` are the real paths. Answers use WeCom's envelope (``errcode``/``errmsg``, HTTP 200
even for errors), bodies are read as JSON whatever the Content-Type (wechatpy posts bare UTF-8 JSON).

Endpoints: ``gettoken``, ``message/send`` (text, markdown, image, voice, file, template_card of card_type
``button_interaction``), ``message/update_template_card``, ``media/upload`` and ``media/get``. Messages are
checked against the documented limits strictly: where WeCom would silently truncate (text over 2048 bytes, a
card title over 36 characters ...) the fake refuses, so that a sender which relies on truncation fails its tests.

Time comes from ``clock`` (anything with ``now()`` returning an aware datetime; real time by default): tokens
expire after ``expires_in`` and the per-member limits (30 messages a minute, 1000 an hour from one application to
one member; WeCom silently drops the excess) are measured with it. Dropped messages are not delivered, the call
still answers ``ok`` as WeCom does, and each one is listed in ``dropped``.

Tests inspect ``calls``, ``messages_to(userid)``, ``uploads``, ``card_updates``, ``token_fetches`` and
``dropped``; steer with ``expire_tokens()``, ``fail_next()``, ``add_media()``, ``known_users``; and await
``wait_until()``, which is woken by the server itself on every call (no sleep-polling).

Error codes for malformed requests (touser over 1000, a bad card ...) are plausible WeCom codes, not verified
against the live service; the ones a sender acts on are WeCom's documented ones: 40001 (bad secret),
40014/42001 (invalid/expired access_token), 40007 (invalid media_id), 45009 (frequency), 60111 (unknown userid),
81013 (every recipient invalid).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import secrets
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from aiohttp import BodyPartReader, web

from tests.loopback import LoopbackServer

JSONDict = dict[str, Any]

TOKEN_TTL = 7200  # seconds, as WeCom's expires_in
MAX_USERS = 1000  # touser ids per message/send
MAX_TEXT_BYTES = 2048  # text.content and markdown.content
MAX_CARD_BUTTONS = 6  # button_interaction button_list
MAX_CARD_TITLE = 36  # characters of main_title.title
MAX_CARD_DESC = 44  # characters of main_title.desc
MAX_CARD_SUB_TITLE = 160  # characters of sub_title_text
MAX_BUTTON_TEXT = 10  # characters of a button's text
MAX_KEY_BYTES = 1024  # a button's key
PER_MINUTE = 30  # messages one application may send one member in any minute (more are dropped)
PER_HOUR = 1000  # ... and in any hour
MEDIA_TYPES = frozenset({"image", "voice", "video", "file"})
MEDIA_MAX_BYTES = {"image": 10 * 1024 * 1024, "voice": 2 * 1024 * 1024, "video": 10 * 1024 * 1024,
                   "file": 20 * 1024 * 1024}
MSG_TYPES = frozenset({"text", "markdown", "image", "voice", "file", "template_card"})

INVALID_CREDENTIAL = 40001
INVALID_MEDIA_ID = 40007
INVALID_MSGTYPE = 40008
INVALID_ACCESS_TOKEN = 40014
INVALID_PARAMETER = 40058
MISSING_ACCESS_TOKEN = 41001
EXPIRED_ACCESS_TOKEN = 42001
CONTENT_TOO_LONG = 45002
FREQUENCY = 45009
INVALID_JSON = 47001
INVALID_AGENT = 40056
ALL_INVALID = 81013

_ERRMSGS = {
    0: "ok",
    -1: "system busy",
    INVALID_CREDENTIAL: "invalid credential",
    INVALID_MEDIA_ID: "invalid media_id",
    INVALID_MSGTYPE: "invalid message type",
    INVALID_ACCESS_TOKEN: "invalid access_token",
    INVALID_PARAMETER: "invalid parameter",
    MISSING_ACCESS_TOKEN: "access_token missing",
    EXPIRED_ACCESS_TOKEN: "access_token expired",
    CONTENT_TOO_LONG: "content size out of limit",
    FREQUENCY: "api freq out of limit",
    45033: "api concurrent out of limit",
    INVALID_JSON: "data format error",
    INVALID_AGENT: "invalid agentid",
    60111: "userid not found",
    ALL_INVALID: "user & party & tag all invalid",
}
_TASK_ID_RE = re.compile(r"[A-Za-z0-9_\-@]{1,128}")
_CONTENT_TYPES = {"image": "image/jpeg", "voice": "audio/amr", "video": "video/mp4", "file": "application/octet-stream"}
_SUFFIXES = {"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif", "audio/amr": ".amr",
             "video/mp4": ".mp4"}


class Clock(Protocol):
    def now(self) -> datetime: ...


class _RealClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class WeComError(Exception):
    """An error answer: ``errcode`` in the JSON envelope (HTTP 200), or a bare HTTP error status."""

    def __init__(self, errcode: int, errmsg: str | None = None, *, http_status: int = 200,
                 extra: JSONDict | None = None) -> None:
        self.errcode = errcode
        self.errmsg = errmsg or _ERRMSGS.get(errcode, "error")
        self.http_status = http_status
        self.extra = extra or {}
        super().__init__(f"{errcode} {self.errmsg}")

    def response(self) -> web.Response:
        if self.http_status != 200:
            return web.Response(status=self.http_status, text=f"{self.http_status} error")
        return web.json_response({"errcode": self.errcode, "errmsg": self.errmsg, **self.extra})


@dataclass(slots=True)
class Call:
    """One request as received. ``errcode`` (0: ok) and ``http_status`` are filled in once answered."""

    endpoint: str  # path after /cgi-bin/, e.g. "message/send"
    query: dict[str, str]
    body: JSONDict | None  # the JSON body, None for GET and uploads
    at: datetime
    msgtype: str = ""
    users: list[str] = field(default_factory=list)  # touser of a message/send, split on "|"
    errcode: int | None = None
    http_status: int | None = None


@dataclass(slots=True)
class Message:
    """A message delivered to one member: ``content`` is the msgtype's object (e.g. {"content": "..."})."""

    userid: str
    msgtype: str
    content: JSONDict
    msgid: str
    at: datetime
    body: JSONDict = field(repr=False, default_factory=dict)  # the whole message/send body
    response_code: str = ""  # a card's: its click event carries it, and message/update_template_card takes it

    @property
    def text(self) -> str:
        """The visible text: text/markdown content, or a card's title, sub-title and button texts."""
        if self.msgtype in ("text", "markdown"):
            return str(self.content.get("content", ""))
        if self.msgtype == "template_card":
            parts = [self.content.get("main_title", {}).get("title", ""), self.content.get("sub_title_text", "")]
            return "\n".join(part for part in parts if part)
        return ""

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(text, key) of a card's buttons."""
        return [(b.get("text", ""), b.get("key", "")) for b in self.content.get("button_list", [])]


@dataclass(slots=True)
class Drop:
    """A message WeCom would silently drop: over ``limit`` ("30/min" or "1000/h") for ``userid``."""

    userid: str
    msgid: str
    limit: str
    at: datetime


@dataclass(slots=True)
class Media:
    media_id: str
    type: str
    filename: str
    content_type: str
    data: bytes = field(repr=False)


@dataclass(slots=True)
class _Token:
    value: str
    issued_at: datetime
    revoked: bool = False


@dataclass(slots=True)
class _Failure:
    remaining: int
    errcode: int
    http_status: int
    endpoint: str | None


class MemberLimits:
    """WeCom's per-member limits on one application's messages: at most ``per_minute`` in any 60 s and
    ``per_hour`` in any 3600 s. Only delivered messages count."""

    def __init__(self, per_minute: int = PER_MINUTE, per_hour: int = PER_HOUR) -> None:
        self.per_minute = per_minute
        self.per_hour = per_hour
        self._delivered: defaultdict[str, deque[datetime]] = defaultdict(deque)

    def admit(self, userid: str, now: datetime) -> str:
        """"" if a message to ``userid`` at ``now`` is delivered (and counted), else the limit it breaks."""
        times = self._delivered[userid]
        while times and times[0] <= now - timedelta(hours=1):
            times.popleft()
        if len(times) >= self.per_hour:
            return f"{self.per_hour}/h"
        minute_ago = now - timedelta(minutes=1)
        if sum(1 for t in reversed(times) if t > minute_ago) >= self.per_minute:
            return f"{self.per_minute}/min"
        times.append(now)
        return ""


class FakeWeComServer(LoopbackServer):
    """In-process fake of WeCom's server API for one self-built application."""

    def __init__(self, corp_id: str = "wwcorp", secret: str = "s3cret", *, agent_id: int | None = None,
                 known_users: Iterable[str] | None = None, clock: Clock | None = None,
                 token_ttl: int = TOKEN_TTL) -> None:
        """``agent_id``: the only agentid accepted (None: any integer). ``known_users``: the members in the
        application's visible range (None: everyone); others come back in ``invaliduser``."""
        super().__init__()
        self.corp_id = corp_id
        self.secret = secret
        self.agent_id = agent_id
        self.known_users: set[str] | None = None if known_users is None else {u.lower() for u in known_users}
        self.clock: Clock = clock or _RealClock()
        self.token_ttl = token_ttl
        self.calls: list[Call] = []
        self.token_fetches = 0  # tokens issued
        self.uploads: list[Media] = []
        self.card_updates: list[JSONDict] = []
        self.dropped: list[Drop] = []
        self.limits = MemberLimits()
        self._tokens: dict[str, _Token] = {}
        self._media: dict[str, Media] = {}
        self._received: defaultdict[str, list[Message]] = defaultdict(list)
        self._task_ids: set[str] = set()
        self._response_codes: set[str] = set()
        self._failures: deque[_Failure] = deque()
        self._delays: dict[str, float] = {}
        self._ids = itertools.count(1)
        self._changed = asyncio.Condition()

    # ----------------------------------------------------------------------------------- lifecycle

    def routes(self, router: web.UrlDispatcher) -> None:
        router.add_route("*", "/cgi-bin/{endpoint:.+}", self._handle)

    @property
    def base_url(self) -> str:
        """The counterpart of wechatpy's ``API_BASE_URL`` ("https://qyapi.weixin.qq.com/cgi-bin/")."""
        return f"http://127.0.0.1:{self.port}/cgi-bin/"

    # ---------------------------------------------------------------------------------- controls

    def expire_tokens(self) -> None:
        """Every access token issued so far now answers 42001 (expired)."""
        for token in self._tokens.values():
            token.revoked = True

    def delay(self, endpoint: str, seconds: float) -> None:
        """Answer calls of ``endpoint`` only after ``seconds`` (0: at once again), as a slow WeCom would."""
        self._delays[endpoint] = seconds

    def fail_next(self, n: int = 1, *, errcode: int | None = None, http_status: int | None = None,
                  endpoint: str | None = None) -> None:
        """Answer the next ``n`` calls of ``endpoint`` (None: any endpoint but gettoken) with an error: the JSON
        ``errcode`` (HTTP 200) or, with ``http_status``, a bare HTTP error. Nothing else happens on those calls
        (no message is delivered). Rules are used in the order they were added."""
        if (errcode is None) == (http_status is None):
            raise ValueError("give exactly one of errcode and http_status")
        self._failures.append(_Failure(n, errcode or 0, http_status or 200, endpoint))

    def add_media(self, media_id: str, data: bytes, content_type: str = "image/jpeg", *,
                  filename: str | None = None, media_type: str = "image") -> None:
        """Make ``media/get?media_id=...`` answer with ``data`` (as if a member had sent it)."""
        name = filename or f"{media_id}{_SUFFIXES.get(content_type, '')}"
        self._media[media_id] = Media(media_id, media_type, name, content_type, data)

    def media(self, media_id: str) -> Media:
        """An uploaded or added medium (KeyError if unknown)."""
        return self._media[media_id]

    # --------------------------------------------------------------------------------- accessors

    def calls_to(self, endpoint: str) -> list[Call]:
        return [call for call in self.calls if call.endpoint == endpoint]

    @property
    def sends(self) -> list[Call]:
        """Every message/send call, whatever its answer."""
        return self.calls_to("message/send")

    def messages_to(self, userid: str) -> list[Message]:
        """Messages delivered to ``userid`` (case-insensitive, as WeCom userids are), oldest first."""
        return list(self._received.get(userid.lower(), ()))

    def received(self) -> dict[str, list[Message]]:
        """Every member who received something, with what (userids lower-cased)."""
        return {user: list(messages) for user, messages in self._received.items()}

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0,  # noqa: ASYNC109
                         describe: Callable[[], str] | None = None) -> None:
        """Return once ``predicate()`` holds; it is checked now and after every call the server answers.
        AssertionError after ``timeout`` seconds."""
        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(predicate)
        except TimeoutError:
            detail = describe() if describe else f"{len(self.calls)} calls: " + ", ".join(
                f"{c.endpoint}->{c.errcode if c.http_status == 200 else c.http_status}" for c in self.calls[-10:])
            raise AssertionError(f"condition not met within {timeout} s; {detail}") from None

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # -------------------------------------------------------------------------------------- HTTP

    async def _handle(self, request: web.Request) -> web.Response:
        endpoint = request.match_info["endpoint"]
        call = Call(endpoint, dict(request.query), None, self.clock.now())
        self.calls.append(call)
        try:
            response = await self._dispatch(request, call)
        except WeComError as error:
            call.errcode, call.http_status = error.errcode, error.http_status
            response = error.response()
        else:
            call.errcode, call.http_status = 0, 200
        await self._notify()
        return response

    async def _dispatch(self, request: web.Request, call: Call) -> web.Response:
        routes: dict[str, tuple[str, Callable[[web.Request, Call], Any]]] = {
            "gettoken": ("GET", self._gettoken),
            "message/send": ("POST", self._send),
            "message/update_template_card": ("POST", self._update_card),
            "media/upload": ("POST", self._upload),
            "media/get": ("GET", self._media_get),
        }
        route = routes.get(call.endpoint)
        if route is None:
            raise WeComError(404, "not found", http_status=404)
        if request.method != route[0]:
            raise WeComError(405, "method not allowed", http_status=405)
        if route[0] == "POST" and call.endpoint != "media/upload":
            call.body = await self._json(request)
            call.msgtype = str(call.body.get("msgtype", ""))
            call.users = [u for u in str(call.body.get("touser", "")).split("|") if u]
        if self._delays.get(call.endpoint):
            await asyncio.sleep(self._delays[call.endpoint])
        self._check_failures(call.endpoint)
        if call.endpoint != "gettoken":
            self._check_token(call.query.get("access_token"))
        result: web.Response = await route[1](request, call)
        return result

    @staticmethod
    async def _json(request: web.Request) -> JSONDict:
        try:
            body = json.loads(await request.read())
        except ValueError:
            raise WeComError(INVALID_JSON) from None
        if not isinstance(body, dict):
            raise WeComError(INVALID_JSON)
        return body

    def _check_failures(self, endpoint: str) -> None:
        for rule in self._failures:
            if rule.endpoint == endpoint or (rule.endpoint is None and endpoint != "gettoken"):
                rule.remaining -= 1
                if rule.remaining <= 0:
                    self._failures.remove(rule)
                raise WeComError(rule.errcode, http_status=rule.http_status)

    def _check_token(self, value: str | None) -> None:
        if not value:
            raise WeComError(MISSING_ACCESS_TOKEN)
        token = self._tokens.get(value)
        if token is None:
            raise WeComError(INVALID_ACCESS_TOKEN)
        if token.revoked or self.clock.now() >= token.issued_at + timedelta(seconds=self.token_ttl):
            raise WeComError(EXPIRED_ACCESS_TOKEN)

    # --------------------------------------------------------------------------------- endpoints

    async def _gettoken(self, request: web.Request, call: Call) -> web.Response:
        if call.query.get("corpid") != self.corp_id or call.query.get("corpsecret") != self.secret:
            raise WeComError(INVALID_CREDENTIAL)
        value = secrets.token_urlsafe(32)
        self._tokens[value] = _Token(value, self.clock.now())
        self.token_fetches += 1
        return web.json_response({"errcode": 0, "errmsg": "ok", "access_token": value, "expires_in": self.token_ttl})

    async def _send(self, request: web.Request, call: Call) -> web.Response:
        body = call.body or {}
        self._check_agent(body.get("agentid"))
        if body.get("toparty") or body.get("totag"):
            raise WeComError(INVALID_PARAMETER, "the fake supports touser only")
        if not call.users:
            raise WeComError(INVALID_PARAMETER, "touser is empty")
        if len(call.users) > MAX_USERS:
            raise WeComError(INVALID_PARAMETER, f"touser has {len(call.users)} ids, at most {MAX_USERS}")
        if "@all" in call.users:
            raise WeComError(INVALID_PARAMETER, "the fake does not support @all")
        msgtype = call.msgtype
        if msgtype not in MSG_TYPES:
            raise WeComError(INVALID_MSGTYPE)
        content = body.get(msgtype)
        if not isinstance(content, dict):
            raise WeComError(INVALID_PARAMETER, f"{msgtype} object missing")
        response_code = self._check_content(msgtype, content)
        invalid = sorted({u.lower() for u in call.users if not self._is_member(u)})
        answer: JSONDict = {"invaliduser": "|".join(invalid), "invalidparty": "", "invalidtag": "",
                            "unlicenseduser": ""}
        valid = list(dict.fromkeys(u.lower() for u in call.users if self._is_member(u)))
        if not valid:
            raise WeComError(ALL_INVALID, extra=answer)
        msgid = f"msg{next(self._ids)}"
        now = self.clock.now()
        for user in valid:
            if limit := self.limits.admit(user, now):
                self.dropped.append(Drop(user, msgid, limit, now))
            else:
                self._received[user].append(Message(user, msgtype, content, msgid, now, body, response_code))
        answer = {"errcode": 0, "errmsg": "ok", **answer, "msgid": msgid}
        if response_code:
            answer["response_code"] = response_code
        return web.json_response(answer)

    def _check_agent(self, agentid: object) -> None:
        if not isinstance(agentid, int) or isinstance(agentid, bool):
            raise WeComError(INVALID_AGENT)
        if self.agent_id is not None and agentid != self.agent_id:
            raise WeComError(INVALID_AGENT)

    def _is_member(self, userid: str) -> bool:
        return self.known_users is None or userid.lower() in self.known_users

    def _check_content(self, msgtype: str, content: JSONDict) -> str:
        """Refuse what WeCom refuses or would truncate; a card's response_code ("" for other messages)."""
        if msgtype in ("text", "markdown"):
            text = content.get("content")
            if not isinstance(text, str) or not text:
                raise WeComError(INVALID_PARAMETER, "content is empty")
            if len(text.encode()) > MAX_TEXT_BYTES:
                raise WeComError(CONTENT_TOO_LONG, f"content is {len(text.encode())} bytes, at most {MAX_TEXT_BYTES}")
            return ""
        if msgtype in ("image", "voice", "file"):
            media = self._media.get(str(content.get("media_id", "")))
            if media is None or media.type != msgtype:
                raise WeComError(INVALID_MEDIA_ID)
            return ""
        return self._check_card(content)

    def _check_card(self, card: JSONDict) -> str:
        def bad(why: str) -> WeComError:
            return WeComError(INVALID_PARAMETER, f"template_card: {why}")

        if card.get("card_type") != "button_interaction":
            raise bad(f"card_type {card.get('card_type')!r} is not supported by the fake")
        task_id = card.get("task_id")
        if not isinstance(task_id, str) or not _TASK_ID_RE.fullmatch(task_id):
            raise bad("task_id must be 1-128 of A-Z a-z 0-9 _ - @")
        if task_id in self._task_ids:
            raise bad(f"task_id {task_id} was used before")
        main_title = card.get("main_title") or {}
        title, desc = str(main_title.get("title", "")), str(main_title.get("desc", ""))
        sub_title = str(card.get("sub_title_text", ""))
        if not title:
            raise bad("main_title.title is required")
        fields = (("main_title.title", title, MAX_CARD_TITLE), ("main_title.desc", desc, MAX_CARD_DESC),
                  ("sub_title_text", sub_title, MAX_CARD_SUB_TITLE))
        for name, value, limit in fields:
            if len(value) > limit:
                raise bad(f"{name} has {len(value)} characters, at most {limit}")
        buttons = card.get("button_list")
        if not isinstance(buttons, list) or not 1 <= len(buttons) <= MAX_CARD_BUTTONS:
            raise bad(f"button_list needs 1-{MAX_CARD_BUTTONS} buttons")
        keys: set[str] = set()
        for button in buttons:
            text, key = str(button.get("text", "")), str(button.get("key", ""))
            if button.get("type", 0) != 0:
                raise bad("the fake only supports callback buttons (type 0)")
            if not text or len(text) > MAX_BUTTON_TEXT:
                raise bad(f"button text {text!r} must have 1-{MAX_BUTTON_TEXT} characters")
            if not key or len(key.encode()) > MAX_KEY_BYTES or key in keys:
                raise bad(f"button key {key!r} must be 1-{MAX_KEY_BYTES} bytes and unique")
            keys.add(key)
        self._task_ids.add(task_id)
        response_code = secrets.token_urlsafe(16)
        self._response_codes.add(response_code)
        return response_code

    async def _update_card(self, request: web.Request, call: Call) -> web.Response:
        body = call.body or {}
        self._check_agent(body.get("agentid"))
        code = body.get("response_code")
        if code not in self._response_codes:
            raise WeComError(INVALID_PARAMETER, "invalid response_code")
        self._response_codes.discard(code)  # a response_code can be used once
        self.card_updates.append(body)
        return web.json_response({"errcode": 0, "errmsg": "ok", "invaliduser": []})

    async def _upload(self, request: web.Request, call: Call) -> web.Response:
        media_type = call.query.get("type", "")
        if media_type not in MEDIA_TYPES:
            raise WeComError(40004, "invalid media type")
        if request.content_type != "multipart/form-data":
            raise WeComError(INVALID_PARAMETER, "multipart/form-data expected")
        upload: Media | None = None
        async for part in await request.multipart():
            if isinstance(part, BodyPartReader) and part.name == "media" and part.filename:
                data = bytes(await part.read())
                ctype = part.headers.get("Content-Type") or _CONTENT_TYPES[media_type]
                upload = Media(f"media-{media_type}-{next(self._ids)}", media_type, part.filename, ctype, data)
        if upload is None:
            raise WeComError(INVALID_PARAMETER, "no media part")
        if not 5 <= len(upload.data) <= MEDIA_MAX_BYTES[media_type]:
            raise WeComError(40006, "invalid file size")
        if media_type == "voice" and not upload.filename.lower().endswith(".amr"):
            raise WeComError(40004, "voice must be AMR")
        self._media[upload.media_id] = upload
        self.uploads.append(upload)
        created = int(self.clock.now().timestamp())
        return web.json_response({"errcode": 0, "errmsg": "ok", "type": media_type, "media_id": upload.media_id,
                                  "created_at": str(created)})

    async def _media_get(self, request: web.Request, call: Call) -> web.Response:
        media = self._media.get(call.query.get("media_id", ""))
        if media is None:
            raise WeComError(INVALID_MEDIA_ID)
        return web.Response(body=media.data, headers={
            "Content-Type": media.content_type,
            "Content-Disposition": f'attachment; filename="{media.filename}"',
        })


__all__ = ["Call", "Drop", "FakeWeComServer", "Media", "MemberLimits", "Message", "WeComError"]
