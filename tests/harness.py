"""Jinlin on the fake Telegram server: the real app wiring, and a chat as a person sees it."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from bot.app import Service, start_service
from bot.clock import Clock, ManualClock
from bot.config import Settings
from tests.fake_telegram import FakeTelegramServer, SentMessage

TOKEN = f"123456:TEST-{os.getpid()}"  # per process: the token lock is machine-wide


def settings_for(server: FakeTelegramServer, db: Path, **overrides: object) -> Settings:
    base = Settings(db_path=str(db), telegram_token=TOKEN, http_port=0,
                    telegram_api_base_url=server.base_url.removesuffix("/bot"))
    return replace(base, **overrides)  # type: ignore[arg-type]


@asynccontextmanager
async def running(settings: Settings, clock: Clock) -> AsyncIterator[Service]:
    """Jinlin started exactly as `run_bot.py serve` starts it, stopped on exit."""
    async with AsyncExitStack() as stack:
        yield await start_service(settings, clock, stack)


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
