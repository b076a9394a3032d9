"""WeCom (企业微信) server API for one self-built application: a thin asyncio wrapper over wechatpy's client.

wechatpy's client is blocking (requests), so every call runs in a worker thread and the event loop stays free.
Two things wechatpy does not do for us are done here, by subclassing rather than patching:

- its access-token fetch goes to a hard-coded https://qyapi.weixin.qq.com URL whatever `API_BASE_URL` says, and
  with no timeout: `fetch_access_token` is overridden to use the configured base URL, and the client's requests
  session gets an adapter that puts `timeout` on every request that does not name its own;
- its own retry on an invalid token recurses for as long as the server keeps refusing: it is switched off
  (`auto_retry=False`) and a refused token (40014 invalid, 42001 expired) is renewed once, then the call is
  retried once. Concurrent calls that hit the same stale token renew it only once (a lock and a compare).

Nothing here logs or puts into an exception text the secret, an access token, or a request URL (which carries
them): transport failures are described by their type and HTTP status only.
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import requests
from requests.adapters import HTTPAdapter
from wechatpy.enterprise import WeChatClient
from wechatpy.exceptions import WeChatClientException

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://qyapi.weixin.qq.com/cgi-bin/"
MAX_USERS_PER_SEND = 1000  # touser ids in one message/send
TOKEN_ERRORS = frozenset({40014, 42001})  # invalid access_token, access_token expired
_TOKEN_MARGIN = 60.0  # seconds before its expiry a token is renewed
_ERRMSG_MAX = 200  # characters of a WeCom errmsg kept (they end in a long "more info at ..." hint)
_USERID_RE = re.compile(r"[^|\s]{1,64}")  # WeCom userids are 1-64 characters; "|" separates them in touser
_FILENAME_RE = re.compile(r"""filename\*?=(?:UTF-8'')?"?([^";]+)"?""", re.IGNORECASE)

T = TypeVar("T")


class WeComError(Exception):
    """A WeCom call failed. The text never contains a secret, token or URL."""


class WeComUnavailable(WeComError):
    """No usable answer: network failure, timeout, or an HTTP error status (`status`, e.g. 502)."""

    def __init__(self, description: str, status: int | None = None) -> None:
        super().__init__(description)
        self.status = status


class WeComApiError(WeComError):
    """WeCom answered with a non-zero errcode. `payload` is the whole answer (e.g. invaliduser of an 81013)."""

    def __init__(self, errcode: int, errmsg: str, payload: Mapping[str, Any] | None = None) -> None:
        super().__init__(f"errcode {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg
        self.payload: Mapping[str, Any] = payload or {}


class WeComAuthError(WeComApiError):
    """gettoken refused the corp id / secret (e.g. 40001): nothing can be sent until the configuration is fixed."""


@dataclass(frozen=True, slots=True)
class SendOutcome:
    """WeCom's answer to one message/send: errcode 0 means it went out to everyone not in `invalid_users`.

    `invalid_users` are as WeCom returns them: lower-cased (userids are case-insensitive)."""

    errcode: int
    errmsg: str
    invalid_users: tuple[str, ...] = ()
    msgid: str = ""
    response_code: str = ""  # button_interaction cards: lets update_template_card change the card once

    @property
    def ok(self) -> bool:
        return self.errcode == 0

    @classmethod
    def from_answer(cls, errcode: int, errmsg: str, answer: Mapping[str, Any]) -> SendOutcome:
        invalid = answer.get("invaliduser") or ""
        users = invalid if isinstance(invalid, list) else str(invalid).split("|")
        return cls(errcode, _short(errmsg), tuple(str(u) for u in users if u), str(answer.get("msgid") or ""),
                   str(answer.get("response_code") or ""))


def valid_userid(userid: str) -> bool:
    """Whether `userid` can be put into a touser list as one member (no "|", no blanks, 1-64 characters)."""
    return bool(_USERID_RE.fullmatch(userid))


class _TimeoutAdapter(HTTPAdapter):
    """Gives every request on the session a timeout unless it names one (wechatpy's token fetch does not)."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self._timeout = timeout

    def send(self, request: requests.PreparedRequest, stream: bool = False, timeout: Any = None,
             verify: Any = True, cert: Any = None, proxies: Any = None) -> requests.Response:
        return super().send(request, stream=stream, timeout=self._timeout if timeout is None else timeout,
                            verify=verify, cert=cert, proxies=proxies)


class _Client(WeChatClient):  # type: ignore[misc]  # wechatpy is untyped
    """wechatpy's WeCom client bound to one base URL (token fetch included), with timeouts and a token lock."""

    def __init__(self, corp_id: str, secret: str, base_url: str, timeout: float) -> None:
        super().__init__(corp_id, secret, timeout=timeout, auto_retry=False)
        self.API_BASE_URL = base_url  # wechatpy reads self.API_BASE_URL for every endpoint
        adapter = _TimeoutAdapter(timeout)
        self._http.mount("http://", adapter)
        self._http.mount("https://", adapter)
        self._token_lock = threading.Lock()

    def fetch_access_token(self) -> Any:
        """wechatpy's fetch, from the configured base URL instead of the hard-coded production one."""
        return self._fetch_access_token(url=f"{self.API_BASE_URL}gettoken",
                                        params={"corpid": self.corp_id, "corpsecret": self.secret})

    @property
    def access_token(self) -> str:
        return self.token()

    def token(self) -> str:
        """The current access token, fetched if there is none or it expires within a minute."""
        with self._token_lock:
            cached = self.session.get(self.access_token_key)
            if cached and self.expires_at and self.expires_at - time.time() > _TOKEN_MARGIN:
                return str(cached)
            self.fetch_access_token()
            return str(self.session.get(self.access_token_key))

    def renew_token(self, stale: str) -> str:
        """A token other than `stale`, which WeCom refused: fetched, unless another thread already did."""
        with self._token_lock:
            current = self.session.get(self.access_token_key)
            if current and current != stale:
                return str(current)
            self.fetch_access_token()
            return str(self.session.get(self.access_token_key))

    def _decode_result(self, res: requests.Response) -> Any:
        """A file download (media/get) stays a Response; only API answers are decoded as JSON."""
        if res.headers.get("Content-Disposition"):
            return res
        return super()._decode_result(res)

    def close(self) -> None:
        self._http.close()


class WeComApi:
    """The calls Jinlin makes as one WeCom application (`agent_id`), each in a worker thread.

    Errors raise WeComError subclasses, except that `send` returns WeCom's errcode in its outcome."""

    def __init__(self, corp_id: str, secret: str, agent_id: int, base_url: str = DEFAULT_BASE_URL,
                 timeout: float = 10) -> None:
        if not base_url.endswith("/"):
            base_url += "/"
        self.agent_id = agent_id
        self.base_url = base_url
        self._client = _Client(corp_id, secret, base_url, timeout)

    def __repr__(self) -> str:
        return f"WeComApi(agent_id={self.agent_id}, base_url={self.base_url!r})"

    async def close(self) -> None:
        await asyncio.to_thread(self._client.close)

    async def authenticate(self) -> None:
        """Fetch an access token now (at start): WeComAuthError if the corp id or secret is refused,
        WeComUnavailable if the API does not answer."""
        await self._token(self._client.token)

    async def send(self, users: Sequence[str], message: Mapping[str, Any]) -> SendOutcome:
        """message/send of `message` (e.g. {"msgtype": "text", "text": {"content": "..."}}) to 1-1000 members."""
        if not 1 <= len(users) <= MAX_USERS_PER_SEND:
            raise ValueError(f"message/send takes 1-{MAX_USERS_PER_SEND} users, not {len(users)}")
        if bad := [u for u in users if not valid_userid(u)]:
            raise ValueError(f"{len(bad)} malformed userids")
        body = {"touser": "|".join(users), "toparty": "", "totag": "", "agentid": self.agent_id, **message}

        def post(token: str) -> Any:
            return self._client.post("message/send", params={"access_token": token}, data=body)

        try:
            answer = await self._call(post)
        except WeComAuthError:
            raise
        except WeComApiError as exc:
            return SendOutcome.from_answer(exc.errcode, exc.errmsg, exc.payload)
        return SendOutcome.from_answer(0, "ok", _mapping(answer))

    async def upload(self, media_type: str, path: str | Path) -> str:
        """Upload a temporary medium ("image", "voice", "video" or "file"; valid 3 days); its media_id."""
        source = Path(path)
        data = await asyncio.to_thread(source.read_bytes)
        content_type = mimetypes.guess_type(source.name)[0] or "application/octet-stream"
        part = (source.name, data, content_type)

        def post(token: str) -> Any:
            return self._client.post("media/upload", params={"type": media_type, "access_token": token},
                                     files={"media": part})

        answer = _mapping(await self._call(post))
        media_id = answer.get("media_id")
        if not media_id:
            raise WeComApiError(-1, "media/upload answered without a media_id")
        return str(media_id)

    async def upload_image(self, path: str | Path) -> str:
        return await self.upload("image", path)

    async def upload_voice(self, path: str | Path) -> str:
        """WeCom plays AMR voice only (at most 2 MB, 60 s)."""
        return await self.upload("voice", path)

    async def download_media(self, media_id: str) -> tuple[bytes, str]:
        """media/get: the file's bytes and its suffix (".jpg", ".amr" ...; "" if neither the file name nor the
        content type tells)."""

        def get(token: str) -> Any:
            return self._client.get("media/get", params={"media_id": media_id, "access_token": token})

        response = await self._call(get)
        if not isinstance(response, requests.Response):
            raise WeComApiError(-1, "media/get answered without a file")
        return response.content, _suffix(response)

    async def update_card(self, users: Sequence[str], response_code: str, replace_name: str) -> None:
        """message/update_template_card: turn the buttons of the card `response_code` came with into one
        unclickable button reading `replace_name` (a response_code works once, within 72 hours)."""
        body = {"userids": list(users), "agentid": self.agent_id, "response_code": response_code,
                "button": {"replace_name": replace_name}}

        def post(token: str) -> Any:
            return self._client.post("message/update_template_card", params={"access_token": token}, data=body)

        await self._call(post)

    async def _call(self, request: Callable[[str], T]) -> T:
        """`request(token)` in a thread; if WeCom refuses the token, renew it once and try once more."""
        token = await self._token(self._client.token)
        try:
            return await _in_thread(request, token)
        except WeComApiError as exc:
            if exc.errcode not in TOKEN_ERRORS:
                raise
            log.info("WeCom refused the access token (errcode %d); fetching a new one", exc.errcode)
        token = await self._token(self._client.renew_token, token)
        return await _in_thread(request, token)

    @staticmethod
    async def _token(fetch: Callable[..., str], *args: str) -> str:
        try:
            return await _in_thread(fetch, *args)
        except WeComApiError as exc:
            raise WeComAuthError(exc.errcode, exc.errmsg) from None


async def _in_thread(function: Callable[..., T], *args: Any) -> T:
    """Run a blocking wechatpy call in a worker thread, turning its exceptions into WeComError.

    The original exceptions are dropped (`from None`): their text and attached request carry the URL."""
    try:
        return await asyncio.to_thread(function, *args)
    except WeChatClientException as exc:
        if exc.errcode is None:
            status = exc.response.status_code if exc.response is not None else None
            raise WeComUnavailable(f"HTTP {status}", status) from None
        raise WeComApiError(int(exc.errcode), _short(str(exc.errmsg)), _answer(exc.response)) from None
    except requests.RequestException as exc:
        raise WeComUnavailable(type(exc).__name__) from None
    except ValueError as exc:  # an answer that is not JSON where JSON was expected
        raise WeComUnavailable(f"unreadable answer ({type(exc).__name__})") from None


def _answer(response: requests.Response | None) -> Mapping[str, Any]:
    if response is None:
        return {}
    try:
        return _mapping(response.json())
    except ValueError:
        return {}


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _short(errmsg: str) -> str:
    return errmsg[:_ERRMSG_MAX]


def _suffix(response: requests.Response) -> str:
    if match := _FILENAME_RE.search(response.headers.get("Content-Disposition", "")):
        suffix = Path(match.group(1).strip()).suffix.lower()
        if suffix:
            return suffix
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if not content_type:
        return ""
    return mimetypes.guess_extension(content_type) or ""
