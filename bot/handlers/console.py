"""Console channel for the demo: numbered buttons, type a number or text, `/as` switches who you are, `/photo PATH`
sends a picture, `/later` moves the demo's clock on."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TextIO

from bot.conversations.engine import Engine
from bot.delivery.outbox import ChannelLimits, SendResult, Sent
from bot.domain.messages import Button, Inbound, InboundKind, Reply, Sender, text_inbound
from bot.domain.people import Role
from bot.features.meetings.service import when
from bot.i18n import t
from bot.services.demo import ADMIN_ID, CHANNEL, TimeTravel, later_target, member_id
from bot.services.media import MediaError, MediaStore

LETTERS = "abcdefghijklmnopqrstuvwxyz"


def render(reply: Reply, marks: Iterable[str] | None = None) -> tuple[str, list[Button]]:
    """Reply text (after its photo or voice note, shown as paths) with its buttons marked 1, 2, 3 … (or by `marks`),
    and the buttons in that order."""
    buttons = [button for row in reply.buttons for button in row]
    media = [t("console.photo", path=reply.photo)] if reply.photo else []
    media += [t("console.voice", path=reply.voice)] if reply.voice else []
    lines = [*media, reply.text]
    labels = iter(marks) if marks is not None else (str(n) for n in itertools.count(1))
    for row in reply.buttons:
        lines.append("   ".join(f"[{next(labels)}] {button.label}" for button in row))
    return "\n".join(lines), buttons


def _read(path: str, media: MediaStore) -> bytes:
    """The file's bytes, unless it is too big to be a photo."""
    file = Path(path).expanduser()
    media.check_size(file.stat().st_size)
    return file.read_bytes()


class ConsoleSender:
    """Outbox pushes to console users are printed, marked with who they are for; their buttons are lettered
    (a, b, c …) and stay pressable by that person until their next push with buttons."""

    channel = CHANNEL
    limits = ChannelLimits(per_second=1000.0, chat_interval=lambda chat_id: 0.0)

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self.pushed: dict[str, list[Button]] = {}  # console user → buttons of their latest push

    async def send(self, chat_id: str, reply: Reply, replace: str = "") -> SendResult:
        """Print the push; a terminal cannot edit what it printed, so a replacing push (a status line going on) is
        printed as a new one."""
        text, buttons = render(reply, LETTERS)
        if buttons:
            self.pushed[chat_id] = buttons
        self._out.write(f"\n📨 {t('console.push', who=chat_id)}\n{text}\n")
        self._out.flush()
        return Sent()


class ConsoleChannel:
    """Reads lines from `inp` and prints replies to `out` until end of input or /quit. With `travel`, `/later`
    moves the demo's clock on (and fires what falls due on the way)."""

    def __init__(self, engine: Engine, media: MediaStore, inp: TextIO, out: TextIO, *, language_hint: str,
                 pushed: Mapping[str, list[Button]], travel: TimeTravel | None = None) -> None:
        self._engine = engine
        self._travel = travel
        self._pushed = pushed
        self._media = media
        self._inp = inp
        self._out = out
        self._hint = language_hint
        self._user = "resident-1"
        self._buttons: list[Button] = []
        self._events = itertools.count(1)

    async def run(self) -> None:
        self._print(t("console.banner"))
        self._print(t("console.photo_hint"))
        if self._travel is not None:
            self._print(t("console.later_hint"))
        await self._send(Inbound(self._sender(), InboundKind.COMMAND, command="start"))
        while True:
            self._out.write(f"({self._user}) > ")
            self._out.flush()
            line = await asyncio.to_thread(self._inp.readline)
            if not line:
                return
            text = line.strip()
            if text in ("/quit", "/exit"):
                return
            if text.startswith("/as") and (text == "/as" or text.startswith("/as ")):
                await self._switch(text.removeprefix("/as").split())
            elif text == "/whoami":
                self._print(t("console.whoami", who=self._user))
            elif text.startswith("/photo") and (text == "/photo" or text.startswith("/photo ")):
                await self._photo(text.removeprefix("/photo").strip().strip("'\""))
            elif self._travel is not None and (text == "/later" or text.startswith("/later ")):
                await self._later(self._travel, text.removeprefix("/later").split())
            elif text:
                await self._send(self._inbound(text))

    def _inbound(self, text: str) -> Inbound:
        sender = self._sender()
        if text.isdigit() and 1 <= int(text) <= len(self._buttons):
            return Inbound(sender, InboundKind.BUTTON, token=self._buttons[int(text) - 1].token)
        pushed = self._pushed.get(self._user, [])
        if len(text) == 1 and text in LETTERS[:len(pushed)]:
            return Inbound(sender, InboundKind.BUTTON, token=pushed[LETTERS.index(text)].token)
        return text_inbound(sender, text)

    async def _switch(self, args: list[str]) -> None:
        """`/as resident [N]`, `/as leader BUILDING`, `/as secretary COMMUNITY`, `/as admin`."""
        kind, rest = (args[0], args[1:]) if args else ("", [])
        if kind == "resident":
            self._user = f"resident-{rest[0] if rest else 1}"
        elif kind == "leader" and rest:
            self._user = member_id(Role.BUILDING_LEADER, rest[0])
        elif kind == "secretary" and rest:
            self._user = member_id(Role.COMMUNITY_SECRETARY, rest[0])
        elif kind == "admin":
            self._user = ADMIN_ID
        else:
            self._print(t("console.as_usage"))
            return
        self._print(t("console.switched", who=self._user))
        await self._send(Inbound(self._sender(), InboundKind.COMMAND, command="start"))

    async def _later(self, travel: TimeTravel, args: list[str]) -> None:
        """`/later 2h`, `/later 3d`, `/later 09:30`, `/later sat 09:30`: the demo's clock moves on, what falls due on
        the way is sent (pushes print as they go out), and the current person's screen is shown afresh."""
        target = later_target(args, travel.clock.now(), travel.timezone)
        if target is None:
            self._print(t("console.later_usage", now=when(travel.clock.now(), travel.timezone, travel.clock.now())))
            return
        await travel.to(target)
        self._print(t("console.later_done", when=when(travel.clock.now(), travel.timezone, travel.clock.now())))
        await self._send(Inbound(self._sender(), InboundKind.COMMAND, command="start"))

    async def _photo(self, path: str) -> None:
        """`/photo PATH`: the image file, stored like a photo sent from a phone, as the current person's message."""
        if not path:
            self._print(t("console.photo_usage"))
            return
        try:
            stored = await self._media.save_photo(await asyncio.to_thread(_read, path, self._media))
        except OSError as error:
            self._print(t("cli.cannot_read", file=path, error=error.strerror or error))
            return
        except MediaError as error:
            self._print(t(error.key, **error.params))
            return
        await self._send(Inbound(self._sender(), InboundKind.PHOTO, media_ref=stored))

    def _sender(self) -> Sender:
        return Sender(CHANNEL, self._user, self._user, self._user, self._hint)

    async def _send(self, inbound: Inbound) -> None:
        replies = await self._engine.handle(inbound)
        for reply in replies:
            text, buttons = render(reply)
            self._print(text)
            if buttons:
                self._buttons = buttons

    def _print(self, text: str) -> None:
        self._out.write(f"{text}\n")
        self._out.flush()
