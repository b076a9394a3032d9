"""Jinlin's WeCom (企业微信) channel as a member sees it: encrypted callbacks over real HTTP to the running bot, and
what the fake WeCom server delivered back.

`WeComLink` is the street's WeCom: it signs and encrypts callbacks exactly as WeCom does (tests/wecom_client.py,
wechatpy's own cipher) and POSTs them to the bot's callback path, each with a fresh nonce and the injected clock's
timestamp. `WeComPerson` mirrors `tests.harness.Chat`: `send`, `tap`, `photo`, `expect`.
"""

from __future__ import annotations

import itertools
import re
import secrets
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Self

from aiohttp import ClientSession, ClientTimeout

from bot.app import Service
from bot.clock import Clock
from bot.config import Settings
from tests.fake_wecom import FakeWeComServer, Message
from tests.wecom_client import (
    encrypt_callback,
    image_xml,
    make_aes_key,
    template_card_event_xml,
    text_xml,
)

CORP_ID = "wwcorp"
AGENT_ID = 1000002
SECRET = "s3cret"
CALLBACK_TOKEN = "tok"
AES_KEY = make_aes_key()
PATH = "/wecom/callback"
_NUMBERED = re.compile(r"(\d+)\. (.+)")


def wecom_settings(fake: FakeWeComServer, db: Path, base: Settings | None = None, **overrides: object) -> Settings:
    """Settings with WeCom pointed at `fake` (on top of `base`, e.g. Telegram settings for both channels)."""
    settings = replace(base or Settings(db_path=str(db), http_port=0, media_dir=str(db.parent / "media")),
                       wecom_corp_id=CORP_ID, wecom_agent_id=AGENT_ID, wecom_secret=SECRET,
                       wecom_token=CALLBACK_TOKEN, wecom_aes_key=AES_KEY, wecom_api_base_url=fake.base_url)
    return replace(settings, **overrides)  # type: ignore[arg-type]


def choices(message: Message) -> list[tuple[str, str]]:
    """(label, what to do) of the choices a message offers: a card's buttons with their keys, or the numbered
    list of a text message ("1. label" lines at its end) with the number to type, prefixed "#"."""
    if message.msgtype == "template_card":
        return message.buttons
    if message.msgtype != "text":
        return []
    numbered: list[tuple[str, str]] = []
    for line in reversed(message.text.splitlines()):
        match = _NUMBERED.fullmatch(line)
        if match is None:
            break
        numbered.append((match.group(2), "#" + match.group(1)))
    numbered.reverse()
    return numbered if [n for _, n in numbered] == [f"#{i}" for i in range(1, len(numbered) + 1)] else []


class WeComLink:
    """Callbacks to one running Jinlin, as WeCom would deliver them; and the fake that receives its messages."""

    def __init__(self, fake: FakeWeComServer, service: Service, clock: Clock) -> None:
        self.fake = fake
        self.service = service
        self.clock = clock
        self.posts = 0  # callback POSTs made
        self._ids = itertools.count(7_000_000_000_000_000)
        self._session: ClientSession | None = None

    async def __aenter__(self) -> Self:
        self._session = ClientSession(timeout=ClientTimeout(total=10))
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        if self._session is not None:
            await self._session.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.service.http.port}{PATH}"

    @property
    def session(self) -> ClientSession:
        assert self._session is not None, "use `async with WeComLink(...)`"
        return self._session

    def now(self) -> int:
        return int(self.clock.now().timestamp())

    def msg_id(self) -> int:
        return next(self._ids)

    @staticmethod
    def nonce() -> str:
        return secrets.token_hex(8)

    def request(self, inner_xml: str, *, timestamp: int | None = None, nonce: str | None = None,
                corp_id: str = CORP_ID) -> tuple[dict[str, str], bytes]:
        """(query, body) of the POST WeCom makes to deliver `inner_xml` (framed with `corp_id`)."""
        return encrypt_callback(CALLBACK_TOKEN, AES_KEY, corp_id, inner_xml,
                                self.now() if timestamp is None else timestamp, nonce or self.nonce())

    async def post_raw(self, query: dict[str, str], body: bytes) -> tuple[int, str]:
        """POST exactly this; the status and text of the answer."""
        self.posts += 1
        async with self.session.post(self.url, params=query, data=body,
                                     headers={"Content-Type": "text/xml"}) as response:
            return response.status, await response.text()

    async def deliver(self, inner_xml: str) -> None:
        """Deliver `inner_xml` and insist that it is accepted (200, empty body: WeCom's "received")."""
        status, text = await self.post_raw(*self.request(inner_xml))
        assert (status, text) == (200, ""), (status, text)

    async def get(self, path: str, query: dict[str, str] | None = None) -> tuple[int, str]:
        url = f"http://127.0.0.1:{self.service.http.port}{path}"
        async with self.session.get(url, params=query or {}) as response:
            return response.status, await response.text()


class WeComPerson:
    """One member's conversation with the street's application: what they send, and what the bot shows them."""

    def __init__(self, link: WeComLink, userid: str) -> None:
        self.link = link
        self.userid = userid
        self._seen = 0  # messages already consumed by `expect`
        self._tapped = -1  # index of the last message whose choice was taken

    @property
    def fake(self) -> FakeWeComServer:
        return self.link.fake

    def screen(self) -> list[Message]:
        return self.fake.messages_to(self.userid)

    def text_xml(self, text: str) -> str:
        return text_xml(self.userid, text, corp_id=CORP_ID, create_time=self.link.now(), msg_id=self.link.msg_id(),
                        agent_id=AGENT_ID)

    def press_xml(self, key: str, task_id: str = "", response_code: str = "") -> str:
        return template_card_event_xml(self.userid, key, task_id=task_id or f"t{self.link.msg_id()}",
                                       response_code=response_code or secrets.token_hex(8), corp_id=CORP_ID,
                                       create_time=self.link.now(), agent_id=AGENT_ID)

    async def send(self, text: str) -> None:
        await self.link.deliver(self.text_xml(text))

    async def press(self, key: str, task_id: str = "", response_code: str = "") -> None:
        """A click on a card button whose key is `key` (need not be on any card: tampering)."""
        await self.link.deliver(self.press_xml(key, task_id, response_code))

    async def photo(self, data: bytes, content_type: str = "image/jpeg") -> None:
        """A picture sent in the chat: WeCom keeps it (media/get serves it) and calls back with its MediaId."""
        media_id = f"photo-{self.link.msg_id()}"
        self.fake.add_media(media_id, data, content_type)
        await self.link.deliver(image_xml(self.userid, media_id, corp_id=CORP_ID, create_time=self.link.now(),
                                          msg_id=self.link.msg_id(), agent_id=AGENT_ID))

    def _latest_choices(self) -> tuple[int, Message, list[tuple[str, str]]] | None:
        """The newest message (after the last one tapped) that offers choices."""
        messages = self.screen()
        for index in range(len(messages) - 1, self._tapped, -1):
            if offered := choices(messages[index]):
                return index, messages[index], offered
        return None

    async def tap(self, label: str, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Choose `label` once the newest message offering choices shows it: press the card button, or type its
        number when the choices came as a numbered list."""

        def found() -> tuple[int, Message, str] | None:
            latest = self._latest_choices()
            if latest is None:
                return None
            index, message, offered = latest
            action = next((what for text, what in offered if text == label), None)
            return None if action is None else (index, message, action)

        await self.fake.wait_until(lambda: found() is not None, timeout, self._describe(f"no choice {label!r}"))
        hit = found()
        assert hit is not None
        index, message, action = hit
        self._tapped = index
        if action.startswith("#"):
            await self.send(action[1:])
        else:
            await self.press(action, str(message.content.get("task_id", "")), message.response_code)

    async def expect(self, text: str, timeout: float = 5.0) -> Message:  # noqa: ASYNC109
        """Wait until a message after those already consumed contains `text`; that message."""

        def found() -> tuple[int, Message] | None:
            messages = self.screen()
            return next(((i, m) for i, m in enumerate(messages) if i >= self._seen and text in m.text), None)

        await self.fake.wait_until(lambda: found() is not None, timeout, self._describe(f"never showed {text!r}"))
        hit = found()
        assert hit is not None
        self._seen = hit[0] + 1
        return hit[1]

    def _describe(self, what: str) -> Callable[[], str]:
        def describe() -> str:
            shown = "\n---\n".join(f"[{m.msgtype}] {m.text} {choices(m)}" for m in self.screen()[-6:])
            return f"{self.userid} {what}; they were shown:\n{shown}"

        return describe
