"""Jinlin on the fake Telegram server: the real app wiring, the sample street seeded with people, and a chat as a
person sees it."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from bot.app import Service, start_service
from bot.clock import Clock, ManualClock
from bot.config import Settings
from bot.domain.people import Account, Duty, Role
from bot.services.grid_import import import_grid
from bot.services.people import grant_street_admin
from bot.storage import grid, people
from bot.storage.db import Database, Tx
from tests.fake_telegram import FakeTelegramServer, SentMessage

TOKEN = f"123456:TEST-{os.getpid()}"  # per process: the token lock is machine-wide
SAMPLE = (Path(__file__).resolve().parent.parent / "sample" / "grid.csv").read_bytes()  # the sample street's grid
K = TypeVar("K")  # how a test names its people: Telegram user ids, WeCom userids …


def settings_for(server: FakeTelegramServer, db: Path, **overrides: object) -> Settings:
    base = Settings(db_path=str(db), telegram_token=TOKEN, http_port=0,
                    telegram_api_base_url=server.base_url.removesuffix("/bot"))
    return replace(base, **overrides)  # type: ignore[arg-type]


@asynccontextmanager
async def running(settings: Settings, clock: Clock) -> AsyncIterator[Service]:
    """Jinlin started exactly as `run_bot.py serve` starts it, stopped on exit."""
    async with AsyncExitStack() as stack:
        yield await start_service(settings, clock, stack)


@dataclass(frozen=True)
class Member(Generic[K]):
    """Someone to seed: `user` is their account's user id (and chat id) on `channel`, and their key in the ids
    `seed_people` returns. Units are named by code."""

    user: K
    name: str
    home: str = ""  # the building they live in, if any …
    room: str = "3-201"  # … and their room there
    roles: tuple[tuple[Role, str], ...] = ()
    duties: tuple[tuple[Duty, str], ...] = ()
    street_admin: bool = False  # the street's role, as an administrator named in the settings is given it at start
    channel: str = "telegram"
    locale: str = "zh_CN"

    @property
    def account(self) -> Account:
        return Account(self.channel, str(self.user), str(self.user))


async def seed_people(tx: Tx, cast: Iterable[Member[K]], now: datetime) -> dict[K, int]:
    """Create `cast` in order, with their homes, roles and duties; their person ids by `user`."""
    units = {unit.code: unit.id for unit, _ in await grid.all_units(tx)}
    ids: dict[K, int] = {}
    for member in cast:
        person = await people.create(tx, member.account, display_name=member.name, locale=member.locale, now=now)
        if member.home:
            await people.set_home(tx, person, units[member.home], member.room)
        for role, code in member.roles:
            await people.grant_role(tx, person, role, units[code])
        for duty, code in member.duties:
            await people.grant_duty(tx, person, duty, units[code])
        if member.street_admin:
            await grant_street_admin(tx, person)
        ids[member.user] = person
    return ids


async def seed_street(path: Path, cast: Iterable[Member[K]], now: datetime) -> tuple[dict[str, int], dict[K, int]]:
    """A new database at `path` holding the sample street and `cast`: (unit ids by code, person ids by user)."""
    db = Database(str(path))
    await db.open()
    try:
        await import_grid(db, SAMPLE)
        async with db.write() as tx:
            units = {unit.code: unit.id for unit, _ in await grid.all_units(tx)}
            ids = await seed_people(tx, cast, now)
    finally:
        await db.close()
    return units, ids


@asynccontextmanager
async def second_connection(path: Path) -> AsyncIterator[Database]:
    """The database at `path` opened beside the running Jinlin (which holds it exclusively otherwise)."""
    database = Database(str(path))
    await database.open(exclusive=False)
    try:
        yield database
    finally:
        await database.close()


async def query(path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows of `sql`, read through a second connection."""
    async with second_connection(path) as db, db.read() as tx:
        return [tuple(row) for row in await tx.all(sql, params)]


@dataclass
class Street(Generic[K]):
    """The sample street as `seed_street` left it, reached through a second connection while Jinlin runs. Test
    modules subclass it with what they look up, and may name the administrators their settings give."""

    path: Path
    units: dict[str, int]  # unit code → id
    ids: dict[K, int]  # user → person id
    admins: ClassVar[frozenset[tuple[str, str]]] = frozenset()

    @property
    def media(self) -> Path:
        return self.path.parent / "media"

    def settings(self, server: FakeTelegramServer) -> Settings:
        """Jinlin on `server` over this street, photos kept under `media`."""
        return settings_for(server, self.path, admins=self.admins, media_dir=str(self.media))

    def db(self) -> AbstractAsyncContextManager[Database]:
        return second_connection(self.path)

    async def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return await query(self.path, sql, params)


class TickingClock(ManualClock):
    """A manual clock that also moves on `step` seconds at every reading, as time does between steps: the outbox
    paces pushes by the injected clock, so a frozen clock would hold back every push after the first. Jumps
    (`advance`, `to`) stay in the test's hands."""

    def __init__(self, start: datetime | None = None, step: float = 1.0) -> None:
        super().__init__(start)
        self.step = step

    def now(self) -> datetime:
        self.advance(self.step)
        return super().now()

    def to(self, moment: datetime) -> None:
        """Jump to just after `moment`."""
        self.advance((moment - super().now()).total_seconds() + 1)


class Chat:
    """One person's private chat with the bot: what they send, and what the bot shows them."""

    def __init__(self, server: FakeTelegramServer, user_id: int, *, language_code: str = "zh-hans",
                 first_name: str = "居民") -> None:
        self.server = server
        self.user_id = user_id
        self.language_code = language_code
        self.first_name = first_name
        self._seen = 0  # messages already consumed by `expect`

    def send(self, text: str) -> None:
        self.server.push_text(self.user_id, text, first_name=self.first_name, language_code=self.language_code)

    def press(self, data: str) -> None:
        """Press a button on the bot's latest message (data need not be one of its buttons: tampering)."""
        self.server.push_callback(self.user_id, data, first_name=self.first_name, language_code=self.language_code)

    async def tap(self, label: str, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Press the button labelled `label` once the bot's latest message shows it."""

        def token() -> str | None:
            messages = self.screen()
            buttons = self.server.buttons(messages[-1]) if messages else []
            return next((data for text, data in buttons if text == label), None)

        def describe() -> str:
            messages = self.screen()
            return f"no button {label!r} on {messages[-1].text if messages else None!r}: " + (
                f"{self.server.buttons(messages[-1])}" if messages else "")

        await self.server.wait_until(lambda: token() is not None, timeout, describe)
        self.press(token() or "")

    def screen(self) -> list[SentMessage]:
        return self.server.messages_to(self.user_id)

    def outputs(self) -> int:
        """Messages sent to this chat plus edits tried in it: each handled press adds one (an edit into the text the
        message already shows is refused as "not modified", and the chat keeps showing it)."""
        edits = sum(1 for call in self.server.calls
                    if call.method == "editMessageText" and call.params.get("chat_id") == self.user_id)
        return len(self.screen()) + edits

    async def answer(self, token: str) -> str:
        """Press `token` and return the bot's answer (the pressed message edited, or a new one)."""
        before = self.outputs()
        self.press(token)
        await self.server.wait_until(lambda: self.outputs() > before, 5, lambda: f"no answer to {token!r}")
        text = self.screen()[-1].text
        assert text is not None
        return text

    async def expect(self, text: str, timeout: float = 5.0) -> SentMessage:  # noqa: ASYNC109
        """Wait until a message (sent, or edited in place) after those already consumed contains `text`."""

        def found() -> SentMessage | None:
            messages = self.screen()
            start = max(0, self._seen - 1)  # the last consumed message may be edited into the next prompt
            return next((m for m in messages[start:] if m.text and text in m.text), None)

        def describe() -> str:
            return f"chat {self.user_id} never showed {text!r}; it shows:\n" + "\n---\n".join(
                f"{m.text} {self.server.buttons(m)}" for m in self.screen()[-6:])

        await self.server.wait_until(lambda: found() is not None, timeout, describe)
        message = found()
        assert message is not None
        self._seen = self.screen().index(message) + 1
        return message
