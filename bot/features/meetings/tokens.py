"""The button tokens of meetings. Pushed buttons and the screens' own are `mt:<action>:<id>` (`PRESS`), an answer
`mt:r:<meeting>:y|m|n`, a rating `mt:p:<meeting>:<1-5>`, the chair marking someone present
`mt:am:<meeting>:<person>`; the settings' pickers have theirs. Each shape has one codec, used where the button is
made and where its press is read; ids start at 1."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.conversations.tokens import Token, rating, row_id
from bot.features.meetings.model import Answer


class Action(StrEnum):
    """What a `PRESS` token does with the meeting, community or topic it names."""

    ADD_TOPIC = "tp"  # meeting
    CHECK_IN = "in"  # meeting
    MUTE = "mute"  # community
    UNMUTE = "unmute"  # community
    CHAIR = "c"  # community: the chair's page
    SETTINGS = "set"  # community
    AGENDA = "ag"  # meeting
    ATTENDANCE = "at"  # meeting
    OUTCOME = "oc"  # meeting
    CANCEL = "cx"  # meeting: asks first
    CANCEL_OK = "cxok"  # meeting: the confirmation
    TOPIC = "t"  # topic
    DISCUSSED = "td"  # topic
    ANSWER = "ta"  # topic
    REPORT = "tr"  # topic


@dataclass(frozen=True, slots=True)
class Press:
    action: Action
    id: int

    def __post_init__(self) -> None:
        row_id(self.id)


class Choice(StrEnum):
    """An answer on a button."""

    YES = "y"
    MAYBE = "m"
    NO = "n"

    @property
    def answer(self) -> Answer:
        return {Choice.YES: Answer.YES, Choice.MAYBE: Answer.MAYBE, Choice.NO: Answer.NO}[self]


@dataclass(frozen=True, slots=True)
class Rsvp:
    meeting: int
    choice: Choice

    def __post_init__(self) -> None:
        row_id(self.meeting)


@dataclass(frozen=True, slots=True)
class Rating:
    meeting: int
    stars: int

    def __post_init__(self) -> None:
        row_id(self.meeting)
        rating(self.stars)


@dataclass(frozen=True, slots=True)
class Mark:
    """The chair marks `person` present at `meeting`, or (pressed again) absent."""

    meeting: int
    person: int

    def __post_init__(self) -> None:
        row_id(self.meeting)
        row_id(self.person)


@dataclass(frozen=True, slots=True)
class Number:
    """A number of days or hours picked for a setting (checked against those offered)."""

    n: int


@dataclass(frozen=True, slots=True)
class Weekday:
    day: int  # Monday 0 … Sunday 6

    def __post_init__(self) -> None:
        if not 0 <= self.day <= 6:
            raise ValueError(self.day)


PRESS = Token("mt", Press)
RSVP = Token("mt:r", Rsvp)
RATE = Token("mt:p", Rating)
MARK = Token("mt:am", Mark)
NUMBER = Token("n", Number)
WEEKDAY = Token("wd", Weekday)
CODECS = (PRESS, RSVP, RATE, MARK, NUMBER, WEEKDAY)


def press(action: Action, ident: int) -> str:
    """The token of `action` on the meeting, community or topic `ident`."""
    return PRESS.make(Press(action, ident))


# The flow's own buttons.
SKIP_PHOTO = "tp:skip"
SKIP_COMMENT = "cm:skip"
DEFAULT_PLACE = "pl:none"
NO_LIMIT = "cap:none"
TURN_ON, TURN_OFF = "set:on", "set:off"
SET_PLACE, SET_CAPACITY, SET_DAY = "set:place", "set:cap", "set:day"
SET_NOTICE, SET_CUTOFF = "set:notice", "set:cutoff"
