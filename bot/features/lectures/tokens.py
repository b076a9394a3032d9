"""The button tokens of talks: what residents press on the pushes (`lc:`), and the organizer's wizard."""

from __future__ import annotations

from dataclasses import dataclass

from bot.conversations.tokens import Ref, Token, rating, row_id
from bot.features.lectures.model import Kind


@dataclass(frozen=True, slots=True)
class Rsvp:
    """The notice's ✅ / ❌."""

    lecture: int
    yes: bool

    def __post_init__(self) -> None:
        row_id(self.lecture)


@dataclass(frozen=True, slots=True)
class CheckIn:
    """The reminder's 📍 签到."""

    lecture: int

    def __post_init__(self) -> None:
        row_id(self.lecture)


@dataclass(frozen=True, slots=True)
class Rate:
    """The poll's 1–5 stars."""

    lecture: int
    stars: int

    def __post_init__(self) -> None:
        row_id(self.lecture)
        rating(self.stars)


@dataclass(frozen=True, slots=True)
class New:
    """A new talk of `kind`, on the organizer's home."""

    kind: Kind


RSVP = Token("lc:rsvp", Rsvp)
CHECK_IN = Token("lc:in", CheckIn)
RATE = Token("lc:rate", Rate)
NEW = Token("k", New)
VIEW = Token("v", Ref)  # a talk on the organizer's list
CODECS = (RSVP, CHECK_IN, RATE, NEW, VIEW)

KEEP = "keep"  # keep the value typed before
SCOPE_HERE = "sc:here"
SCOPE_UP = "sc:up"
NO_DESCRIPTION = "d:skip"
PUBLISH = "ok:publish"
TOGGLE_RSVP = "ok:rsvp"
CHANGE_TIME = "ch:time"
CHANGE_PLACE = "ch:place"
CALL_OFF = "ch:cancel"
CALL_OFF_YES = "cx:yes"
SKIP_COMMENT = "cm:skip"
