"""Channel-neutral messages: what adapters translate native updates into, and replies back out."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

_FILLERS = frozenset("\u115f\u1160\u3164\uffa0")  # Hangul fillers: letters that show nothing


class InboundKind(StrEnum):
    TEXT = "text"
    BUTTON = "button"
    COMMAND = "command"
    PHOTO = "photo"
    VOICE = "voice"
    FILE = "file"
    LOCATION = "location"
    CONTACT = "contact"
    OTHER = "other"  # stickers, polls, anything a flow cannot use


@dataclass(frozen=True, slots=True)
class Sender:
    """Who an inbound event came from."""

    channel: str
    user_id: str
    chat_id: str
    display_name: str = ""
    language_hint: str = ""  # the device's language, e.g. "en" or "zh-hans"

    @property
    def key(self) -> tuple[str, str]:
        return (self.channel, self.user_id)


@dataclass(frozen=True, slots=True)
class Inbound:
    sender: Sender
    kind: InboundKind
    text: str = ""  # message text, or the argument of a command
    token: str = ""  # button token (untrusted)
    command: str = ""  # without the slash, lower case
    media_ref: str = ""  # local path of a stored photo or voice note; channel file id for other files
    event_id: str = ""  # unique per delivery source, for de-duplication

    def to_json(self) -> dict[str, Any]:
        sender = self.sender
        return {"sender": [sender.channel, sender.user_id, sender.chat_id, sender.display_name,
                           sender.language_hint],
                "kind": self.kind.value, "text": self.text, "token": self.token, "command": self.command,
                "media_ref": self.media_ref, "event_id": self.event_id}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Inbound:
        return cls(Sender(*data["sender"]), InboundKind(data["kind"]), text=data["text"], token=data["token"],
                   command=data["command"], media_ref=data["media_ref"], event_id=data["event_id"])


def _shows_nothing(char: str) -> bool:
    """Whitespace, or an invisible character: zero-width space/joiner, word joiner, BOM, direction marks …"""
    return char.isspace() or char in _FILLERS or unicodedata.category(char) == "Cf"


def clean_text(text: str) -> str:
    """Typed text as flows read and store it: control characters (but newline and tab) dropped, and trimmed of
    whitespace and invisible characters at both ends, so that text showing nothing is empty."""
    kept = [char for char in text if char in "\n\t" or unicodedata.category(char) != "Cc"]
    start = next((i for i, char in enumerate(kept) if not _shows_nothing(char)), len(kept))
    end = next((i for i in range(len(kept), start, -1) if not _shows_nothing(kept[i - 1])), start)
    return "".join(kept[start:end])


def text_inbound(sender: Sender, text: str, event_id: str = "") -> Inbound:
    """A typed message: a command if it starts with "/" (or the full-width "／" of a Chinese keyboard), else text.

    A command is its first word without the slash and any "@botname", in lower case; the rest is its argument."""
    if not text.startswith(("/", "／")):
        return Inbound(sender, InboundKind.TEXT, text=text, event_id=event_id)
    parts = text[1:].split(maxsplit=1)
    command = parts[0].split("@", 1)[0].lower() if parts else ""
    return Inbound(sender, InboundKind.COMMAND, command=command, text=parts[1].strip() if len(parts) > 1 else "",
                   event_id=event_id)


@dataclass(frozen=True, slots=True)
class Button:
    label: str
    token: str


@dataclass(frozen=True, slots=True)
class Reply:
    """A localized message with optional rows of buttons."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    edit: bool = False  # replace the prompt that the pressed button belonged to
    photo: str = ""  # a channel file id or a local path
    voice: str = ""  # a voice note: a channel file id or a local path
    document: str = ""  # a file sent as it is (a spreadsheet): a local path
    # Pushes only: a later push with the same slot to the same chat replaces the message this one left (a live
    # status line edited in place) instead of adding a new one.
    slot: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "buttons": [[[b.label, b.token] for b in row] for row in self.buttons],
            "photo": self.photo,
            "voice": self.voice,
            "document": self.document,
            "slot": self.slot,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Reply:
        rows = tuple(tuple(Button(label, token) for label, token in row) for row in data.get("buttons", []))
        return cls(text=data["text"], buttons=rows, photo=data.get("photo", ""), voice=data.get("voice", ""),
                   document=data.get("document", ""), slot=data.get("slot", ""))
